//! SQL for manifests (images), tags and the referrers index.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;
use crate::core::names::Digest;

/// What is known of a stored manifest, without its body.
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestRow {
    pub id: i64,
    pub digest: String,
    pub media_type: String,
    pub artifact_type: Option<String>,
    pub config_media_type: Option<String>,
    pub subject_digest: Option<String>,
    pub annotations: Option<String>,
    pub size: i64,
    pub image_size: i64,
    pub pushed_at: i64,
    pub last_pulled_at: Option<i64>,
}

const COLUMNS: &str = "m.id, m.digest, m.media_type, m.artifact_type, m.config_media_type, \
    m.subject_digest, m.annotations, m.size, m.image_size, m.pushed_at, m.last_pulled_at";

fn from_row(row: &Row<'_>) -> rusqlite::Result<ManifestRow> {
    Ok(ManifestRow {
        id: row.get(0)?,
        digest: row.get(1)?,
        media_type: row.get(2)?,
        artifact_type: row.get(3)?,
        config_media_type: row.get(4)?,
        subject_digest: row.get(5)?,
        annotations: row.get(6)?,
        size: row.get(7)?,
        image_size: row.get(8)?,
        pushed_at: row.get(9)?,
        last_pulled_at: row.get(10)?,
    })
}

/// A manifest to insert, with what it refers to.
pub struct NewManifest<'a> {
    pub repository_id: i64,
    pub digest: &'a Digest,
    pub media_type: &'a str,
    pub artifact_type: Option<&'a str>,
    pub config_media_type: Option<&'a str>,
    pub subject_digest: Option<&'a str>,
    pub annotations: Option<&'a str>,
    pub image_size: i64,
    pub pushed_at: i64,
    pub body: &'a [u8],
    pub blobs: &'a [Digest],
    pub children: &'a [i64],
}

/// Inserts the manifest unless the repository already has that digest; returns its id and
/// whether it was new.
pub fn insert(conn: &Connection, m: &NewManifest<'_>) -> Result<(i64, bool), StoreError> {
    if let Some(existing) = find_by_digest(conn, m.repository_id, m.digest)? {
        return Ok((existing.id, false));
    }
    conn.prepare_cached(
        "INSERT INTO manifests (repository_id, digest, media_type, artifact_type, config_media_type, \
         subject_digest, annotations, size, image_size, pushed_at, body) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )?
    .execute(params![
        m.repository_id,
        m.digest.as_str(),
        m.media_type,
        m.artifact_type,
        m.config_media_type,
        m.subject_digest,
        m.annotations,
        m.body.len() as i64,
        m.image_size,
        m.pushed_at,
        m.body
    ])?;
    let id = conn.last_insert_rowid();
    let mut blob = conn.prepare_cached(
        "INSERT OR IGNORE INTO manifest_blobs (manifest_id, digest) VALUES (?1, ?2)",
    )?;
    for digest in m.blobs {
        blob.execute(params![id, digest.as_str()])?;
    }
    let mut child = conn.prepare_cached(
        "INSERT OR IGNORE INTO manifest_children (manifest_id, child_id) VALUES (?1, ?2)",
    )?;
    for child_id in m.children {
        child.execute(params![id, child_id])?;
    }
    Ok((id, true))
}

pub fn find_by_digest(
    conn: &Connection,
    repository_id: i64,
    digest: &Digest,
) -> Result<Option<ManifestRow>, StoreError> {
    let sql =
        format!("SELECT {COLUMNS} FROM manifests m WHERE m.repository_id = ?1 AND m.digest = ?2");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![repository_id, digest.as_str()], from_row)
        .optional()?)
}

pub fn find_by_tag(
    conn: &Connection,
    repository_id: i64,
    tag: &str,
) -> Result<Option<ManifestRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM tags t JOIN manifests m ON m.id = t.manifest_id \
         WHERE t.repository_id = ?1 AND t.name = ?2"
    );
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![repository_id, tag], from_row)
        .optional()?)
}

/// The stored bytes of a manifest.
pub fn body(conn: &Connection, id: i64) -> Result<Vec<u8>, StoreError> {
    let body = conn
        .prepare_cached("SELECT body FROM manifests WHERE id = ?1")?
        .query_row([id], |r| r.get(0))
        .optional()?;
    body.ok_or_else(|| StoreError::Corrupt(format!("manifest {id} vanished")))
}

