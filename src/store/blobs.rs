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
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use sha2::{Digest as _, Sha256};

use crate::core::names::Digest;

/// Bytes handed to the disk in one blocking call: large enough that hashing and writing run in
/// big strides off the async threads.
const FLUSH_AT: usize = 1 << 20;

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

/// The state of a stream being written and hashed at the same time.
pub struct HashedFile {
    pub file: File,
    pub hash: HashState,
    pub len: u64,
}

/// The sha256 state of the bytes written so far. The bytes of a chunked upload's PATCH are all
/// on disk when it is answered, but its last strides may still be being hashed: the next PATCH
/// does not wait for that, only whoever needs the digest does.
pub enum HashState {
    Ready(Sha256),
    /// A writer's hashing thread sends the state when it has hashed every stride; nothing is
    /// sent if it stopped early.
    Pending(tokio::sync::oneshot::Receiver<Sha256>),
}

impl HashState {
    async fn settle(self) -> io::Result<Sha256> {
        match self {
            HashState::Ready(hasher) => Ok(hasher),
            HashState::Pending(rx) => rx.await.map_err(|_| hashing_stopped()),
        }
    }

    fn blocking_settle(self) -> io::Result<Sha256> {
        match self {
            HashState::Ready(hasher) => Ok(hasher),
            HashState::Pending(rx) => rx.blocking_recv().map_err(|_| hashing_stopped()),
        }
    }
}

fn hashing_stopped() -> io::Error {
    io::Error::other("the hashing thread stopped")
}

impl HashedFile {
    pub fn new(file: File) -> Self {
        HashedFile {
            file,
            hash: HashState::Ready(Sha256::new()),
            len: 0,
        }
    }

    /// Hashes what is already in the file from `self.len` onward (used when the in-memory hash
    /// state of an upload was lost, e.g. across a restart).
    pub fn rehash_existing(path: &Path) -> io::Result<HashedFile> {
        let mut reader = File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; FLUSH_AT];
        let mut len = 0u64;
        loop {
            let n = io::Read::read(&mut reader, &mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            len += n as u64;
        }
        let file = File::options().append(true).open(path)?;
        Ok(HashedFile {
            file,
            hash: HashState::Ready(hasher),
            len,
        })
    }

    /// The digest of everything written, once the hashing has caught up.
    pub async fn digest(&mut self) -> io::Result<Digest> {
        let state = std::mem::replace(&mut self.hash, HashState::Ready(Sha256::new()));
        let hasher = state.settle().await?;
        let digest = Digest::from_sha256(hasher.clone().finalize().as_slice());
        self.hash = HashState::Ready(hasher);
        Ok(digest)
    }
}

/// Streams chunks into a [`HashedFile`]. Chunks are gathered into 1 MiB strides; one blocking
/// thread hashes the strides and another writes them, each fed by a queue, so the network,
/// sha256 and the disk all overlap, the hashing thread never waits for a hand-off while strides
/// are queued, and no blob is ever held whole in memory.
///
/// At most [`STRIDES_IN_FLIGHT`] stride buffers are in use per writer, and buffers are reused,
/// within a writer and across writers (see [`SPARE_STRIDES`]): a fresh 1 MiB allocation costs
/// a page fault on every page, which on a VM is as much as the copy into it.
pub struct BlobWriter {
    /// The stride being filled; never grows beyond `FLUSH_AT`.
    buf: Vec<u8>,
    strides: StrideBuffers,
    to_hash: tokio::sync::mpsc::UnboundedSender<Arc<Vec<u8>>>,
    to_write: tokio::sync::mpsc::UnboundedSender<Arc<Vec<u8>>>,
    hashed: tokio::sync::oneshot::Receiver<Sha256>,
    writing: tokio::task::JoinHandle<io::Result<File>>,
    len: u64,
}

/// Stride buffers per writer: enough for one being filled, one being hashed and one queued
/// behind it, and one being written.
const STRIDES_IN_FLIGHT: usize = 4;

/// Stride buffers no writer uses, kept for the next ones (a chunked upload makes a writer per
/// PATCH). At most [`SPARE_STRIDES_KEPT`] MiB stay allocated while idle.
static SPARE_STRIDES: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());
const SPARE_STRIDES_KEPT: usize = 8;

fn keep_spare(buf: Vec<u8>) {
    let mut spare = SPARE_STRIDES.lock().unwrap_or_else(|p| p.into_inner());
    if spare.len() < SPARE_STRIDES_KEPT {
        spare.push(buf);
    }
}

fn take_spare() -> Vec<u8> {
    let spare = SPARE_STRIDES
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .pop();
    spare.unwrap_or_else(|| Vec::with_capacity(FLUSH_AT))
}

/// A writer's share of stride buffers: how many it has taken, and the ones its threads gave
/// back. Dropping it hands the given-back ones on to [`SPARE_STRIDES`]; buffers given back
/// after that go there directly (see [`give_back`]).
struct StrideBuffers {
    taken: usize,
    free: tokio::sync::mpsc::UnboundedReceiver<Vec<u8>>,
}

