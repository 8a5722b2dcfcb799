//! Repositories: create, describe, delete; their settings (tag mutability, scan on push) and
//! resource tags, which the API addresses by ARN.

use super::mutability::TagMutability;
use super::names::RepositoryName;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::repositories::{self as repo_sql, RepositoryRow};
use crate::store::Conn;

/// ECR's limit on resource tags per repository.
pub const MAX_RESOURCE_TAGS: usize = 50;

/// What CreateRepository asks for, already typed.
#[derive(Clone, Debug)]
pub struct NewRepository {
    pub name: String,
    pub tag_mutability: TagMutability,
    pub exclusion_filters: Vec<String>,
    pub scan_on_push: bool,
    pub encryption_type: String,
    pub kms_key: Option<String>,
    pub resource_tags: Vec<(String, String)>,
}

/// The encryption of a repository (or template) that names none: Amazon S3-managed keys.
pub const DEFAULT_ENCRYPTION: &str = "AES256";

impl NewRepository {
    /// A repository with ECR's defaults.
    pub fn named(name: impl Into<String>) -> Self {
        NewRepository {
            name: name.into(),
            tag_mutability: TagMutability::Mutable,
            exclusion_filters: Vec::new(),
            scan_on_push: false,
            encryption_type: DEFAULT_ENCRYPTION.into(),
            kms_key: None,
            resource_tags: Vec::new(),
        }
    }
}

/// A repository as the API shows it, with the ARN.
#[derive(Clone, Debug)]
pub struct Repository {
    pub row: RepositoryRow,
    pub arn: String,
}

/// The ARN of repository `name` of registry (`account`, `region`).
pub(crate) fn repository_arn(account: &str, region: &str, name: &str) -> String {
    format!("arn:aws:ecr:{region}:{account}:repository/{name}")
}

impl Repository {
    pub(crate) fn from_row(row: RepositoryRow) -> Self {
        let arn = repository_arn(&row.account, &row.region, &row.name);
        Repository { row, arn }
    }

    pub fn tag_mutability(&self) -> TagMutability {
        TagMutability::parse(&self.row.tag_mutability).unwrap_or(TagMutability::Mutable)
    }
}

/// Checks a mutability setting and its exclusion filters against each other.
pub fn check_mutability(mutability: TagMutability, filters: &[String]) -> CoreResult<()> {
    if mutability.takes_exclusions() && filters.is_empty() {
        return Err(CoreError::InvalidParameter(format!(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: \
             'ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as {mutability}'"
        )));
    }
    if !mutability.takes_exclusions() && !filters.is_empty() {
        return Err(CoreError::InvalidParameter(format!(
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: \
             'ImageTagMutabilityExclusionFilters can only be used when imageTagMutability is set as \
             IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not {mutability}'"
        )));
    }
    Ok(())
}

/// Checks resource tags as ECR does (TagResource and CreateRepository share this).
pub fn check_resource_tags(tags: &[(String, String)]) -> CoreResult<()> {
    for (key, value) in tags {
        let bad = |why: &str| CoreError::InvalidTagParameter {
            message: format!("Invalid tag '{key}': {why}"),
        };
        if key.is_empty() || key.chars().count() > 128 {
            return Err(bad("a tag key must be 1 to 128 characters long"));
        }
        if value.chars().count() > 256 {
            return Err(bad("a tag value must be at most 256 characters long"));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(bad("keys starting with 'aws:' are reserved"));
        }
    }
    Ok(())
}

/// The namespace and name a repository ARN (`arn:<partition>:ecr:<region>:<account>:repository/
/// <name>`) names. An ARN of another account or region names a repository there.
pub fn parse_repository_arn(arn: &str) -> CoreResult<(Namespace, String)> {
    let invalid = || {
        CoreError::InvalidParameter(
            "Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'".into(),
        )
    };
    let mut parts = arn.splitn(6, ':');
    let mut next = || parts.next().ok_or_else(invalid);
    let (prefix, partition, service) = (next()?, next()?, next()?);
    let (region, account, resource) = (next()?, next()?, next()?);
    let partition_ok = partition
        .strip_prefix("aws")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('-'));
    let region_ok = !region.is_empty()
        && region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    let account_ok = account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit());
    if prefix != "arn" || !partition_ok || service != "ecr" || !region_ok || !account_ok {
        return Err(invalid());
    }
    let name = resource
        .strip_prefix("repository/")
        .and_then(|name| RepositoryName::parse(name).ok())
        .ok_or_else(invalid)?;
    Ok((Namespace::new(account, region), name.to_string()))
}

