//! One handler per OCI endpoint: parse what the request says, call the core, render headers.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use http_body_util::BodyExt;
use serde_json::{json, Value};

use super::endpoint::{self, Endpoint, RouteError};
use super::error::{upload_range, OciError};
use super::namespace;
use crate::core::blobs::{BlobInfo, ChunkRange};
use crate::core::images::{ManifestPush, PushFront};
use crate::core::manifest::{MAX_MANIFEST_BYTES, OCI_INDEX};
use crate::core::names::{Digest, Reference, RepositoryName, Tag};
use crate::core::Namespace;
use crate::server::AppState;
use crate::store::manifests::ImageStatus;

type Result<T> = std::result::Result<T, OciError>;

const API_VERSION: HeaderName = HeaderName::from_static("docker-distribution-api-version");
const CONTENT_DIGEST: HeaderName = HeaderName::from_static("docker-content-digest");
const UPLOAD_UUID: HeaderName = HeaderName::from_static("docker-upload-uuid");
const OCI_SUBJECT: HeaderName = HeaderName::from_static("oci-subject");
const OCI_TAG: HeaderName = HeaderName::from_static("oci-tag");
const OCI_FILTERS_APPLIED: HeaderName = HeaderName::from_static("oci-filters-applied");

/// ECR caps page sizes at 1000.
const MAX_PAGE: usize = 1000;

/// Entry point for every `/v2` request.
pub async fn handle(State(state): State<Arc<AppState>>, request: Request) -> Response {
    let mut response = match route(&state, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    };
    response
        .headers_mut()
        .insert(API_VERSION, HeaderValue::from_static("registry/2.0"));
    response
}

async fn route(state: &AppState, request: Request) -> Result<Response> {
    let ns = namespace::resolve(state, request.headers())?;
    let endpoint = endpoint::parse(request.uri().path()).map_err(|e| match e {
        RouteError::NotFound => OciError::not_found(),
        RouteError::InvalidName => OciError::name_invalid(),
    })?;
    let method = request.method().clone();
    let query = Query::parse(request.uri().query());
    let ctx = Ctx { state, ns };

    match (endpoint, method) {
        (Endpoint::Base, Method::GET | Method::HEAD) => {
            Ok(Json(json!({})).into_response_with(StatusCode::OK))
        }
        (Endpoint::Catalog, Method::GET) => ctx.catalog(&query, request.uri().path()),
        (Endpoint::Tags { name }, Method::GET) => ctx.tags(&name, &query),
        (Endpoint::Manifest { name, reference }, Method::GET) => {
            ctx.get_manifest(&name, &reference, request.headers(), true)
        }
        (Endpoint::Manifest { name, reference }, Method::HEAD) => {
            ctx.get_manifest(&name, &reference, request.headers(), false)
        }
        (Endpoint::Manifest { name, reference }, Method::PUT) => {
            ctx.put_manifest(&name, &reference, &query, request).await
        }
        (Endpoint::Manifest { name, reference }, Method::DELETE) => {
            ctx.delete_manifest(&name, &reference).await
        }
        (Endpoint::Blob { name, digest }, Method::GET) => {
            ctx.get_blob(&name, &digest, request.headers(), true).await
        }
        (Endpoint::Blob { name, digest }, Method::HEAD) => {
            ctx.get_blob(&name, &digest, request.headers(), false).await
        }
        (Endpoint::Blob { .. }, Method::DELETE) => Err(OciError::unsupported(
            "blobs are deleted with the images that use them",
        )),
        (Endpoint::Uploads { name }, Method::POST) => {
            ctx.start_upload(&name, &query, request).await
        }
        (Endpoint::Upload { name, id }, Method::PATCH) => {
            ctx.patch_upload(&name, &id, request).await
        }
        (Endpoint::Upload { name, id }, Method::PUT) => {
            ctx.finish_upload(&name, &id, &query, request).await
        }
        (Endpoint::Upload { name, id }, Method::GET) => ctx.upload_status(&name, &id),
        (Endpoint::Upload { name, id }, Method::DELETE) => ctx.cancel_upload(&name, &id).await,
        (Endpoint::Referrers { name, digest }, Method::GET) => {
            ctx.referrers(&name, &digest, &query)
        }
        (_, method) => Err(OciError::unsupported(format!(
            "{method} is not supported on this endpoint"
        ))),
    }
}

