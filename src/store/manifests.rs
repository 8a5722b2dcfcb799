//! SQL for manifests (images), tags and the referrers index.

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::{params, Connection, OptionalExtension, Row, ToSql};

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
    pub status: ImageStatus,
    pub last_archived_at: Option<i64>,
    pub last_activated_at: Option<i64>,
    /// When the image's basic scan completed; none while it has no scan.
    pub scan_completed_at: Option<i64>,
}

/// An image's state, stored as the text of ECR's `imageStatus`. A stored image is ACTIVE or
/// ARCHIVED; ACTIVATING is only ever reported (ecrd restores at once, see `core::storage_class`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageStatus {
    Active,
    Archived,
    Activating,
}

impl ImageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ImageStatus::Active => "ACTIVE",
            ImageStatus::Archived => "ARCHIVED",
            ImageStatus::Activating => "ACTIVATING",
        }
    }

    pub fn parse(s: &str) -> Option<ImageStatus> {
        [
            ImageStatus::Active,
            ImageStatus::Archived,
            ImageStatus::Activating,
        ]
        .into_iter()
        .find(|status| status.as_str() == s)
    }
}

impl FromSql for ImageStatus {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        ImageStatus::parse(text)
            .ok_or_else(|| FromSqlError::Other(format!("unknown image status {text:?}").into()))
    }
}

impl ToSql for ImageStatus {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.as_str()))
    }
}

const COLUMNS: &str = "m.id, m.digest, m.media_type, m.artifact_type, m.config_media_type, \
    m.subject_digest, m.annotations, m.size, m.image_size, m.pushed_at, m.last_pulled_at, \
    m.status, m.last_archived_at, m.last_activated_at, m.scan_completed_at";
/// Number of columns in [`COLUMNS`]; queries that select more read them from here on.
const NCOLUMNS: usize = 15;

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
        status: row.get(11)?,
        last_archived_at: row.get(12)?,
        last_activated_at: row.get(13)?,
        scan_completed_at: row.get(14)?,
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
    // Remembered so that the next lifecycle run can remove referrers left without their subject.
    conn.prepare_cached(
        "INSERT OR IGNORE INTO deleted_manifests (repository_id, digest) \
         SELECT repository_id, digest FROM manifests WHERE id = ?1",
    )?
    .execute([manifest_id])?;
    conn.prepare_cached("DELETE FROM manifests WHERE id = ?1")?
        .execute([manifest_id])?;
    Ok(blobs)
}

/// A manifest that refers to a subject, as the referrers API lists it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReferrerRow {
    pub digest: String,
    pub pushed_at: i64,
    pub status: ImageStatus,
    pub media_type: String,
    pub size: i64,
    pub artifact_type: Option<String>,
    pub annotations: Option<String>,
}

