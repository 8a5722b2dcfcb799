//! Pull times, recorded without a write per pull.
//!
//! A manifest GET must stay a pure read (it is the hottest path of a registry), so pulls are
//! remembered in memory and written in one batch every second and at shutdown. ECR itself only
//! promises an approximate `lastRecordedPullTime`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::core::CoreResult;
use crate::store::{manifests, Store};

/// A pull not yet written: the manifest's digest (SQLite may give a deleted manifest's id to a
/// new one, and a pull must never land on another image) and the time.
type Pending = (String, i64);

#[derive(Default)]
pub struct PullRecorder {
    pending: Mutex<HashMap<i64, Pending>>,
}

impl PullRecorder {
    pub fn record(&self, manifest_id: i64, digest: &str, at: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pending
            .entry(manifest_id)
            .or_insert_with(|| (digest.to_owned(), at));
        if entry.0 == digest {
            entry.1 = entry.1.max(at);
        } else {
            *entry = (digest.to_owned(), at);
        }
    }

    /// A pull of this manifest recorded but not yet written.
    pub fn pending(&self, manifest_id: i64, digest: &str) -> Option<i64> {
        let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        pending
            .get(&manifest_id)
            .filter(|(d, _)| d == digest)
            .map(|(_, at)| *at)
    }

    pub async fn flush(&self, store: &Store) -> CoreResult<()> {
        // Entries stay visible (to `pending`) until they are committed.
        let batch: Vec<(i64, String, i64)> = {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending
                .iter()
                .map(|(id, (digest, at))| (*id, digest.clone(), *at))
                .collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let written = batch.clone();
        store
            .write(move |c| manifests::record_pulls(c, &batch))
            .await?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (id, digest, at) in written {
            if pending.get(&id) == Some(&(digest, at)) {
                pending.remove(&id);
            }
        }
        Ok(())
    }
}
