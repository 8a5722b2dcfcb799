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

use super::blob_writer::{keep_spare, take_spare, STRIDE};
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

/// Bytes a blob is served in: large, so the socket gets big writes and the reader few wakeups.
const READ_CHUNK: usize = STRIDE;

/// Streams `len` bytes of `file` from `start`. Each chunk is read on a blocking thread, and the
/// read of the next one starts as a chunk is handed to the socket, so it is ready when the
/// socket is; between reads no thread is held, however slowly the client takes the bytes.
/// Chunks are read into reused buffers (the blob writer's spare strides), handed back when the
/// socket is done with them.
pub fn read_range(
    file: File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    let end = start.saturating_add(len);
    let first = (start < end).then(|| read_next(file, start, end));
    futures_util::stream::unfold(first, move |reading| async move {
        let (file, at, chunk) = match reading?.await {
            Ok(done) => done,
            Err(stopped) => return Some((Err(io::Error::other(stopped)), None)),
        };
        let next = (chunk.is_ok() && at < end).then(|| read_next(file, at, end));
        Some((chunk, next))
    })
}

/// The file, where the next chunk starts, and the chunk read.
type ChunkRead = (File, u64, io::Result<Bytes>);

/// Reads the chunk of `file` at `at` (up to [`READ_CHUNK`] bytes, not past `end`).
fn read_next(mut file: File, at: u64, end: u64) -> tokio::task::JoinHandle<ChunkRead> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let n = (end - at).min(READ_CHUNK as u64);
        let mut read = || -> io::Result<Bytes> {
            file.seek(io::SeekFrom::Start(at))?;
            let mut chunk = SpareChunk(take_spare());
            // Reads into the buffer's spare capacity: no zero-fill of 1 MiB before each read.
            (&mut file).take(n).read_to_end(&mut chunk.0)?;
            if chunk.0.len() as u64 != n {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "blob file shorter than its record",
                ));
            }
            Ok(Bytes::from_owner(chunk))
        };
        let chunk = read();
        (file, at + n, chunk)
    })
}

/// A chunk of a blob being served; its buffer goes back to the spares once sent.
struct SpareChunk(Vec<u8>);

impl AsRef<[u8]> for SpareChunk {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for SpareChunk {
    fn drop(&mut self) {
        let mut buf = std::mem::take(&mut self.0);
        buf.clear();
        keep_spare(buf);
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
    async fn ranges_are_read_exactly_across_chunk_boundaries() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (data, path) = blob_file(dir.path(), 3 * READ_CHUNK + 17);
        let ranges = [
            (0, data.len()),
            (5, READ_CHUNK),
            (READ_CHUNK - 1, 2),
            (2 * READ_CHUNK + 3, READ_CHUNK + 14),
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
        assert_eq!(chunks.len(), 2);
        assert!(chunks[0].is_ok());
        let err = chunks[1].as_ref().expect_err("short read");
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
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
            let (_, path) = blob_file(dir.path(), 16 * READ_CHUNK);
            let mut stalled = Vec::new();
            for _ in 0..8 {
                let file = File::open(&path).expect("open");
                let mut download = Box::pin(read_range(file, 0, 16 * READ_CHUNK as u64));
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
                assert_eq!(rest, 15 * READ_CHUNK);
            }
        });
    }
}