impl StrideBuffers {
    /// A buffer to fill: one given back, another one while fewer than [`STRIDES_IN_FLIGHT`]
    /// are taken, else the next one the threads give back.
    async fn next(&mut self) -> io::Result<Vec<u8>> {
        if let Ok(buf) = self.free.try_recv() {
            return Ok(buf);
        }
        if self.taken < STRIDES_IN_FLIGHT {
            self.taken += 1;
            return Ok(take_spare());
        }
        // Both threads hold senders of `free` until they stop; `None` means one failed.
        self.free.recv().await.ok_or_else(stopped)
    }
}

impl Drop for StrideBuffers {
    fn drop(&mut self) {
        self.free.close();
        while let Ok(buf) = self.free.try_recv() {
            keep_spare(buf);
        }
    }
}

impl BlobWriter {
    pub fn new(target: HashedFile, durable: bool) -> Self {
        use tokio::sync::mpsc::unbounded_channel;
        let HashedFile {
            mut file,
            hash,
            len,
        } = target;
        let (free_tx, free) = unbounded_channel::<Vec<u8>>();
        let (to_hash, mut hash_rx) = unbounded_channel::<Arc<Vec<u8>>>();
        let (to_write, mut write_rx) = unbounded_channel::<Arc<Vec<u8>>>();
        let (hashed_tx, hashed) = tokio::sync::oneshot::channel();
        let free_for_hash = free_tx.clone();
        tokio::task::spawn_blocking(move || {
            // The previous writer of the stream may still be hashing its last strides.
            let Ok(mut hasher) = hash.blocking_settle() else {
                return; // nothing is sent: the stream's hash is lost
            };
            while let Some(stride) = hash_rx.blocking_recv() {
                hasher.update(&stride[..]);
                give_back(&free_for_hash, stride);
            }
            let _ = hashed_tx.send(hasher);
        });
        let writing = tokio::task::spawn_blocking(move || {
            let mut offset = len;
            while let Some(stride) = write_rx.blocking_recv() {
                // On an error the queue is dropped: the next send fails and `finish` reports it.
                file.write_all(&stride)?;
                if durable {
                    start_writeback(&file, offset, stride.len() as u64);
                }
                offset += stride.len() as u64;
                give_back(&free_tx, stride);
            }
            Ok(file)
        });
        BlobWriter {
            buf: Vec::new(),
            strides: StrideBuffers { taken: 0, free },
            to_hash,
            to_write,
            hashed,
            writing,
            len,
        }
    }

    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.buf.capacity() == 0 {
                self.buf = self.strides.next().await?;
            }
            let take = rest.len().min(FLUSH_AT - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == FLUSH_AT {
                self.send_stride()?;
            }
        }
        Ok(())
    }

    fn send_stride(&mut self) -> io::Result<()> {
        let stride = Arc::new(std::mem::take(&mut self.buf));
        self.len += stride.len() as u64;
        self.to_hash.send(stride.clone()).map_err(|_| stopped())?;
        self.to_write.send(stride).map_err(|_| stopped())
    }

    /// Writes what is buffered, waits until every byte is in the file and hands back the file,
    /// its length and its hash, which may still be being computed. Must be called even after a
    /// failed `write`, so that no write is still under way when the caller cleans up the file.
    pub async fn finish(mut self) -> io::Result<HashedFile> {
        let sent = if self.buf.is_empty() {
            Ok(())
        } else {
            self.send_stride()
        };
        let BlobWriter {
            to_hash,
            to_write,
            hashed,
            writing,
            len,
            ..
        } = self;
        drop((to_hash, to_write));
        let file = writing.await.map_err(io::Error::other)??;
        sent?;
        Ok(HashedFile {
            file,
            hash: HashState::Pending(hashed),
            len,
        })
    }
}

/// Whichever thread is done with a stride last hands its buffer back to the writer, or to the
/// spares once the writer is finished.
fn give_back(free: &tokio::sync::mpsc::UnboundedSender<Vec<u8>>, stride: Arc<Vec<u8>>) {
    if let Some(mut buf) = Arc::into_inner(stride) {
        buf.clear();
        if let Err(unsent) = free.send(buf) {
            keep_spare(unsent.0);
        }
    }
}

fn stopped() -> io::Error {
    io::Error::other("blob writer stopped")
}

