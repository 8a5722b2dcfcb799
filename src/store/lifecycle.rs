//! SQL for lifecycle policies, their previews and referrer cleanup (storage classes are in
//! [`super::manifests`]).

use rusqlite::{params, Connection, OptionalExtension};

use super::manifests::ImageStatus;
use super::StoreError;

/// A repository's policy text and when it was last applied.
pub fn policy(
    conn: &Connection,
    repository_id: i64,
) -> Result<Option<(String, Option<i64>)>, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT lifecycle_policy, lifecycle_evaluated_at FROM repositories WHERE id = ?1",
        )?
        .query_row([repository_id], |r| {
            Ok((r.get::<_, Option<String>>(0)?, r.get(1)?))
        })
        .optional()?;
    Ok(row.and_then(|(text, at)| text.map(|t| (t, at))))
}

pub fn set_policy(
    conn: &Connection,
    repository_id: i64,
    text: Option<&str>,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE repositories SET lifecycle_policy = ?2, lifecycle_evaluated_at = NULL WHERE id = ?1")?
        .execute(params![repository_id, text])?;
    Ok(())
}

pub fn set_evaluated(conn: &Connection, repository_id: i64, at: i64) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE repositories SET lifecycle_evaluated_at = ?2 WHERE id = ?1")?
        .execute(params![repository_id, at])?;
    Ok(())
}

/// What lifecycle evaluation needs of an image.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFactsRow {
    pub id: i64,
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: i64,
    pub last_activated_at: Option<i64>,
    pub last_pulled_at: Option<i64>,
    pub status: ImageStatus,
    pub last_archived_at: Option<i64>,
    /// Listed by an index, or a referrer whose subject is in the repository.
    pub protected: bool,
}

/// All images of a repository with their tags and protection, in one statement.
pub fn image_facts(
    conn: &Connection,
    repository_id: i64,
) -> Result<Vec<ImageFactsRow>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id, m.digest, m.pushed_at, m.last_activated_at, m.last_pulled_at, m.status, m.last_archived_at, \
           (SELECT group_concat(name, ' ') FROM (SELECT name FROM tags t WHERE t.manifest_id = m.id ORDER BY name)), \
           EXISTS (SELECT 1 FROM manifest_children c WHERE c.child_id = m.id) \
           OR (m.subject_digest IS NOT NULL AND EXISTS \
               (SELECT 1 FROM manifests s WHERE s.repository_id = m.repository_id AND s.digest = m.subject_digest)) \
         FROM manifests m WHERE m.repository_id = ?1 ORDER BY m.pushed_at, m.digest",
    )?;
    let rows = stmt.query_map([repository_id], |r| {
        let tags: Option<String> = r.get(7)?;
        Ok(ImageFactsRow {
            id: r.get(0)?,
            digest: r.get(1)?,
            pushed_at: r.get(2)?,
            last_activated_at: r.get(3)?,
            last_pulled_at: r.get(4)?,
            status: r.get(5)?,
            last_archived_at: r.get(6)?,
            tags: tags
                .map(|t| t.split(' ').map(str::to_owned).collect())
                .unwrap_or_default(),
            protected: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Referrers whose subject was deleted from the repository and has not come back.
pub fn orphaned_referrers(conn: &Connection, repository_id: i64) -> Result<Vec<i64>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.id FROM manifests m \
         WHERE m.repository_id = ?1 AND m.subject_digest IS NOT NULL \
           AND NOT EXISTS (SELECT 1 FROM manifests s WHERE s.repository_id = m.repository_id AND s.digest = m.subject_digest) \
           AND EXISTS (SELECT 1 FROM deleted_manifests d WHERE d.repository_id = m.repository_id AND d.digest = m.subject_digest)",
    )?;
    let ids = stmt.query_map([repository_id], |r| r.get(0))?;
    Ok(ids.collect::<Result<_, _>>()?)
}

/// A stored preview: policy text, status, results (JSON).
pub fn preview(
    conn: &Connection,
    repository_id: i64,
) -> Result<Option<(String, String, String)>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT policy_text, status, results FROM lifecycle_previews WHERE repository_id = ?1",
        )?
        .query_row([repository_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

pub fn put_preview(
    conn: &Connection,
    repository_id: i64,
    text: &str,
    status: &str,
    results: &str,
    at: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO lifecycle_previews (repository_id, policy_text, status, results, started_at) \
         VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (repository_id) DO UPDATE SET \
         policy_text = excluded.policy_text, status = excluded.status, results = excluded.results, \
         started_at = excluded.started_at",
    )?
    .execute(params![repository_id, text, status, results, at])?;
    Ok(())
}

pub fn set_preview_status(
    conn: &Connection,
    repository_id: i64,
    status: &str,
) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE lifecycle_previews SET status = ?2 WHERE repository_id = ?1")?
        .execute(params![repository_id, status])?;
    Ok(())
}
