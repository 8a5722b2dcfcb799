//! What can go wrong in the registry core, independent of any wire format.
//!
//! Each front maps these to its own wire errors in exactly one place: `oci::error` for the OCI
//! error JSON, `ecr::handlers` (`From<CoreError> for EcrError`) for ECR exceptions.

use crate::core::names::{Digest, NameError};
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error(
        "The repository with name '{name}' does not exist in the registry with id '{registry_id}'"
    )]
    RepositoryNotFound { name: String, registry_id: String },

    #[error(
        "The repository with name '{name}' already exists in the registry with id '{registry_id}'"
    )]
    RepositoryAlreadyExists { name: String, registry_id: String },

    #[error(
        "The repository with name '{name}' in registry with id '{registry_id}' cannot be deleted because it still contains images"
    )]
    RepositoryNotEmpty { name: String, registry_id: String },

    /// A name, tag or digest that does not fit its grammar.
    #[error("{0}")]
    InvalidName(#[from] NameError),

    /// A parameter the core checks semantically (not a model constraint); the message is ECR's.
    #[error("{0}")]
    InvalidParameter(String),

    #[error("{message}")]
    InvalidTagParameter { message: String },

    #[error("{message}")]
    TooManyTags { message: String },

    #[error("Requested image not found")]
    ManifestUnknown,

    #[error("blob unknown to registry")]
    BlobUnknown,

    #[error("blob upload unknown to registry")]
    UploadUnknown,

    /// A chunk that does not start where the upload ends.
    #[error("chunk out of order: the upload has {current} bytes")]
    ChunkOutOfOrder { current: u64 },

    #[error("provided digest did not match uploaded content")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("{0}")]
    SizeInvalid(String),

    /// A manifest pushed by digest (or with `imageDigest`) whose bytes hash to another digest.
    #[error("The digest '{expected}' does not match the manifest's digest '{actual}'")]
    ManifestDigestMismatch { expected: Digest, actual: Digest },

    /// Parseable but not a valid manifest of its media type.
    #[error("{0}")]
    ManifestInvalid(String),

    /// Not JSON, or a media type ECR does not store.
    #[error("Invalid parameter at 'ImageManifest' failed to satisfy constraint: '{0}'")]
    ManifestUnsupported(String),

    #[error("manifest is larger than 4 MiB")]
    ManifestTooLarge,

    /// Config or layers not uploaded to this repository.
    #[error("blob unknown to registry: {}", join(.digests))]
    ManifestBlobUnknown { digests: Vec<Digest> },

    /// Children of an index that are not in this repository.
    #[error("manifest unknown to registry: {}", join(.digests))]
    ManifestChildrenUnknown { digests: Vec<Digest> },

    #[error("The image tag '{tag}' already exists in the '{repository}' repository and cannot be overwritten because the tag is immutable.")]
    TagImmutable { tag: String, repository: String },

    #[error("Image with digest '{digest}' and tag '{tag}' already exists in the repository with name '{repository}' in registry with id '{registry_id}'")]
    ImageAlreadyExists {
        digest: String,
        tag: String,
        repository: String,
        registry_id: String,
    },

    #[error(
        "The image with digest '{digest}' is referenced by a manifest list and cannot be deleted"
    )]
    ImageReferencedByManifestList { digest: String },

    #[error("unsupported: {0}")]
    Unsupported(String),

    /// An image id of a single-image operation that names no image of the repository; the id is
    /// shown as the client sent it.
    #[error("The image with imageId {} does not exist within the repository with name '{repository}' in the registry with id '{registry_id}'", show_id(.digest, .tag))]
    ImageNotFound {
        digest: Option<String>,
        tag: Option<String>,
        repository: String,
        registry_id: String,
    },

    #[error("Repository policy does not exist for the repository with name '{name}' in the registry with id '{registry_id}'")]
    RepositoryPolicyNotFound { name: String, registry_id: String },

    #[error("Registry policy does not exist in the registry with id '{registry_id}'")]
    RegistryPolicyNotFound { registry_id: String },

    /// A value the newer operations check beyond the model (ECR's ValidationException).
    #[error("{0}")]
    Validation(String),

    /// An UpdateImageStorageClass the image's state does not allow (see `core::storage_class`).
    #[error("{0}")]
    StorageClassUpdateNotSupported(String),

    /// A rule of image scanning ([`crate::core::scanning`]); never raised on the OCI path.
    #[error("{0}")]
    Scan(#[from] ScanError),

    /// A rule of ECR's layer-upload API ([`crate::core::layers`]); never raised on the OCI path.
    #[error("{0}")]
    Layer(#[from] LayerError),

    /// A rule of the registry's configuration objects: pull-through cache rules, creation
    /// templates, the signing configuration, pull-time exclusions. Never raised on the OCI path.
    #[error("{0}")]
    Setting(#[from] SettingError),

    #[error("store: {0}")]
    Store(#[from] StoreError),

    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// What only ECR's layer API answers (BatchCheckLayerAvailability … GetDownloadUrlForLayer): the
/// same uploads as the OCI front, with ECR's extra rules and ECR's context in every message.
#[derive(Debug, thiserror::Error)]
pub enum LayerError {
    #[error("The layer with digest '{digest}' does not exist in the repository with name '{repository}' in the registry with id '{registry_id}'")]
    NotFound {
        digest: String,
        repository: String,
        registry_id: String,
    },

    /// Linked into the repository, but no image of the repository uses it.
    #[error("The layer with digest '{digest}' is not available because it is not associated with an image in the repository with name '{repository}' in the registry with id '{registry_id}'. Unassociated image layers may be cleaned up at any time.")]
    Inaccessible {
        digest: String,
        repository: String,
        registry_id: String,
    },

    #[error("The layer with digest '{digest}' already exists in the repository with name '{repository}' in the registry with id '{registry_id}'")]
    AlreadyExists {
        digest: String,
        repository: String,
        registry_id: String,
    },

    /// S3's multipart rule, which ECR applies when an upload is completed.
    #[error("All layer parts except the last part should be at least 5MB")]
    PartTooSmall,

    #[error("The upload with id '{upload_id}' for the repository with name '{repository}' in the registry with id '{registry_id}' does not contain any layer parts")]
    EmptyUpload {
        upload_id: String,
        repository: String,
        registry_id: String,
    },

    #[error("The upload with id '{upload_id}' does not exist in the repository with name '{repository}' in the registry with id '{registry_id}'")]
    UploadNotFound {
        upload_id: String,
        repository: String,
        registry_id: String,
    },

    /// A part that does not continue the upload, or whose byte range does not match its bytes.
    /// `last_valid` is the last byte the upload holds (none while it is empty).
    #[error("{reason}")]
    PartInvalid {
        reason: String,
        registry_id: String,
        repository: String,
        upload_id: String,
        last_valid: Option<u64>,
    },

    /// The uploaded bytes do not hash to the layer digest the client named (nothing is stored).
    #[error("The layer digest '{expected}' does not match the digest of the uploaded layer{}", actual_digest(.actual))]
    DigestMismatch {
        expected: String,
        actual: Option<Digest>,
    },
}

/// What only the operations on registry configuration objects answer (pull-through cache rules,
/// repository creation templates, signing, pull-time update exclusions). ECR's wording of these
/// is unknown; the messages follow its usual form.
#[derive(Debug, thiserror::Error)]
pub enum SettingError {
    #[error("A pull through cache rule with the prefix '{prefix}' already exists in the registry with id '{registry_id}'")]
    PullThroughCacheRuleAlreadyExists { prefix: String, registry_id: String },

    #[error("The pull through cache rule with the prefix '{prefix}' does not exist in the registry with id '{registry_id}'")]
    PullThroughCacheRuleNotFound { prefix: String, registry_id: String },

    /// An upstream URL ECR cannot cache from, or one it cannot authenticate to as configured.
    #[error("{0}")]
    UnsupportedUpstreamRegistry(String),

    /// A Secrets Manager secret ECR would not find: one of another account or region.
    #[error("The secret '{arn}' was not found in the registry's account and region")]
    SecretNotFound { arn: String },

    #[error("A repository creation template with the prefix '{prefix}' already exists in the registry with id '{registry_id}'")]
    TemplateAlreadyExists { prefix: String, registry_id: String },

    #[error("The repository creation template with the prefix '{prefix}' does not exist in the registry with id '{registry_id}'")]
    TemplateNotFound { prefix: String, registry_id: String },

    #[error("Signing configuration does not exist in the registry with id '{registry_id}'")]
    SigningConfigurationNotFound { registry_id: String },

    #[error("The principal '{principal}' is already excluded from pull time updates in the registry with id '{registry_id}'")]
    ExclusionAlreadyExists {
        principal: String,
        registry_id: String,
    },

    #[error("The principal '{principal}' is not excluded from pull time updates in the registry with id '{registry_id}'")]
    ExclusionNotFound {
        principal: String,
        registry_id: String,
    },

    /// A per-registry quota (rules, templates, exclusions).
    #[error("{0}")]
    LimitExceeded(String),
}

/// What only the scanning operations answer (StartImageScan, DescribeImageScanFindings).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// An index, or an artifact that is not a container image: there are no layers to scan.
    /// ECR's observed wording.
    #[error("An artifact with media type '{media_type}' cannot be scanned. For more information, see the Amazon ECR documentation.")]
    UnsupportedImageType { media_type: String },

    #[error("The image with imageId {} in the repository with name '{repository}' in the registry with id '{registry_id}' is archived and cannot be scanned. Restore the image and try again.", show_id(.digest, .tag))]
    ImageArchived {
        digest: Option<String>,
        tag: Option<String>,
        repository: String,
        registry_id: String,
    },

    /// ECR allows one basic scan per image per day (scan on push included).
    #[error("The scan quota per image has been exceeded. Wait and try again.")]
    QuotaExceeded,

    #[error("Image scan does not exist for the image with '{}' in the repository with name '{repository}' in the registry with id '{registry_id}'", show_id(.digest, .tag))]
    NotFound {
        digest: Option<String>,
        tag: Option<String>,
        repository: String,
        registry_id: String,
    },

    /// Manual scans are basic scans; with ENHANCED scanning (Amazon Inspector) there are none.
    #[error("This feature is disabled when the registry scan type is ENHANCED. Use Amazon Inspector to scan the image.")]
    EnhancedScanning,
}

/// An image id as ECR's messages show it: `{imageDigest:'sha256:…', imageTag:null}`.
pub fn show_id(digest: &Option<String>, tag: &Option<String>) -> String {
    let show = |v: &Option<String>| v.as_deref().map_or("null".to_owned(), |s| format!("'{s}'"));
    format!("{{imageDigest:{}, imageTag:{}}}", show(digest), show(tag))
}

fn actual_digest(actual: &Option<Digest>) -> String {
    actual
        .as_ref()
        .map(|d| format!(", '{d}'"))
        .unwrap_or_default()
}

fn join(digests: &[Digest]) -> String {
    digests
        .iter()
        .map(Digest::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

pub type CoreResult<T> = Result<T, CoreError>;