struct Ctx<'a> {
    state: &'a AppState,
    ns: Namespace,
}

/// Query parameters, keeping repeated keys (`?tag=a&tag=b`).
struct Query(Vec<(String, String)>);

impl Query {
    fn parse(query: Option<&str>) -> Self {
        Query(
            form_urlencoded::parse(query.unwrap_or("").as_bytes())
                .into_owned()
                .collect(),
        )
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `n` as a page size: absent = no limit; above 1000 refused, as on ECR.
    fn page_size(&self) -> Result<Option<usize>> {
        match self.get("n") {
            None => Ok(None),
            Some(n) => match n.parse::<usize>() {
                Ok(n) if n <= MAX_PAGE => Ok(Some(n)),
                _ => Err(OciError::new(
                    StatusCode::BAD_REQUEST,
                    "PAGINATION_NUMBER_INVALID",
                    format!("Invalid parameter at 'n' failed to satisfy constraint: 'Member must have value less than or equal to {MAX_PAGE}'"),
                )
                .with_detail(json!({"n": n}))),
            },
        }
    }
}

struct Json(Value);

impl Json {
    fn into_response_with(self, status: StatusCode) -> Response {
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.0.to_string(),
        )
            .into_response()
    }
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

fn with_headers(status: StatusCode, headers: &[(HeaderName, String)]) -> Response {
    let mut response = status.into_response();
    for (name, value) in headers {
        response
            .headers_mut()
            .append(name.clone(), header_value(value));
    }
    response
}

fn parse_digest(digest: &str) -> Result<Digest> {
    Digest::parse(digest)
        .map_err(|e| OciError::digest_invalid(format!("invalid digest '{digest}': {e}")))
}

/// Turns an axum body into the stream of chunks the core consumes.
fn body_stream(
    body: Body,
) -> impl futures_util::Stream<Item = std::result::Result<bytes::Bytes, axum::Error>> {
    body.into_data_stream()
}

impl Ctx<'_> {
    fn registry(&self) -> &crate::core::Registry {
        &self.state.registry
    }

    fn catalog(&self, query: &Query, path: &str) -> Result<Response> {
        let n = query.page_size()?.unwrap_or(100);
        let last = query.get("last");
        let mut names: Vec<String> = self
            .registry()
            .list_repositories(&self.ns, last, n + 1)?
            .into_iter()
            .map(|r| r.row.name)
            .collect();
        let more = names.len() > n;
        names.truncate(n);
        let mut response = Json(json!({"repositories": names})).into_response_with(StatusCode::OK);
        if more {
            if let Some(last) = names.last() {
                add_next_link(&mut response, path, n, last);
            }
        }
        Ok(response)
    }

    fn tags(&self, name: &RepositoryName, query: &Query) -> Result<Response> {
        let n = query.page_size()?;
        let last = query.get("last");
        let limit = n.map_or(usize::MAX / 2, |n| n + 1);
        let mut tags = self
            .registry()
            .list_tags(&self.ns, name.as_str(), last, limit)?;
        let more = n.is_some_and(|n| tags.len() > n);
        if let Some(n) = n {
            tags.truncate(n);
        }
        let mut response =
            Json(json!({"name": name.as_str(), "tags": tags})).into_response_with(StatusCode::OK);
        if let (true, Some(n), Some(last)) = (more, n, tags.last()) {
            add_next_link(&mut response, &format!("/v2/{name}/tags/list"), n, last);
        }
        Ok(response)
    }