/// Checks resource tags and folds them into the set a repository keeps: one value per key, at
/// most [`MAX_RESOURCE_TAGS`] keys.
pub fn resource_tag_set(mut tags: Vec<(String, String)>) -> CoreResult<Vec<(String, String)>> {
    check_resource_tags(&tags)?;
    tags.sort();
    tags.dedup_by(|a, b| a.0 == b.0);
    if tags.len() > MAX_RESOURCE_TAGS {
        return Err(too_many_tags());
    }
    Ok(tags)
}

/// Checks an encryption setting: a KMS key goes only with KMS encryption.
pub fn check_encryption(encryption_type: &str, kms_key: Option<&str>) -> CoreResult<()> {
    if encryption_type == DEFAULT_ENCRYPTION && kms_key.is_some() {
        return Err(CoreError::InvalidParameter(
            "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: \
             'kmsKey can only be specified when encryptionType is KMS or KMS_DSSE'"
                .into(),
        ));
    }
    Ok(())
}

/// Checks a new repository against every rule; returns its row (id 0 until inserted) and its
/// resource tags.
fn check_new(
    ns: &Namespace,
    new: NewRepository,
    now: i64,
) -> CoreResult<(RepositoryRow, Vec<(String, String)>)> {
    let name = RepositoryName::parse(&new.name)?;
    check_mutability(new.tag_mutability, &new.exclusion_filters)?;
    let tags = resource_tag_set(new.resource_tags)?;
    check_encryption(&new.encryption_type, new.kms_key.as_deref())?;
    let kms_key = match (new.encryption_type.as_str(), new.kms_key) {
        // ECR falls back to the AWS-managed key; report a stable ARN for it.
        ("KMS" | "KMS_DSSE", None) => Some(format!(
            "arn:aws:kms:{}:{}:key/{}",
            ns.region,
            ns.account,
            uuid::Uuid::new_v4()
        )),
        (_, key) => key,
    };
    let row = RepositoryRow {
        id: 0,
        account: ns.account.clone(),
        region: ns.region.clone(),
        name: name.to_string(),
        created_at: now,
        tag_mutability: new.tag_mutability.as_str().to_owned(),
        exclusion_filters: new.exclusion_filters,
        scan_on_push: new.scan_on_push,
        encryption_type: new.encryption_type,
        kms_key,
    };
    Ok((row, tags))
}

/// Inserts a checked repository, inside a write transaction.
fn insert_in(
    c: &Conn,
    ns: &Namespace,
    row: RepositoryRow,
    tags: &[(String, String)],
) -> CoreResult<Repository> {
    let Some(id) = repo_sql::insert(c, &row)? else {
        return Err(CoreError::RepositoryAlreadyExists {
            name: row.name,
            registry_id: ns.account.clone(),
        });
    };
    repo_sql::put_resource_tags(c, id, tags)?;
    Ok(Repository::from_row(RepositoryRow { id, ..row }))
}

/// Creates a repository inside a write transaction, by the same rules as CreateRepository: how
/// repositories the registry creates on a client's behalf (creation templates) come to be.
pub(crate) fn create_in(
    c: &Conn,
    ns: &Namespace,
    new: NewRepository,
    now: i64,
) -> CoreResult<Repository> {
    let (row, tags) = check_new(ns, new, now)?;
    insert_in(c, ns, row, &tags)
}

fn too_many_tags() -> CoreError {
    CoreError::TooManyTags {
        message: format!("A repository can have at most {MAX_RESOURCE_TAGS} tags"),
    }
}

impl Registry {
    pub async fn create_repository(
        &self,
        ns: &Namespace,
        new: NewRepository,
    ) -> CoreResult<Repository> {
        let (row, tags) = check_new(ns, new, self.clock.now_millis())?;
        let ns = ns.clone();
        self.store
            .write(move |c| insert_in(c, &ns, row, &tags))
            .await
    }

    /// Exactly the named repositories, failing on the first that does not exist.
    pub fn describe_repositories(
        &self,
        ns: &Namespace,
        names: &[String],
    ) -> CoreResult<Vec<Repository>> {
        names
            .iter()
            .map(|name| self.repository(ns, name).map(Repository::from_row))
            .collect()
    }

