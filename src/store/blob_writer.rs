//! Streaming a blob to disk while it is hashed: [`BlobWriter`].
//!
//! Chunks from the network are gathered into 1 MiB strides. Each stride goes to two [`Lane`]s,
//! one that hashes and one that writes, so the network, sha256 and the disk all overlap and no
//! blob is ever held whole in memory. A lane works off its queue on a blocking thread that runs
//! only while the queue has strides: while strides are queued the hashing never waits for a
//! hand-off, and an upload whose client is slow holds no thread while it waits.
//!
//! Stride buffers are reused, within a writer and across writers (see [`SPARE_STRIDES`]): a
//! fresh 1 MiB allocation costs a page fault on every page, which on a VM is as much as the copy
//! into it.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{self, Write};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use sha2::{Digest as _, Sha256};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio::sync::oneshot;

use crate::core::names::Digest;

/// Bytes per stride: what one blocking call hashes or writes.
pub(super) const STRIDE: usize = 1 << 20;

/// Stride buffers per writer: enough for one being filled, one being hashed and one queued
/// behind it, and one being written.
const STRIDES_IN_FLIGHT: usize = 4;

/// The state of a stream being written and hashed at the same time.
pub struct HashedFile {
    pub file: File,
    pub hash: HashState,
    pub len: u64,
}

/// The sha256 state of the bytes written so far. The bytes of a chunked upload's PATCH are all
/// in the upload file when it is answered, but its last strides may still be being hashed: the
/// next PATCH does not wait for that, only whoever needs the digest does.
pub enum HashState {
    Ready(Sha256),
    /// What a writer's hashing lane ends with, once it has hashed every stride; an error, or
    /// nothing at all, if the hash was lost on the way.
    Pending(oneshot::Receiver<io::Result<HashState>>),
}

impl HashState {
    async fn settle(mut self) -> io::Result<Sha256> {
        loop {
            match self {
                HashState::Ready(hasher) => return Ok(hasher),
                HashState::Pending(rx) => self = rx.await.map_err(|_| hash_lost())??,
            }
        }
    }

    fn blocking_settle(mut self) -> io::Result<Sha256> {
        loop {
            match self {
                HashState::Ready(hasher) => return Ok(hasher),
                HashState::Pending(rx) => self = rx.blocking_recv().map_err(|_| hash_lost())??,
            }
        }
    }

    /// Hashes `bytes`, first waiting (on a blocking thread) for a pending state.
    fn update(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let HashState::Pending(_) = self {
            let pending = std::mem::replace(self, HashState::Ready(Sha256::new()));
            *self = HashState::Ready(pending.blocking_settle()?);
        }
        if let HashState::Ready(hasher) = self {
            hasher.update(bytes);
        }
        Ok(())
    }
}

fn hash_lost() -> io::Error {
    io::Error::other("the hash of the upload was lost")
}

impl HashedFile {
    pub fn new(file: File) -> Self {
        HashedFile {
            file,
            hash: HashState::Ready(Sha256::new()),
            len: 0,
        }
    }

    /// Hashes what is already in the file (used when the in-memory hash state of an upload was
    /// lost, e.g. across a restart) and opens it for appending.
    pub fn rehash_existing(path: &Path) -> io::Result<HashedFile> {
        let mut reader = File::open(path)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; STRIDE];
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

/// Where a writer's bytes go, and how far it got.
struct WriteTarget {
    file: File,
    offset: u64,
    /// Start writeback of each stride at once, so the fsync at the end has little left to do.
    durable: bool,
}

fn write_stride(target: &mut WriteTarget, bytes: &[u8]) -> io::Result<()> {
    target.file.write_all(bytes)?;
    if target.durable {
        start_writeback(&target.file, target.offset, bytes.len() as u64);
    }
    target.offset += bytes.len() as u64;
    Ok(())
}

fn hash_stride(state: &mut HashState, bytes: &[u8]) -> io::Result<()> {
    state.update(bytes)
}

/// Streams chunks into a [`HashedFile`] (see the module documentation).
pub struct BlobWriter {
    /// The stride being filled; never grows beyond [`STRIDE`].
    buf: Vec<u8>,
    strides: StrideBuffers,
    hashing: Lane<HashState>,
    writing: Lane<WriteTarget>,
    len: u64,
}

impl BlobWriter {
    pub fn new(target: HashedFile, durable: bool) -> Self {
        let HashedFile { file, hash, len } = target;
        let (free_tx, free) = unbounded_channel();
        BlobWriter {
            buf: Vec::new(),
            strides: StrideBuffers { taken: 0, free },
            hashing: Lane::new(hash, hash_stride, free_tx.clone()),
            writing: Lane::new(
                WriteTarget {
                    file,
                    offset: len,
                    durable,
                },
                write_stride,
                free_tx,
            ),
            len,
        }
    }

    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.buf.capacity() == 0 {
                self.buf = self.strides.next().await;
            }
            let take = rest.len().min(STRIDE - self.buf.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == STRIDE {
                self.send_stride()?;
            }
        }
        Ok(())
    }

