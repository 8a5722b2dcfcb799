//! The layer API — BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart,
//! CompleteLayerUpload, GetDownloadUrlForLayer — and the route that serves its download URLs.
//!
//! Uploads here are the OCI front's uploads (`core::layers` over `core::blobs`), so a layer
//! pushed one way is pulled the other.
//!
//! A download URL stands in for ECR's pre-signed S3 URL: it points at ecrd itself,
//! `http://<registry host>/_ecrd/layers/<account>/<region>/<repository>/<digest>?expires=<ms>&signature=<hmac>`,
//! signed with the registry-token secret, valid for [`DOWNLOAD_URL_LIFETIME_MS`] by ecrd's clock,
//! and needs no other credentials. An expired or forged URL is 403 with an S3-style XML body.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use super::{required, Api, Result};
use crate::auth::token::{TokenError, Tokens};
use crate::core::images::PushFront;
use crate::core::layers::{LayerCheck, PART_SIZE};
use crate::core::names::Digest;
use crate::core::Namespace;
use crate::ecr::error::EcrError;
use crate::ecr::generated::*;
use crate::ecr::RequestContext;
use crate::server::AppState;

/// How long a download URL works: ECR's pre-signed URLs last an hour.
pub const DOWNLOAD_URL_LIFETIME_MS: i64 = 3600 * 1000;

/// The path prefix of download URLs (the route is `/_ecrd/layers/{*rest}`).
const DOWNLOAD_PREFIX: &str = "/_ecrd/layers/";

pub async fn batch_check_layer_availability(
    api: &Api,
    ctx: &RequestContext,
    input: BatchCheckLayerAvailabilityRequest,
) -> Result<BatchCheckLayerAvailabilityResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let digests = required(input.layer_digests, "layerDigests")?;
    let checks = api.state.registry.check_layers(&ns, &repo, &digests)?;
    let mut layers = Vec::new();
    let mut failures = Vec::new();
    for check in checks {
        match check {
            LayerCheck::Available {
                digest,
                size,
                media_type,
            } => layers.push(Layer {
                layer_digest: Some(digest.to_string()),
                layer_availability: Some(LayerAvailability::Available),
                layer_size: Some(size as i64),
                media_type,
            }),
            LayerCheck::Missing(digest) => failures.push(LayerFailure {
                layer_digest: Some(digest),
                failure_code: Some(LayerFailureCode::MissingLayerDigest),
                failure_reason: Some("Could not find layer".into()),
            }),
            LayerCheck::Invalid(digest) => failures.push(LayerFailure {
                layer_digest: Some(digest),
                failure_code: Some(LayerFailureCode::InvalidLayerDigest),
                failure_reason: Some("Invalid layer digest".into()),
            }),
        }
    }
    Ok(BatchCheckLayerAvailabilityResponse {
        layers: Some(layers),
        failures: Some(failures),
    })
}

pub async fn initiate_layer_upload(
    api: &Api,
    ctx: &RequestContext,
    input: InitiateLayerUploadRequest,
) -> Result<InitiateLayerUploadResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    // The layer API never creates repositories: on ECR only registry-API pushes do.
    let upload_id = api
        .state
        .registry
        .start_upload(&ns, &repo, PushFront::Api)
        .await?;
    Ok(InitiateLayerUploadResponse {
        upload_id: Some(upload_id),
        part_size: Some(PART_SIZE as i64),
    })
}

pub async fn upload_layer_part(
    api: &Api,
    ctx: &RequestContext,
    input: UploadLayerPartRequest,
) -> Result<UploadLayerPartResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let upload_id = required(input.upload_id, "uploadId")?;
    let first = byte_offset(input.part_first_byte, "partFirstByte")?;
    let last = byte_offset(input.part_last_byte, "partLastByte")?;
    let part = required(input.layer_part_blob, "layerPartBlob")?;
    let last_byte = api
        .state
        .registry
        .upload_layer_part(
            &ns,
            &repo,
            &upload_id,
            first,
            last,
            Bytes::from(part.into_inner()),
        )
        .await?;
    Ok(UploadLayerPartResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        upload_id: Some(upload_id),
        last_byte_received: Some(last_byte as i64),
    })
}

/// A `PartSize` member as a byte offset; the validator has refused negative values.
fn byte_offset(value: Option<i64>, member: &str) -> Result<u64> {
    u64::try_from(required(value, member)?).map_err(|_| {
        EcrError::constraint(member, "Member must have value greater than or equal to 0")
    })
}