/// Referrers of `subject` in the repository, oldest first.
pub fn referrers(
    conn: &Connection,
    repository_id: i64,
    subject: &Digest,
) -> Result<Vec<ReferrerRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT digest, media_type, size, artifact_type, annotations, status, pushed_at FROM manifests \
         WHERE repository_id = ?1 AND subject_digest = ?2 ORDER BY pushed_at, digest",
    )?;
    let rows = stmt.query_map(params![repository_id, subject.as_str()], |r| {
        Ok(ReferrerRow {
            digest: r.get(0)?,
            media_type: r.get(1)?,
            size: r.get(2)?,
            artifact_type: r.get(3)?,
            annotations: r.get(4)?,
            status: r.get(5)?,
            pushed_at: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Records pull times (the latest wins) of manifests still holding the digest that was pulled.
pub fn record_pulls(conn: &Connection, pulls: &[(i64, String, i64)]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "UPDATE manifests SET last_pulled_at = max(coalesce(last_pulled_at, 0), ?3) \
         WHERE id = ?1 AND digest = ?2",
    )?;
    for (id, digest, at) in pulls {
        stmt.execute(params![id, digest, at])?;
    }
    Ok(())
}

/// Which images a listing wants, by whether they carry tags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

impl TagStatus {
    fn as_sql(self) -> &'static str {
        match self {
            TagStatus::Tagged => "TAGGED",
            TagStatus::Untagged => "UNTAGGED",
            TagStatus::Any => "ANY",
        }
    }
}

/// An image with its tags (in name order).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageRow {
    pub manifest: ManifestRow,
    pub tags: Vec<String>,
}

/// A page of images in push order (then digest), strictly after `after`, with their tags —
/// one statement for the whole page.
pub fn images_page(
    conn: &Connection,
    repository_id: i64,
    status: TagStatus,
    image_status: Option<ImageStatus>,
    after: Option<(i64, &str)>,
    limit: usize,
) -> Result<Vec<ImageRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS}, \
           (SELECT group_concat(name, ' ') FROM (SELECT name FROM tags t WHERE t.manifest_id = m.id ORDER BY name)) \
         FROM manifests m WHERE m.repository_id = ?1 \
           AND (?2 = 'ANY' OR (?2 = 'TAGGED') = EXISTS (SELECT 1 FROM tags t WHERE t.manifest_id = m.id)) \
           AND (m.pushed_at, m.digest) > (?3, ?4) \
           AND (?6 IS NULL OR m.status = ?6) \
         ORDER BY m.pushed_at, m.digest LIMIT ?5"
    );
    let (after_time, after_digest) = after.unwrap_or((i64::MIN, ""));
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![
            repository_id,
            status.as_sql(),
            after_time,
            after_digest,
            limit as i64,
            image_status
        ],
        |r| {
            let tags: Option<String> = r.get(NCOLUMNS)?;
            Ok(ImageRow {
                manifest: from_row(r)?,
                tags: tags
                    .map(|t| t.split(' ').map(str::to_owned).collect())
                    .unwrap_or_default(),
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One entry of ListImages: an image's digest and one of its tags (none when untagged).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageIdRow {
    pub pushed_at: i64,
    pub digest: String,
    pub tag: Option<String>,
}

/// A page of (image, tag) pairs in push order, digest, tag; strictly after `after`.
pub fn image_ids_page(
    conn: &Connection,
    repository_id: i64,
    status: TagStatus,
    image_status: Option<ImageStatus>,
    after: Option<(i64, &str, &str)>,
    limit: usize,
) -> Result<Vec<ImageIdRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.pushed_at, m.digest, t.name FROM manifests m LEFT JOIN tags t ON t.manifest_id = m.id \
         WHERE m.repository_id = ?1 \
           AND (?2 = 'ANY' OR (?2 = 'TAGGED') = (t.name IS NOT NULL)) \
           AND (m.pushed_at, m.digest, coalesce(t.name, '')) > (?3, ?4, ?5) \
           AND (?7 IS NULL OR m.status = ?7) \
         ORDER BY m.pushed_at, m.digest, coalesce(t.name, '') LIMIT ?6",
    )?;
    let (time, digest, tag) = after.unwrap_or((i64::MIN, "", ""));
    let rows = stmt.query_map(
        params![
            repository_id,
            status.as_sql(),
            time,
            digest,
            tag,
            limit as i64,
            image_status
        ],
        |r| {
            Ok(ImageIdRow {
                pushed_at: r.get(0)?,
                digest: r.get(1)?,
                tag: r.get(2)?,
            })
        },
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The digest of a manifest by id.
pub fn digest_of(conn: &Connection, manifest_id: i64) -> Result<String, StoreError> {
    conn.prepare_cached("SELECT digest FROM manifests WHERE id = ?1")?
        .query_row([manifest_id], |r| r.get(0))
        .optional()?
        .ok_or_else(|| StoreError::Corrupt(format!("manifest {manifest_id} vanished")))
}

pub fn find_by_id(conn: &Connection, id: i64) -> Result<Option<ManifestRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM manifests m WHERE m.id = ?1");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row([id], from_row)
        .optional()?)
}

/// The manifests an index lists.
pub fn children(conn: &Connection, manifest_id: i64) -> Result<Vec<ManifestRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM manifest_children c JOIN manifests m ON m.id = c.child_id \
         WHERE c.manifest_id = ?1 ORDER BY m.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([manifest_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The indexes that list a manifest.
pub fn parents(conn: &Connection, child_id: i64) -> Result<Vec<ManifestRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM manifest_children c JOIN manifests m ON m.id = c.manifest_id \
         WHERE c.child_id = ?1 ORDER BY m.id"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([child_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The manifests of the repository whose subject is `subject` (the referrers index), whole.
pub fn referrer_rows(
    conn: &Connection,
    repository_id: i64,
    subject: &str,
) -> Result<Vec<ManifestRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM manifests m WHERE m.repository_id = ?1 AND m.subject_digest = ?2 \
         ORDER BY m.pushed_at, m.digest"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(params![repository_id, subject], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Moves an image to the archive storage class.
pub fn set_archived(conn: &Connection, manifest_id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE manifests SET status = ?3, last_archived_at = ?2 WHERE id = ?1")?
        .execute(params![manifest_id, at, ImageStatus::Archived])?;
    Ok(())
}

/// Moves an image back to the standard storage class.
pub fn set_activated(conn: &Connection, manifest_id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE manifests SET status = ?3, last_activated_at = ?2 WHERE id = ?1")?
        .execute(params![manifest_id, at, ImageStatus::Active])?;
    Ok(())
}

/// Records (`Some`) or forgets (`None`) the image's completed scan.
pub fn set_scan_completed(
    conn: &Connection,
    manifest_id: i64,
    at: Option<i64>,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE manifests SET scan_completed_at = ?2 WHERE id = ?1")?
        .execute(params![manifest_id, at])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::ImageStatus;

    #[test]
    fn image_status_reads_back_what_it_writes_and_nothing_else() {
        for status in [
            ImageStatus::Active,
            ImageStatus::Archived,
            ImageStatus::Activating,
        ] {
            assert_eq!(ImageStatus::parse(status.as_str()), Some(status));
        }
        // ANY is a filter value, not a state; lower case is not ECR's spelling.
        assert_eq!(ImageStatus::parse("ANY"), None);
        assert_eq!(ImageStatus::parse("active"), None);
    }

    #[test]
    fn an_unknown_stored_status_is_an_error_not_a_default() {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        let read = |text: &str| conn.query_row("SELECT ?1", [text], |r| r.get::<_, ImageStatus>(0));
        assert_eq!(read("ARCHIVED").unwrap(), ImageStatus::Archived);
        assert!(read("DELETED").is_err());
    }
}
