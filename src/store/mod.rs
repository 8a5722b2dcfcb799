//! The metadata store (SQLite) and the blob files.
//!
//! SQLite is used from two kinds of connections:
//!
//! * **one writer**, owned by a dedicated thread. Writes are closures sent to it; the thread takes
//!   every closure that is waiting, runs each inside its own SAVEPOINT of one transaction, commits
//!   once, and only then answers all of them. That is group commit: under concurrent pushes, one
//!   fsync covers many acknowledged writes, and a failing closure rolls back only itself. A single
//!   writer also means SQLite never answers `SQLITE_BUSY` to us.
//! * **pooled readers** (WAL lets them read while the writer writes). Reads are short indexed
//!   queries and run inline on the caller's task.
//!
//! No SQL exists outside this module: [`repositories`], [`manifests`], [`blob_index`],
//! [`registry`] and [`lifecycle`] hold the queries, as plain functions over a `&Connection`.

pub mod blob_index;
pub mod blob_writer;
pub mod blobs;
pub mod events;
pub mod lifecycle;
pub mod manifests;
mod migrations;
pub mod registry;
pub mod repositories;

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;

pub use rusqlite::Connection as Conn;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the store's writer has stopped")]
    WriterGone,
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

type Deliver = Box<dyn FnOnce(Result<(), StoreError>) + Send>;
/// A write: runs on the writer connection, says whether it succeeded (to keep or roll back its
/// savepoint) and hands back how to answer its caller once the commit is known.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Deliver) + Send>;

/// What the writer thread is asked to do.
enum Message {
    Write(Job),
    /// Commit what is queued, checkpoint the WAL and stop; answered once done.
    Close(std::sync::mpsc::Sender<()>),
}

/// Handle to the metadata store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    jobs: mpsc::Sender<Message>,
    readers: Arc<ReaderPool>,
}

struct ReaderPool {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

/// How much of the database file readers map into memory.
const MMAP_BYTES: i64 = 256 << 20;

/// Upper bound on closures committed together; bounds the latency one commit adds.
const MAX_GROUP: usize = 256;

impl Store {
    /// Opens (creating and migrating if needed) `metadata.sqlite` in `dir`.
    pub fn open(dir: &Path, durable: bool) -> Result<Store, StoreError> {
        let path = dir.join("metadata.sqlite");
        let mut writer = Connection::open(&path)?;
        configure(&writer, durable)?;
        migrations::migrate(&mut writer)?;

        let (jobs, queue) = mpsc::channel::<Message>();
        std::thread::Builder::new()
            .name("ecrd-store-writer".into())
            .spawn(move || writer_loop(writer, queue))
            .map_err(|e| StoreError::Corrupt(format!("cannot start writer thread: {e}")))?;

        Ok(Store {
            jobs,
            readers: Arc::new(ReaderPool {
                path,
                idle: Mutex::new(Vec::new()),
            }),
        })
    }

    /// Runs `f` in a write transaction; returns once its effects are committed (and, when
    /// durable, synced). If `f` fails, nothing it did is kept.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let (tx, rx) = tokio::sync::oneshot::channel::<Result<T, E>>();
        let job: Job = Box::new(move |conn| {
            let result = f(conn);
            let ok = result.is_ok();
            let deliver: Deliver = Box::new(move |committed| {
                let out = match committed {
                    Ok(()) => result,
                    Err(e) => Err(E::from(e)),
                };
                let _ = tx.send(out);
            });
            (ok, deliver)
        });
        self.jobs
            .send(Message::Write(job))
            .map_err(|_| E::from(StoreError::WriterGone))?;
        rx.await
            .unwrap_or_else(|_| Err(E::from(StoreError::WriterGone)))
    }

