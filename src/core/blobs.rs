//! Blobs: reading them, uploads (monolithic, streamed, chunked), mounts.
//!
//! Bytes always stream to disk while sha256 is computed ([`BlobWriter`]); a blob is never held
//! whole in memory. A blob becomes visible in a repository only once its file is in place and
//! its row is committed.

use std::collections::HashMap;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures_util::{Stream, StreamExt};

use super::images::PushFront;
use super::names::Digest;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::blob_index;
use crate::store::blob_writer::{BlobWriter, HashState, HashedFile};

/// A blob linked into a repository.
#[derive(Clone, Debug)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
    pub path: PathBuf,
}

/// Per-upload locks and the hash state of each upload's bytes so far, so that each PATCH hashes
/// only its own bytes. Lost state (a restart) is rebuilt by re-reading the upload file.
#[derive(Default)]
pub struct UploadStates {
    sessions: Mutex<HashMap<String, Session>>,
}

/// One upload's lock, guarding its hash state and length (when known).
type Session = Arc<tokio::sync::Mutex<Option<(HashState, u64)>>>;

impl UploadStates {
    fn session(&self, id: &str) -> Session {
        let mut sessions = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        sessions.entry(id.to_owned()).or_default().clone()
    }

    pub(super) fn forget(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }
}

/// Where a chunk claims to start, and how long it says it is.
#[derive(Clone, Copy, Debug, Default)]
pub struct ChunkRange {
    pub start: Option<u64>,
    pub len: Option<u64>,
}

/// Streams `body` into `writer`; the body's own errors (a client that went away) become I/O
/// errors.
async fn pour<S, E>(writer: &mut BlobWriter, body: S) -> CoreResult<()>
where
    S: Stream<Item = Result<Bytes, E>>,
    E: std::fmt::Display,
{
    let mut body = std::pin::pin!(body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| io::Error::other(format!("request body: {e}")))?;
        writer.write(chunk).await?;
    }
    Ok(())
}

/// A session whose file is gone is over: its bytes became a blob (a concurrent PUT, or a crash
/// between the rename and the session's deletion) or were discarded.
fn upload_gone(error: io::Error) -> CoreError {
    match error.kind() {
        io::ErrorKind::NotFound => CoreError::UploadUnknown,
        _ => CoreError::Io(error),
    }
}

fn valid_upload_id(id: &str) -> CoreResult<()> {
    // Upload ids become file names: only ever accept the UUIDs we hand out.
    uuid::Uuid::parse_str(id)
        .map(|_| ())
        .map_err(|_| CoreError::UploadUnknown)
}

impl Registry {
    /// A blob linked into the repository.
    pub fn stat_blob(&self, ns: &Namespace, repo: &str, digest: &Digest) -> CoreResult<BlobInfo> {
        let repo = self.repository(ns, repo)?;
        let size = self
            .store
            .read(|c| blob_index::linked_size(c, repo.id, digest))?
            .ok_or(CoreError::BlobUnknown)?;
        Ok(BlobInfo {
            digest: digest.clone(),
            size,
            path: self.files.blob_path(digest),
        })
    }

    /// Opens an upload session; returns its id. Over the registry API this may create the
    /// repository (see [`Registry::repository_for_push`]).
    pub async fn start_upload(
        &self,
        ns: &Namespace,
        repo: &str,
        front: PushFront,
    ) -> CoreResult<String> {
        let repo = self.repository_for_push(ns, repo, front).await?;
        let id = uuid::Uuid::new_v4().to_string();
        std::fs::File::create(self.files.upload_path(&id))?;
        let (now, id2) = (self.clock.now_millis(), id.clone());
        self.store
            .write(move |c| blob_index::insert_upload(c, &id2, repo.id, now))
            .await?;
        Ok(id)
    }

    fn check_upload(&self, ns: &Namespace, repo: &str, id: &str) -> CoreResult<i64> {
        valid_upload_id(id)?;
        let repo = self.repository(ns, repo)?;
        if self
            .store
            .read(|c| blob_index::upload_exists(c, id, repo.id))?
        {
            Ok(repo.id)
        } else {
            Err(CoreError::UploadUnknown)
        }
    }

