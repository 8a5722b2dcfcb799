//! The ECR control API front (awsJson1.1).
//!
//! `POST /` with `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<Op>`. Everything about the
//! wire is generated from `api-models/` into [`generated`] — shapes, enums, constraint checks, the
//! operation table and [`generated::dispatch`]; this module only frames requests and responses,
//! and [`handlers`] implements [`generated::EcrApi`] over the registry core.

pub mod error;
#[rustfmt::skip]
pub mod generated;
pub mod handlers;
mod pagination;
pub mod wire_types;

#[cfg(test)]
mod generated_tests;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;

use crate::auth::sigv4;
use crate::core::Namespace;
use crate::server::AppState;
use error::EcrError;
use generated::Operation;

const TARGET: &str = "x-amz-target";
const REQUEST_ID: HeaderName = HeaderName::from_static("x-amzn-requestid");
const ERROR_TYPE: HeaderName = HeaderName::from_static("x-amzn-errortype");
const CONTENT_TYPE: &str = "application/x-amz-json-1.1";
/// UploadLayerPart carries up to 20 MiB, base64-encoded in JSON.
const MAX_REQUEST_BYTES: usize = 32 * 1024 * 1024;

/// Who is calling: the namespace the SigV4 credentials name, and the request id.
pub struct RequestContext {
    pub caller: Namespace,
    pub request_id: String,
}

impl RequestContext {
    /// The namespace an operation acts in: `registryId` selects an account in the caller's region.
    pub fn namespace(&self, registry_id: Option<&str>) -> Namespace {
        match registry_id {
            Some(account) => Namespace::new(account, self.caller.region.clone()),
            None => self.caller.clone(),
        }
    }
}

/// The caller's namespace from the SigV4 credential scope; defaults where it says nothing.
pub fn caller_namespace(headers: &HeaderMap, default: Namespace) -> Namespace {
    let scope = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::credential_scope);
    match scope {
        Some(scope) => Namespace {
            account: sigv4::account_from_access_key(&scope.access_key_id)
                .unwrap_or(default.account),
            region: scope.region,
        },
        None => default,
    }
}

/// Entry point for `POST /`.
pub async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let result = call(&state, &request_id, request).await;
    let (status, body, error_type) = match result {
        Ok(body) => (StatusCode::OK, body, None),
        Err(error) => {
            let status =
                StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::BAD_REQUEST);
            if status.is_server_error() {
                tracing::error!(error = %error, "ECR API request failed");
            }
            (status, error.to_body(), Some(error.type_name().to_owned()))
        }
    };
    let mut response = (
        status,
        [(header::CONTENT_TYPE, CONTENT_TYPE)],
        Body::from(body),
    )
        .into_response();
    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert(REQUEST_ID, id);
    }
    if let Some(value) = error_type.and_then(|t| HeaderValue::from_str(&t).ok()) {
        headers.insert(ERROR_TYPE, value);
    }
    response
}

async fn call(
    state: &Arc<AppState>,
    request_id: &str,
    request: Request,
) -> Result<Vec<u8>, EcrError> {
    let target = request
        .headers()
        .get(TARGET)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let op = Operation::from_target(target).ok_or_else(|| EcrError::unknown_operation(target))?;
    let caller = caller_namespace(request.headers(), state.default_namespace());
    let body = http_body_util::Limited::new(request.into_body(), MAX_REQUEST_BYTES)
        .collect()
        .await
        .map_err(|e| EcrError::serialization(format!("cannot read the request body: {e}")))?
        .to_bytes();
    let ctx = RequestContext {
        caller,
        request_id: request_id.to_owned(),
    };
    let api = handlers::Api {
        state: state.clone(),
    };
    tracing::debug!(operation = op.name(), account = %ctx.caller.account, region = %ctx.caller.region, "ECR API call");
    generated::dispatch(&api, &ctx, op, &body).await
}