    /// Repositories of the namespace in name order, after `after`, at most `limit`.
    pub fn list_repositories(
        &self,
        ns: &Namespace,
        after: Option<&str>,
        limit: usize,
    ) -> CoreResult<Vec<Repository>> {
        let rows = self.store.read(|c| repo_sql::list(c, ns, after, limit))?;
        Ok(rows.into_iter().map(Repository::from_row).collect())
    }

    pub async fn delete_repository(
        &self,
        ns: &Namespace,
        name: &str,
        force: bool,
    ) -> CoreResult<Repository> {
        let (ns, name) = (ns.clone(), name.to_owned());
        self.store
            .write(move |c| {
                let row = super::repository_in(c, &ns, &name)?;
                if !force && repo_sql::count_images(c, row.id)? > 0 {
                    return Err(CoreError::RepositoryNotEmpty {
                        name,
                        registry_id: ns.account,
                    });
                }
                repo_sql::delete(c, row.id)?;
                Ok(Repository::from_row(row))
            })
            .await
    }

    pub fn resource_tags(&self, ns: &Namespace, name: &str) -> CoreResult<Vec<(String, String)>> {
        let repo = self.repository(ns, name)?;
        Ok(self.store.read(|c| repo_sql::resource_tags(c, repo.id))?)
    }

    /// Replaces the tag mutability and its exclusion filters (PutImageTagMutability). Tags
    /// already set are untouched; the setting governs the next writes.
    pub async fn put_tag_mutability(
        &self,
        ns: &Namespace,
        name: &str,
        mutability: TagMutability,
        exclusion_filters: Vec<String>,
    ) -> CoreResult<Repository> {
        check_mutability(mutability, &exclusion_filters)?;
        self.update_repository(ns, name, move |c, row| {
            repo_sql::set_tag_mutability(c, row.id, mutability.as_str(), &exclusion_filters)?;
            row.tag_mutability = mutability.as_str().to_owned();
            row.exclusion_filters = exclusion_filters;
            Ok(())
        })
        .await
    }

    /// Sets scan on push (PutImageScanningConfiguration).
    pub async fn put_scan_on_push(
        &self,
        ns: &Namespace,
        name: &str,
        scan_on_push: bool,
    ) -> CoreResult<Repository> {
        self.update_repository(ns, name, move |c, row| {
            repo_sql::set_scan_on_push(c, row.id, scan_on_push)?;
            row.scan_on_push = scan_on_push;
            Ok(())
        })
        .await
    }

    /// Adds or overwrites resource tags (TagResource); a key given twice takes its last value.
    pub async fn tag_repository(
        &self,
        ns: &Namespace,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> CoreResult<()> {
        check_resource_tags(&tags)?;
        self.update_repository(ns, name, move |c, row| {
            let mut keys: std::collections::BTreeSet<String> = repo_sql::resource_tags(c, row.id)?
                .into_iter()
                .map(|(key, _)| key)
                .collect();
            keys.extend(tags.iter().map(|(key, _)| key.clone()));
            if keys.len() > MAX_RESOURCE_TAGS {
                return Err(too_many_tags());
            }
            repo_sql::put_resource_tags(c, row.id, &tags)?;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Removes resource tags by key (UntagResource); keys the repository lacks are ignored.
    pub async fn untag_repository(
        &self,
        ns: &Namespace,
        name: &str,
        keys: Vec<String>,
    ) -> CoreResult<()> {
        // The same key rules as tagging: a reserved or malformed key is refused, not ignored.
        let as_tags: Vec<(String, String)> =
            keys.iter().map(|k| (k.clone(), String::new())).collect();
        check_resource_tags(&as_tags)?;
        self.update_repository(ns, name, move |c, row| {
            repo_sql::delete_resource_tags(c, row.id, &keys)?;
            Ok(())
        })
        .await
        .map(|_| ())
    }

    /// Runs `change` on the repository's row inside one write transaction; returns the
    /// repository as changed.
    async fn update_repository<F>(
        &self,
        ns: &Namespace,
        name: &str,
        change: F,
    ) -> CoreResult<Repository>
    where
        F: FnOnce(&Conn, &mut RepositoryRow) -> CoreResult<()> + Send + 'static,
    {
        let (ns, name) = (ns.clone(), name.to_owned());
        self.store
            .write(move |c| {
                let mut row = super::repository_in(c, &ns, &name)?;
                change(c, &mut row)?;
                Ok(Repository::from_row(row))
            })
            .await
    }
}
