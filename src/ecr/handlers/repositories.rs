//! Repository operations: create, describe, delete; settings (PutImageTagMutability,
//! PutImageScanningConfiguration); resource tags by ARN (TagResource, UntagResource,
//! ListTagsForResource).

use super::{required, Api, Result};
use crate::core::mutability::TagMutability;
use crate::core::repositories::{
    parse_repository_arn, NewRepository, Repository as CoreRepository,
};
use crate::ecr::error::EcrError;
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;

pub async fn create_repository(
    api: &Api,
    ctx: &RequestContext,
    input: CreateRepositoryRequest,
) -> Result<CreateRepositoryResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let mut new = NewRepository::named(required(input.repository_name, "repositoryName")?);
    if let Some(m) = input.image_tag_mutability {
        new.tag_mutability = tag_mutability(&m)?;
    }
    new.exclusion_filters = exclusion_filters(input.image_tag_mutability_exclusion_filters);
    new.scan_on_push = input
        .image_scanning_configuration
        .and_then(|c| c.scan_on_push)
        .unwrap_or(false);
    if let Some(enc) = input.encryption_configuration {
        if let Some(t) = enc.encryption_type {
            new.encryption_type = t.as_str().to_owned();
        }
        new.kms_key = enc.kms_key;
    }
    new.resource_tags = resource_tags(input.tags.unwrap_or_default())?;
    let repo = api.state.registry.create_repository(&ns, new).await?;
    Ok(CreateRepositoryResponse {
        repository: Some(repository_shape(api, repo)),
    })
}

pub async fn describe_repositories(
    api: &Api,
    ctx: &RequestContext,
    input: DescribeRepositoriesRequest,
) -> Result<DescribeRepositoriesResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    if let Some(names) = input.repository_names {
        if input.next_token.is_some() || input.max_results.is_some() {
            return Err(EcrError::invalid_parameter(
                "Invalid parameter at 'repositoryNames' failed to satisfy constraint: \
                 'repositoryNames cannot be used with nextToken or maxResults'",
            ));
        }
        let repos = api.state.registry.describe_repositories(&ns, &names)?;
        return Ok(DescribeRepositoriesResponse {
            repositories: Some(
                repos
                    .into_iter()
                    .map(|r| repository_shape(api, r))
                    .collect(),
            ),
            next_token: None,
        });
    }
    let after = input
        .next_token
        .as_deref()
        .map(|t| pagination::decode("DescribeRepositories", t))
        .transpose()?;
    let limit = pagination::page_size(input.max_results);
    let mut repos = api
        .state
        .registry
        .list_repositories(&ns, after.as_deref(), limit + 1)?;
    let more = repos.len() > limit;
    repos.truncate(limit);
    let next_token = more
        .then(|| {
            repos
                .last()
                .map(|r| pagination::encode("DescribeRepositories", &r.row.name))
        })
        .flatten();
    Ok(DescribeRepositoriesResponse {
        repositories: Some(
            repos
                .into_iter()
                .map(|r| repository_shape(api, r))
                .collect(),
        ),
        next_token,
    })
}

pub async fn delete_repository(
    api: &Api,
    ctx: &RequestContext,
    input: DeleteRepositoryRequest,
) -> Result<DeleteRepositoryResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let name = required(input.repository_name, "repositoryName")?;
    let repo = api
        .state
        .registry
        .delete_repository(&ns, &name, input.force.unwrap_or(false))
        .await?;
    Ok(DeleteRepositoryResponse {
        repository: Some(repository_shape(api, repo)),
    })
}

/// The API's view of a repository.
pub fn repository_shape(api: &Api, repo: CoreRepository) -> Repository {
    let row = repo.row;
    let mutability = TagMutability::parse(&row.tag_mutability).unwrap_or(TagMutability::Mutable);
    Repository {
        repository_arn: Some(repo.arn),
        registry_id: Some(row.account),
        repository_uri: Some(format!("{}/{}", api.state.registry_host, row.name)),
        repository_name: Some(row.name),
        created_at: Some(Timestamp::from_unix_millis(row.created_at)),
        image_tag_mutability: Some(ImageTagMutability::from(mutability.as_str())),
        image_tag_mutability_exclusion_filters: exclusion_filter_shapes(row.exclusion_filters),
        image_scanning_configuration: Some(ImageScanningConfiguration {
            scan_on_push: Some(row.scan_on_push),
        }),
        encryption_configuration: Some(EncryptionConfiguration {
            encryption_type: Some(EncryptionType::from(row.encryption_type.as_str())),
            kms_key: row.kms_key,
        }),
    }
}

