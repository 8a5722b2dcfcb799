//! OCI wire errors: `{"errors":[{"code","message","detail"}]}` with the spec's statuses.
//!
//! [`From<CoreError>`] below is the only place where core errors become OCI errors.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::auth::token::TokenError;
use crate::core::names::NameError;
use crate::core::CoreError;

#[derive(Debug)]
pub struct OciError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub detail: Option<serde_json::Value>,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

impl OciError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        OciError {
            status,
            code,
            message: message.into(),
            detail: None,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: HeaderName, value: &str) -> Self {
        if let Ok(value) = HeaderValue::from_str(value) {
            self.headers.push((name, value));
        }
        self
    }

    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }

    pub fn name_invalid() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
            "invalid repository name",
        )
    }

    pub fn digest_invalid(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "DIGEST_INVALID", message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(StatusCode::METHOD_NOT_ALLOWED, "UNSUPPORTED", message)
    }

    pub fn not_found() -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", "no such endpoint")
    }

    /// The Basic challenge ECR sends to clients without (valid) credentials.
    pub fn unauthorized(realm_host: &str, message: &str) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "UNAUTHORIZED", message).with_header(
            header::WWW_AUTHENTICATE,
            &format!("Basic realm=\"http://{realm_host}/\",service=\"ecr.amazonaws.com\""),
        )
    }

    pub fn from_token(error: TokenError, realm_host: &str) -> Self {
        match error {
            TokenError::Expired => Self::new(StatusCode::FORBIDDEN, "DENIED", error.to_string()),
            TokenError::Invalid => Self::unauthorized(realm_host, &error.to_string()),
        }
    }

    /// A bad tag or digest in a manifest URL.
    pub fn from_reference(error: NameError) -> Self {
        match error {
            NameError::Tag => Self::new(StatusCode::BAD_REQUEST, "TAG_INVALID", "invalid tag"),
            _ => Self::digest_invalid("invalid digest"),
        }
    }

    pub fn range_invalid(size: u64) -> Self {
        Self::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            "range not satisfiable",
        )
        .with_header(header::CONTENT_RANGE, &format!("bytes */{size}"))
    }
}

/// `Range: 0-<last byte>` for an upload holding `size` bytes (`0-0` when empty, by convention).
pub fn upload_range(size: u64) -> String {
    format!("0-{}", size.saturating_sub(1))
}

impl From<CoreError> for OciError {
    fn from(error: CoreError) -> Self {
        use StatusCode as S;
        let message = error.to_string();
        match error {
            CoreError::RepositoryNotFound { .. } => {
                OciError::new(S::NOT_FOUND, "NAME_UNKNOWN", message)
            }
            CoreError::InvalidName(NameError::Repository) => OciError::name_invalid(),
            CoreError::InvalidName(NameError::Tag) => {
                OciError::new(S::BAD_REQUEST, "TAG_INVALID", message)
            }
            CoreError::InvalidName(NameError::Digest | NameError::DigestAlgorithm) => {
                OciError::digest_invalid(message)
            }
            CoreError::ManifestUnknown | CoreError::ImageNotFound { .. } => {
                OciError::new(S::NOT_FOUND, "MANIFEST_UNKNOWN", message)
            }
            CoreError::BlobUnknown => OciError::new(S::NOT_FOUND, "BLOB_UNKNOWN", message),
            CoreError::UploadUnknown => OciError::new(S::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN", message),
            CoreError::ChunkOutOfOrder { current } => {
                OciError::new(S::RANGE_NOT_SATISFIABLE, "BLOB_UPLOAD_INVALID", message)
                    .with_header(header::RANGE, &upload_range(current))
            }
            CoreError::DigestMismatch { expected, actual }
            | CoreError::ManifestDigestMismatch { expected, actual } => {
                OciError::digest_invalid(message)
                    .with_detail(json!({"expected": expected.as_str(), "actual": actual.as_str()}))
            }
            CoreError::SizeInvalid(_) => OciError::new(S::BAD_REQUEST, "SIZE_INVALID", message),
            CoreError::ManifestTooLarge => {
                OciError::new(S::PAYLOAD_TOO_LARGE, "SIZE_INVALID", message)
            }
            CoreError::ManifestInvalid(_) => {
                OciError::new(S::BAD_REQUEST, "MANIFEST_INVALID", message)
            }
            CoreError::ManifestUnsupported(_) | CoreError::Unsupported(_) => {
                OciError::unsupported(message)
            }
            CoreError::ManifestBlobUnknown { ref digests }
            | CoreError::ManifestChildrenUnknown { ref digests } => {
                let detail = json!(digests.iter().map(|d| d.as_str()).collect::<Vec<_>>());
                OciError::new(S::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN", message).with_detail(detail)
            }
            CoreError::TagImmutable { .. } => OciError::new(S::BAD_REQUEST, "TAG_INVALID", message),
            CoreError::ImageReferencedByManifestList { .. } => {
                OciError::new(S::CONFLICT, "DENIED", message)
            }
            CoreError::RepositoryAlreadyExists { .. }
            | CoreError::RepositoryNotEmpty { .. }
            | CoreError::ImageAlreadyExists { .. }
            | CoreError::InvalidParameter(_)
            | CoreError::InvalidTagParameter { .. }
            | CoreError::TooManyTags { .. }
            // The control API's own errors (layer API, policies, settings, storage classes,
            // scans, registry configuration objects): never raised on this front.
            | CoreError::Layer(_)
            | CoreError::Setting(_)
            | CoreError::RepositoryPolicyNotFound { .. }
            | CoreError::RegistryPolicyNotFound { .. }
            | CoreError::Validation(_)
            | CoreError::StorageClassUpdateNotSupported(_)
            | CoreError::Scan(_) => OciError::new(S::BAD_REQUEST, "DENIED", message),
            CoreError::Store(_) | CoreError::Io(_) => {
                tracing::error!(error = %message, "internal error on the registry endpoint");
                OciError::new(S::INTERNAL_SERVER_ERROR, "UNKNOWN", "internal error")
            }
        }
    }
}

impl IntoResponse for OciError {
    fn into_response(self) -> Response {
        let mut entry = json!({"code": self.code, "message": self.message});
        if let Some(detail) = self.detail {
            entry["detail"] = detail;
        }
        let body = json!({"errors": [entry]}).to_string();
        let mut response = (
            self.status,
            [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
            body,
        )
            .into_response();
        for (name, value) in self.headers {
            response.headers_mut().append(name, value);
        }
        response
    }
}