    fn get_manifest(
        &self,
        name: &RepositoryName,
        reference: &str,
        headers: &HeaderMap,
        with_body: bool,
    ) -> Result<Response> {
        let reference = Reference::parse(reference).map_err(OciError::from_reference)?;
        let stored = self.registry().get_manifest(
            &self.ns,
            name.as_str(),
            &reference,
            with_body,
            with_body,
        )?;
        if !accepts(headers, &stored.row.media_type) {
            return Err(OciError::new(
                StatusCode::NOT_FOUND,
                "MANIFEST_UNKNOWN",
                format!(
                    "the manifest is a {}, which the Accept header does not allow",
                    stored.row.media_type
                ),
            ));
        }
        let mut response = match stored.body {
            Some(body) => Response::new(Body::from(body)),
            None => Response::new(Body::empty()),
        };
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, header_value(&stored.row.media_type));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(stored.row.size));
        h.insert(CONTENT_DIGEST, header_value(&stored.row.digest));
        h.insert(
            header::ETAG,
            header_value(&format!("\"{}\"", stored.row.digest)),
        );
        Ok(response)
    }

    async fn put_manifest(
        &self,
        name: &RepositoryName,
        reference: &str,
        query: &Query,
        request: Request,
    ) -> Result<Response> {
        let reference = Reference::parse(reference).map_err(OciError::from_reference)?;
        let content_type = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = read_limited(request.into_body(), MAX_MANIFEST_BYTES).await?;
        let (expected_digest, mut tags) = match reference {
            Reference::Tag(tag) => (None, vec![tag]),
            Reference::Digest(digest) => (Some(digest), Vec::new()),
        };
        let echo_tags = expected_digest.is_some();
        for tag in query.all("tag") {
            tags.push(Tag::parse(tag).map_err(OciError::from_reference)?);
        }
        let pushed = self
            .registry()
            .put_manifest(
                &self.ns,
                name.as_str(),
                ManifestPush {
                    body,
                    content_type,
                    tags,
                    expected_digest,
                    front: PushFront::Registry,
                },
            )
            .await?;
        let mut headers = vec![
            (
                header::LOCATION,
                format!("/v2/{name}/manifests/{}", pushed.digest),
            ),
            (CONTENT_DIGEST, pushed.digest.to_string()),
            (header::CONTENT_LENGTH, "0".to_owned()),
        ];
        if let Some(subject) = &pushed.subject {
            headers.push((OCI_SUBJECT, subject.to_string()));
        }
        if echo_tags {
            headers.extend(pushed.tags.iter().map(|t| (OCI_TAG, t.to_string())));
        }
        Ok(with_headers(StatusCode::CREATED, &headers))
    }

    async fn delete_manifest(&self, name: &RepositoryName, reference: &str) -> Result<Response> {
        let reference = Reference::parse(reference).map_err(OciError::from_reference)?;
        self.registry()
            .delete_manifest(&self.ns, name.as_str(), &reference)
            .await?;
        Ok(with_headers(
            StatusCode::ACCEPTED,
            &[(header::CONTENT_LENGTH, "0".into())],
        ))
    }

    async fn get_blob(
        &self,
        name: &RepositoryName,
        digest: &str,
        headers: &HeaderMap,
        with_body: bool,
    ) -> Result<Response> {
        let digest = parse_digest(digest)?;
        serve_blob(
            self.registry(),
            &self.ns,
            name.as_str(),
            &digest,
            headers,
            with_body,
        )
        .await
    }

    async fn start_upload(
        &self,
        name: &RepositoryName,
        query: &Query,
        request: Request,
    ) -> Result<Response> {
        if let (Some(mount), Some(from)) = (query.get("mount"), query.get("from")) {
            let digest = parse_digest(mount)?;
            if let Some(blob) = self
                .registry()
                .mount_blob(&self.ns, name.as_str(), &digest, from, PushFront::Registry)
                .await?
            {
                return Ok(blob_created(name, &blob));
            }
        }
        if let Some(digest) = query.get("digest") {
            let digest = parse_digest(digest)?;
            let blob = self
                .registry()
                .put_blob(
                    &self.ns,
                    name.as_str(),
                    &digest,
                    body_stream(request.into_body()),
                    PushFront::Registry,
                )
                .await?;
            return Ok(blob_created(name, &blob));
        }
        let id = self
            .registry()
            .start_upload(&self.ns, name.as_str(), PushFront::Registry)
            .await?;
        Ok(upload_accepted(StatusCode::ACCEPTED, name, &id, 0))
    }

    async fn patch_upload(
        &self,
        name: &RepositoryName,
        id: &str,
        request: Request,
    ) -> Result<Response> {
        let range = chunk_range(request.headers())?;
        let size = self
            .registry()
            .append_upload(
                &self.ns,
                name.as_str(),
                id,
                range,
                body_stream(request.into_body()),
            )
            .await?;
        Ok(upload_accepted(StatusCode::ACCEPTED, name, id, size))
    }

    fn upload_status(&self, name: &RepositoryName, id: &str) -> Result<Response> {
        let size = self.registry().upload_size(&self.ns, name.as_str(), id)?;
        Ok(upload_accepted(StatusCode::NO_CONTENT, name, id, size))
    }

    async fn finish_upload(
        &self,
        name: &RepositoryName,
        id: &str,
        query: &Query,
        request: Request,
    ) -> Result<Response> {
        let digest = query
            .get("digest")
            .ok_or_else(|| OciError::digest_invalid("the digest query parameter is required"))?;
        let digest = parse_digest(digest)?;
        let last_range = chunk_range(request.headers())?;
        let blob = self
            .registry()
            .finish_upload(
                &self.ns,
                name.as_str(),
                id,
                &digest,
                last_range,
                body_stream(request.into_body()),
            )
            .await?;
        Ok(blob_created(name, &blob))
    }

    async fn cancel_upload(&self, name: &RepositoryName, id: &str) -> Result<Response> {
        self.registry()
            .cancel_upload(&self.ns, name.as_str(), id)
            .await?;
        Ok(with_headers(StatusCode::NO_CONTENT, &[]))
    }

    fn referrers(&self, name: &RepositoryName, digest: &str, query: &Query) -> Result<Response> {
        let subject = parse_digest(digest)?;
        // Media types never contain spaces: a space here is a `+` that the client did not
        // percent-encode (`application/spdx+json`), read back as form encoding says.
        let artifact_type = query
            .get("artifactType")
            .filter(|t| !t.is_empty())
            .map(|t| t.replace(' ', "+"));
        let filter: Vec<String> = artifact_type.iter().cloned().collect();
        let rows = self.registry().referrers(
            &self.ns,
            name.as_str(),
            &subject,
            &filter,
            Some(ImageStatus::Active),
        )?;
        let manifests: Vec<Value> = rows
            .into_iter()
            .map(|r| {
                let mut d = json!({"mediaType": r.media_type, "digest": r.digest, "size": r.size});
                if let Some(t) = r.artifact_type {
                    d["artifactType"] = Value::String(t);
                }
                if let Some(a) = r
                    .annotations
                    .and_then(|a| serde_json::from_str::<Value>(&a).ok())
                {
                    d["annotations"] = a;
                }
                d
            })
            .collect();
        let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
        let mut response = (
            StatusCode::OK,
            [(header::CONTENT_TYPE, OCI_INDEX)],
            index.to_string(),
        )
            .into_response();
        if artifact_type.is_some() {
            response.headers_mut().insert(
                OCI_FILTERS_APPLIED,
                HeaderValue::from_static("artifactType"),
            );
        }
        Ok(response)
    }
}

