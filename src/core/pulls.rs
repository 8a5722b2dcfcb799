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

    pub async fn flush(&self, store: &Store) -> CoreResult<()> {
        let batch: Vec<(i64, i64)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
            pending.drain().collect()
        };
        if batch.is_empty() {
            return Ok(());
        }
        store
            .write(move |c| manifests::record_pulls(c, &batch))
            .await?;
        Ok(())
    }
}