    /// Bytes received so far by an upload.
    pub fn upload_size(&self, ns: &Namespace, repo: &str, id: &str) -> CoreResult<u64> {
        self.check_upload(ns, repo, id)?;
        let size = std::fs::metadata(self.files.upload_path(id)).map_err(upload_gone)?;
        Ok(size.len())
    }

    /// Appends a chunk (PATCH). A chunk must start where the upload ends; a chunk that fails
    /// midway is cut off again, so a failed PATCH changes nothing. Returns the new size.
    pub async fn append_upload<S, E>(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &str,
        range: ChunkRange,
        body: S,
    ) -> CoreResult<u64>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        self.check_upload(ns, repo, id)?;
        let session = self.uploads.session(id);
        let mut state = session.lock().await;
        let target = self.reopen_upload(id, state.take()).await?;
        let start = target.len;
        if let Some(claimed) = range.start {
            if claimed != start {
                *state = Some((target.hash, target.len));
                return Err(CoreError::ChunkOutOfOrder { current: start });
            }
        }
        let mut writer = BlobWriter::new(target, self.files.durable());
        let poured = pour(&mut writer, body).await;
        let finished = writer.finish().await.map_err(CoreError::from);
        let outcome = match (poured, finished) {
            (Ok(()), Ok(done)) => match range.len {
                Some(len) if done.len - start != len => Err(CoreError::SizeInvalid(format!(
                    "chunk length {} does not match the declared {len}",
                    done.len - start
                ))),
                _ => Ok(done),
            },
            (Err(e), _) | (_, Err(e)) => Err(e),
        };
        match outcome {
            Ok(done) => {
                let len = done.len;
                *state = Some((done.hash, done.len));
                Ok(len)
            }
            Err(e) => {
                // Leave the upload exactly as it was before this chunk.
                let path = self.files.upload_path(id);
                let _ = tokio::task::spawn_blocking(move || {
                    std::fs::File::options()
                        .write(true)
                        .open(path)
                        .and_then(|f| f.set_len(start))
                })
                .await;
                Err(e)
            }
        }
    }

    async fn reopen_upload(
        &self,
        id: &str,
        cached: Option<(HashState, u64)>,
    ) -> CoreResult<HashedFile> {
        let path = self.files.upload_path(id);
        let opened = tokio::task::spawn_blocking(move || -> io::Result<HashedFile> {
            let on_disk = std::fs::metadata(&path)?.len();
            match cached {
                Some((hash, len)) if len == on_disk => {
                    let file = std::fs::File::options().append(true).open(&path)?;
                    Ok(HashedFile { file, hash, len })
                }
                _ => HashedFile::rehash_existing(&path),
            }
        })
        .await
        .map_err(io::Error::other)?
        .map_err(upload_gone)?;
        Ok(opened)
    }

    /// Closes an upload (PUT ?digest=), with an optional last chunk, which is checked like a
    /// PATCH's: one out of order changes nothing and leaves the session open for the client to
    /// resume. On a digest mismatch the session is discarded and nothing is stored.
    pub async fn finish_upload<S, E>(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &str,
        expected: &Digest,
        last_range: ChunkRange,
        last: S,
    ) -> CoreResult<BlobInfo>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let repo_id = self.check_upload(ns, repo, id)?;
        self.append_upload(ns, repo, id, last_range, last).await?;
        let session = self.uploads.session(id);
        let mut state = session.lock().await;
        let mut target = self.reopen_upload(id, state.take()).await?;
        let actual = match target.digest().await {
            Ok(digest) => digest,
            // The hash state was lost: the file has every byte, hash it again.
            Err(_) => {
                target = self.reopen_upload(id, None).await?;
                target.digest().await?
            }
        };
        if &actual != expected {
            self.discard_upload(id).await?;
            return Err(CoreError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let info = self
            .install(
                repo_id,
                self.files.upload_path(id),
                target,
                expected,
                Some(id),
            )
            .await?;
        self.uploads.forget(id);
        Ok(info)
    }

    /// Moves a hashed file into place and links it into the repository; when the file was an
    /// upload session's, the session is closed in the same transaction.
    async fn install(
        &self,
        repo_id: i64,
        written: PathBuf,
        target: HashedFile,
        digest: &Digest,
        upload: Option<&str>,
    ) -> CoreResult<BlobInfo> {
        // Held from the rename until the row is committed: a garbage collection in between
        // could otherwise delete the file just put in place (see `core::gc`).
        let _gc = self.gc_lock.read().await;
        let files = self.files.clone();
        let d = digest.clone();
        tokio::task::spawn_blocking(move || files.install(&written, &target.file, &d))
            .await
            .map_err(io::Error::other)??;
        let size = std::fs::metadata(self.files.blob_path(digest))?.len();
        let (d, now, upload) = (
            digest.clone(),
            self.clock.now_millis(),
            upload.map(str::to_owned),
        );
        self.store
            .write(move |c| {
                blob_index::add_and_link(c, repo_id, &d, size, now)?;
                if let Some(id) = upload {
                    blob_index::delete_upload(c, &id)?;
                }
                Ok::<_, CoreError>(())
            })
            .await?;
        Ok(BlobInfo {
            digest: digest.clone(),
            size,
            path: self.files.blob_path(digest),
        })
    }

    async fn discard_upload(&self, id: &str) -> CoreResult<()> {
        let id2 = id.to_owned();
        self.store
            .write(move |c| blob_index::delete_upload(c, &id2))
            .await?;
        self.uploads.forget(id);
        match std::fs::remove_file(self.files.upload_path(id)) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Cancels an upload (DELETE).
    pub async fn cancel_upload(&self, ns: &Namespace, repo: &str, id: &str) -> CoreResult<()> {
        self.check_upload(ns, repo, id)?;
        let session = self.uploads.session(id);
        let _held = session.lock().await;
        self.discard_upload(id).await
    }

    /// A whole blob in one request (POST ?digest=).
    pub async fn put_blob<S, E>(
        &self,
        ns: &Namespace,
        repo: &str,
        expected: &Digest,
        body: S,
        front: PushFront,
    ) -> CoreResult<BlobInfo>
    where
        S: Stream<Item = Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let repo = self.repository_for_push(ns, repo, front).await?;
        let (path, file) = self.files.temp_file()?;
        let mut writer = BlobWriter::new(HashedFile::new(file), self.files.durable());
        let poured = pour(&mut writer, body).await;
        let finished = writer.finish().await.map_err(CoreError::from);
        let mut target = match (poured, finished) {
            (Ok(()), Ok(target)) => target,
            (Err(e), _) | (_, Err(e)) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        let actual = match target.digest().await {
            Ok(digest) => digest,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e.into());
            }
        };
        if &actual != expected {
            let _ = std::fs::remove_file(&path);
            return Err(CoreError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        self.install(repo.id, path, target, expected, None).await
    }

    /// Links a blob of another repository of the same namespace into `repo` (cross-repository
    /// mount). As on ECR, only with the account setting `BLOB_MOUNTING` enabled (new registries
    /// have it disabled) and between repositories encrypted alike. `None` when no mount is made:
    /// the caller then opens a normal upload, as the spec says.
    pub async fn mount_blob(
        &self,
        ns: &Namespace,
        repo: &str,
        digest: &Digest,
        from: &str,
        front: PushFront,
    ) -> CoreResult<Option<BlobInfo>> {
        let target = self.repository_for_push(ns, repo, front).await?;
        // From the check that `from` has it until the link is committed (see `core::gc`).
        let _gc = self.gc_lock.read().await;
        let size = self.store.read(|c| -> CoreResult<Option<u64>> {
            if super::settings::account_setting_in(c, ns, super::settings::BLOB_MOUNTING)?
                != "ENABLED"
            {
                return Ok(None);
            }
            let source = match super::repository_in(c, ns, from) {
                Ok(source) => source,
                Err(_) => return Ok(None),
            };
            let encrypted_alike = source.encryption_type == target.encryption_type
                && source.kms_key == target.kms_key;
            if !encrypted_alike {
                return Ok(None);
            }
            Ok(blob_index::linked_size(c, source.id, digest)?)
        })?;
        let Some(size) = size else {
            return Ok(None);
        };
        let (d, now) = (digest.clone(), self.clock.now_millis());
        self.store
            .write(move |c| blob_index::link(c, target.id, &d, now))
            .await?;
        Ok(Some(BlobInfo {
            digest: digest.clone(),
            size,
            path: self.files.blob_path(digest),
        }))
    }
}
