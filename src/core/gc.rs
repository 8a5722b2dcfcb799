//! Garbage collection: blob files and rows that nothing needs any more, expired upload sessions,
//! and the lock that keeps an offline `ecrd gc` off a data dir a server is using.
//!
//! # What goes
//!
//! * A blob (row and file) that **no manifest uses** (`manifest_blobs`) and that is **linked
//!   into no repository since the grace period** ([`GRACE_MS`]) — which includes a blob linked
//!   nowhere at all, e.g. after its repository was force-deleted. The grace period is what lets a
//!   push finish: its blobs are uploaded (and linked) before its manifest arrives, and until then
//!   nothing uses them. Linking again (a re-upload, a mount) refreshes the link's time.
//! * A file under `blobs/` without a row: what a crash between the rename into place and the
//!   commit of the row left behind.
//! * Upload sessions older than [`super::UPLOAD_LIFETIME_MS`], with their bytes.
//!
//! An open upload never holds a blob file: its bytes are in `uploads/<id>` until it finishes,
//! and finishing puts a new file in place (the rename replaces any identical one). So a blob may
//! go while an upload of the same bytes is open; the finish brings it back.
//!
//! # Racing pushes
//!
//! A blob becomes visible in two steps: its file is renamed into place, then its row and link are
//! committed. A collection deletes in two steps too: rows (in one write transaction that checks
//! the conditions above at that moment), then files. Interleaved, a collection could delete the
//! file of a blob whose row a push has just committed. [`Registry`] therefore holds a
//! `tokio::sync::RwLock<()>`: every install and link (`blobs::install`, `mount_blob`) holds it
//! **shared** from before the rename (or the check that the source has the blob) until its commit;
//! a collection holds it **exclusively** across its row deletion and its file deletion. So an
//! install runs entirely before a collection (then its link is fresh and the blob is kept) or
//! entirely after it (then it puts the file back and inserts the row anew). Pushing a manifest
//! needs no lock: its check that the blobs are linked and its insert run in one write
//! transaction, serialized with the collection's.
//!
//! What the grace period cannot cover: a client that finds a blob already present (HEAD), skips
//! uploading it, and pushes its manifest after a collection took that blob — possible only for a
//! blob no image used for longer than the grace period. The push fails with
//! MANIFEST_BLOB_UNKNOWN and a retry uploads the blob again.
//!
//! # Where it runs
//!
//! In the server, every [`INTERVAL`] and on `POST /_ecrd/gc`; offline, as `ecrd gc`, which first
//! takes the [`DataDirLock`] so that it never runs beside a live server.

use std::io::{self, Write};
use std::path::Path;
use std::time::Duration;

use super::{CoreResult, Registry, UPLOAD_LIFETIME_MS};
use crate::store::blob_index;

/// How long a blob no image uses stays after it was last linked.
pub const GRACE_MS: i64 = 3600 * 1000;

/// How often a running server collects.
pub const INTERVAL: Duration = Duration::from_secs(10 * 60);

/// What a collection removed (or, in a dry run, would remove).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GcReport {
    pub dry_run: bool,
    /// Blobs (rows and files) no image uses.
    pub blobs: usize,
    pub blob_bytes: u64,
    /// Blob files without a row.
    pub orphan_files: usize,
    pub orphan_bytes: u64,
    /// Expired upload sessions.
    pub uploads: usize,
    pub upload_bytes: u64,
}

impl GcReport {
    pub fn total_bytes(&self) -> u64 {
        self.blob_bytes + self.orphan_bytes + self.upload_bytes
    }
}

impl std::fmt::Display for GcReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verb = if self.dry_run {
            "would remove"
        } else {
            "removed"
        };
        write!(
            f,
            "{verb} {} unused blobs ({} bytes), {} orphaned blob files ({} bytes), \
             {} expired uploads ({} bytes): {} bytes in all",
            self.blobs,
            self.blob_bytes,
            self.orphan_files,
            self.orphan_bytes,
            self.uploads,
            self.upload_bytes,
            self.total_bytes()
        )
    }
}