/// Asks the kernel to start writing a just-written range to disk (without waiting), so that the
/// fsync before a blob is acknowledged finds most of it already written.
#[cfg(target_os = "linux")]
fn start_writeback(file: &File, offset: u64, len: u64) {
    use std::os::fd::AsRawFd;
    // SAFETY: a plain syscall on a file descriptor we own; it reads no memory of ours. Failure
    // only means the fsync later does all the work.
    unsafe {
        libc::sync_file_range(
            file.as_raw_fd(),
            offset as libc::off64_t,
            len as libc::off64_t,
            libc::SYNC_FILE_RANGE_WRITE,
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn start_writeback(_file: &File, _offset: u64, _len: u64) {}

/// Bytes a blob is served in: large, so the socket gets big writes and the reader few wakeups.
const READ_CHUNK: usize = FLUSH_AT;

/// Streams `len` bytes of `file` from `start`. A blocking thread reads ahead (up to four chunks),
/// which costs less than tokio's file I/O, a thread hand-off per small read. Chunks are read into
/// reused buffers (see [`SPARE_STRIDES`]), handed back when the socket is done with them.
pub fn read_range(
    file: File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::os::unix::fs::FileExt;
        let read = || -> io::Result<()> {
            let (mut at, end) = (start, start.saturating_add(len));
            while at < end {
                let n = (end - at).min(READ_CHUNK as u64) as usize;
                let mut chunk = SpareChunk(take_spare());
                chunk.0.resize(n, 0);
                file.read_exact_at(&mut chunk.0, at)?;
                at += n as u64;
                if tx.blocking_send(Ok(Bytes::from_owner(chunk))).is_err() {
                    return Ok(()); // the client went away
                }
            }
            Ok(())
        };
        if let Err(e) = read() {
            let _ = tx.blocking_send(Err(e));
        }
    });
    futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|chunk| (chunk, rx))
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
    use std::time::Duration;

    fn pattern(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 31 % 251) as u8).collect()
    }

    /// Writes `data` in chunks of `chunk` bytes through a fresh writer; returns the finished file.
    async fn pour(dir: &Path, data: &[u8], chunk: usize) -> (PathBuf, io::Result<HashedFile>) {
        let path = dir.join("blob");
        let file = File::create(&path).expect("create");
        let mut writer = BlobWriter::new(HashedFile::new(file), false);
        for piece in data.chunks(chunk) {
            writer
                .write(Bytes::copy_from_slice(piece))
                .await
                .expect("write");
        }
        (path, writer.finish().await)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn strides_are_written_and_hashed_in_order_whatever_the_chunk_sizes() {
        // More strides than buffers, chunks that straddle stride boundaries, a partial last one;
        // and byte-sized chunks over a smaller blob.
        let big = pattern(STRIDES_IN_FLIGHT * 3 * FLUSH_AT + 12_345);
        let small = pattern(70_000);
        let cases: [(&[u8], usize); 6] = [
            (&small, 1),
            (&big, 4093),
            (&big, FLUSH_AT - 1),
            (&big, FLUSH_AT),
            (&big, FLUSH_AT + 7),
            (&big, 3 * FLUSH_AT),
        ];
        for (data, chunk) in cases {
            let dir = tempfile::tempdir().expect("tempdir");
            let (path, done) = pour(dir.path(), data, chunk).await;
            let mut done = done.expect("finish");
            assert_eq!(done.len, data.len() as u64, "chunk {chunk}");
            assert_eq!(
                done.digest().await.expect("digest"),
                Digest::from_sha256(Sha256::digest(data).as_slice()),
                "chunk {chunk}"
            );
            assert!(fs::read(&path).expect("read") == data, "chunk {chunk}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn appending_continues_the_file_and_its_hash() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = pattern(5 * FLUSH_AT / 2);
        let (head, tail) = data.split_at(FLUSH_AT + 100);
        let (path, first) = pour(dir.path(), head, 65_536).await;
        let first = first.expect("finish");
        drop(first.file);
        let file = File::options().append(true).open(&path).expect("open");
        let mut writer = BlobWriter::new(
            HashedFile {
                file,
                hash: first.hash,
                len: first.len,
            },
            false,
        );
        writer
            .write(Bytes::copy_from_slice(tail))
            .await
            .expect("write");
        let mut done = writer.finish().await.expect("finish");
        assert_eq!(done.len, data.len() as u64);
        assert_eq!(
            done.digest().await.expect("digest"),
            Digest::from_sha256(Sha256::digest(&data).as_slice())
        );
        assert!(fs::read(&path).expect("read") == data);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_disk_write_is_reported_and_nothing_hangs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("read-only");
        File::create(&path).expect("create");
        let file = File::open(&path).expect("open read-only");
        let mut writer = BlobWriter::new(HashedFile::new(file), false);
        let data = Bytes::from(pattern(FLUSH_AT));
        // Far more strides than buffers: the writer must notice the stopped thread, not wait
        // for a buffer that never comes back.
        let finished = tokio::time::timeout(Duration::from_secs(30), async move {
            for _ in 0..4 * STRIDES_IN_FLIGHT {
                if writer.write(data.clone()).await.is_err() {
                    break;
                }
            }
            writer.finish().await
        })
        .await
        .expect("the writer must not hang");
        assert!(finished.is_err(), "finish must report the write error");
    }
}
