//! [`EcrApi`] over the registry core: typed input in, core call, typed output out.
//!
//! `From<CoreError> for EcrError` at the bottom is the only place core errors become ECR
//! exceptions.

use std::sync::Arc;

use super::error::EcrError;
use super::generated::*;
use super::pagination;
use super::wire_types::Timestamp;
use super::RequestContext;
use crate::auth::token::Tokens;
use crate::core::mutability::TagMutability;
use crate::core::names::{NameError, REPOSITORY_NAME_PATTERN};
use crate::core::repositories::{NewRepository, Repository as CoreRepository};
use crate::core::CoreError;
use crate::server::AppState;

pub struct Api {
    pub state: Arc<AppState>,
}

type Result<T> = std::result::Result<T, EcrError>;

impl Api {
    fn repository_shape(&self, repo: CoreRepository) -> Repository {
        let row = repo.row;
        let mutability = TagMutability::parse(&row.tag_mutability).unwrap_or(TagMutability::Mutable);
        Repository {
            repository_arn: Some(repo.arn),
            registry_id: Some(row.account),
            repository_uri: Some(format!("{}/{}", self.state.registry_host, row.name)),
            repository_name: Some(row.name),
            created_at: Some(Timestamp::from_unix_millis(row.created_at)),
            image_tag_mutability: Some(ImageTagMutability::from(mutability.as_str())),
            image_tag_mutability_exclusion_filters: (!row.exclusion_filters.is_empty()).then(|| {
                row.exclusion_filters
                    .into_iter()
                    .map(|filter| ImageTagMutabilityExclusionFilter {
                        filter: Some(filter),
                        filter_type: Some(ImageTagMutabilityExclusionFilterType::from("WILDCARD")),
                    })
                    .collect()
            }),
            image_scanning_configuration: Some(ImageScanningConfiguration { scan_on_push: Some(row.scan_on_push) }),
            encryption_configuration: Some(EncryptionConfiguration {
                encryption_type: Some(EncryptionType::from(row.encryption_type.as_str())),
                kms_key: row.kms_key,
            }),
        }
    }
}

/// A member the model marks required; the validator has already refused requests without it.
fn required<T>(value: Option<T>, member: &str) -> Result<T> {
    value.ok_or_else(|| EcrError::constraint(member, "Member must not be null"))
}

impl EcrApi for Api {
    type Context = RequestContext;

    async fn create_repository(&self, ctx: &RequestContext, input: CreateRepositoryRequest) -> Result<CreateRepositoryResponse> {
        let ns = ctx.namespace(input.registry_id.as_deref());
        let mut new = NewRepository::named(required(input.repository_name, "repositoryName")?);
        if let Some(m) = input.image_tag_mutability {
            // The validator has checked the enum; the core knows every model value.
            new.tag_mutability = TagMutability::parse(m.as_str())
                .ok_or_else(|| EcrError::constraint("imageTagMutability", "Member must satisfy enum value set"))?;
        }
        new.exclusion_filters = input
            .image_tag_mutability_exclusion_filters
            .unwrap_or_default()
            .into_iter()
            .filter_map(|f| f.filter)
            .collect();
        new.scan_on_push = input.image_scanning_configuration.and_then(|c| c.scan_on_push).unwrap_or(false);
        if let Some(enc) = input.encryption_configuration {
            if let Some(t) = enc.encryption_type {
                new.encryption_type = t.as_str().to_owned();
            }
            new.kms_key = enc.kms_key;
        }
        new.resource_tags = resource_tags(input.tags.unwrap_or_default())?;
        let repo = self.state.registry.create_repository(&ns, new).await?;
        Ok(CreateRepositoryResponse { repository: Some(self.repository_shape(repo)) })
    }

    async fn describe_repositories(&self, ctx: &RequestContext, input: DescribeRepositoriesRequest) -> Result<DescribeRepositoriesResponse> {
        let ns = ctx.namespace(input.registry_id.as_deref());
        if let Some(names) = input.repository_names {
            if input.next_token.is_some() || input.max_results.is_some() {
                return Err(EcrError::invalid_parameter(
                    "Invalid parameter at 'repositoryNames' failed to satisfy constraint: \
                     'repositoryNames cannot be used with nextToken or maxResults'",
                ));
            }
            let repos = self.state.registry.describe_repositories(&ns, &names)?;
            return Ok(DescribeRepositoriesResponse {
                repositories: Some(repos.into_iter().map(|r| self.repository_shape(r)).collect()),
                next_token: None,
            });
        }
        let after = input
            .next_token
            .as_deref()
            .map(|t| pagination::decode("DescribeRepositories", t))
            .transpose()?;
        let limit = pagination::page_size(input.max_results);
        let mut repos = self.state.registry.list_repositories(&ns, after.as_deref(), limit + 1)?;
        let more = repos.len() > limit;
        repos.truncate(limit);
        let next_token = more
            .then(|| repos.last().map(|r| pagination::encode("DescribeRepositories", &r.row.name)))
            .flatten();
        Ok(DescribeRepositoriesResponse {
            repositories: Some(repos.into_iter().map(|r| self.repository_shape(r)).collect()),
            next_token,
        })
    }

