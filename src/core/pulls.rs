//! Pull times, recorded without a write per pull.
//!
//! A manifest GET must stay a pure read (it is the hottest path of a registry), so pulls are
//! remembered in memory and written in one batch every second and at shutdown. ECR itself only
//! promises an approximate `lastRecordedPullTime`.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::core::CoreResult;
use crate::store::{manifests, Store};

#[derive(Default)]
pub struct PullRecorder {
    pending: Mutex<HashMap<i64, i64>>,
}

impl PullRecorder {
    pub fn record(&self, manifest_id: i64, at: i64) {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let entry = pending.entry(manifest_id).or_insert(at);
        *entry = (*entry).max(at);
    }

    /// A pull recorded but not yet written.
    pub fn pending(&self, manifest_id: i64) -> Option<i64> {
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&manifest_id)
            .copied()
    }

    pub async fn flush(&self, store: &Store) -> CoreResult<()> {
        // Entries stay visible (to `pending`) until they are committed.
        let batch: Vec<(i64, i64)> = {
            let pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.iter().map(|(id, at)| (*id, *at)).collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        let written = batch.clone();
        store
            .write(move |c| manifests::record_pulls(c, &batch))
            .await?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        for (id, at) in written {
            if pending.get(&id) == Some(&at) {
                pending.remove(&id);
            }
        }
        Ok(())
    }
}