impl Registry {
    /// Collects garbage (see the module doc); a dry run only counts it.
    pub async fn collect_garbage(&self, dry_run: bool) -> CoreResult<GcReport> {
        let now = self.clock.now_millis();
        let cutoff = now - GRACE_MS;
        let expired_before = now - UPLOAD_LIFETIME_MS;
        let mut report = GcReport {
            dry_run,
            ..GcReport::default()
        };

        // Exclusive of every install and link, from the row deletion through the file deletion.
        let _exclusive = self.gc_lock.write().await;

        let blobs = if dry_run {
            self.store.read(|c| blob_index::collectable(c, cutoff))?
        } else {
            self.store
                .write(move |c| blob_index::delete_collectable(c, cutoff))
                .await?
        };
        report.blobs = blobs.len();
        report.blob_bytes = blobs.iter().map(|(_, size)| size).sum();

        let files = self.files.clone();
        let store = self.store.clone();
        let (orphans, orphan_bytes) = tokio::task::spawn_blocking(move || -> CoreResult<_> {
            if !dry_run {
                for (digest, _) in &blobs {
                    files.remove_blob(digest)?;
                }
            }
            // With the lock held no install is between its rename and its commit: a file
            // without a row now is an orphan.
            let known = store.read(blob_index::all_digests)?;
            let mut orphans = 0;
            let mut bytes = 0;
            for (digest, size) in files.list_blobs()? {
                if !known.contains(digest.as_str()) {
                    if !dry_run {
                        files.remove_blob(&digest)?;
                    }
                    orphans += 1;
                    bytes += size;
                }
            }
            Ok((orphans, bytes))
        })
        .await
        .map_err(io::Error::other)??;
        report.orphan_files = orphans;
        report.orphan_bytes = orphan_bytes;

        let uploads = if dry_run {
            self.store
                .read(|c| blob_index::uploads_before(c, expired_before))?
        } else {
            self.store
                .write(move |c| blob_index::delete_uploads_before(c, expired_before))
                .await?
        };
        report.uploads = uploads.len();
        for id in &uploads {
            let path = self.files.upload_path(id);
            report.upload_bytes += std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if !dry_run {
                self.uploads.forget(id);
                match std::fs::remove_file(&path) {
                    Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e.into()),
                    _ => {}
                }
            }
        }

        if report
            != (GcReport {
                dry_run,
                ..GcReport::default()
            })
        {
            tracing::info!(%report, "garbage collection");
        }
        Ok(report)
    }
}

/// The lock a server holds on its data dir for as long as it runs: `flock(2)` on
/// `<data dir>/ecrd.lock`.
///
/// `flock` rather than a pid file made with `create_new`: the kernel releases the lock when its
/// process ends, however it ends, so a crashed or killed server never leaves a stale lock that a
/// user would have to find and delete. The file's content (pid, address) only informs the
/// message of whoever finds it locked.
pub struct DataDirLock {
    file: std::fs::File,
}

impl DataDirLock {
    const FILE: &'static str = "ecrd.lock";

    /// Takes the lock, creating the data dir if needed. `Ok(None)`: another process holds it.
    pub fn acquire(data_dir: &Path) -> io::Result<Option<DataDirLock>> {
        std::fs::create_dir_all(data_dir)?;
        let file = std::fs::File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(data_dir.join(Self::FILE))?;
        if !lock_exclusive(&file)? {
            return Ok(None);
        }
        let lock = DataDirLock { file };
        lock.describe(&format!("pid {}", std::process::id()))?;
        Ok(Some(lock))
    }

    /// Records who holds the lock, for the message of whoever finds it taken.
    pub fn describe(&self, holder: &str) -> io::Result<()> {
        let mut file = &self.file;
        file.set_len(0)?;
        io::Seek::seek(&mut file, io::SeekFrom::Start(0))?;
        file.write_all(holder.as_bytes())?;
        file.write_all(b"\n")
    }

    /// The error for a data dir whose lock another process holds.
    pub fn in_use(data_dir: &Path) -> io::Error {
        let holder = std::fs::read_to_string(data_dir.join(Self::FILE)).unwrap_or_default();
        let holder = holder.trim();
        io::Error::new(
            io::ErrorKind::WouldBlock,
            format!(
                "the data dir {} is in use by a running ecrd{}",
                data_dir.display(),
                if holder.is_empty() {
                    String::new()
                } else {
                    format!(" ({holder})")
                }
            ),
        )
    }
}

#[cfg(unix)]
fn lock_exclusive(file: &std::fs::File) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    // SAFETY: flock on a descriptor this function borrows from an open File.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc == 0 {
        return Ok(true);
    }
    let error = io::Error::last_os_error();
    if error.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(error)
    }
}

/// Without flock, a data dir is not guarded.
#[cfg(not(unix))]
fn lock_exclusive(_file: &std::fs::File) -> io::Result<bool> {
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_dir_is_locked_once() {
        let dir = tempfile::tempdir().unwrap();
        let held = DataDirLock::acquire(dir.path()).unwrap().expect("free");
        held.describe("pid 1 listening on http://127.0.0.1:5000")
            .unwrap();
        assert!(DataDirLock::acquire(dir.path()).unwrap().is_none());
        let message = DataDirLock::in_use(dir.path()).to_string();
        assert!(
            message.contains("pid 1 listening on http://127.0.0.1:5000"),
            "{message}"
        );
        drop(held);
        assert!(DataDirLock::acquire(dir.path()).unwrap().is_some());
    }
}
