//! Repository creation templates (Create/Describe/Update/DeleteRepositoryCreationTemplate) and
//! the repositories they create.
//!
//! A template holds the settings of repositories the registry creates on a client's behalf. Of
//! its three uses (`appliedFor`), ecrd acts on CREATE_ON_PUSH: a push over the registry API to a
//! repository that does not exist creates it from the most specific template covering its name
//! ([`create_on_push`], called from [`super::repository_for_push_in`]). PULL_THROUGH_CACHE and
//! REPLICATION templates are stored and answered back, but ecrd neither pulls through caches nor
//! replicates, so nothing applies them. Templates never affect CreateRepository.

use std::collections::BTreeSet;

use super::error::SettingError;
use super::mutability::TagMutability;
use super::names::{role_arn_account, RepositoryPrefix};
use super::policies::{check_policy, PolicyKind};
use super::repositories::{
    self, check_encryption, check_mutability, resource_tag_set, NewRepository, Repository,
    DEFAULT_ENCRYPTION,
};
use super::settings::{insert_new, Quota};
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::lifecycle::policy as lifecycle_policy;
use crate::store::registry::{self as registry_sql, CreationTemplate, Kind};
use crate::store::repositories::{self as repo_sql, RepositoryRow};
use crate::store::{lifecycle as lifecycle_sql, Conn};

/// The uses a template can be applied for (`appliedFor`).
pub const APPLIED_FOR: [&str; 3] = ["REPLICATION", "PULL_THROUGH_CACHE", "CREATE_ON_PUSH"];
pub const CREATE_ON_PUSH: &str = "CREATE_ON_PUSH";

/// Templates per registry. ECR's quota is not documented; ecrd allows this many.
pub const TEMPLATES: Quota = Quota {
    limit: 100,
    what: "repository creation templates",
};

/// What Create/UpdateRepositoryCreationTemplate ask for. On update, `None` keeps the template's
/// value; on create it means ECR's default. An empty `repository_policy`, `lifecycle_policy` or
/// `custom_role_arn` removes it.
#[derive(Clone, Debug, Default)]
pub struct TemplateChange {
    pub description: Option<String>,
    /// `(encryptionType, kmsKey)`; without a type, [`DEFAULT_ENCRYPTION`].
    pub encryption: Option<(Option<String>, Option<String>)>,
    pub resource_tags: Option<Vec<(String, String)>>,
    /// Given alone, it clears the exclusion filters (they belong to the mutability setting).
    pub tag_mutability: Option<TagMutability>,
    pub exclusion_filters: Option<Vec<String>>,
    pub repository_policy: Option<String>,
    pub lifecycle_policy: Option<String>,
    pub applied_for: Option<Vec<String>>,
    pub custom_role_arn: Option<String>,
}

/// InvalidParameterException in ECR's constraint wording, for `member`.
pub(crate) fn invalid(member: &str, why: impl std::fmt::Display) -> CoreError {
    CoreError::InvalidParameter(format!(
        "Invalid parameter at '{member}' failed to satisfy constraint: '{why}'"
    ))
}

/// The prefix a template or a pull-through cache rule names, or InvalidParameter for `member`.
pub(crate) fn parse_prefix(member: &str, prefix: &str) -> CoreResult<RepositoryPrefix> {
    RepositoryPrefix::parse(prefix).ok_or_else(|| {
        invalid(
            member,
            "must be ROOT or a repository name prefix, optionally ending with '/'",
        )
    })
}

/// Checks a role ECR would assume for the registry (a template's or a pull-through cache rule's
/// `customRoleArn`): an IAM role of the registry's own account, as ECR requires.
pub(crate) fn check_custom_role_arn(ns: &Namespace, arn: &str) -> CoreResult<()> {
    match role_arn_account(arn) {
        None => Err(invalid("customRoleArn", "must be the ARN of an IAM role")),
        Some(account) if account != ns.account => Err(invalid(
            "customRoleArn",
            "the role must be in the same account as the registry",
        )),
        Some(_) => Ok(()),
    }
}

