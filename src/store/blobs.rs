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

/// Streams `len` bytes of `file` from `start`. A blocking thread reads ahead (up to four chunks),
/// which costs less than tokio's file I/O, a thread hand-off per small read. Chunks are read into
/// reused buffers (the blob writer's spare strides), handed back when the socket is done with them.
pub fn read_range(
    mut file: File,
    start: u64,
    len: u64,
) -> impl futures_util::Stream<Item = io::Result<Bytes>> {
    let (tx, rx) = tokio::sync::mpsc::channel::<io::Result<Bytes>>(4);
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut read = || -> io::Result<()> {
            let (mut at, end) = (start, start.saturating_add(len));
            file.seek(io::SeekFrom::Start(start))?;
            while at < end {
                let n = (end - at).min(READ_CHUNK as u64) as usize;
                let mut chunk = SpareChunk(take_spare());
                // Reads into the buffer's spare capacity: no zero-fill of 1 MiB before each read.
                (&mut file).take(n as u64).read_to_end(&mut chunk.0)?;
                if chunk.0.len() != n {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "blob file shorter than its record",
                    ));
                }
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