    /// Runs `f` on a reader connection, in one read transaction. Reads see every write committed
    /// before it began.
    pub fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        F: FnOnce(&Connection) -> Result<T, E>,
        E: From<StoreError>,
    {
        let conn = self.readers.take()?;
        // One read transaction per closure: its queries see one snapshot, and SQLite takes its
        // locks once instead of once per statement.
        let result = match conn.unchecked_transaction() {
            Ok(snapshot) => f(&snapshot),
            Err(e) => Err(E::from(StoreError::from(e))),
        };
        self.readers.give_back(conn);
        result
    }

    /// Commits every queued write, checkpoints the WAL into the database file and stops the
    /// writer: later writes fail with [`StoreError::WriterGone`]. Reads keep working.
    pub async fn close(&self) {
        let (done, finished) = mpsc::channel();
        if self.jobs.send(Message::Close(done)).is_ok() {
            let _ = tokio::task::spawn_blocking(move || finished.recv()).await;
        }
    }

    /// Waits until every write sent before this call has been committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        self.write(|_| Ok::<(), StoreError>(())).await
    }
}

impl ReaderPool {
    fn take(&self) -> Result<Connection, StoreError> {
        if let Some(conn) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop() {
            return Ok(conn);
        }
        let conn = Connection::open_with_flags(
            &self.path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // Pages read through a shared mapping instead of a read() per page: manifest GETs are
        // small indexed reads, and the syscalls were a large part of their cost.
        conn.pragma_update(None, "mmap_size", MMAP_BYTES)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < 64 {
            idle.push(conn);
        }
    }
}

fn configure(conn: &Connection, durable: bool) -> Result<(), StoreError> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a commit is on disk before it is acknowledged. OFF for ephemeral stores, which are
    // deleted at exit and need no crash safety.
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

fn writer_loop(conn: Connection, queue: mpsc::Receiver<Message>) {
    while let Ok(first) = queue.recv() {
        let mut group = Vec::new();
        let mut close = None;
        match first {
            Message::Write(job) => group.push(job),
            Message::Close(done) => close = Some(done),
        }
        while close.is_none() && group.len() < MAX_GROUP {
            match queue.try_recv() {
                Ok(Message::Write(job)) => group.push(job),
                Ok(Message::Close(done)) => close = Some(done),
                Err(_) => break,
            }
        }
        if !group.is_empty() {
            commit_group(&conn, group);
        }
        if let Some(done) = close {
            if let Err(e) = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)") {
                tracing::warn!(error = %e, "WAL checkpoint at close failed");
            }
            drop(conn);
            let _ = done.send(());
            return;
        }
    }
}

fn commit_group(conn: &Connection, group: Vec<Job>) {
    let delivers = run_group(conn, group);
    let committed = conn.execute_batch("COMMIT").map_err(StoreError::from);
    match committed {
        Ok(()) => delivers.into_iter().for_each(|d| d(Ok(()))),
        Err(e) => {
            tracing::error!(error = %e, "commit failed; failing every write of the group");
            let _ = conn.execute_batch("ROLLBACK");
            let msg = e.to_string();
            for d in delivers {
                d(Err(StoreError::Corrupt(format!("commit failed: {msg}"))));
            }
        }
    }
}

fn run_group(conn: &Connection, group: Vec<Job>) -> Vec<Deliver> {
    let mut delivers = Vec::with_capacity(group.len());
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        tracing::error!(error = %e, "cannot begin a write transaction");
    }
    for job in group {
        let savepoint = conn.execute_batch("SAVEPOINT job");
        // A panicking write must not take the writer thread (and every later write) with it.
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(conn)));
        let (ok, deliver) = match outcome {
            Ok(done) => (done.0, Some(done.1)),
            Err(_) => (false, None),
        };
        let end = if ok && savepoint.is_ok() {
            conn.execute_batch("RELEASE job")
        } else {
            conn.execute_batch("ROLLBACK TO job; RELEASE job")
        };
        if let Err(e) = end {
            tracing::error!(error = %e, "savepoint could not be closed");
        }
        delivers.extend(deliver);
    }
    delivers
}