/// A blob GET or HEAD (with `Range`), as `/v2/<name>/blobs/<digest>` serves it; also what the
/// download URLs of GetDownloadUrlForLayer serve.
pub(crate) async fn serve_blob(
    registry: &crate::core::Registry,
    ns: &Namespace,
    repo: &str,
    digest: &Digest,
    headers: &HeaderMap,
    with_body: bool,
) -> Result<Response> {
    let blob = registry.stat_blob(ns, repo, digest)?;
    let range = match headers.get(header::RANGE).and_then(|v| v.to_str().ok()) {
        // RFC 9110 §14.2: a Range this server does not serve (another unit, several ranges)
        // is ignored and the whole blob sent; only an unsatisfiable byte range is a 416.
        Some(spec) if spec.trim().starts_with("bytes=") && !spec.contains(',') => {
            Some(parse_range(spec, blob.size).ok_or_else(|| OciError::range_invalid(blob.size))?)
        }
        _ => None,
    };
    let (status, start, len) = match range {
        Some((start, end)) => (StatusCode::PARTIAL_CONTENT, start, end - start + 1),
        None => (StatusCode::OK, 0, blob.size),
    };
    let body = if with_body {
        open_range(&blob, start, len)?
    } else {
        Body::empty()
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    h.insert(CONTENT_DIGEST, header_value(digest.as_str()));
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(header::ETAG, header_value(&format!("\"{digest}\"")));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(
            header::CONTENT_RANGE,
            header_value(&format!("bytes {start}-{}/{}", start + len - 1, blob.size)),
        );
    }
    Ok(response)
}

fn add_next_link(response: &mut Response, path: &str, n: usize, last: &str) {
    let last: String = form_urlencoded::byte_serialize(last.as_bytes()).collect();
    let link = format!("<{path}?n={n}&last={last}>; rel=\"next\"");
    response
        .headers_mut()
        .insert(header::LINK, header_value(&link));
}