/// An empty text means "none", as ECR takes it for the template's policies and role.
fn non_empty(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

/// Applies a change to a template (a new one: ECR's defaults) and checks the result against every
/// rule — the same checks as CreateRepository, SetRepositoryPolicy and PutLifecyclePolicy make.
fn changed(
    ns: &Namespace,
    mut template: CreationTemplate,
    change: TemplateChange,
) -> CoreResult<CreationTemplate> {
    if let Some(description) = change.description {
        template.description = non_empty(description);
    }
    if let Some((encryption_type, kms_key)) = change.encryption {
        template.encryption_type = encryption_type.unwrap_or_else(|| DEFAULT_ENCRYPTION.to_owned());
        template.kms_key = kms_key.and_then(non_empty);
    }
    if let Some(tags) = change.resource_tags {
        // A template's tags become a repository's: the same rules, reported as a parameter of
        // the template (these operations declare no tag exceptions).
        template.resource_tags = resource_tag_set(tags).map_err(|e| match e {
            CoreError::InvalidTagParameter { message } | CoreError::TooManyTags { message } => {
                invalid("resourceTags", message)
            }
            other => other,
        })?;
    }
    if let Some(mutability) = change.tag_mutability {
        template.tag_mutability = mutability.as_str().to_owned();
        template.exclusion_filters = Vec::new();
    }
    if let Some(filters) = change.exclusion_filters {
        template.exclusion_filters = filters;
    }
    if let Some(text) = change.repository_policy {
        template.repository_policy = non_empty(text);
    }
    if let Some(text) = change.lifecycle_policy {
        template.lifecycle_policy = non_empty(text);
    }
    if let Some(uses) = change.applied_for {
        if uses.iter().any(|u| !APPLIED_FOR.contains(&u.as_str())) {
            return Err(invalid(
                "appliedFor",
                format!(
                    "Member must satisfy enum value set: [{}]",
                    APPLIED_FOR.join(", ")
                ),
            ));
        }
        // Each use once, in the model's order.
        template.applied_for = APPLIED_FOR
            .iter()
            .filter(|known| uses.iter().any(|u| u == *known))
            .map(|known| known.to_string())
            .collect();
    }
    if let Some(arn) = change.custom_role_arn {
        template.custom_role_arn = non_empty(arn);
    }

    if template.applied_for.is_empty() {
        return Err(invalid(
            "appliedFor",
            "Member must have length greater than or equal to 1",
        ));
    }
    let mutability = TagMutability::parse(&template.tag_mutability)
        .ok_or_else(|| invalid("imageTagMutability", "Member must satisfy enum value set"))?;
    check_mutability(mutability, &template.exclusion_filters)?;
    check_encryption(&template.encryption_type, template.kms_key.as_deref())?;
    if let Some(text) = &template.repository_policy {
        check_policy(text, PolicyKind::Repository)?;
    }
    if let Some(text) = &template.lifecycle_policy {
        lifecycle_policy::parse(text).map_err(|e| CoreError::InvalidParameter(e.to_string()))?;
    }
    if let Some(arn) = &template.custom_role_arn {
        check_custom_role_arn(ns, arn)?;
    }
    Ok(template)
}

fn not_found(ns: &Namespace, prefix: &str) -> CoreError {
    SettingError::TemplateNotFound {
        prefix: prefix.to_owned(),
        registry_id: ns.account.clone(),
    }
    .into()
}

impl Registry {
    pub async fn create_creation_template(
        &self,
        ns: &Namespace,
        prefix: &str,
        change: TemplateChange,
    ) -> CoreResult<CreationTemplate> {
        let key = parse_prefix("prefix", prefix)?;
        let now = self.clock.now_millis();
        let fresh = CreationTemplate {
            prefix: prefix.to_owned(),
            description: None,
            encryption_type: DEFAULT_ENCRYPTION.into(),
            kms_key: None,
            resource_tags: Vec::new(),
            tag_mutability: TagMutability::Mutable.as_str().to_owned(),
            exclusion_filters: Vec::new(),
            repository_policy: None,
            lifecycle_policy: None,
            applied_for: Vec::new(),
            custom_role_arn: None,
            created_at: now,
            updated_at: now,
        };
        let template = changed(ns, fresh, change)?;
        let ns = ns.clone();
        self.store
            .write(move |c| {
                insert_new(
                    c,
                    &ns,
                    (Kind::CreationTemplate, key.key()),
                    &template,
                    now,
                    &TEMPLATES,
                    || {
                        SettingError::TemplateAlreadyExists {
                            prefix: template.prefix.clone(),
                            registry_id: ns.account.clone(),
                        }
                        .into()
                    },
                )?;
                Ok(template)
            })
            .await
    }

    /// The registry's templates in prefix order; with `prefixes`, only those of these prefixes
    /// (prefixes without a template are skipped, not an error).
    pub fn creation_templates(
        &self,
        ns: &Namespace,
        prefixes: Option<&[String]>,
    ) -> CoreResult<Vec<CreationTemplate>> {
        let wanted = prefixes
            .map(|list| {
                list.iter()
                    .map(|p| parse_prefix("prefixes", p).map(|p| p.key().to_owned()))
                    .collect::<CoreResult<BTreeSet<String>>>()
            })
            .transpose()?;
        let all: Vec<(String, CreationTemplate)> = self
            .store
            .read(|c| registry_sql::all(c, ns, Kind::CreationTemplate))?;
        Ok(all
            .into_iter()
            .filter(|(key, _)| wanted.as_ref().is_none_or(|w| w.contains(key)))
            .map(|(_, template)| template)
            .collect())
    }

    pub async fn update_creation_template(
        &self,
        ns: &Namespace,
        prefix: &str,
        change: TemplateChange,
    ) -> CoreResult<CreationTemplate> {
        let key = parse_prefix("prefix", prefix)?;
        let (ns, prefix, now) = (ns.clone(), prefix.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let kind = Kind::CreationTemplate;
                let old: CreationTemplate = registry_sql::get(c, &ns, kind, key.key())?
                    .ok_or_else(|| not_found(&ns, &prefix))?;
                let mut template = changed(&ns, old, change)?;
                template.updated_at = now;
                registry_sql::put(c, &ns, kind, key.key(), &template, now)?;
                Ok(template)
            })
            .await
    }

    /// Removes a template; returns it.
    pub async fn delete_creation_template(
        &self,
        ns: &Namespace,
        prefix: &str,
    ) -> CoreResult<CreationTemplate> {
        let key = parse_prefix("prefix", prefix)?;
        let (ns, prefix) = (ns.clone(), prefix.to_owned());
        self.store
            .write(move |c| {
                registry_sql::remove(c, &ns, Kind::CreationTemplate, key.key())?
                    .ok_or_else(|| not_found(&ns, &prefix))
            })
            .await
    }
}

