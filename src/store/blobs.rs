//! Blob bytes on disk, content-addressed.
//!
//! Layout under the data dir:
//!
//! * `blobs/sha256/<2 hex>/<64 hex>` — finished blobs, immutable once renamed into place;
//! * `uploads/<upload id>` — bytes of open upload sessions;
//! * `tmp/` — files being written; swept at start.
//!
//! A blob becomes a file by `write temp → fsync → rename → fsync dir`, so a crash never leaves a
//! half-written file under `blobs/`. Two writers of the same digest both succeed: the second
//! rename replaces identical bytes.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::blob_writer::STRIDE;
use crate::core::names::Digest;

#[derive(Clone, Debug)]
pub struct BlobFiles {
    root: PathBuf,
    durable: bool,
}

impl BlobFiles {
    pub fn open(data_dir: &Path, durable: bool) -> io::Result<Self> {
        for dir in ["blobs/sha256", "uploads", "tmp"] {
            fs::create_dir_all(data_dir.join(dir))?;
        }
        Ok(BlobFiles {
            root: data_dir.to_owned(),
            durable,
        })
    }

    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.root.join("blobs/sha256").join(&hex[..2]).join(hex)
    }

    /// Whether blobs are fsynced before they are acknowledged.
    pub fn durable(&self) -> bool {
        self.durable
    }

    pub fn upload_path(&self, upload_id: &str) -> PathBuf {
        self.root.join("uploads").join(upload_id)
    }

    pub fn uploads_dir(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// A fresh file under `tmp/`.
    pub fn temp_file(&self) -> io::Result<(PathBuf, File)> {
        let path = self.root.join("tmp").join(uuid::Uuid::new_v4().to_string());
        let file = File::options().write(true).create_new(true).open(&path)?;
        Ok((path, file))
    }

    /// Moves a fully written and hashed file into place as `digest`. Blocking.
    pub fn install(&self, written: &Path, file: &File, digest: &Digest) -> io::Result<()> {
        if self.durable {
            file.sync_all()?;
        }
        let target = self.blob_path(digest);
        let parent = target.parent().expect("blob paths have a parent");
        fs::create_dir_all(parent)?;
        fs::rename(written, &target)?;
        if self.durable {
            File::open(parent)?.sync_all()?;
        }
        Ok(())
    }

    /// Removes everything under `tmp/`: files a crash left half-written.
    pub fn sweep_temp(&self) -> io::Result<usize> {
        let mut removed = 0;
        for entry in fs::read_dir(self.root.join("tmp"))? {
            fs::remove_file(entry?.path())?;
            removed += 1;
        }
        Ok(removed)
    }

    pub fn remove_blob(&self, digest: &Digest) -> io::Result<()> {
        match fs::remove_file(self.blob_path(digest)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Every file under `blobs/` named as a blob, with its size (other files are not ours to
    /// judge and are left out). Blocking.
    pub fn list_blobs(&self) -> io::Result<Vec<(Digest, u64)>> {
        let mut found = Vec::new();
        for shard in fs::read_dir(self.root.join("blobs/sha256"))? {
            let shard = shard?;
            if !shard.file_type()?.is_dir() {
                continue;
            }
            for entry in fs::read_dir(shard.path())? {
                let entry = entry?;
                let name = entry.file_name();
                let Some(digest) = name
                    .to_str()
                    .and_then(|hex| Digest::parse(&format!("sha256:{hex}")).ok())
                else {
                    continue;
                };
                if self.blob_path(&digest) != entry.path() {
                    continue; // in the wrong shard: not a file we wrote
                }
                match entry.metadata() {
                    Ok(meta) => found.push((digest, meta.len())),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(found)
    }
}

/// Bytes a blob is served in: large, so the socket gets big writes and the stream few wakeups.
const READ_CHUNK: usize = STRIDE;

/// Bytes mapped at a time: a download holds at most two windows (the one being sent, the next).
const WINDOW: u64 = 8 * READ_CHUNK as u64;

/// Streams `len` bytes of `file` from `start`, in [`READ_CHUNK`] pieces of the file's own pages:
/// each [`WINDOW`] of the file is mapped and paged in on a blocking task, started as the previous
/// window begins to go out, and the socket writes straight from the page cache. That is one
/// copy fewer than reading into a buffer (pulls ran ~35 % faster on the Intel machine, see
/// BENCHMARKS.md), the socket write does not wait for the disk, and between windows no thread
/// is held, however slowly the client takes the bytes.
///
/// Blob files are never modified once installed (garbage collection unlinks them, which leaves
/// a mapping intact), so a mapping cannot lose its pages to a truncation.
pub fn read_range(
    file: File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    let end = start.saturating_add(len);
    let file = std::sync::Arc::new(file);
    let first = (start < end).then(|| map_window(file.clone(), start, end));
    let state = Download {
        file,
        end,
        window: Bytes::new(),
        mapping: first,
    };
    futures_util::stream::unfold(state, |mut d| async move {
        if d.window.is_empty() {
            let (next_at, window) = match d.mapping.take()?.await {
                Ok((next_at, Ok(window))) => (next_at, window),
                Ok((_, Err(e))) => return Some((Err(e), d)),
                Err(stopped) => return Some((Err(io::Error::other(stopped)), d)),
            };
            d.window = window;
            if next_at < d.end {
                d.mapping = Some(map_window(d.file.clone(), next_at, d.end));
            }
        }
        let piece = d.window.split_to(d.window.len().min(READ_CHUNK));
        Some((Ok(piece), d))
    })
}

/// A download in progress: the window being sent and the mapping of the next.
struct Download {
    file: std::sync::Arc<File>,
    end: u64,
    window: Bytes,
    mapping: Option<tokio::task::JoinHandle<(u64, io::Result<Bytes>)>>,
}

/// Maps and pages in the window of `file` at `at` (not past `end`); returns where the next
/// window starts and this one.
fn map_window(
    file: std::sync::Arc<File>,
    at: u64,
    end: u64,
) -> tokio::task::JoinHandle<(u64, io::Result<Bytes>)> {
    tokio::task::spawn_blocking(move || {
        let len = (end - at).min(WINDOW);
        let window = file.metadata().and_then(|meta| {
            if meta.len() < at + len {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "blob file shorter than its record",
                ));
            }
            MappedRange::new(&file, at, len as usize).map(Bytes::from_owner)
        });
        (at + len, window)
    })
}

/// A read-only mapping of part of a file.
struct MappedRange {
    base: std::ptr::NonNull<libc::c_void>,
    mapped_len: usize,
    /// Where the range starts within the mapping (mappings start on a page boundary).
    offset: usize,
    len: usize,
}

// SAFETY: the mapping is read-only and owned by this value alone; nothing in it is tied to a
// thread.
unsafe impl Send for MappedRange {}
unsafe impl Sync for MappedRange {}

impl MappedRange {
    /// Maps `len` (> 0) bytes of `file` from `at` and pages them in, so that reading them does
    /// not wait for the disk; an I/O error while paging in is reported here.
    fn new(file: &File, at: u64, len: usize) -> io::Result<MappedRange> {
        use std::os::fd::AsRawFd;
        // SAFETY: sysconf has no preconditions.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) }.max(4096) as u64;
        let aligned = at - at % page;
        let offset = (at - aligned) as usize;
        let mapped_len = offset + len;
        let file_offset = libc::off_t::try_from(aligned).map_err(io::Error::other)?;
        // SAFETY: a fresh read-only shared mapping of a file we hold open; the kernel picks the
        // address. Installed blob files are never written or truncated (see `read_range`).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                mapped_len,
                libc::PROT_READ,
                libc::MAP_SHARED,
                file.as_raw_fd(),
                file_offset,
            )
        };
        if base == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let base =
            std::ptr::NonNull::new(base).ok_or_else(|| io::Error::other("mmap gave null"))?;
        let range = MappedRange {
            base,
            mapped_len,
            offset,
            len,
        };
        range.page_in()?;
        Ok(range)
    }

    #[cfg(target_os = "linux")]
    fn page_in(&self) -> io::Result<()> {
        // SAFETY: advice on our own mapping. MADV_POPULATE_READ (Linux 5.14) faults every page
        // in now and reports I/O errors (and a file shorter than the range) as EFAULT instead of
        // a SIGBUS later; older kernels answer EINVAL, and the pages then come in on first use.
        let done = unsafe {
            libc::madvise(
                self.base.as_ptr(),
                self.mapped_len,
                libc::MADV_POPULATE_READ,
            )
        };
        if done != 0 {
            let error = io::Error::last_os_error();
            if error.raw_os_error() != Some(libc::EINVAL) {
                return Err(error);
            }
        }
        Ok(())
    }

    #[cfg(not(target_os = "linux"))]
    fn page_in(&self) -> io::Result<()> {
        // SAFETY: advice on our own mapping; failure only means the pages come in on first use.
        unsafe { libc::madvise(self.base.as_ptr(), self.mapped_len, libc::MADV_WILLNEED) };
        Ok(())
    }
}

impl AsRef<[u8]> for MappedRange {
    fn as_ref(&self) -> &[u8] {
        // SAFETY: the mapping covers `offset + len` readable bytes and lives as long as `self`.
        unsafe {
            std::slice::from_raw_parts(self.base.as_ptr().cast::<u8>().add(self.offset), self.len)
        }
    }
}

impl Drop for MappedRange {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`, which nothing refers to any more
        // (the last `Bytes` of it is being dropped).
        unsafe { libc::munmap(self.base.as_ptr(), self.mapped_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt;
    use std::io::Write;
    use std::time::Duration;

    fn blob_file(dir: &Path, len: usize) -> (Vec<u8>, PathBuf) {
        let data: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        let path = dir.join("blob");
        File::create(&path)
            .and_then(|mut f| f.write_all(&data))
            .expect("write blob");
        (data, path)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ranges_are_read_exactly_across_chunk_and_window_boundaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let window = WINDOW as usize;
        let (data, path) = blob_file(dir.path(), 2 * window + 3 * READ_CHUNK + 17);
        let ranges = [
            (0, data.len()),
            (5, READ_CHUNK),
            (READ_CHUNK - 1, 2),
            (2 * READ_CHUNK + 3, READ_CHUNK + 14),
            (window - 3, 6),
            (4097, window + 5),
            (2 * window + 1, 3 * READ_CHUNK + 16),
            (9, 0),
        ];
        for (start, len) in ranges {
            let file = File::open(&path).expect("open");
            let chunks: Vec<io::Result<Bytes>> =
                read_range(file, start as u64, len as u64).collect().await;
            let mut got = Vec::new();
            for chunk in chunks {
                got.extend_from_slice(&chunk.expect("chunk"));
            }
            assert!(got == data[start..start + len], "range {start}+{len}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_file_shorter_than_its_record_ends_in_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (_, path) = blob_file(dir.path(), READ_CHUNK + 10);
        let file = File::open(&path).expect("open");
        let chunks: Vec<io::Result<Bytes>> =
            read_range(file, 0, 2 * READ_CHUNK as u64).collect().await;
        let err = chunks
            .last()
            .expect("an item")
            .as_ref()
            .expect_err("short read");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        let served: usize = chunks.iter().flatten().map(|c| c.len()).sum();
        assert!(served < 2 * READ_CHUNK, "never more than the file has");
    }

    #[test]
    fn downloads_that_wait_for_their_clients_hold_no_thread() {
        // Fewer blocking threads than downloads: downloads whose clients stopped reading must not
        // keep other blocking work from running.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            // Longer than any read-ahead, so that a reader that waits for its client would wait.
            let (_, path) = blob_file(dir.path(), 3 * WINDOW as usize);
            let mut stalled = Vec::new();
            for _ in 0..8 {
                let file = File::open(&path).expect("open");
                let mut download = Box::pin(read_range(file, 0, 3 * WINDOW));
                download.next().await.expect("a chunk").expect("read");
                stalled.push(download);
            }
            let other =
                tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(|| 42))
                    .await
                    .expect("other blocking work runs while downloads wait");
            assert_eq!(other.expect("task"), 42);
            for mut download in stalled {
                let mut rest = 0;
                while let Some(chunk) = download.next().await {
                    rest += chunk.expect("chunk").len();
                }
                assert_eq!(rest, 3 * WINDOW as usize - READ_CHUNK);
            }
        });
    }
}