fn blob_created(name: &RepositoryName, blob: &BlobInfo) -> Response {
    with_headers(
        StatusCode::CREATED,
        &[
            (
                header::LOCATION,
                format!("/v2/{name}/blobs/{}", blob.digest),
            ),
            (CONTENT_DIGEST, blob.digest.to_string()),
            (header::CONTENT_LENGTH, "0".into()),
        ],
    )
}

fn upload_accepted(status: StatusCode, name: &RepositoryName, id: &str, size: u64) -> Response {
    with_headers(
        status,
        &[
            (header::LOCATION, format!("/v2/{name}/blobs/uploads/{id}")),
            (header::RANGE, upload_range(size)),
            (UPLOAD_UUID, id.to_owned()),
            (header::CONTENT_LENGTH, "0".into()),
        ],
    )
}

/// Whether the client's Accept header allows `media_type`. Clients that list no manifest type
/// at all (`*/*`, `application/json`, none) accept anything.
fn accepts(headers: &HeaderMap, media_type: &str) -> bool {
    let accepted: Vec<&str> = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .filter(|v| !v.is_empty())
        .collect();
    let names_manifests = accepted.iter().any(|a| a.starts_with("application/vnd."));
    !names_manifests || accepted.iter().any(|a| *a == media_type || *a == "*/*")
}

/// `Content-Range: <start>-<end>` of a chunk (inclusive), if given.
fn chunk_range(headers: &HeaderMap) -> Result<ChunkRange> {
    let declared_len = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let Some(value) = headers.get(header::CONTENT_RANGE) else {
        return Ok(ChunkRange {
            start: None,
            len: None,
        });
    };
    let bad = || {
        OciError::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            "BLOB_UPLOAD_INVALID",
            "invalid Content-Range",
        )
    };
    let text = value.to_str().map_err(|_| bad())?.trim();
    let text = text.strip_prefix("bytes ").unwrap_or(text);
    let (start, end) = text.split_once('-').ok_or_else(bad)?;
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end
        .split('/')
        .next()
        .unwrap_or("")
        .trim()
        .parse()
        .map_err(|_| bad())?;
    if end < start {
        return Err(bad());
    }
    let len = (end - start).checked_add(1).ok_or_else(bad)?;
    if declared_len.is_some_and(|d| d != len) {
        return Err(OciError::new(
            StatusCode::BAD_REQUEST,
            "SIZE_INVALID",
            format!("Content-Length does not match Content-Range ({len} bytes)"),
        ));
    }
    Ok(ChunkRange {
        start: Some(start),
        len: Some(len),
    })
}

/// A `Range: bytes=...` request against a blob of `size` bytes → inclusive (start, end).
fn parse_range(spec: &str, size: u64) -> Option<(u64, u64)> {
    let spec = spec.trim().strip_prefix("bytes=")?;
    if spec.contains(',') || size == 0 {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let (start, end) = match (start.trim(), end.trim()) {
        ("", suffix) => {
            let n: u64 = suffix.parse().ok()?;
            if n == 0 {
                return None;
            }
            (size.saturating_sub(n), size - 1)
        }
        (start, "") => (start.parse().ok()?, size - 1),
        (start, end) => (start.parse().ok()?, end.parse::<u64>().ok()?.min(size - 1)),
    };
    (start <= end && start < size).then_some((start, end))
}

fn open_range(blob: &BlobInfo, start: u64, len: u64) -> Result<Body> {
    // Opened here so that a missing file is an error response, not a broken body.
    // A blob collected between the row check and this open is simply unknown now.
    let file = std::fs::File::open(&blob.path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => OciError::from(crate::core::CoreError::BlobUnknown),
        _ => OciError::from(crate::core::CoreError::Io(e)),
    })?;
    Ok(Body::from_stream(crate::store::blobs::read_range(
        file, start, len,
    )))
}

/// Reads a body of at most `limit` bytes (a manifest); larger is SIZE_INVALID.
async fn read_limited(body: Body, limit: usize) -> Result<bytes::Bytes> {
    let limited = http_body_util::Limited::new(body, limit);
    match limited.collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(OciError::from(crate::core::CoreError::ManifestTooLarge))
        }
        Err(e) => Err(OciError::new(
            StatusCode::BAD_REQUEST,
            "SIZE_INVALID",
            format!("cannot read the body: {e}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-10", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=50-500", 100), Some((50, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=0-1,3-4", 100), None);
    }
}