/// Ids of the manifests with these digests in the repository, `None` for each absent one.
pub fn ids_by_digest(
    conn: &Connection,
    repository_id: i64,
    digests: &[Digest],
) -> Result<Vec<Option<i64>>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT id FROM manifests WHERE repository_id = ?1 AND digest = ?2")?;
    digests
        .iter()
        .map(|d| {
            Ok(stmt
                .query_row(params![repository_id, d.as_str()], |r| r.get(0))
                .optional()?)
        })
        .collect()
}

/// Points a tag at a manifest; returns the manifest it pointed at before, if any.
pub fn set_tag(
    conn: &Connection,
    repository_id: i64,
    tag: &str,
    manifest_id: i64,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let previous = tag_target(conn, repository_id, tag)?;
    conn.prepare_cached(
        "INSERT INTO tags (repository_id, name, manifest_id, updated_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT (repository_id, name) DO UPDATE SET manifest_id = excluded.manifest_id, updated_at = excluded.updated_at",
    )?
    .execute(params![repository_id, tag, manifest_id, now])?;
    Ok(previous)
}

pub fn tag_target(
    conn: &Connection,
    repository_id: i64,
    tag: &str,
) -> Result<Option<i64>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT manifest_id FROM tags WHERE repository_id = ?1 AND name = ?2")?
        .query_row(params![repository_id, tag], |r| r.get(0))
        .optional()?)
}

pub fn delete_tag(conn: &Connection, repository_id: i64, tag: &str) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("DELETE FROM tags WHERE repository_id = ?1 AND name = ?2")?
        .execute(params![repository_id, tag])?
        > 0)
}

/// Tags of a manifest, in name order.
pub fn tags_of(conn: &Connection, manifest_id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT name FROM tags WHERE manifest_id = ?1 ORDER BY name")?;
    let tags = stmt.query_map([manifest_id], |r| r.get(0))?;
    Ok(tags.collect::<Result<_, _>>()?)
}

/// Tags of a repository in lexical order, strictly after `after`, at most `limit`.
pub fn list_tags(
    conn: &Connection,
    repository_id: i64,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT name FROM tags WHERE repository_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
    )?;
    let tags = stmt.query_map(
        params![repository_id, after.unwrap_or(""), limit as i64],
        |r| r.get(0),
    )?;
    Ok(tags.collect::<Result<_, _>>()?)
}

/// Whether an index in the repository lists this manifest as a child.
pub fn is_child_of_an_index(conn: &Connection, manifest_id: i64) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached("SELECT 1 FROM manifest_children WHERE child_id = ?1")?
        .exists([manifest_id])?)
}

/// Deletes a manifest with its tags and references; returns the blobs it referenced.
pub fn delete(conn: &Connection, manifest_id: i64) -> Result<Vec<String>, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT digest FROM manifest_blobs WHERE manifest_id = ?1")?;
    let blobs = stmt
        .query_map([manifest_id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    conn.prepare_cached("DELETE FROM manifests WHERE id = ?1")?
        .execute([manifest_id])?;
    Ok(blobs)
}

/// A manifest that refers to a subject, as the referrers API lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferrerRow {
    pub digest: String,
    pub media_type: String,
    pub size: i64,
    pub artifact_type: Option<String>,
    pub annotations: Option<String>,
}

/// Referrers of `subject` in the repository (optionally of one artifact type), oldest first.
pub fn referrers(
    conn: &Connection,
    repository_id: i64,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<ReferrerRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT digest, media_type, size, artifact_type, annotations FROM manifests \
         WHERE repository_id = ?1 AND subject_digest = ?2 AND (?3 IS NULL OR artifact_type = ?3) \
         ORDER BY pushed_at, digest",
    )?;
    let rows = stmt.query_map(
        params![repository_id, subject.as_str(), artifact_type],
        |r| {
            Ok(ReferrerRow {
                digest: r.get(0)?,
                media_type: r.get(1)?,
                size: r.get(2)?,
                artifact_type: r.get(3)?,
                annotations: r.get(4)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records pull times (the latest wins).
pub fn record_pulls(conn: &Connection, pulls: &[(i64, i64)]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE manifests SET last_pulled_at = max(coalesce(last_pulled_at, 0), ?2) WHERE id = ?1",
    )?;
    for (id, at) in pulls {
        stmt.execute(params![id, at])?;
    }
    Ok(())
}
