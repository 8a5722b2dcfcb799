//! SQL for blob rows, their per-repository links, and upload sessions.

use rusqlite::{params, Connection, OptionalExtension};

use super::StoreError;
use crate::core::names::Digest;

/// Size of a blob if it is linked into the repository.
pub fn linked_size(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
) -> Result<Option<u64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
         WHERE rb.repository_id = ?1 AND rb.digest = ?2",
    )?;
    let size: Option<i64> = stmt
        .query_row(params![repository_id, digest.as_str()], |r| r.get(0))
        .optional()?;
    Ok(size.map(|s| s as u64))
}

/// Records a blob whose file is in place, and links it into the repository. Idempotent.
pub fn add_and_link(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
    size: u64,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO blobs (digest, size, created_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?
    .execute(params![digest.as_str(), size as i64, now])?;
    link(conn, repository_id, digest, now)
}

/// Links an already stored blob into a repository (a cross-repository mount).
pub fn link(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO repository_blobs (repository_id, digest, linked_at) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?
    .execute(params![repository_id, digest.as_str(), now])?;
    Ok(())
}

/// Removes a blob's link from a repository (the bytes stay until garbage collection).
pub fn unlink(conn: &Connection, repository_id: i64, digest: &Digest) -> Result<bool, StoreError> {
    let n = conn
        .prepare_cached("DELETE FROM repository_blobs WHERE repository_id = ?1 AND digest = ?2")?
        .execute(params![repository_id, digest.as_str()])?;
    Ok(n > 0)
}

/// Which of `digests` are not linked into the repository, in the order given.
pub fn missing(
    conn: &Connection,
    repository_id: i64,
    digests: &[Digest],
) -> Result<Vec<Digest>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT 1 FROM repository_blobs WHERE repository_id = ?1 AND digest = ?2",
    )?;
    let mut absent = Vec::new();
    for digest in digests {
        if !stmt.exists(params![repository_id, digest.as_str()])? {
            absent.push(digest.clone());
        }
    }
    Ok(absent)
}

/// Whether any manifest still needs the blob (in any repository).
pub fn is_referenced(conn: &Connection, digest: &Digest) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM manifest_blobs WHERE digest = ?1")?
        .exists([digest.as_str()])?)
}

pub fn insert_upload(
    conn: &Connection,
    id: &str,
    repository_id: i64,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO uploads (id, repository_id, created_at) VALUES (?1, ?2, ?3)")?
        .execute(params![id, repository_id, now])?;
    Ok(())
}

/// Whether an upload session exists in the repository.
pub fn upload_exists(conn: &Connection, id: &str, repository_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM uploads WHERE id = ?1 AND repository_id = ?2")?
        .exists(params![id, repository_id])?)
}

pub fn delete_upload(conn: &Connection, id: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM uploads WHERE id = ?1")?
        .execute([id])?
        > 0)
}

/// Deletes sessions created before `before`; returns their ids so their files can go too.
pub fn delete_uploads_before(conn: &Connection, before: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("DELETE FROM uploads WHERE created_at < ?1 RETURNING id")?;
    let ids = stmt.query_map([before], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

pub fn all_upload_ids(conn: &Connection) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM uploads")?;
    let ids = stmt.query_map([], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}
