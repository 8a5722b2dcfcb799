//! Delivery of recorded events to a JSON-lines file (`--events-file`): in order, at least once.
//!
//! The file sink's cursor (the last delivered `seq`) is kept in the store after each batch is
//! appended, so a restart resumes where delivery stopped; a crash between the append and the
//! cursor update delivers that batch again.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::core::{CoreError, CoreResult, Registry};
use crate::store::events::{self as event_sql, EventFilter};

/// The sink's name in the `event_sinks` table.
const NAME: &str = "file";

/// Events appended per batch (one store read, one write, one cursor update).
const BATCH: i64 = 1000;

/// Appends every event recorded since the last delivery to `path`; returns how many.
pub async fn deliver_to_file(registry: &Registry, path: &Path) -> CoreResult<usize> {
    let mut delivered = 0;
    loop {
        let after = registry.store().read(|c| event_sql::delivered(c, NAME))?;
        let filter = EventFilter {
            after,
            ..EventFilter::default()
        };
        let (events, last) = super::read(registry, &filter, BATCH)?;
        if events.is_empty() {
            return Ok(delivered);
        }
        let mut lines = String::new();
        for event in &events {
            lines.push_str(&event.to_string());
            lines.push('\n');
        }
        let path: PathBuf = path.to_owned();
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?;
            file.write_all(lines.as_bytes())
        })
        .await
        .map_err(std::io::Error::other)??;
        registry
            .store()
            .write(move |c| event_sql::set_delivered(c, NAME, last))
            .await
            .map_err(CoreError::from)?;
        delivered += events.len();
    }
}

/// Opens (creating) the events file for appending, or says why it cannot be.
pub fn check_file(path: &Path) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map(drop)
        .map_err(|e| std::io::Error::new(e.kind(), format!("events file {}: {e}", path.display())))
}

/// Keeps the newest [`super::KEPT`] events.
pub async fn trim(registry: &Registry) -> CoreResult<usize> {
    registry
        .store()
        .write(|c| event_sql::trim(c, super::KEPT))
        .await
        .map_err(CoreError::from)
}
