//! The one clock of ecrd.
//!
//! Push times, token expiry and (later) lifecycle all read time from here, so that tests can
//! move time forward instead of waiting for it.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// Milliseconds since the Unix epoch.
pub type Millis = i64;

/// Wall-clock time plus an adjustable offset.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_ms: Arc<AtomicI64>,
}

impl Clock {
    pub fn new() -> Self {
        Self::default()
    }

    /// Now, in milliseconds since the epoch, as ecrd sees it.
    pub fn now_millis(&self) -> Millis {
        chrono::Utc::now().timestamp_millis() + self.offset_ms.load(Ordering::Relaxed)
    }

    /// Moves ecrd's time forward (or back, with a negative value).
    pub fn advance(&self, by_ms: i64) {
        self.offset_ms.fetch_add(by_ms, Ordering::Relaxed);
    }

    /// Makes ecrd's "now" equal to `at` (milliseconds since the epoch).
    pub fn set(&self, at: Millis) {
        let real = chrono::Utc::now().timestamp_millis();
        self.offset_ms.store(at - real, Ordering::Relaxed);
    }
}
