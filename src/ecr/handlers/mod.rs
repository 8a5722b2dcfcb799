//! [`EcrApi`] over the registry core: typed input in, core call, typed output out.
//!
//! The trait impl below only routes each operation to the module of its family; `From<CoreError>
//! for EcrError` at the bottom is the only place core errors become ECR exceptions.

mod auth;
mod repositories;

use std::sync::Arc;

use super::error::EcrError;
use super::generated::*;
use super::RequestContext;
use crate::core::names::{NameError, REPOSITORY_NAME_PATTERN};
use crate::core::CoreError;
use crate::server::AppState;

pub struct Api {
    pub state: Arc<AppState>,
}

type Result<T> = std::result::Result<T, EcrError>;

/// A member the model marks required; the validator has already refused requests without it.
fn required<T>(value: Option<T>, member: &str) -> Result<T> {
    value.ok_or_else(|| EcrError::constraint(member, "Member must not be null"))
}

impl EcrApi for Api {
    type Context = RequestContext;

    async fn create_repository(
        &self,
        ctx: &RequestContext,
        input: CreateRepositoryRequest,
    ) -> Result<CreateRepositoryResponse> {
        repositories::create_repository(self, ctx, input).await
    }

    async fn describe_repositories(
        &self,
        ctx: &RequestContext,
        input: DescribeRepositoriesRequest,
    ) -> Result<DescribeRepositoriesResponse> {
        repositories::describe_repositories(self, ctx, input).await
    }

    async fn delete_repository(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryRequest,
    ) -> Result<DeleteRepositoryResponse> {
        repositories::delete_repository(self, ctx, input).await
    }

    async fn get_authorization_token(
        &self,
        ctx: &RequestContext,
        input: GetAuthorizationTokenRequest,
    ) -> Result<GetAuthorizationTokenResponse> {
        auth::get_authorization_token(self, ctx, input).await
    }
}

impl From<CoreError> for EcrError {
    fn from(error: CoreError) -> Self {
        use ErrorCode as C;
        let message = error.to_string();
        match error {
            CoreError::RepositoryNotFound { .. } => {
                EcrError::new(C::RepositoryNotFoundException, message)
            }
            CoreError::RepositoryAlreadyExists { .. } => {
                EcrError::new(C::RepositoryAlreadyExistsException, message)
            }
            CoreError::RepositoryNotEmpty { .. } => {
                EcrError::new(C::RepositoryNotEmptyException, message)
            }
            CoreError::InvalidName(NameError::Repository) => EcrError::constraint(
                "repositoryName",
                format!("must satisfy regular expression '{REPOSITORY_NAME_PATTERN}'"),
            ),
            CoreError::InvalidName(NameError::Tag) => EcrError::constraint(
                "imageTag",
                "must satisfy regular expression '[a-zA-Z0-9-_.]+'",
            ),
            CoreError::InvalidName(NameError::Digest | NameError::DigestAlgorithm) => {
                EcrError::constraint(
                    "imageDigest",
                    "must satisfy regular expression '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'",
                )
            }
            CoreError::InvalidParameter(_) => EcrError::invalid_parameter(message),
            CoreError::InvalidTagParameter { .. } => {
                EcrError::new(C::InvalidTagParameterException, message)
            }
            CoreError::TooManyTags { .. } => EcrError::new(C::TooManyTagsException, message),
            CoreError::ManifestUnknown => EcrError::new(C::ImageNotFoundException, message),
            CoreError::BlobUnknown => EcrError::new(C::LayersNotFoundException, message),
            CoreError::UploadUnknown => EcrError::new(C::UploadNotFoundException, message),
            CoreError::ChunkOutOfOrder { current } => {
                EcrError::new(C::InvalidLayerPartException, message)
                    .with_extra("lastValidByteReceived", current as i64 - 1)
            }
            CoreError::DigestMismatch { .. } => EcrError::new(C::InvalidLayerException, message),
            CoreError::ManifestDigestMismatch { .. } => {
                EcrError::new(C::ImageDigestDoesNotMatchException, message)
            }
            CoreError::SizeInvalid(_) => EcrError::new(C::InvalidLayerPartException, message),
            CoreError::ManifestInvalid(_)
            | CoreError::ManifestUnsupported(_)
            | CoreError::ManifestTooLarge => EcrError::invalid_parameter(format!(
                "Invalid parameter at 'imageManifest' failed to satisfy constraint: '{message}'"
            )),
            CoreError::ManifestBlobUnknown { .. } => {
                EcrError::new(C::LayersNotFoundException, message)
            }
            CoreError::ManifestChildrenUnknown { .. } => {
                EcrError::new(C::ReferencedImagesNotFoundException, message)
            }
            CoreError::TagImmutable { .. } => {
                EcrError::new(C::ImageTagAlreadyExistsException, message)
            }
            CoreError::ImageAlreadyExists { .. } => {
                EcrError::new(C::ImageAlreadyExistsException, message)
            }
            CoreError::ImageReferencedByManifestList { .. } | CoreError::Unsupported(_) => {
                EcrError::invalid_parameter(message)
            }
            CoreError::Store(_) | CoreError::Io(_) => EcrError::server(message),
        }
    }
}
