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

/// Links an already stored blob into a repository (a cross-repository mount). Linking again
/// refreshes `linked_at`: garbage collection spares links younger than its grace period, so a
/// blob re-uploaded for a manifest about to be pushed must look fresh.
pub fn link(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO repository_blobs (repository_id, digest, linked_at) VALUES (?1, ?2, ?3) \
         ON CONFLICT (repository_id, digest) DO UPDATE SET linked_at = max(linked_at, excluded.linked_at)",
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

/// Sizes of those of `digests` that are linked into the repository (absent ones are left out).
pub fn linked_sizes(
    conn: &Connection,
    repository_id: i64,
    digests: &[Digest],
) -> Result<std::collections::HashMap<Digest, u64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.size FROM repository_blobs rb JOIN blobs b ON b.digest = rb.digest \
         WHERE rb.repository_id = ?1 AND rb.digest = ?2",
    )?;
    let mut sizes = std::collections::HashMap::new();
    for digest in digests {
        let size: Option<i64> = stmt
            .query_row(params![repository_id, digest.as_str()], |r| r.get(0))
            .optional()?;
        if let Some(size) = size {
            sizes.insert(digest.clone(), size as u64);
        }
    }
    Ok(sizes)
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

/// Records a part received by UploadLayerPart (a retried part replaces itself).
pub fn record_layer_part(
    conn: &Connection,
    upload_id: &str,
    first_byte: u64,
    size: u64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO layer_upload_parts (upload_id, first_byte, size) VALUES (?1, ?2, ?3)",
    )?
    .execute(params![upload_id, first_byte as i64, size as i64])?;
    Ok(())
}

/// Sizes of the parts an upload received through UploadLayerPart, in upload order.
pub fn layer_part_sizes(conn: &Connection, upload_id: &str) -> Result<Vec<u64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT size FROM layer_upload_parts WHERE upload_id = ?1 ORDER BY first_byte",
    )?;
    let sizes = stmt.query_map([upload_id], |r| r.get::<_, i64>(0))?;
    Ok(sizes
        .map(|s| s.map(|s| s as u64))
        .collect::<Result<_, _>>()?)
}

/// A manifest of the repository that uses the blob: its media type and bytes (whose descriptor
/// of the blob says the blob's media type).
pub fn a_manifest_using(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT m.media_type, m.body FROM manifest_blobs mb JOIN manifests m ON m.id = mb.manifest_id \
             WHERE m.repository_id = ?1 AND mb.digest = ?2 LIMIT 1",
        )?
        .query_row(params![repository_id, digest.as_str()], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?)
}

/// Whether an image of the repository uses the blob (as its config or a layer).
pub fn used_in_repository(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM manifest_blobs mb JOIN manifests m ON m.id = mb.manifest_id \
             WHERE m.repository_id = ?1 AND mb.digest = ?2",
        )?
        .exists(params![repository_id, digest.as_str()])?)
}

/// Blobs garbage collection may take: used by no manifest, and linked nowhere since `cutoff`
/// (ms) — so also every blob with no link at all. With sizes, in digest order.
pub fn collectable(conn: &Connection, cutoff: i64) -> Result<Vec<(Digest, u64)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT b.digest, b.size FROM blobs b \
         WHERE NOT EXISTS (SELECT 1 FROM manifest_blobs mb WHERE mb.digest = b.digest) \
           AND NOT EXISTS (SELECT 1 FROM repository_blobs rb \
                           WHERE rb.digest = b.digest AND rb.linked_at >= ?1) \
         ORDER BY b.digest",
    )?;
    let rows = stmt.query_map([cutoff], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
    })?;
    rows.map(|row| {
        let (digest, size) = row?;
        let digest = Digest::parse(&digest)
            .map_err(|_| StoreError::Corrupt(format!("blob row with digest '{digest}'")))?;
        Ok((digest, size as u64))
    })
    .collect()
}

/// Deletes what [`collectable`] finds — links first, then the rows — and returns it. Run inside
/// one write transaction, so the conditions hold at the moment of deletion.
pub fn delete_collectable(
    conn: &Connection,
    cutoff: i64,
) -> Result<Vec<(Digest, u64)>, StoreError> {
    let doomed = collectable(conn, cutoff)?;
    let mut unlink = conn.prepare_cached("DELETE FROM repository_blobs WHERE digest = ?1")?;
    let mut delete = conn.prepare_cached("DELETE FROM blobs WHERE digest = ?1")?;
    for (digest, _) in &doomed {
        unlink.execute([digest.as_str()])?;
        delete.execute([digest.as_str()])?;
    }
    Ok(doomed)
}

/// Whether a blob row exists (a file without one is an orphan).
/// Every blob digest with a row, read in one statement (GC compares it with the files).
pub fn all_digests(conn: &Connection) -> Result<std::collections::HashSet<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT digest FROM blobs")?;
    let digests = stmt.query_map([], |r| r.get(0))?;
    Ok(digests.collect::<Result<_, _>>()?)
}

/// Ids of the upload sessions created before `before` (ms).
pub fn uploads_before(conn: &Connection, before: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id FROM uploads WHERE created_at < ?1")?;
    let ids = stmt.query_map([before], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}
