//! The registry core: the one implementation of every registry rule.
//!
//! Both fronts call [`Registry`]; neither knows SQL or file layout, and neither re-implements a
//! check done here. Operations take a [`Namespace`] (account + region) first: repositories of
//! different namespaces never see each other.

pub mod blobs;
pub mod catalog;
pub mod error;
pub mod exclusions;
pub mod gc;
pub mod images;
pub mod layers;
pub mod manifest;
pub mod mutability;
pub mod names;
pub mod policies;
pub mod pull_through;
mod pulls;
pub mod repositories;
pub mod scanning;
pub mod settings;
pub mod signing;
pub mod storage_class;
pub mod templates;

use std::path::Path;
use std::sync::Arc;

use crate::clock::Clock;
use crate::store::blob_index;
use crate::store::blobs::BlobFiles;
use crate::store::repositories::{self as repo_sql, RepositoryRow};
use crate::store::{Conn, Store};

pub use error::{CoreError, CoreResult};
use images::PushFront;
pub use names::Namespace;

/// Upload sessions older than this are swept (ECR's exact lifetime is unknown; a day is ample).
pub const UPLOAD_LIFETIME_MS: i64 = 24 * 3600 * 1000;

/// Handle to the registry. Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct Registry {
    store: Store,
    files: BlobFiles,
    clock: Clock,
    uploads: Arc<blobs::UploadStates>,
    pulls: Arc<pulls::PullRecorder>,
    /// Blob installs and links hold it shared, garbage collection exclusively (see [`gc`]).
    gc_lock: Arc<tokio::sync::RwLock<()>>,
}

impl Registry {
    /// Opens the registry in `data_dir`, sweeping what a crash may have left behind.
    pub async fn open(data_dir: &Path, durable: bool, clock: Clock) -> CoreResult<Registry> {
        std::fs::create_dir_all(data_dir)?;
        let store = Store::open(data_dir, durable)?;
        let files = BlobFiles::open(data_dir, durable)?;
        let registry = Registry {
            store,
            files,
            clock,
            uploads: Arc::default(),
            pulls: Arc::default(),
            gc_lock: Arc::default(),
        };
        registry.sweep().await?;
        Ok(registry)
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The metadata store, for layers above the core (lifecycle) that keep their own tables.
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    /// Removes temporary files, expired upload sessions, and upload files without a session.
    async fn sweep(&self) -> CoreResult<()> {
        let temp = self.files.sweep_temp()?;
        let before = self.clock.now_millis() - UPLOAD_LIFETIME_MS;
        let expired = self
            .store
            .write(move |c| blob_index::delete_uploads_before(c, before))
            .await?;
        let live: std::collections::HashSet<String> = self
            .store
            .read(blob_index::all_upload_ids)?
            .into_iter()
            .collect();
        let mut orphans = 0;
        for entry in std::fs::read_dir(self.files.uploads_dir())? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !live.contains(&name) {
                std::fs::remove_file(entry.path())?;
                orphans += 1;
            }
        }
        // Sessions whose bytes are gone (a crash after the file was installed as a blob, before
        // the session row went) can never complete.
        let bodiless: Vec<String> = live
            .into_iter()
            .filter(|id| !self.files.upload_path(id).exists())
            .collect();
        let bodiless_count = bodiless.len();
        if !bodiless.is_empty() {
            self.store
                .write(move |c| {
                    for id in &bodiless {
                        blob_index::delete_upload(c, id)?;
                    }
                    Ok::<_, CoreError>(())
                })
                .await?;
        }
        tracing::debug!(
            temp,
            expired = expired.len(),
            orphans,
            bodiless = bodiless_count,
            "swept leftovers"
        );
        Ok(())
    }

    /// Writes pending pull times and closes the store: the last thing a server does.
    pub async fn close(&self) -> CoreResult<()> {
        self.flush_pulls().await?;
        self.store.close().await;
        Ok(())
    }

    /// Writes pending pull times; called periodically and at shutdown.
    pub async fn flush_pulls(&self) -> CoreResult<()> {
        self.pulls.flush(&self.store).await
    }

    /// The repository `name` of `ns`, or RepositoryNotFound.
    pub(crate) fn repository(&self, ns: &Namespace, name: &str) -> CoreResult<RepositoryRow> {
        self.store.read(|c| repository_in(c, ns, name))
    }

    /// The repository a push writes into (an upload, a mount, a manifest), creating it from a
    /// creation template when ECR would (see [`repository_for_push_in`]).
    pub(crate) async fn repository_for_push(
        &self,
        ns: &Namespace,
        name: &str,
        front: PushFront,
    ) -> CoreResult<RepositoryRow> {
        if let Some(row) = self.store.read(|c| repo_sql::get(c, ns, name))? {
            return Ok(row);
        }
        if front == PushFront::Api {
            // The ECR API never creates repositories: no write transaction to find that out.
            return Err(not_found(ns, name));
        }
        let (ns, name, now) = (ns.clone(), name.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| repository_for_push_in(c, &ns, &name, front, now))
            .await
    }
}

/// The repository a push writes into, inside a write transaction. A push over the registry API
/// to a repository that does not exist creates it when a CREATE_ON_PUSH creation template covers
/// its name ([`templates::create_on_push`]); otherwise, and always on the ECR API (PutImage and
/// the layer API never create repositories), it is RepositoryNotFound. Reads never come here:
/// a pull of a missing repository stays a 404.
pub(crate) fn repository_for_push_in(
    c: &Conn,
    ns: &Namespace,
    name: &str,
    front: PushFront,
    now: i64,
) -> CoreResult<RepositoryRow> {
    if let Some(row) = repo_sql::get(c, ns, name)? {
        return Ok(row);
    }
    let created = match front {
        PushFront::Registry => templates::create_on_push(c, ns, name, now)?,
        PushFront::Api => None,
    };
    created.ok_or_else(|| not_found(ns, name))
}

/// The repository `name` of `ns` inside a transaction already open, or RepositoryNotFound.
pub(crate) fn repository_in(
    c: &crate::store::Conn,
    ns: &Namespace,
    name: &str,
) -> CoreResult<RepositoryRow> {
    repo_sql::get(c, ns, name)?.ok_or_else(|| not_found(ns, name))
}

pub(crate) fn not_found(ns: &Namespace, name: &str) -> CoreError {
    CoreError::RepositoryNotFound {
        name: name.to_owned(),
        registry_id: ns.account.clone(),
    }
}
