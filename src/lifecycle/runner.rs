//! Applying lifecycle policies: the stored policy, previews, runs and the referrer cleanup.
//!
//! A run of one repository is one write transaction: evaluate, expire through the same delete
//! path as BatchDeleteImage ([`catalog::delete_id`]), archive, then remove referrers whose subject
//! is gone (repeatedly, so a signature of an SBOM of a deleted image goes too), and record
//! `lastEvaluatedAt`. Repositories without a policy still get the referrer cleanup, as on ECR.

use serde::{Deserialize, Serialize};

use super::evaluate::{evaluate, Decision, ImageFacts};
use super::policy::{self, Action, Policy, PolicyError};
use crate::clock::Millis;
use crate::core::catalog::{self, ImageId};
use crate::core::storage_class::{self, StorageClass};
use crate::core::{CoreError, Namespace, Registry};
use crate::store::lifecycle as sql;
use crate::store::repositories::{self as repository_sql, RepositoryRow};
use crate::store::{Conn, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum LifecycleError {
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    InvalidPolicy(#[from] PolicyError),
    #[error("Lifecycle policy does not exist for the repository with name '{name}' in the registry with id '{registry_id}'")]
    PolicyNotFound { name: String, registry_id: String },
    #[error("Lifecycle policy preview does not exist for the repository with name '{name}' in the registry with id '{registry_id}'")]
    PreviewNotFound { name: String, registry_id: String },
    #[error("A lifecycle policy preview is already in progress for the repository with name '{name}' in the registry with id '{registry_id}'")]
    PreviewInProgress { name: String, registry_id: String },
}

impl From<StoreError> for LifecycleError {
    fn from(e: StoreError) -> Self {
        LifecycleError::Core(CoreError::Store(e))
    }
}

type Result<T> = std::result::Result<T, LifecycleError>;

/// A stored policy.
#[derive(Clone, Debug)]
pub struct StoredPolicy {
    pub text: String,
    pub last_evaluated_at: Option<Millis>,
}

/// One image a preview says a run would act on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviewItem {
    pub digest: String,
    pub tags: Vec<String>,
    pub pushed_at: Millis,
    pub rule_priority: i64,
    pub transition: bool,
    /// The image's storage class now.
    pub archived: bool,
}

#[derive(Clone, Debug)]
pub struct Preview {
    pub text: String,
    pub status: String,
    pub items: Vec<PreviewItem>,
}

/// What a run did.
#[derive(Clone, Debug, Default, Serialize)]
pub struct RunReport {
    pub repositories: usize,
    pub expired: Vec<String>,
    pub archived: Vec<String>,
    pub referrers_removed: Vec<String>,
}

fn policy_not_found(ns: &Namespace, name: &str) -> LifecycleError {
    LifecycleError::PolicyNotFound {
        name: name.to_owned(),
        registry_id: ns.account.clone(),
    }
}

pub async fn put_policy(registry: &Registry, ns: &Namespace, repo: &str, text: &str) -> Result<()> {
    policy::parse(text)?;
    let repo = registry.repository(ns, repo)?;
    let text = text.to_owned();
    registry
        .store()
        .write(move |c| sql::set_policy(c, repo.id, Some(&text)))
        .await?;
    Ok(())
}

pub fn get_policy(registry: &Registry, ns: &Namespace, repo: &str) -> Result<StoredPolicy> {
    let row = registry.repository(ns, repo)?;
    let (text, last_evaluated_at) = registry
        .store()
        .read(|c| sql::policy(c, row.id))?
        .ok_or_else(|| policy_not_found(ns, repo))?;
    Ok(StoredPolicy {
        text,
        last_evaluated_at,
    })
}

pub async fn delete_policy(
    registry: &Registry,
    ns: &Namespace,
    repo: &str,
) -> Result<StoredPolicy> {
    let row = registry.repository(ns, repo)?;
    let (ns2, name) = (ns.clone(), repo.to_owned());
    registry
        .store()
        .write(move |c| {
            let (text, last_evaluated_at) =
                sql::policy(c, row.id)?.ok_or_else(|| policy_not_found(&ns2, &name))?;
            sql::set_policy(c, row.id, None)?;
            Ok(StoredPolicy {
                text,
                last_evaluated_at,
            })
        })
        .await
}

fn facts(rows: Vec<sql::ImageFactsRow>) -> Vec<(i64, ImageFacts)> {
    rows.into_iter()
        .map(|r| {
            let storage_class = StorageClass::of(r.status);
            let facts = ImageFacts {
                digest: r.digest,
                tags: r.tags,
                pushed_at: r.last_activated_at.unwrap_or(r.pushed_at),
                last_pulled_at: r.last_pulled_at,
                archived_at: r.last_archived_at,
                storage_class,
                protected: r.protected,
            };
            (r.id, facts)
        })
        .collect()
}

/// A repository's images (with their row ids) and what a policy would do to them.
type Evaluation = (Vec<(i64, ImageFacts)>, Vec<Decision>);

/// Evaluates a policy against a repository's images without changing anything.
fn decide(c: &Conn, repository_id: i64, policy: &Policy, now: Millis) -> Result<Evaluation> {
    let images = facts(sql::image_facts(c, repository_id)?);
    let plain: Vec<ImageFacts> = images.iter().map(|(_, f)| f.clone()).collect();
    let decisions = evaluate(policy, &plain, now);
    Ok((images, decisions))
}

pub async fn start_preview(
    registry: &Registry,
    ns: &Namespace,
    repo: &str,
    text: Option<String>,
) -> Result<String> {
    let row = registry.repository(ns, repo)?;
    let text = match text {
        Some(text) => text,
        None => get_policy(registry, ns, repo)?.text,
    };
    let policy = policy::parse(&text)?;
    registry.flush_pulls().await?;
    let now = registry.clock().now_millis();
    let (ns2, name, text2) = (ns.clone(), repo.to_owned(), text.clone());
    registry
        .store()
        .write(move |c| {
            if let Some((_, status, _)) = sql::preview(c, row.id)? {
                if status == "IN_PROGRESS" {
                    return Err(LifecycleError::PreviewInProgress {
                        name,
                        registry_id: ns2.account,
                    });
                }
            }
            let (images, decisions) = decide(c, row.id, &policy, now)?;
            let items: Vec<PreviewItem> = decisions
                .into_iter()
                .filter_map(|d| {
                    let (_, image) = images.iter().find(|(_, f)| f.digest == d.digest)?;
                    Some(PreviewItem {
                        digest: d.digest,
                        tags: image.tags.clone(),
                        pushed_at: image.pushed_at,
                        rule_priority: d.rule_priority,
                        transition: d.action == Action::Transition,
                        archived: image.storage_class == Some(StorageClass::Archive),
                    })
                })
                .collect();
            let results =
                serde_json::to_string(&items).map_err(|e| StoreError::Corrupt(e.to_string()))?;
            sql::put_preview(c, row.id, &text2, "IN_PROGRESS", &results, now)?;
            Ok(())
        })
        .await?;
    Ok(text)
}

/// The last preview. It is computed when started (StartLifecyclePolicyPreview answers
/// IN_PROGRESS, as ECR does); the first read marks it COMPLETE, and until then another Start is
/// LifecyclePolicyPreviewInProgressException. That one write is why this read is async.
pub async fn get_preview(registry: &Registry, ns: &Namespace, repo: &str) -> Result<Preview> {
    let row = registry.repository(ns, repo)?;
    let (text, status, results) = registry
        .store()
        .read(|c| sql::preview(c, row.id))?
        .ok_or_else(|| LifecycleError::PreviewNotFound {
            name: repo.to_owned(),
            registry_id: ns.account.clone(),
        })?;
    if status == "IN_PROGRESS" {
        registry
            .store()
            .write(move |c| sql::set_preview_status(c, row.id, "COMPLETE"))
            .await?;
    }
    let items = serde_json::from_str(&results).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    Ok(Preview {
        text,
        status: "COMPLETE".into(),
        items,
    })
}

/// Which repositories a run covers.
#[derive(Clone, Debug, Default)]
pub struct Scope {
    pub namespace: Option<Namespace>,
    pub repository: Option<String>,
}

/// Applies every policy in scope now.
pub async fn run(registry: &Registry, scope: &Scope) -> Result<RunReport> {
    registry.flush_pulls().await?;
    let repositories = registry.store().read(repository_sql::all)?;
    let mut report = RunReport::default();
    for repo in repositories {
        if scope
            .namespace
            .as_ref()
            .is_some_and(|ns| ns.account != repo.account || ns.region != repo.region)
        {
            continue;
        }
        if scope.repository.as_ref().is_some_and(|r| *r != repo.name) {
            continue;
        }
        let now = registry.clock().now_millis();
        let one = registry
            .store()
            .write(move |c| run_repository(c, &repo, now))
            .await?;
        report.repositories += 1;
        report.expired.extend(one.expired);
        report.archived.extend(one.archived);
        report.referrers_removed.extend(one.referrers_removed);
    }
    if !report.expired.is_empty()
        || !report.referrers_removed.is_empty()
        || !report.archived.is_empty()
    {
        tracing::info!(
            expired = report.expired.len(),
            archived = report.archived.len(),
            referrers = report.referrers_removed.len(),
            "lifecycle run"
        );
    }
    Ok(report)
}

fn delete(c: &Conn, repo: &RepositoryRow, digest: &str, now: Millis) -> Result<bool> {
    let id = ImageId {
        digest: Some(digest.to_owned()),
        tag: None,
    };
    Ok(catalog::delete_id(c, repo, &id, now)?.is_ok())
}

fn run_repository(c: &Conn, repo: &RepositoryRow, now: Millis) -> Result<RunReport> {
    let repository_id = repo.id;
    let mut report = RunReport::default();
    // A policy that no longer parses (it was valid when stored) is skipped, not fatal.
    let policy = sql::policy(c, repository_id)?.and_then(|(text, _)| policy::parse(&text).ok());
    if let Some(policy) = &policy {
        let (images, decisions) = decide(c, repository_id, policy, now)?;
        for decision in decisions {
            match decision.action {
                Action::Expire => {
                    if delete(c, repo, &decision.digest, now)? {
                        report.expired.push(decision.digest);
                    }
                }
                Action::Transition => {
                    if let Some((id, _)) = images.iter().find(|(_, f)| f.digest == decision.digest)
                    {
                        storage_class::archive(c, repo, *id, now)?;
                        report.archived.push(decision.digest);
                    }
                }
            }
        }
        sql::set_evaluated(c, repository_id, now)?;
    }
    // Referrers follow their subject: when it is gone, they go, and so do their own referrers.
    loop {
        let mut removed_any = false;
        for id in sql::orphaned_referrers(c, repository_id)? {
            let digest = crate::store::manifests::digest_of(c, id)?;
            // An orphan an index still lists stays until the index goes.
            if delete(c, repo, &digest, now)? {
                report.referrers_removed.push(digest);
                removed_any = true;
            }
        }
        if !removed_any {
            break;
        }
    }
    Ok(report)
}
