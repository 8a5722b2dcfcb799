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
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::RegistryPolicy => "registry_policy",
            Kind::Replication => "replication",
            Kind::Scanning => "scanning",
            Kind::AccountSetting => "account_setting",
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
        .map(|doc| {
            serde_json::from_str(&doc).map_err(|e| {
                StoreError::Corrupt(format!("registry setting {}: {e}", kind.as_str()))
            })
        })
        .transpose()
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