    fn send_stride(&mut self) -> io::Result<()> {
        let stride = Arc::new(std::mem::take(&mut self.buf));
        self.len += stride.len() as u64;
        self.hashing.push(stride.clone())?;
        self.writing.push(stride)
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
        let hashed = self.hashing.close();
        let written = self.writing.close().await.map_err(|_| lane_stopped())??;
        sent?;
        Ok(HashedFile {
            file: written.file,
            hash: HashState::Pending(hashed),
            len: self.len,
        })
    }
}

fn lane_stopped() -> io::Error {
    io::Error::other("a blob writer's lane stopped")
}

/// Strides worked off in order by `work`, on at most one blocking task at a time, started when
/// a stride arrives and gone when the queue is empty. After `work` fails, the remaining strides
/// are only given back, and the error is what [`Lane::push`] and [`Lane::close`] report.
struct Lane<S> {
    shared: Arc<LaneShared<S>>,
}

struct LaneShared<S> {
    inner: Mutex<LaneInner<S>>,
    work: fn(&mut S, &[u8]) -> io::Result<()>,
    /// Where the buffers of processed strides go back to (see [`give_back`]).
    free: UnboundedSender<Vec<u8>>,
}

struct LaneInner<S> {
    queue: VecDeque<Arc<Vec<u8>>>,
    /// The lane's state while no task runs; a running task has it.
    idle: Option<S>,
    error: Option<io::Error>,
    /// Set by `close`: the state (or the error) goes here once the queue is worked off.
    done: Option<oneshot::Sender<io::Result<S>>>,
}

impl<S: Send + 'static> Lane<S> {
    fn new(
        state: S,
        work: fn(&mut S, &[u8]) -> io::Result<()>,
        free: UnboundedSender<Vec<u8>>,
    ) -> Self {
        Lane {
            shared: Arc::new(LaneShared {
                inner: Mutex::new(LaneInner {
                    queue: VecDeque::new(),
                    idle: Some(state),
                    error: None,
                    done: None,
                }),
                work,
                free,
            }),
        }
    }

    fn push(&self, stride: Arc<Vec<u8>>) -> io::Result<()> {
        let mut inner = self.shared.lock();
        if let Some(e) = &inner.error {
            return Err(io::Error::new(e.kind(), e.to_string()));
        }
        inner.queue.push_back(stride);
        if let Some(state) = inner.idle.take() {
            drop(inner);
            let shared = self.shared.clone();
            tokio::task::spawn_blocking(move || shared.run(state));
        }
        Ok(())
    }

    /// No more strides: the lane's final state arrives once every pushed stride is processed.
    fn close(self) -> oneshot::Receiver<io::Result<S>> {
        let (tx, rx) = oneshot::channel();
        let mut inner = self.shared.lock();
        match inner.idle.take() {
            Some(state) => {
                let _ = tx.send(LaneInner::outcome(inner.error.take(), state));
            }
            None => inner.done = Some(tx),
        }
        rx
    }
}

impl<S> LaneInner<S> {
    fn outcome(error: Option<io::Error>, state: S) -> io::Result<S> {
        match error {
            Some(e) => Err(e),
            None => Ok(state),
        }
    }
}

