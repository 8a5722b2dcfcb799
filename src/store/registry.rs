//! SQL for registry-level settings: one JSON document per (account, region, kind, key).
//!
//! The documents' shapes are the store's own (below): what the core keeps, not what a front
//! sends. The registry policy is kept as its text, which is itself JSON.

use rusqlite::{params, Connection, OptionalExtension};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::core::names::Namespace;

/// Which setting a document is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The registry policy text (key '').
    RegistryPolicy,
    /// A [`ReplicationConfiguration`] (key '').
    Replication,
    /// A [`ScanningConfiguration`] (key '').
    Scanning,
    /// An account setting's value as a JSON string, keyed by the setting's name.
    AccountSetting,
    /// A [`PullThroughCacheRule`], keyed by its prefix without a trailing `/`.
    PullThroughCacheRule,
    /// A [`CreationTemplate`], keyed by its prefix without a trailing `/`.
    CreationTemplate,
    /// The [`SigningConfiguration`] (key '').
    Signing,
    /// A [`PullTimeExclusion`], keyed by the principal's ARN.
    PullTimeExclusion,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::RegistryPolicy => "registry_policy",
            Kind::Replication => "replication",
            Kind::Scanning => "scanning",
            Kind::AccountSetting => "account_setting",
            Kind::PullThroughCacheRule => "pull_through_cache_rule",
            Kind::CreationTemplate => "creation_template",
            Kind::Signing => "signing",
            Kind::PullTimeExclusion => "pull_time_exclusion",
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationConfiguration {
    pub rules: Vec<ReplicationRule>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplicationRule {
    pub destinations: Vec<ReplicationDestination>,
    /// PREFIX_MATCH filters (the only filter type); empty: every repository.
    pub repository_filters: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ReplicationDestination {
    pub region: String,
    pub registry_id: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanningConfiguration {
    /// BASIC or ENHANCED.
    pub scan_type: String,
    pub rules: Vec<ScanningRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanningRule {
    /// SCAN_ON_PUSH, CONTINUOUS_SCAN or MANUAL.
    pub scan_frequency: String,
    /// WILDCARD filters (the only filter type) on repository names.
    pub repository_filters: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullThroughCacheRule {
    /// As the client wrote it (`ROOT`, or a name prefix with or without a trailing `/`).
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    /// The upstream's kind (`docker-hub`, `ecr`, …), given or inferred from the URL.
    pub upstream_registry: String,
    pub credential_arn: Option<String>,
    pub custom_role_arn: Option<String>,
    pub upstream_repository_prefix: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreationTemplate {
    /// As the client wrote it (`ROOT`, or a name prefix with or without a trailing `/`).
    pub prefix: String,
    pub description: Option<String>,
    /// AES256, KMS or KMS_DSSE.
    pub encryption_type: String,
    pub kms_key: Option<String>,
    pub resource_tags: Vec<(String, String)>,
    pub tag_mutability: String,
    pub exclusion_filters: Vec<String>,
    pub repository_policy: Option<String>,
    pub lifecycle_policy: Option<String>,
    /// REPLICATION, PULL_THROUGH_CACHE and/or CREATE_ON_PUSH.
    pub applied_for: Vec<String>,
    pub custom_role_arn: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningConfiguration {
    pub rules: Vec<SigningRule>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SigningRule {
    pub signing_profile_arn: String,
    /// WILDCARD_MATCH filters (the only filter type) on repository names; empty: every
    /// repository.
    pub repository_filters: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PullTimeExclusion {
    pub created_at: i64,
}

/// The stored document, if any.
pub fn document(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
    key: &str,
) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT document FROM registry_settings \
             WHERE account = ?1 AND region = ?2 AND kind = ?3 AND key = ?4",
        )?
        .query_row(params![ns.account, ns.region, kind.as_str(), key], |r| {
            r.get(0)
        })
        .optional()?)
}

/// Inserts or replaces a document.
pub fn put_document(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
    key: &str,
    document: &str,
    now: i64,
) -> Result<(), StoreError> {
    conn.prepare_cached(
        "INSERT INTO registry_settings (account, region, kind, key, document, updated_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (account, region, kind, key) DO UPDATE \
         SET document = excluded.document, updated_at = excluded.updated_at",
    )?
    .execute(params![
        ns.account,
        ns.region,
        kind.as_str(),
        key,
        document,
        now
    ])?;
    Ok(())
}

/// Every document of a kind, `(key, document)` in key order.
pub fn documents(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
) -> Result<Vec<(String, String)>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT key, document FROM registry_settings \
         WHERE account = ?1 AND region = ?2 AND kind = ?3 ORDER BY key",
    )?;
    let rows = stmt.query_map(params![ns.account, ns.region, kind.as_str()], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How many documents of a kind the registry holds.
pub fn count(conn: &Connection, ns: &Namespace, kind: Kind) -> Result<usize, StoreError> {
    let n: i64 = conn
        .prepare_cached(
            "SELECT COUNT(*) FROM registry_settings \
             WHERE account = ?1 AND region = ?2 AND kind = ?3",
        )?
        .query_row(params![ns.account, ns.region, kind.as_str()], |r| r.get(0))?;
    Ok(n as usize)
}

/// Removes a document; returns it, if there was one.
pub fn delete_document(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
    key: &str,
) -> Result<Option<String>, StoreError> {
    let old = document(conn, ns, kind, key)?;
    conn.prepare_cached(
        "DELETE FROM registry_settings \
         WHERE account = ?1 AND region = ?2 AND kind = ?3 AND key = ?4",
    )?
    .execute(params![ns.account, ns.region, kind.as_str(), key])?;
    Ok(old)
}

/// A stored document of a JSON-encoded kind, decoded.
pub fn get<T: DeserializeOwned>(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
    key: &str,
) -> Result<Option<T>, StoreError> {
    document(conn, ns, kind, key)?
        .map(|doc| decode(kind, &doc))
        .transpose()
}

/// Every document of a JSON-encoded kind, decoded, `(key, value)` in key order.
pub fn all<T: DeserializeOwned>(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
) -> Result<Vec<(String, T)>, StoreError> {
    documents(conn, ns, kind)?
        .into_iter()
        .map(|(key, doc)| Ok((key, decode(kind, &doc)?)))
        .collect()
}

/// Removes a document of a JSON-encoded kind; returns it decoded, if there was one.
pub fn remove<T: DeserializeOwned>(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
    key: &str,
) -> Result<Option<T>, StoreError> {
    delete_document(conn, ns, kind, key)?
        .map(|doc| decode(kind, &doc))
        .transpose()
}

fn decode<T: DeserializeOwned>(kind: Kind, doc: &str) -> Result<T, StoreError> {
    serde_json::from_str(doc)
        .map_err(|e| StoreError::Corrupt(format!("registry setting {}: {e}", kind.as_str())))
}

/// Encodes and stores a document of a JSON-encoded kind.
pub fn put<T: Serialize>(
    conn: &Connection,
    ns: &Namespace,
    kind: Kind,
    key: &str,
    value: &T,
    now: i64,
) -> Result<(), StoreError> {
    let doc = serde_json::to_string(value)
        .map_err(|e| StoreError::Corrupt(format!("registry setting {}: {e}", kind.as_str())))?;
    put_document(conn, ns, kind, key, &doc, now)
}
