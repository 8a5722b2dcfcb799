//! Repository creation templates: Create/Describe/Update/DeleteRepositoryCreationTemplate. They
//! act on the caller's registry (no `registryId`); CREATE_ON_PUSH templates are applied by the
//! core when a registry-API push reaches a repository that does not exist.

use super::repositories::{
    exclusion_filter_shapes, exclusion_filters, resource_tags, tag_mutability,
};
use super::{required, Api, Result};
use crate::core::templates::TemplateChange;
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;
use crate::store::registry as stored;

fn template_shape(template: stored::CreationTemplate) -> RepositoryCreationTemplate {
    RepositoryCreationTemplate {
        prefix: Some(template.prefix),
        description: template.description,
        encryption_configuration: Some(EncryptionConfigurationForRepositoryCreationTemplate {
            encryption_type: Some(EncryptionType::from(template.encryption_type)),
            kms_key: template.kms_key,
        }),
        resource_tags: Some(
            template
                .resource_tags
                .into_iter()
                .map(|(key, value)| Tag {
                    key: Some(key),
                    value: Some(value),
                })
                .collect(),
        ),
        image_tag_mutability: Some(ImageTagMutability::from(template.tag_mutability)),
        image_tag_mutability_exclusion_filters: exclusion_filter_shapes(template.exclusion_filters),
        repository_policy: template.repository_policy,
        lifecycle_policy: template.lifecycle_policy,
        applied_for: Some(
            template
                .applied_for
                .into_iter()
                .map(RCTAppliedFor::from)
                .collect(),
        ),
        custom_role_arn: template.custom_role_arn,
        created_at: Some(Timestamp::from_unix_millis(template.created_at)),
        updated_at: Some(Timestamp::from_unix_millis(template.updated_at)),
    }
}

/// The core's change for an Update request (a Create request is turned into one: its members
/// are the same).
fn change(input: UpdateRepositoryCreationTemplateRequest) -> Result<TemplateChange> {
    Ok(TemplateChange {
        description: input.description,
        encryption: input
            .encryption_configuration
            .map(|e| (e.encryption_type.map(|t| t.as_str().to_owned()), e.kms_key)),
        resource_tags: input.resource_tags.map(resource_tags).transpose()?,
        tag_mutability: input
            .image_tag_mutability
            .as_ref()
            .map(tag_mutability)
            .transpose()?,
        exclusion_filters: input
            .image_tag_mutability_exclusion_filters
            .map(|f| exclusion_filters(Some(f))),
        repository_policy: input.repository_policy,
        lifecycle_policy: input.lifecycle_policy,
        applied_for: input
            .applied_for
            .map(|uses| uses.iter().map(|u| u.as_str().to_owned()).collect()),
        custom_role_arn: input.custom_role_arn,
    })
}

pub async fn create_repository_creation_template(
    api: &Api,
    ctx: &RequestContext,
    input: CreateRepositoryCreationTemplateRequest,
) -> Result<CreateRepositoryCreationTemplateResponse> {
    let ns = ctx.namespace(None);
    let prefix = required(input.prefix, "prefix")?;
    let change = change(UpdateRepositoryCreationTemplateRequest {
        prefix: None,
        description: input.description,
        encryption_configuration: input.encryption_configuration,
        resource_tags: input.resource_tags,
        image_tag_mutability: input.image_tag_mutability,
        image_tag_mutability_exclusion_filters: input.image_tag_mutability_exclusion_filters,
        repository_policy: input.repository_policy,
        lifecycle_policy: input.lifecycle_policy,
        applied_for: Some(required(input.applied_for, "appliedFor")?),
        custom_role_arn: input.custom_role_arn,
    })?;
    let template = api
        .state
        .registry
        .create_creation_template(&ns, &prefix, change)
        .await?;
    Ok(CreateRepositoryCreationTemplateResponse {
        registry_id: Some(ns.account),
        repository_creation_template: Some(template_shape(template)),
    })
}

pub async fn describe_repository_creation_templates(
    api: &Api,
    ctx: &RequestContext,
    input: DescribeRepositoryCreationTemplatesRequest,
) -> Result<DescribeRepositoryCreationTemplatesResponse> {
    const OP: &str = "DescribeRepositoryCreationTemplates";
    let ns = ctx.namespace(None);
    let templates = api
        .state
        .registry
        .creation_templates(&ns, input.prefixes.as_deref())?;
    let (page, next_token) = pagination::page_after(
        OP,
        &templates,
        |t| t.prefix.clone(),
        input.next_token.as_deref(),
        pagination::page_size(input.max_results),
    )?;
    Ok(DescribeRepositoryCreationTemplatesResponse {
        registry_id: Some(ns.account),
        repository_creation_templates: Some(page.into_iter().map(template_shape).collect()),
        next_token,
    })
}

pub async fn update_repository_creation_template(
    api: &Api,
    ctx: &RequestContext,
    input: UpdateRepositoryCreationTemplateRequest,
) -> Result<UpdateRepositoryCreationTemplateResponse> {
    let ns = ctx.namespace(None);
    let prefix = required(input.prefix.clone(), "prefix")?;
    let change = change(input)?;
    let template = api
        .state
        .registry
        .update_creation_template(&ns, &prefix, change)
        .await?;
    Ok(UpdateRepositoryCreationTemplateResponse {
        registry_id: Some(ns.account),
        repository_creation_template: Some(template_shape(template)),
    })
}

pub async fn delete_repository_creation_template(
    api: &Api,
    ctx: &RequestContext,
    input: DeleteRepositoryCreationTemplateRequest,
) -> Result<DeleteRepositoryCreationTemplateResponse> {
    let ns = ctx.namespace(None);
    let prefix = required(input.prefix, "prefix")?;
    let template = api
        .state
        .registry
        .delete_creation_template(&ns, &prefix)
        .await?;
    Ok(DeleteRepositoryCreationTemplateResponse {
        registry_id: Some(ns.account),
        repository_creation_template: Some(template_shape(template)),
    })
}