impl<S> LaneShared<S> {
    fn lock(&self) -> MutexGuard<'_, LaneInner<S>> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn run(&self, mut state: S) {
        loop {
            let (stride, failed) = {
                let mut inner = self.lock();
                match inner.queue.pop_front() {
                    Some(stride) => (stride, inner.error.is_some()),
                    None => {
                        match inner.done.take() {
                            Some(done) => {
                                let _ = done.send(LaneInner::outcome(inner.error.take(), state));
                            }
                            None => inner.idle = Some(state),
                        }
                        return;
                    }
                }
            };
            if !failed {
                if let Err(e) = (self.work)(&mut state, &stride) {
                    self.lock().error = Some(e);
                }
            }
            give_back(&self.free, stride);
        }
    }
}

/// Stride buffers no writer uses, kept for the next ones (a chunked upload makes a writer per
/// PATCH). At most [`SPARE_STRIDES_KEPT`] MiB stay allocated
/// while idle.
static SPARE_STRIDES: Mutex<Vec<Vec<u8>>> = Mutex::new(Vec::new());
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
    spare.unwrap_or_else(|| Vec::with_capacity(STRIDE))
}

/// A writer's share of stride buffers: how many it has taken, and the ones its lanes gave back.
/// Dropping it hands the given-back ones on to [`SPARE_STRIDES`]; buffers given back after that
/// go there directly (see [`give_back`]).
struct StrideBuffers {
    taken: usize,
    free: UnboundedReceiver<Vec<u8>>,
}

impl StrideBuffers {
    /// A buffer to fill: one given back, another one while fewer than [`STRIDES_IN_FLIGHT`]
    /// are taken, else the next one the lanes give back. Every stride pushed is given back by
    /// its lanes, processed or not, so this never waits forever.
    async fn next(&mut self) -> Vec<u8> {
        if let Ok(buf) = self.free.try_recv() {
            return buf;
        }
        if self.taken < STRIDES_IN_FLIGHT {
            self.taken += 1;
            return take_spare();
        }
        match self.free.recv().await {
            Some(buf) => buf,
            None => take_spare(), // unreachable while the lanes live: they hold senders
        }
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

/// Whichever lane is done with a stride last hands its buffer back to the writer, or to the
/// spares once the writer is finished.
fn give_back(free: &UnboundedSender<Vec<u8>>, stride: Arc<Vec<u8>>) {
    if let Some(mut buf) = Arc::into_inner(stride) {
        buf.clear();
        if let Err(unsent) = free.send(buf) {
            keep_spare(unsent.0);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::PathBuf;
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
        let big = pattern(STRIDES_IN_FLIGHT * 3 * STRIDE + 12_345);
        let small = pattern(70_000);
        let cases: [(&[u8], usize); 6] = [
            (&small, 1),
            (&big, 4093),
            (&big, STRIDE - 1),
            (&big, STRIDE),
            (&big, STRIDE + 7),
            (&big, 3 * STRIDE),
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
        let data = pattern(5 * STRIDE / 2);
        let (head, tail) = data.split_at(STRIDE + 100);
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
        let data = Bytes::from(pattern(STRIDE));
        // Far more strides than buffers: the writer must notice the failed lane, not wait for a
        // buffer that never comes back.
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

    #[test]
    fn open_uploads_that_wait_for_their_clients_hold_no_thread() {
        // Fewer blocking threads than two per upload: uploads stalled mid-stream must not keep
        // other blocking work (file opens, blob reads) from running.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .max_blocking_threads(4)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            let dir = tempfile::tempdir().expect("tempdir");
            let mut writers = Vec::new();
            for i in 0..10 {
                let file = File::create(dir.path().join(i.to_string())).expect("create");
                let mut writer = BlobWriter::new(HashedFile::new(file), false);
                writer
                    .write(Bytes::from(pattern(STRIDE + 10)))
                    .await
                    .expect("write");
                writers.push(writer);
            }
            let other =
                tokio::time::timeout(Duration::from_secs(30), tokio::task::spawn_blocking(|| 42))
                    .await
                    .expect("other blocking work runs while uploads wait");
            assert_eq!(other.expect("task"), 42);
            for writer in writers {
                let mut done = writer.finish().await.expect("finish");
                assert_eq!(done.len, STRIDE as u64 + 10);
                let data = pattern(STRIDE + 10);
                assert_eq!(
                    done.digest().await.expect("digest"),
                    Digest::from_sha256(Sha256::digest(&data).as_slice())
                );
            }
        });
    }
}
