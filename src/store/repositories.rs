//! SQL for repositories and their resource tags.

use rusqlite::{params, Connection, OptionalExtension, Row};

use super::StoreError;
use crate::core::names::Namespace;

#[derive(Clone, Debug, PartialEq)]
pub struct RepositoryRow {
    pub id: i64,
    pub account: String,
    pub region: String,
    pub name: String,
    pub created_at: i64,
    pub tag_mutability: String,
    /// Wildcard filters of `*_WITH_EXCLUSION` mutability.
    pub exclusion_filters: Vec<String>,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
}

const COLUMNS: &str = "id, account, region, name, created_at, tag_mutability, \
    mutability_exclusions, scan_on_push, encryption_type, kms_key";

fn from_row(row: &Row<'_>) -> rusqlite::Result<RepositoryRow> {
    let exclusions: String = row.get(6)?;
    Ok(RepositoryRow {
        id: row.get(0)?,
        account: row.get(1)?,
        region: row.get(2)?,
        name: row.get(3)?,
        created_at: row.get(4)?,
        tag_mutability: row.get(5)?,
        exclusion_filters: serde_json::from_str(&exclusions).unwrap_or_default(),
        scan_on_push: row.get(7)?,
        encryption_type: row.get(8)?,
        kms_key: row.get(9)?,
    })
}

/// Inserts a repository; `Ok(None)` when one of that name already exists in the namespace.
pub fn insert(conn: &Connection, repo: &RepositoryRow) -> Result<Option<i64>, StoreError> {
    let exclusions = serde_json::to_string(&repo.exclusion_filters).unwrap_or_else(|_| "[]".into());
    let inserted = conn.execute(
        "INSERT INTO repositories (account, region, name, created_at, tag_mutability, \
         mutability_exclusions, scan_on_push, encryption_type, kms_key) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT DO NOTHING",
        params![
            repo.account,
            repo.region,
            repo.name,
            repo.created_at,
            repo.tag_mutability,
            exclusions,
            repo.scan_on_push,
            repo.encryption_type,
            repo.kms_key
        ],
    )?;
    Ok((inserted == 1).then(|| conn.last_insert_rowid()))
}

pub fn get(
    conn: &Connection,
    ns: &Namespace,
    name: &str,
) -> Result<Option<RepositoryRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM repositories WHERE account = ?1 AND region = ?2 AND name = ?3"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    Ok(stmt
        .query_row(params![ns.account, ns.region, name], from_row)
        .optional()?)
}

/// Every repository, by account, region and name.
pub fn all(conn: &Connection) -> Result<Vec<RepositoryRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM repositories ORDER BY account, region, name");
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Repositories of a namespace in name order, strictly after `after`, at most `limit`.
pub fn list(
    conn: &Connection,
    ns: &Namespace,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<RepositoryRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM repositories WHERE account = ?1 AND region = ?2 AND name > ?3 \
         ORDER BY name LIMIT ?4"
    );
    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(
        params![ns.account, ns.region, after.unwrap_or(""), limit as i64],
        from_row,
    )?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes a repository and (by cascade) its images, tags, links and uploads.
pub fn delete(conn: &Connection, id: i64) -> Result<(), StoreError> {
    // Children first: manifest_children does not cascade from the child side.
    conn.execute(
        "DELETE FROM manifest_children WHERE manifest_id IN (SELECT id FROM manifests WHERE repository_id = ?1)",
        [id],
    )?;
    conn.execute("DELETE FROM repositories WHERE id = ?1", [id])?;
    Ok(())
}

pub fn count_images(conn: &Connection, id: i64) -> Result<i64, StoreError> {
    let mut stmt =
        conn.prepare_cached("SELECT count(*) FROM manifests WHERE repository_id = ?1")?;
    Ok(stmt.query_row([id], |r| r.get(0))?)
}

pub fn resource_tags(conn: &Connection, id: i64) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, value FROM repository_resource_tags WHERE repository_id = ?1 ORDER BY key",
    )?;
    let rows = stmt.query_map([id], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sets (inserts or overwrites) resource tags.
pub fn put_resource_tags(
    conn: &Connection,
    id: i64,
    tags: &[(String, String)],
) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "INSERT INTO repository_resource_tags (repository_id, key, value) VALUES (?1, ?2, ?3) \
         ON CONFLICT (repository_id, key) DO UPDATE SET value = excluded.value",
    )?;
    for (key, value) in tags {
        stmt.execute(params![id, key, value])?;
    }
    Ok(())
}

/// Replaces a repository's tag mutability and its exclusion filters.
pub fn set_tag_mutability(
    conn: &Connection,
    id: i64,
    mutability: &str,
    exclusion_filters: &[String],
) -> Result<(), StoreError> {
    let exclusions = serde_json::to_string(exclusion_filters).unwrap_or_else(|_| "[]".into());
    conn.prepare_cached(
        "UPDATE repositories SET tag_mutability = ?2, mutability_exclusions = ?3 WHERE id = ?1",
    )?
    .execute(params![id, mutability, exclusions])?;
    Ok(())
}

pub fn set_scan_on_push(conn: &Connection, id: i64, scan_on_push: bool) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE repositories SET scan_on_push = ?2 WHERE id = ?1")?
        .execute(params![id, scan_on_push])?;
    Ok(())
}

/// Removes resource tags by key; keys the repository does not have are ignored.
pub fn delete_resource_tags(conn: &Connection, id: i64, keys: &[String]) -> Result<(), StoreError> {
    let mut stmt = conn.prepare_cached(
        "DELETE FROM repository_resource_tags WHERE repository_id = ?1 AND key = ?2",
    )?;
    for key in keys {
        stmt.execute(params![id, key])?;
    }
    Ok(())
}

/// The repository policy text, if the repository has one.
pub fn policy(conn: &Connection, id: i64) -> Result<Option<String>, StoreError> {
    let text = conn
        .prepare_cached("SELECT repository_policy FROM repositories WHERE id = ?1")?
        .query_row([id], |r| r.get::<_, Option<String>>(0))
        .optional()?;
    Ok(text.flatten())
}

/// Sets (`Some`) or removes (`None`) the repository policy.
pub fn set_policy(conn: &Connection, id: i64, text: Option<&str>) -> Result<(), StoreError> {
    conn.prepare_cached("UPDATE repositories SET repository_policy = ?2 WHERE id = ?1")?
        .execute(params![id, text])?;
    Ok(())
}