pub fn resource_tags(tags: Vec<Tag>) -> Result<Vec<(String, String)>> {
    tags.into_iter()
        .map(|t| match t.key {
            Some(key) => Ok((key, t.value.unwrap_or_default())),
            None => Err(EcrError::new(
                ErrorCode::InvalidTagParameterException,
                "Tag keys must not be null",
            )),
        })
        .collect()
}

/// The core's mutability for the model's enum value (which the validator has checked).
pub(super) fn tag_mutability(m: &ImageTagMutability) -> Result<TagMutability> {
    TagMutability::parse(m.as_str()).ok_or_else(|| {
        EcrError::constraint("imageTagMutability", "Member must satisfy enum value set")
    })
}

/// The filters' wildcards (the validator has checked each is a WILDCARD filter).
pub(super) fn exclusion_filters(
    filters: Option<Vec<ImageTagMutabilityExclusionFilter>>,
) -> Vec<String> {
    filters
        .unwrap_or_default()
        .into_iter()
        .filter_map(|f| f.filter)
        .collect()
}

/// Exclusion filters as the API shows them; absent when there are none.
pub(super) fn exclusion_filter_shapes(
    filters: Vec<String>,
) -> Option<Vec<ImageTagMutabilityExclusionFilter>> {
    (!filters.is_empty()).then(|| {
        filters
            .into_iter()
            .map(|filter| ImageTagMutabilityExclusionFilter {
                filter: Some(filter),
                filter_type: Some(ImageTagMutabilityExclusionFilterType::Wildcard),
            })
            .collect()
    })
}

pub async fn put_image_tag_mutability(
    api: &Api,
    ctx: &RequestContext,
    input: PutImageTagMutabilityRequest,
) -> Result<PutImageTagMutabilityResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let name = required(input.repository_name, "repositoryName")?;
    let mutability = tag_mutability(&required(input.image_tag_mutability, "imageTagMutability")?)?;
    let filters = exclusion_filters(input.image_tag_mutability_exclusion_filters);
    let repo = api
        .state
        .registry
        .put_tag_mutability(&ns, &name, mutability, filters)
        .await?;
    let row = repo.row;
    Ok(PutImageTagMutabilityResponse {
        registry_id: Some(row.account),
        repository_name: Some(row.name),
        image_tag_mutability: Some(ImageTagMutability::from(row.tag_mutability.as_str())),
        image_tag_mutability_exclusion_filters: exclusion_filter_shapes(row.exclusion_filters),
    })
}

pub async fn put_image_scanning_configuration(
    api: &Api,
    ctx: &RequestContext,
    input: PutImageScanningConfigurationRequest,
) -> Result<PutImageScanningConfigurationResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let name = required(input.repository_name, "repositoryName")?;
    let config = required(
        input.image_scanning_configuration,
        "imageScanningConfiguration",
    )?;
    let repo = api
        .state
        .registry
        .put_scan_on_push(&ns, &name, config.scan_on_push.unwrap_or(false))
        .await?;
    let row = repo.row;
    Ok(PutImageScanningConfigurationResponse {
        registry_id: Some(row.account),
        repository_name: Some(row.name),
        image_scanning_configuration: Some(ImageScanningConfiguration {
            scan_on_push: Some(row.scan_on_push),
        }),
    })
}

pub async fn tag_resource(
    api: &Api,
    // The ARN, not the caller, names the namespace.
    _ctx: &RequestContext,
    input: TagResourceRequest,
) -> Result<TagResourceResponse> {
    let (ns, name) = parse_repository_arn(&required(input.resource_arn, "resourceArn")?)?;
    let tags = resource_tags(required(input.tags, "tags")?)?;
    api.state.registry.tag_repository(&ns, &name, tags).await?;
    Ok(TagResourceResponse {})
}

pub async fn untag_resource(
    api: &Api,
    // The ARN, not the caller, names the namespace.
    _ctx: &RequestContext,
    input: UntagResourceRequest,
) -> Result<UntagResourceResponse> {
    let (ns, name) = parse_repository_arn(&required(input.resource_arn, "resourceArn")?)?;
    let keys = required(input.tag_keys, "tagKeys")?;
    api.state
        .registry
        .untag_repository(&ns, &name, keys)
        .await?;
    Ok(UntagResourceResponse {})
}

pub async fn list_tags_for_resource(
    api: &Api,
    // The ARN, not the caller, names the namespace.
    _ctx: &RequestContext,
    input: ListTagsForResourceRequest,
) -> Result<ListTagsForResourceResponse> {
    let (ns, name) = parse_repository_arn(&required(input.resource_arn, "resourceArn")?)?;
    let tags = api.state.registry.resource_tags(&ns, &name)?;
    Ok(ListTagsForResourceResponse {
        tags: Some(
            tags.into_iter()
                .map(|(key, value)| Tag {
                    key: Some(key),
                    value: Some(value),
                })
                .collect(),
        ),
    })
}
