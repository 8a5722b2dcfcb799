//! The registry core: the one implementation of every registry rule.
//!
//! Both fronts call [`Registry`]; neither knows SQL or file layout, and neither re-implements a
//! check done here. Operations take a [`Namespace`] (account + region) first: repositories of
//! different namespaces never see each other.

pub mod blobs;
pub mod catalog;
pub mod error;
pub mod gc;
pub mod images;
pub mod layers;
pub mod manifest;
pub mod mutability;
pub mod names;
pub mod policies;
mod pulls;
pub mod repositories;
pub mod scanning;
pub mod settings;
pub mod storage_class;

use std::path::Path;
use std::sync::Arc;

use crate::clock::Clock;
use crate::store::blob_index;
use crate::store::blobs::BlobFiles;
use crate::store::repositories::{self as repo_sql, RepositoryRow};
use crate::store::Store;

pub use error::{CoreError, CoreResult};
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
        self.store
            .read(|c| repo_sql::get(c, ns, name))?
            .ok_or_else(|| not_found(ns, name))
    }
}

pub(crate) fn not_found(ns: &Namespace, name: &str) -> CoreError {
    CoreError::RepositoryNotFound {
        name: name.to_owned(),
        registry_id: ns.account.clone(),
    }
}
