//! [`EcrApi`] over the registry core: typed input in, core call, typed output out.
//!
//! The trait impl below only routes each operation to the module of its family; `From<CoreError>
//! for EcrError` at the bottom is the only place core errors become ECR exceptions.

mod auth;
mod exclusions;
mod images;
/// `pub(crate)`: the server routes download URLs to [`layers::download`].
pub(crate) mod layers;
mod lifecycle;
mod policies;
mod pull_through;
mod registry;
mod repositories;
mod scanning;
mod signing;
mod storage_class;
mod templates;

use std::sync::Arc;

use super::error::EcrError;
use super::generated::*;
use super::RequestContext;
use crate::core::error::{LayerError, ScanError, SettingError};
use crate::core::names::{NameError, REPOSITORY_NAME_PATTERN};
use crate::core::CoreError;
use crate::lifecycle::runner::LifecycleError;
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

    async fn put_image(
        &self,
        ctx: &RequestContext,
        input: PutImageRequest,
    ) -> Result<PutImageResponse> {
        images::put_image(self, ctx, input).await
    }

    async fn batch_get_image(
        &self,
        ctx: &RequestContext,
        input: BatchGetImageRequest,
    ) -> Result<BatchGetImageResponse> {
        images::batch_get_image(self, ctx, input).await
    }

    async fn batch_delete_image(
        &self,
        ctx: &RequestContext,
        input: BatchDeleteImageRequest,
    ) -> Result<BatchDeleteImageResponse> {
        images::batch_delete_image(self, ctx, input).await
    }

    async fn list_images(
        &self,
        ctx: &RequestContext,
        input: ListImagesRequest,
    ) -> Result<ListImagesResponse> {
        images::list_images(self, ctx, input).await
    }

    async fn describe_images(
        &self,
        ctx: &RequestContext,
        input: DescribeImagesRequest,
    ) -> Result<DescribeImagesResponse> {
        images::describe_images(self, ctx, input).await
    }

    async fn list_image_referrers(
        &self,
        ctx: &RequestContext,
        input: ListImageReferrersRequest,
    ) -> Result<ListImageReferrersResponse> {
        images::list_image_referrers(self, ctx, input).await
    }

    async fn get_authorization_token(
        &self,
        ctx: &RequestContext,
        input: GetAuthorizationTokenRequest,
    ) -> Result<GetAuthorizationTokenResponse> {
        auth::get_authorization_token(self, ctx, input).await
    }

    async fn put_image_tag_mutability(
        &self,
        ctx: &RequestContext,
        input: PutImageTagMutabilityRequest,
    ) -> Result<PutImageTagMutabilityResponse> {
        repositories::put_image_tag_mutability(self, ctx, input).await
    }

    async fn put_image_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: PutImageScanningConfigurationRequest,
    ) -> Result<PutImageScanningConfigurationResponse> {
        repositories::put_image_scanning_configuration(self, ctx, input).await
    }

    async fn tag_resource(
        &self,
        ctx: &RequestContext,
        input: TagResourceRequest,
    ) -> Result<TagResourceResponse> {
        repositories::tag_resource(self, ctx, input).await
    }

    async fn untag_resource(
        &self,
        ctx: &RequestContext,
        input: UntagResourceRequest,
    ) -> Result<UntagResourceResponse> {
        repositories::untag_resource(self, ctx, input).await
    }

    async fn list_tags_for_resource(
        &self,
        ctx: &RequestContext,
        input: ListTagsForResourceRequest,
    ) -> Result<ListTagsForResourceResponse> {
        repositories::list_tags_for_resource(self, ctx, input).await
    }

    async fn batch_check_layer_availability(
        &self,
        ctx: &RequestContext,
        input: BatchCheckLayerAvailabilityRequest,
    ) -> Result<BatchCheckLayerAvailabilityResponse> {
        layers::batch_check_layer_availability(self, ctx, input).await
    }

    async fn initiate_layer_upload(
        &self,
        ctx: &RequestContext,
        input: InitiateLayerUploadRequest,
    ) -> Result<InitiateLayerUploadResponse> {
        layers::initiate_layer_upload(self, ctx, input).await
    }

    async fn upload_layer_part(
        &self,
        ctx: &RequestContext,
        input: UploadLayerPartRequest,
    ) -> Result<UploadLayerPartResponse> {
        layers::upload_layer_part(self, ctx, input).await
    }

    async fn complete_layer_upload(
        &self,
        ctx: &RequestContext,
        input: CompleteLayerUploadRequest,
    ) -> Result<CompleteLayerUploadResponse> {
        layers::complete_layer_upload(self, ctx, input).await
    }

    async fn get_download_url_for_layer(
        &self,
        ctx: &RequestContext,
        input: GetDownloadUrlForLayerRequest,
    ) -> Result<GetDownloadUrlForLayerResponse> {
        layers::get_download_url_for_layer(self, ctx, input).await
    }
    async fn put_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: PutLifecyclePolicyRequest,
    ) -> Result<PutLifecyclePolicyResponse> {
        lifecycle::put_lifecycle_policy(self, ctx, input).await
    }

    async fn get_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyRequest,
    ) -> Result<GetLifecyclePolicyResponse> {
        lifecycle::get_lifecycle_policy(self, ctx, input).await
    }

    async fn delete_lifecycle_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteLifecyclePolicyRequest,
    ) -> Result<DeleteLifecyclePolicyResponse> {
        lifecycle::delete_lifecycle_policy(self, ctx, input).await
    }

    async fn start_lifecycle_policy_preview(
        &self,
        ctx: &RequestContext,
        input: StartLifecyclePolicyPreviewRequest,
    ) -> Result<StartLifecyclePolicyPreviewResponse> {
        lifecycle::start_lifecycle_policy_preview(self, ctx, input).await
    }

    async fn get_lifecycle_policy_preview(
        &self,
        ctx: &RequestContext,
        input: GetLifecyclePolicyPreviewRequest,
    ) -> Result<GetLifecyclePolicyPreviewResponse> {
        lifecycle::get_lifecycle_policy_preview(self, ctx, input).await
    }

    async fn set_repository_policy(
        &self,
        ctx: &RequestContext,
        input: SetRepositoryPolicyRequest,
    ) -> Result<SetRepositoryPolicyResponse> {
        policies::set_repository_policy(self, ctx, input).await
    }

    async fn get_repository_policy(
        &self,
        ctx: &RequestContext,
        input: GetRepositoryPolicyRequest,
    ) -> Result<GetRepositoryPolicyResponse> {
        policies::get_repository_policy(self, ctx, input).await
    }

    async fn delete_repository_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryPolicyRequest,
    ) -> Result<DeleteRepositoryPolicyResponse> {
        policies::delete_repository_policy(self, ctx, input).await
    }

    async fn put_registry_policy(
        &self,
        ctx: &RequestContext,
        input: PutRegistryPolicyRequest,
    ) -> Result<PutRegistryPolicyResponse> {
        policies::put_registry_policy(self, ctx, input).await
    }

    async fn get_registry_policy(
        &self,
        ctx: &RequestContext,
        input: GetRegistryPolicyRequest,
    ) -> Result<GetRegistryPolicyResponse> {
        policies::get_registry_policy(self, ctx, input).await
    }

    async fn delete_registry_policy(
        &self,
        ctx: &RequestContext,
        input: DeleteRegistryPolicyRequest,
    ) -> Result<DeleteRegistryPolicyResponse> {
        policies::delete_registry_policy(self, ctx, input).await
    }

    async fn describe_registry(
        &self,
        ctx: &RequestContext,
        input: DescribeRegistryRequest,
    ) -> Result<DescribeRegistryResponse> {
        registry::describe_registry(self, ctx, input).await
    }

    async fn put_replication_configuration(
        &self,
        ctx: &RequestContext,
        input: PutReplicationConfigurationRequest,
    ) -> Result<PutReplicationConfigurationResponse> {
        registry::put_replication_configuration(self, ctx, input).await
    }

    async fn get_account_setting(
        &self,
        ctx: &RequestContext,
        input: GetAccountSettingRequest,
    ) -> Result<GetAccountSettingResponse> {
        registry::get_account_setting(self, ctx, input).await
    }

    async fn put_account_setting(
        &self,
        ctx: &RequestContext,
        input: PutAccountSettingRequest,
    ) -> Result<PutAccountSettingResponse> {
        registry::put_account_setting(self, ctx, input).await
    }

    async fn describe_image_replication_status(
        &self,
        ctx: &RequestContext,
        input: DescribeImageReplicationStatusRequest,
    ) -> Result<DescribeImageReplicationStatusResponse> {
        registry::describe_image_replication_status(self, ctx, input).await
    }

    async fn update_image_storage_class(
        &self,
        ctx: &RequestContext,
        input: UpdateImageStorageClassRequest,
    ) -> Result<UpdateImageStorageClassResponse> {
        storage_class::update_image_storage_class(self, ctx, input).await
    }

    async fn start_image_scan(
        &self,
        ctx: &RequestContext,
        input: StartImageScanRequest,
    ) -> Result<StartImageScanResponse> {
        scanning::start_image_scan(self, ctx, input).await
    }

    async fn describe_image_scan_findings(
        &self,
        ctx: &RequestContext,
        input: DescribeImageScanFindingsRequest,
    ) -> Result<DescribeImageScanFindingsResponse> {
        scanning::describe_image_scan_findings(self, ctx, input).await
    }

    async fn put_registry_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: PutRegistryScanningConfigurationRequest,
    ) -> Result<PutRegistryScanningConfigurationResponse> {
        scanning::put_registry_scanning_configuration(self, ctx, input).await
    }

    async fn get_registry_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: GetRegistryScanningConfigurationRequest,
    ) -> Result<GetRegistryScanningConfigurationResponse> {
        scanning::get_registry_scanning_configuration(self, ctx, input).await
    }

    async fn batch_get_repository_scanning_configuration(
        &self,
        ctx: &RequestContext,
        input: BatchGetRepositoryScanningConfigurationRequest,
    ) -> Result<BatchGetRepositoryScanningConfigurationResponse> {
        scanning::batch_get_repository_scanning_configuration(self, ctx, input).await
    }

    async fn create_pull_through_cache_rule(
        &self,
        ctx: &RequestContext,
        input: CreatePullThroughCacheRuleRequest,
    ) -> Result<CreatePullThroughCacheRuleResponse> {
        pull_through::create_pull_through_cache_rule(self, ctx, input).await
    }

    async fn describe_pull_through_cache_rules(
        &self,
        ctx: &RequestContext,
        input: DescribePullThroughCacheRulesRequest,
    ) -> Result<DescribePullThroughCacheRulesResponse> {
        pull_through::describe_pull_through_cache_rules(self, ctx, input).await
    }

    async fn update_pull_through_cache_rule(
        &self,
        ctx: &RequestContext,
        input: UpdatePullThroughCacheRuleRequest,
    ) -> Result<UpdatePullThroughCacheRuleResponse> {
        pull_through::update_pull_through_cache_rule(self, ctx, input).await
    }

    async fn delete_pull_through_cache_rule(
        &self,
        ctx: &RequestContext,
        input: DeletePullThroughCacheRuleRequest,
    ) -> Result<DeletePullThroughCacheRuleResponse> {
        pull_through::delete_pull_through_cache_rule(self, ctx, input).await
    }

    async fn validate_pull_through_cache_rule(
        &self,
        ctx: &RequestContext,
        input: ValidatePullThroughCacheRuleRequest,
    ) -> Result<ValidatePullThroughCacheRuleResponse> {
        pull_through::validate_pull_through_cache_rule(self, ctx, input).await
    }

    async fn create_repository_creation_template(
        &self,
        ctx: &RequestContext,
        input: CreateRepositoryCreationTemplateRequest,
    ) -> Result<CreateRepositoryCreationTemplateResponse> {
        templates::create_repository_creation_template(self, ctx, input).await
    }

    async fn describe_repository_creation_templates(
        &self,
        ctx: &RequestContext,
        input: DescribeRepositoryCreationTemplatesRequest,
    ) -> Result<DescribeRepositoryCreationTemplatesResponse> {
        templates::describe_repository_creation_templates(self, ctx, input).await
    }

    async fn update_repository_creation_template(
        &self,
        ctx: &RequestContext,
        input: UpdateRepositoryCreationTemplateRequest,
    ) -> Result<UpdateRepositoryCreationTemplateResponse> {
        templates::update_repository_creation_template(self, ctx, input).await
    }

    async fn delete_repository_creation_template(
        &self,
        ctx: &RequestContext,
        input: DeleteRepositoryCreationTemplateRequest,
    ) -> Result<DeleteRepositoryCreationTemplateResponse> {
        templates::delete_repository_creation_template(self, ctx, input).await
    }

    async fn put_signing_configuration(
        &self,
        ctx: &RequestContext,
        input: PutSigningConfigurationRequest,
    ) -> Result<PutSigningConfigurationResponse> {
        signing::put_signing_configuration(self, ctx, input).await
    }

    async fn get_signing_configuration(
        &self,
        ctx: &RequestContext,
        input: GetSigningConfigurationRequest,
    ) -> Result<GetSigningConfigurationResponse> {
        signing::get_signing_configuration(self, ctx, input).await
    }

    async fn delete_signing_configuration(
        &self,
        ctx: &RequestContext,
        input: DeleteSigningConfigurationRequest,
    ) -> Result<DeleteSigningConfigurationResponse> {
        signing::delete_signing_configuration(self, ctx, input).await
    }

    async fn describe_image_signing_status(
        &self,
        ctx: &RequestContext,
        input: DescribeImageSigningStatusRequest,
    ) -> Result<DescribeImageSigningStatusResponse> {
        signing::describe_image_signing_status(self, ctx, input).await
    }

    async fn register_pull_time_update_exclusion(
        &self,
        ctx: &RequestContext,
        input: RegisterPullTimeUpdateExclusionRequest,
    ) -> Result<RegisterPullTimeUpdateExclusionResponse> {
        exclusions::register_pull_time_update_exclusion(self, ctx, input).await
    }

    async fn deregister_pull_time_update_exclusion(
        &self,
        ctx: &RequestContext,
        input: DeregisterPullTimeUpdateExclusionRequest,
    ) -> Result<DeregisterPullTimeUpdateExclusionResponse> {
        exclusions::deregister_pull_time_update_exclusion(self, ctx, input).await
    }

    async fn list_pull_time_update_exclusions(
        &self,
        ctx: &RequestContext,
        input: ListPullTimeUpdateExclusionsRequest,
    ) -> Result<ListPullTimeUpdateExclusionsResponse> {
        exclusions::list_pull_time_update_exclusions(self, ctx, input).await
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
            CoreError::Layer(layer) => match layer {
                LayerError::NotFound { .. } => EcrError::new(C::LayersNotFoundException, message),
                LayerError::Inaccessible { .. } => {
                    EcrError::new(C::LayerInaccessibleException, message)
                }
                LayerError::AlreadyExists { .. } => {
                    EcrError::new(C::LayerAlreadyExistsException, message)
                }
                LayerError::PartTooSmall => EcrError::new(C::LayerPartTooSmallException, message),
                LayerError::EmptyUpload { .. } => EcrError::new(C::EmptyUploadException, message),
                LayerError::UploadNotFound { .. } => {
                    EcrError::new(C::UploadNotFoundException, message)
                }
                LayerError::PartInvalid {
                    registry_id,
                    repository,
                    upload_id,
                    last_valid,
                    ..
                } => {
                    let error = EcrError::new(C::InvalidLayerPartException, message)
                        .with_extra("registryId", registry_id)
                        .with_extra("repositoryName", repository)
                        .with_extra("uploadId", upload_id);
                    // Before the first byte there is no last valid one (ECR's value unknown).
                    match last_valid {
                        Some(byte) => error.with_extra("lastValidByteReceived", byte as i64),
                        None => error,
                    }
                }
                LayerError::DigestMismatch { .. } => {
                    EcrError::new(C::InvalidLayerException, message)
                }
            },
            CoreError::ImageNotFound { .. } => EcrError::new(C::ImageNotFoundException, message),
            CoreError::RepositoryPolicyNotFound { .. } => {
                EcrError::new(C::RepositoryPolicyNotFoundException, message)
            }
            CoreError::RegistryPolicyNotFound { .. } => {
                EcrError::new(C::RegistryPolicyNotFoundException, message)
            }
            CoreError::Validation(_) => EcrError::new(C::ValidationException, message),
            CoreError::StorageClassUpdateNotSupported(_) => {
                EcrError::new(C::ImageStorageClassUpdateNotSupportedException, message)
            }
            CoreError::Scan(scan) => match scan {
                ScanError::UnsupportedImageType { .. } => {
                    EcrError::new(C::UnsupportedImageTypeException, message)
                }
                ScanError::ImageArchived { .. } => {
                    EcrError::new(C::ImageArchivedException, message)
                }
                ScanError::QuotaExceeded => EcrError::new(C::LimitExceededException, message),
                ScanError::NotFound { .. } => EcrError::new(C::ScanNotFoundException, message),
                ScanError::EnhancedScanning => EcrError::new(C::ValidationException, message),
            },
            CoreError::Setting(setting) => {
                let code = match setting {
                    SettingError::PullThroughCacheRuleAlreadyExists { .. } => {
                        C::PullThroughCacheRuleAlreadyExistsException
                    }
                    SettingError::PullThroughCacheRuleNotFound { .. } => {
                        C::PullThroughCacheRuleNotFoundException
                    }
                    SettingError::UnsupportedUpstreamRegistry(_) => {
                        C::UnsupportedUpstreamRegistryException
                    }
                    SettingError::SecretNotFound { .. } => C::SecretNotFoundException,
                    SettingError::TemplateAlreadyExists { .. } => C::TemplateAlreadyExistsException,
                    SettingError::TemplateNotFound { .. } => C::TemplateNotFoundException,
                    SettingError::SigningConfigurationNotFound { .. } => {
                        C::SigningConfigurationNotFoundException
                    }
                    SettingError::ExclusionAlreadyExists { .. } => {
                        C::ExclusionAlreadyExistsException
                    }
                    SettingError::ExclusionNotFound { .. } => C::ExclusionNotFoundException,
                    SettingError::LimitExceeded(_) => C::LimitExceededException,
                };
                EcrError::new(code, message)
            }
            CoreError::Store(_) | CoreError::Io(_) => EcrError::server(message),
        }
    }
}

impl From<LifecycleError> for EcrError {
    fn from(error: LifecycleError) -> Self {
        let message = error.to_string();
        match error {
            LifecycleError::Core(core) => EcrError::from(core),
            LifecycleError::InvalidPolicy(_) => EcrError::invalid_parameter(message),
            LifecycleError::PolicyNotFound { .. } => {
                EcrError::new(ErrorCode::LifecyclePolicyNotFoundException, message)
            }
            LifecycleError::PreviewNotFound { .. } => {
                EcrError::new(ErrorCode::LifecyclePolicyPreviewNotFoundException, message)
            }
            LifecycleError::PreviewInProgress { .. } => EcrError::new(
                ErrorCode::LifecyclePolicyPreviewInProgressException,
                message,
            ),
        }
    }
}