/// The template applied when the registry creates `name` for `applied_for`: of the templates for
/// that use whose prefix covers the name, the one with the longest prefix, `ROOT` last.
fn template_for(
    c: &Conn,
    ns: &Namespace,
    name: &str,
    applied_for: &str,
) -> CoreResult<Option<CreationTemplate>> {
    let all: Vec<(String, CreationTemplate)> = registry_sql::all(c, ns, Kind::CreationTemplate)?;
    Ok(all
        .into_iter()
        .filter(|(_, t)| t.applied_for.iter().any(|u| u == applied_for))
        .filter_map(|(key, t)| {
            let prefix = RepositoryPrefix::parse(&key)?;
            prefix.covers(name).then(|| (prefix.specificity(), t))
        })
        .max_by_key(|(specificity, _)| *specificity)
        .map(|(_, t)| t))
}

/// Creates repository `name` for a push, inside the push's write transaction, from the
/// CREATE_ON_PUSH template covering it: its mutability (and exclusions), encryption, resource
/// tags, repository policy and lifecycle policy. `None` when no template covers the name.
pub(crate) fn create_on_push(
    c: &Conn,
    ns: &Namespace,
    name: &str,
    now: i64,
) -> CoreResult<Option<RepositoryRow>> {
    let Some(template) = template_for(c, ns, name, CREATE_ON_PUSH)? else {
        return Ok(None);
    };
    let new = NewRepository {
        tag_mutability: TagMutability::parse(&template.tag_mutability)
            .unwrap_or(TagMutability::Mutable),
        exclusion_filters: template.exclusion_filters,
        encryption_type: template.encryption_type,
        kms_key: template.kms_key,
        resource_tags: template.resource_tags,
        ..NewRepository::named(name)
    };
    let Repository { row, .. } = repositories::create_in(c, ns, new, now)?;
    if let Some(text) = &template.repository_policy {
        repo_sql::set_policy(c, row.id, Some(text))?;
    }
    if let Some(text) = &template.lifecycle_policy {
        lifecycle_sql::set_policy(c, row.id, Some(text))?;
    }
    // Debug, not info: the push's transaction may still be refused and take the repository back.
    tracing::debug!(
        repository = name,
        template = template.prefix,
        "creating a repository from a template for a push"
    );
    Ok(Some(row))
}