    async fn delete_repository(&self, ctx: &RequestContext, input: DeleteRepositoryRequest) -> Result<DeleteRepositoryResponse> {
        let ns = ctx.namespace(input.registry_id.as_deref());
        let name = required(input.repository_name, "repositoryName")?;
        let repo = self.state.registry.delete_repository(&ns, &name, input.force.unwrap_or(false)).await?;
        Ok(DeleteRepositoryResponse { repository: Some(self.repository_shape(repo)) })
    }

    async fn get_authorization_token(&self, ctx: &RequestContext, input: GetAuthorizationTokenRequest) -> Result<GetAuthorizationTokenResponse> {
        let expires_at = self.state.registry.clock().now_millis() + self.state.config.token_lifetime_secs * 1000;
        let accounts = match input.registry_ids {
            Some(ids) => ids,
            None => vec![ctx.caller.account.clone()],
        };
        let data = accounts
            .into_iter()
            .map(|account| {
                let ns = ctx.namespace(Some(&account));
                let password = self.state.tokens.issue(&ns, expires_at);
                AuthorizationData {
                    authorization_token: Some(Tokens::authorization_token(&password)),
                    expires_at: Some(Timestamp::from_unix_millis(expires_at)),
                    proxy_endpoint: Some(format!("http://{}", self.state.registry_host)),
                }
            })
            .collect();
        Ok(GetAuthorizationTokenResponse { authorization_data: Some(data) })
    }
}

fn resource_tags(tags: Vec<Tag>) -> Result<Vec<(String, String)>> {
    tags.into_iter()
        .map(|t| match t.key {
            Some(key) => Ok((key, t.value.unwrap_or_default())),
            None => Err(EcrError::new(ErrorCode::InvalidTagParameterException, "Tag keys must not be null")),
        })
        .collect()
}

impl From<CoreError> for EcrError {
    fn from(error: CoreError) -> Self {
        use ErrorCode as C;
        let message = error.to_string();
        match error {
            CoreError::RepositoryNotFound { .. } => EcrError::new(C::RepositoryNotFoundException, message),
            CoreError::RepositoryAlreadyExists { .. } => EcrError::new(C::RepositoryAlreadyExistsException, message),
            CoreError::RepositoryNotEmpty { .. } => EcrError::new(C::RepositoryNotEmptyException, message),
            CoreError::InvalidName(NameError::Repository) => EcrError::constraint(
                "repositoryName",
                format!("must satisfy regular expression '{REPOSITORY_NAME_PATTERN}'"),
            ),
            CoreError::InvalidName(NameError::Tag) => {
                EcrError::constraint("imageTag", "must satisfy regular expression '[a-zA-Z0-9-_.]+'")
            }
            CoreError::InvalidName(NameError::Digest | NameError::DigestAlgorithm) => {
                EcrError::constraint("imageDigest", "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'")
            }
            CoreError::InvalidParameter(_) => EcrError::invalid_parameter(message),
            CoreError::InvalidTagParameter { .. } => EcrError::new(C::InvalidTagParameterException, message),
            CoreError::TooManyTags { .. } => EcrError::new(C::TooManyTagsException, message),
            CoreError::ManifestUnknown => EcrError::new(C::ImageNotFoundException, message),
            CoreError::BlobUnknown => EcrError::new(C::LayersNotFoundException, message),
            CoreError::UploadUnknown => EcrError::new(C::UploadNotFoundException, message),
            CoreError::ChunkOutOfOrder { current } => EcrError::new(C::InvalidLayerPartException, message)
                .with_extra("lastValidByteReceived", current as i64 - 1),
            CoreError::DigestMismatch { .. } => EcrError::new(C::InvalidLayerException, message),
            CoreError::ManifestDigestMismatch { .. } => EcrError::new(C::ImageDigestDoesNotMatchException, message),
            CoreError::SizeInvalid(_) => EcrError::new(C::InvalidLayerPartException, message),
            CoreError::ManifestInvalid(_) | CoreError::ManifestUnsupported(_) | CoreError::ManifestTooLarge => {
                EcrError::invalid_parameter(format!(
                    "Invalid parameter at 'imageManifest' failed to satisfy constraint: '{message}'"
                ))
            }
            CoreError::ManifestBlobUnknown { .. } => EcrError::new(C::LayersNotFoundException, message),
            CoreError::ManifestChildrenUnknown { .. } => EcrError::new(C::ReferencedImagesNotFoundException, message),
            CoreError::TagImmutable { .. } => EcrError::new(C::ImageTagAlreadyExistsException, message),
            CoreError::ImageAlreadyExists { .. } => EcrError::new(C::ImageAlreadyExistsException, message),
            CoreError::ImageReferencedByManifestList { .. } | CoreError::Unsupported(_) => {
                EcrError::invalid_parameter(message)
            }
            CoreError::Store(_) | CoreError::Io(_) => EcrError::server(message),
        }
    }
}
