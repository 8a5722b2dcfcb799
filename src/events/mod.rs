//! EventBridge-style events, as ECR sends them to the default event bus (`source: "aws.ecr"`).
//!
//! The core records an event inside the transaction of the change it describes, into the
//! store's outbox (`events` table): an event exists exactly when its change was committed, and
//! a change never waits for an event to be delivered. Readers take them from there:
//! `GET /_ecrd/events` (see `crate::admin`), and the [`sink`]s: `--events-file` (one JSON line
//! per event) and `--events-endpoint` (`PutEvents` to an EventBridge-compatible endpoint).
//!
//! Which events, with which fields (`ecr-behaviour.md` §10; the referrer event as in ECR's OCI 1.1
//! launch post):
//!
//! * `ECR Image Action`, or `ECR Referrer Action` for a manifest with a `subject`: `PUSH` once per
//!   pushed tag (`image-tag: ""` for a push by digest), `DELETE` once per removed tag or once for
//!   an untagged image, `UPDATE_STORAGE_CLASS` on archive and restore;
//! * `ECR Image Scan` when a basic scan completes (ecrd's scans complete at once, with no
//!   findings).
//!
//! A failed push or delete writes nothing: its transaction is rolled back with the event in it.

pub mod sink;

use chrono::SecondsFormat;
use serde_json::{json, Map, Value};

use crate::clock::Millis;
use crate::core::Registry;
use crate::store::events::{self as event_sql, EventFilter, EventRow};
use crate::store::manifests::ManifestRow;
use crate::store::repositories::RepositoryRow;
use crate::store::{Conn, StoreError};

/// Events kept in the outbox; older ones are trimmed by the delivery task.
pub const KEPT: i64 = 10_000;

/// What happened to an image or referrer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ImageAction {
    Push,
    Delete,
    /// Moved to the archive.
    Archive,
    /// Back from the archive (`last-activated-at` is the event's time).
    Restore,
}

/// The manifest an image event is about.
#[derive(Clone, Copy, Debug)]
pub struct ImageFacts<'a> {
    pub digest: &'a str,
    pub media_type: &'a str,
    pub artifact_type: Option<&'a str>,
    pub config_media_type: Option<&'a str>,
    pub has_subject: bool,
}

impl<'a> From<&'a ManifestRow> for ImageFacts<'a> {
    fn from(row: &'a ManifestRow) -> Self {
        ImageFacts {
            digest: &row.digest,
            media_type: &row.media_type,
            artifact_type: row.artifact_type.as_deref(),
            config_media_type: row.config_media_type.as_deref(),
            has_subject: row.subject_digest.is_some(),
        }
    }
}

/// Records an image or referrer event of `repo`; `tag` is the tag the action was about (`None`:
/// the image by digest).
pub fn image_action(
    c: &Conn,
    repo: &RepositoryRow,
    now: Millis,
    action: ImageAction,
    image: ImageFacts<'_>,
    tag: Option<&str>,
) -> Result<(), StoreError> {
    let mut detail = Map::new();
    detail.insert("result".into(), json!("SUCCESS"));
    detail.insert("repository-name".into(), json!(repo.name));
    detail.insert("image-digest".into(), json!(image.digest));
    let action_type = match action {
        ImageAction::Push => "PUSH",
        ImageAction::Delete => "DELETE",
        ImageAction::Archive | ImageAction::Restore => "UPDATE_STORAGE_CLASS",
    };
    detail.insert("action-type".into(), json!(action_type));
    if matches!(action, ImageAction::Push | ImageAction::Delete) {
        detail.insert("image-tag".into(), json!(tag.unwrap_or_default()));
    }
    detail.insert("manifest-media-type".into(), json!(image.media_type));
    // What the referrers API reports as the artifact type: `artifactType`, else the config's.
    if let Some(artifact) = image.artifact_type.or(image.config_media_type) {
        detail.insert("artifact-media-type".into(), json!(artifact));
    }
    match action {
        ImageAction::Archive => {
            detail.insert("target-storage-class".into(), json!("ARCHIVE"));
        }
        ImageAction::Restore => {
            detail.insert("target-storage-class".into(), json!("STANDARD"));
            detail.insert(
                "last-activated-at".into(),
                json!(iso(now, SecondsFormat::Millis)),
            );
        }
        ImageAction::Push | ImageAction::Delete => {}
    }
    let detail_type = if image.has_subject {
        "ECR Referrer Action"
    } else {
        "ECR Image Action"
    };
    record(c, repo, now, detail_type, Vec::new(), Value::Object(detail))
}

/// Records the completion of a basic scan of `digest` (no findings: ecrd scans nothing).
pub fn image_scan(
    c: &Conn,
    repo: &RepositoryRow,
    now: Millis,
    digest: &str,
    tags: &[String],
) -> Result<(), StoreError> {
    let arn = crate::core::repositories::repository_arn(&repo.account, &repo.region, &repo.name);
    let detail = json!({
        "scan-status": "COMPLETE",
        "repository-name": repo.name,
        "image-digest": digest,
        "image-tags": tags,
        "finding-severity-counts": {},
    });
    record(c, repo, now, "ECR Image Scan", vec![arn], detail)
}

/// Events go to the account and region of the repository they are about.
fn record(
    c: &Conn,
    repo: &RepositoryRow,
    now: Millis,
    detail_type: &str,
    resources: Vec<String>,
    detail: Value,
) -> Result<(), StoreError> {
    event_sql::insert(
        c,
        &EventRow {
            seq: 0,
            id: *uuid::Uuid::new_v4().as_bytes(),
            account: repo.account.clone(),
            region: repo.region.clone(),
            detail_type: detail_type.to_owned(),
            at: now,
            resources: (!resources.is_empty()).then(|| json!(resources).to_string()),
            detail: detail.to_string(),
        },
    )
}

/// The event as EventBridge delivers it.
pub fn envelope(row: &EventRow) -> Value {
    let resources = row
        .resources
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok())
        .unwrap_or_else(|| json!([]));
    let detail = serde_json::from_str::<Value>(&row.detail).unwrap_or_else(|_| json!({}));
    json!({
        "version": "0",
        "id": uuid::Uuid::from_bytes(row.id).to_string(),
        "detail-type": row.detail_type,
        "source": "aws.ecr",
        "account": row.account,
        "time": iso(row.at, SecondsFormat::Secs),
        "region": row.region,
        "resources": resources,
        "detail": detail,
    })
}

/// Recorded events matching `filter`, oldest first, at most `limit`, as EventBridge delivers
/// them; and the `seq` of the last one (the `after` that continues from them).
pub fn read(
    registry: &Registry,
    filter: &EventFilter,
    limit: i64,
) -> Result<(Vec<Value>, i64), StoreError> {
    let rows = registry
        .store()
        .read(|c| event_sql::list(c, filter, limit))?;
    let last = rows.last().map_or(filter.after, |r| r.seq);
    Ok((rows.iter().map(envelope).collect(), last))
}

/// ISO-8601 in UTC with `Z`, as EventBridge writes times.
fn iso(at: Millis, precision: SecondsFormat) -> String {
    chrono::DateTime::from_timestamp_millis(at)
        .unwrap_or_default()
        .to_rfc3339_opts(precision, true)
}