pub async fn complete_layer_upload(
    api: &Api,
    ctx: &RequestContext,
    input: CompleteLayerUploadRequest,
) -> Result<CompleteLayerUploadResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let upload_id = required(input.upload_id, "uploadId")?;
    // ECR takes the first of the list (an upload is one layer).
    let digest = required(input.layer_digests, "layerDigests")?
        .into_iter()
        .next()
        .ok_or_else(|| {
            EcrError::constraint(
                "layerDigests",
                "Member must have length greater than or equal to 1",
            )
        })?;
    let digest = api
        .state
        .registry
        .complete_layer_upload(&ns, &repo, &upload_id, &digest)
        .await?;
    Ok(CompleteLayerUploadResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        upload_id: Some(upload_id),
        layer_digest: Some(digest.to_string()),
    })
}

pub async fn get_download_url_for_layer(
    api: &Api,
    ctx: &RequestContext,
    input: GetDownloadUrlForLayerRequest,
) -> Result<GetDownloadUrlForLayerResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let digest = required(input.layer_digest, "layerDigest")?;
    let blob = api.state.registry.layer_for_download(&ns, &repo, &digest)?;
    let expires = api.state.registry.clock().now_millis() + DOWNLOAD_URL_LIFETIME_MS;
    let path = format!(
        "{DOWNLOAD_PREFIX}{}/{}/{repo}/{}",
        ns.account, ns.region, blob.digest
    );
    let signature = api.state.tokens.sign_url(&path, expires);
    Ok(GetDownloadUrlForLayerResponse {
        download_url: Some(format!(
            "http://{}{path}?expires={expires}&signature={signature}",
            api.state.registry_host
        )),
        layer_digest: Some(blob.digest.to_string()),
    })
}

/// `GET|HEAD /_ecrd/layers/{*rest}`: serves a download URL's blob.
///
/// The URL's signature stands for the credentials; the blob is then served by the OCI blob GET
/// itself (ranges, headers, errors — one implementation), called in-process with a registry
/// password minted for the URL's namespace that lives a minute and never leaves the process.
pub async fn download(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let now = state.registry.clock().now_millis();
    let (ns, repo, digest) = match authorize(&state.tokens, &request, now) {
        Ok(target) => target,
        Err(e) => return denied(e),
    };
    let with_body = request.method() != axum::http::Method::HEAD;
    let served = crate::oci::handlers::serve_blob(
        &state.registry,
        &ns,
        &repo,
        &digest,
        request.headers(),
        with_body,
    )
    .await;
    served.unwrap_or_else(IntoResponse::into_response)
}

/// The URL's signed parts: `expires`, `signature` and the percent-decoded path.
struct SignedUrl {
    path: String,
    expires: i64,
    signature: String,
}

fn signed_url(request: &Request) -> Option<SignedUrl> {
    let path = percent_encoding::percent_decode_str(request.uri().path())
        .decode_utf8()
        .ok()?
        .into_owned();
    let (mut expires, mut signature) = (None, None);
    for (key, value) in form_urlencoded::parse(request.uri().query().unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "expires" => expires = value.parse::<i64>().ok(),
            "signature" => signature = Some(value.into_owned()),
            _ => {}
        }
    }
    Some(SignedUrl {
        path,
        expires: expires?,
        signature: signature?,
    })
}

/// The namespace, repository and digest of a genuine, unexpired URL.
fn authorize(
    tokens: &Tokens,
    request: &Request,
    now: i64,
) -> std::result::Result<(Namespace, String, Digest), TokenError> {
    let url = signed_url(request).ok_or(TokenError::Invalid)?;
    tokens.verify_url(&url.path, url.expires, &url.signature, now)?;
    // Signed by us, so well-formed; parsed defensively all the same.
    let target = || -> Option<(Namespace, String, Digest)> {
        let rest = url.path.strip_prefix(DOWNLOAD_PREFIX)?;
        let (account, rest) = rest.split_once('/')?;
        let (region, rest) = rest.split_once('/')?;
        let (repo, digest) = rest.rsplit_once('/')?;
        let digest = Digest::parse(digest).ok()?;
        Some((Namespace::new(account, region), repo.to_owned(), digest))
    };
    target().ok_or(TokenError::Invalid)
}

/// 403 in S3's words, as a pre-signed URL would answer.
fn denied(error: TokenError) -> Response {
    let (code, message) = match error {
        TokenError::Expired => ("AccessDenied", "Request has expired"),
        TokenError::Invalid => (
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ),
    };
    (
        StatusCode::FORBIDDEN,
        [(header::CONTENT_TYPE, "application/xml")],
        format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
        ),
    )
        .into_response()
}
