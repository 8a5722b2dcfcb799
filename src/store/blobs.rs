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

use bytes::{Bytes, BytesMut};
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
    pub hasher: Sha256,
    pub len: u64,
}

impl HashedFile {
    pub fn new(file: File) -> Self {
        HashedFile {
            file,
            hasher: Sha256::new(),
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
        Ok(HashedFile { file, hasher, len })
    }

    pub fn digest(&self) -> Digest {
        Digest::from_sha256(self.hasher.clone().finalize().as_slice())
    }
}

/// Streams chunks into a [`HashedFile`]: chunks are gathered into 1 MiB strides; each stride is
/// hashed by one blocking task and written by another while the next stride is received, so the
/// network, sha256 and the disk all overlap and no blob is ever held whole in memory.
pub struct BlobWriter {
    idle: Option<HashedFile>,
    busy: Option<Stride>,
    buf: BytesMut,
    /// Start writeback of each stride at once, so the fsync at the end has little left to do.
    durable: bool,
}

/// The two halves of a stride in flight; `len` is the file length once both are done.
struct Stride {
    write: tokio::task::JoinHandle<io::Result<File>>,
    hash: tokio::task::JoinHandle<Sha256>,
    len: u64,
}

impl BlobWriter {
    pub fn new(target: HashedFile, durable: bool) -> Self {
        BlobWriter {
            idle: Some(target),
            busy: None,
            buf: BytesMut::new(),
            durable,
        }
    }

    pub async fn write(&mut self, chunk: Bytes) -> io::Result<()> {
        self.buf.extend_from_slice(&chunk);
        if self.buf.len() >= FLUSH_AT {
            self.flush_stride().await?;
        }
        Ok(())
    }

    async fn flush_stride(&mut self) -> io::Result<()> {
        let HashedFile {
            mut file,
            mut hasher,
            len,
        } = self.settle().await?;
        let stride = self.buf.split().freeze();
        let (offset, size) = (len, stride.len() as u64);
        let durable = self.durable;
        let to_hash = stride.clone();
        self.busy = Some(Stride {
            write: tokio::task::spawn_blocking(move || {
                file.write_all(&stride)?;
                if durable {
                    start_writeback(&file, offset, size);
                }
                Ok(file)
            }),
            hash: tokio::task::spawn_blocking(move || {
                hasher.update(&to_hash);
                hasher
            }),
            len: offset + size,
        });
        Ok(())
    }

    async fn settle(&mut self) -> io::Result<HashedFile> {
        if let Some(Stride { write, hash, len }) = self.busy.take() {
            let file = write.await.map_err(io::Error::other)?;
            let hasher = hash.await.map_err(io::Error::other)?;
            return Ok(HashedFile {
                file: file?,
                hasher,
                len,
            });
        }
        self.idle
            .take()
            .ok_or_else(|| io::Error::other("blob writer used after failure"))
    }

    /// Writes what is buffered and hands back the file, its hash and length.
    pub async fn finish(mut self) -> io::Result<HashedFile> {
        if !self.buf.is_empty() {
            self.flush_stride().await?;
        }
        self.settle().await
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

/// Bytes a blob is served in: large, so the socket gets big writes and the reader few wakeups.
const READ_CHUNK: usize = 1 << 20;

/// Streams `len` bytes of `file` from `start`. A blocking thread reads ahead (up to four chunks),
/// which costs less than tokio's file I/O, a thread hand-off per small read.
pub fn read_range(
    mut file: File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut read = || -> io::Result<()> {
            file.seek(io::SeekFrom::Start(start))?;
            let mut left = len;
            while left > 0 {
                let n = left.min(READ_CHUNK as u64) as usize;
                let mut chunk = BytesMut::zeroed(n);
                file.read_exact(&mut chunk)?;
                left -= n as u64;
                if tx.blocking_send(Ok(chunk.freeze())).is_err() {
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
