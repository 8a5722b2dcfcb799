//! The OCI Distribution 1.1 endpoint (`/v2/...`), driven with raw HTTP: every good path and
//! every bad path, each checked for its status, OCI error code, headers, and for having changed
//! nothing when it failed.

mod common;

use aws_sdk_ecr::types::ImageTagMutability;
use base64::Engine;
use bytes::Bytes;
use common::TestServer;
use ecrd::config::AuthMode;
use reqwest::header::{HeaderMap, AUTHORIZATION};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use sha2::Digest as _;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
const MIB: usize = 1024 * 1024;

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// Deterministic filler bytes (distinct per seed), so blobs differ without a RNG.
fn bytes_of(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Compares large bodies by length and digest (a failed `assert_eq!` would print megabytes).
#[track_caller]
fn assert_same(got: &[u8], expected: &[u8]) {
    assert_eq!((got.len(), digest(got)), (expected.len(), digest(expected)));
}

/// A finished response: status, headers and the whole body.
struct Resp {
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Resp {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("ascii header"))
    }

    fn headers_all(&self, name: &str) -> Vec<&str> {
        self.headers
            .get_all(name)
            .iter()
            .map(|v| v.to_str().expect("ascii header"))
            .collect()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    /// `errors[0].code` of an OCI error body.
    fn error_code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .expect("an OCI error body")
            .to_owned()
    }

    fn error_message(&self) -> String {
        self.json()["errors"][0]["message"]
            .as_str()
            .expect("an OCI error body")
            .to_owned()
    }

    /// Asserts a success status.
    #[track_caller]
    fn ok(self, status: u16) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts an error status, its OCI error code and the error content type.
    #[track_caller]
    fn err(self, status: u16, code: &str) -> Self {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.error_code(),
            code,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/json; charset=utf-8")
        );
        self
    }
}

/// A registry client: raw reqwest plus the `Authorization` header to send (if any).
#[derive(Clone)]
struct Registry {
    http: reqwest::Client,
    url: String,
    auth: Option<String>,
}

impl Registry {
    /// Logged in as the default account.
    async fn login(server: &TestServer) -> Registry {
        Registry {
            http: server.http(),
            url: server.url.clone(),
            auth: Some(server.basic().await),
        }
    }

    fn anonymous(server: &TestServer) -> Registry {
        Registry {
            http: server.http(),
            url: server.url.clone(),
            auth: None,
        }
    }

    fn with_auth(&self, auth: &str) -> Registry {
        Registry {
            auth: Some(auth.to_owned()),
            ..self.clone()
        }
    }

    fn req(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let request = self.http.request(method, format!("{}{path}", self.url));
        match &self.auth {
            Some(auth) => request.header(AUTHORIZATION, auth),
            None => request,
        }
    }

    /// Sends and reads the whole response. Every `/v2` response, error or not, must say which
    /// API it speaks.
    async fn send(&self, request: reqwest::RequestBuilder) -> Resp {
        let response = request.send().await.expect("request sent");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.bytes().await.expect("body read");
        assert_eq!(
            headers
                .get("docker-distribution-api-version")
                .and_then(|v| v.to_str().ok()),
            Some("registry/2.0"),
            "status {status}"
        );
        Resp {
            status,
            headers,
            body,
        }
    }

    async fn get(&self, path: &str) -> Resp {
        self.send(self.req(Method::GET, path)).await
    }

    async fn head(&self, path: &str) -> Resp {
        self.send(self.req(Method::HEAD, path)).await
    }

    async fn delete(&self, path: &str) -> Resp {
        self.send(self.req(Method::DELETE, path)).await
    }

    /// Monolithic upload: `POST /blobs/uploads/?digest=` with the bytes. Returns the digest.
    async fn push_blob(&self, repo: &str, data: &[u8]) -> String {
        let d = digest(data);
        let resp = self
            .send(
                self.req(
                    Method::POST,
                    &format!("/v2/{repo}/blobs/uploads/?digest={d}"),
                )
                .body(data.to_vec()),
            )
            .await
            .ok(201);
        assert_eq!(
            resp.header("location"),
            Some(format!("/v2/{repo}/blobs/{d}").as_str())
        );
        assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
        d
    }

    /// Opens an upload session; returns its Location.
    async fn start_upload(&self, repo: &str) -> String {
        let resp = self
            .send(self.req(Method::POST, &format!("/v2/{repo}/blobs/uploads/")))
            .await
            .ok(202);
        assert_eq!(resp.header("range"), Some("0-0"));
        let location = resp.header("location").expect("Location").to_owned();
        let uuid = resp
            .header("docker-upload-uuid")
            .expect("Docker-Upload-UUID");
        assert_eq!(location, format!("/v2/{repo}/blobs/uploads/{uuid}"));
        location
    }

    /// A PATCH of a chunk with `Content-Range: <start>-<end>`.
    async fn patch_chunk(&self, location: &str, start: usize, chunk: &[u8]) -> Resp {
        self.send_chunk(Method::PATCH, location, &chunk_span(start, chunk), chunk)
            .await
    }

    /// A chunk sent with the given `Content-Range` (a PATCH, or a closing PUT's last chunk).
    async fn send_chunk(
        &self,
        method: Method,
        url: &str,
        content_range: &str,
        chunk: &[u8],
    ) -> Resp {
        self.send(
            self.req(method, url)
                .header("content-range", content_range)
                .header("content-type", "application/octet-stream")
                .body(chunk.to_vec()),
        )
        .await
    }

    async fn finish_upload(&self, location: &str, d: &str, last: &[u8]) -> Resp {
        self.send(
            self.req(Method::PUT, &format!("{location}?digest={d}"))
                .body(last.to_vec()),
        )
        .await
    }

    async fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Resp {
        self.send(
            self.req(Method::PUT, &format!("/v2/{repo}/manifests/{reference}"))
                .header("content-type", media_type)
                .body(body.to_vec()),
        )
        .await
    }

    async fn tags(&self, repo: &str) -> Vec<String> {
        let resp = self.get(&format!("/v2/{repo}/tags/list")).await.ok(200);
        serde_json::from_value(resp.json()["tags"].clone()).expect("tags")
    }

    async fn catalog(&self) -> Vec<String> {
        let resp = self.get("/v2/_catalog").await.ok(200);
        serde_json::from_value(resp.json()["repositories"].clone()).expect("repositories")
    }

    async fn blob_exists(&self, repo: &str, d: &str) -> bool {
        let resp = self.head(&format!("/v2/{repo}/blobs/{d}")).await;
        match resp.status.as_u16() {
            200 => true,
            404 => false,
            other => panic!("HEAD blob: {other}"),
        }
    }

    /// Uploads config and layers, returns an image manifest of `media_type` naming them.
    async fn image(&self, repo: &str, media_type: &str, seed: u8) -> Vec<u8> {
        let (config_type, layer_type) = if media_type == DOCKER_MANIFEST {
            (DOCKER_CONFIG, DOCKER_LAYER)
        } else {
            (OCI_CONFIG, OCI_LAYER)
        };
        let config =
            format!(r#"{{"architecture":"amd64","os":"linux","seed":{seed}}}"#).into_bytes();
        let layers = [bytes_of(seed, 1000), bytes_of(seed.wrapping_add(100), 3000)];
        self.push_blob(repo, &config).await;
        for layer in &layers {
            self.push_blob(repo, layer).await;
        }
        image_manifest(
            media_type,
            descriptor(config_type, &config),
            layers.iter().map(|l| descriptor(layer_type, l)).collect(),
        )
    }
}

fn descriptor(media_type: &str, data: &[u8]) -> Value {
    json!({"mediaType": media_type, "digest": digest(data), "size": data.len()})
}

/// A manifest descriptor: for index children and subjects.
fn manifest_descriptor(media_type: &str, body: &[u8]) -> Value {
    descriptor(media_type, body)
}

fn image_manifest(media_type: &str, config: Value, layers: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(
        &json!({"schemaVersion": 2, "mediaType": media_type, "config": config, "layers": layers}),
    )
    .unwrap()
}

fn index_manifest(media_type: &str, children: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({"schemaVersion": 2, "mediaType": media_type, "manifests": children}))
        .unwrap()
}

fn with_platform(mut descriptor: Value, arch: &str) -> Value {
    descriptor["platform"] = json!({"architecture": arch, "os": "linux"});
    descriptor
}

/// One request written by hand on a fresh connection, for paths an HTTP client library would
/// normalise (`..`, `%2e%2e`) before sending. Returns (status, lower-cased head, body).
async fn raw_request(
    server: &TestServer,
    method: &str,
    path: &str,
    auth: &str,
) -> (u16, String, Value) {
    let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: {auth}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8(response).expect("utf-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("a full response");
    let status = head.split(' ').nth(1).expect("status").parse().unwrap();
    let body = serde_json::from_str(body).unwrap_or(Value::Null);
    (status, head.to_ascii_lowercase(), body)
}

// ---------------------------------------------------------------------------------------------
// Authentication and namespaces
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn base_endpoint_challenges_and_accepts_credentials() {
    let server = TestServer::start().await;
    let anonymous = Registry::anonymous(&server);
    let challenge = format!(
        "Basic realm=\"http://{}/\",service=\"ecr.amazonaws.com\"",
        server.addr
    );

    let resp = anonymous.get("/v2/").await.err(401, "UNAUTHORIZED");
    assert_eq!(resp.header("www-authenticate"), Some(challenge.as_str()));
    // Without credentials nothing else is reachable either, not even a 404.
    anonymous.get("/v2/_catalog").await.err(401, "UNAUTHORIZED");
    anonymous
        .get("/v2/nope/tags/list")
        .await
        .err(401, "UNAUTHORIZED");

    let password = server.password().await;
    let (payload, tag) = password.split_once('.').unwrap();
    let b64 = |s: String| base64::engine::general_purpose::STANDARD.encode(s);
    let forged_payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(br#"{"a":"999999999999","r":"us-east-1","e":99999999999999}"#);
    for bad in [
        format!("Basic {}", b64(format!("AWS:{forged_payload}.{tag}"))),
        format!("Basic {}", b64(format!("AWS:{payload}.AAAA"))),
        format!("Basic {}", b64(format!("bob:{password}"))),
        format!("Basic {}", b64("AWS".into())),
        "Basic !!!not-base64".to_owned(),
        format!("Bearer {password}"),
    ] {
        let resp = anonymous
            .with_auth(&bad)
            .get("/v2/")
            .await
            .err(401, "UNAUTHORIZED");
        assert_eq!(
            resp.header("www-authenticate"),
            Some(challenge.as_str()),
            "{bad}"
        );
        assert_eq!(resp.error_message(), "Your authorization token is invalid.");
    }

    let registry = Registry::login(&server).await;
    let resp = registry.get("/v2/").await.ok(200);
    assert_eq!(resp.json(), json!({}));
    assert!(resp.header("www-authenticate").is_none());
    registry.get("/v2").await.ok(200);
    registry.head("/v2/").await.ok(200);
    // The Basic credential is exactly `authorizationToken`, and `AWS:<password>` is the same.
    registry
        .with_auth(&format!("Basic {}", b64(format!("AWS:{password}"))))
        .get("/v2/")
        .await
        .ok(200);

    // Unknown shapes and methods are errors in the OCI format too.
    registry.get("/v2/ab/unknown").await.err(404, "NOT_FOUND");
    registry
        .send(registry.req(Method::POST, "/v2/"))
        .await
        .err(405, "UNSUPPORTED");
}

#[tokio::test]
async fn expired_tokens_are_denied() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let registry = Registry::login(&server).await;
    registry.get("/v2/_catalog").await.ok(200);

    // Tokens last 12 hours; move the server's clock past that.
    server.state.registry.clock().advance(12 * 3600 * 1000 + 1);
    let resp = registry.get("/v2/").await.err(403, "DENIED");
    assert_eq!(
        resp.error_message(),
        "Your authorization token has expired. Reauthenticate and try again."
    );
    // An expired token is not a challenge: the client knows who it is, it must log in again.
    assert!(resp.header("www-authenticate").is_none());
    registry.get("/v2/app/tags/list").await.err(403, "DENIED");

    // A fresh token works again.
    Registry::login(&server)
        .await
        .get("/v2/app/tags/list")
        .await
        .ok(200);
}

#[tokio::test]
async fn short_lived_tokens_expire_on_their_own() {
    let server = TestServer::start_with(|c| c.token_lifetime_secs = 1).await;
    let registry = Registry::login(&server).await;
    registry.get("/v2/").await.ok(200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    registry.get("/v2/").await.err(403, "DENIED");
}

#[tokio::test]
async fn a_token_reaches_only_its_own_account() {
    let server = TestServer::start().await;
    server.create_repository("default-one").await;
    let other = server.ecr_as("123456789012", "us-east-1");
    for name in ["other-a", "other-b"] {
        other
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .unwrap();
    }
    let basic_other = common::basic_from(&other).await;
    let registry = Registry::login(&server).await;
    let registry_other = registry.with_auth(&basic_other);

    assert_eq!(registry.catalog().await, ["default-one"]);
    assert_eq!(registry_other.catalog().await, ["other-a", "other-b"]);
    // Repositories of another account do not exist for this token.
    registry_other
        .get("/v2/default-one/tags/list")
        .await
        .err(404, "NAME_UNKNOWN");
    registry
        .get("/v2/other-a/tags/list")
        .await
        .err(404, "NAME_UNKNOWN");

    // An ECR-style Host names the account; a token of another account may not go there.
    let other_host = format!(
        "123456789012.dkr.ecr.us-east-1.localhost:{}",
        server.addr.port()
    );
    let resp = registry
        .send(
            registry
                .req(Method::GET, "/v2/_catalog")
                .header("host", &other_host),
        )
        .await;
    let resp = resp.err(403, "DENIED");
    assert!(
        resp.error_message().contains("123456789012"),
        "{}",
        resp.error_message()
    );
    // Its own token is fine there.
    let resp = registry_other
        .send(
            registry_other
                .req(Method::GET, "/v2/_catalog")
                .header("host", &other_host),
        )
        .await;
    assert_eq!(
        resp.ok(200).json()["repositories"],
        json!(["other-a", "other-b"])
    );
    // A region of the same account is another registry, too.
    let other_region = format!(
        "123456789012.dkr.ecr.eu-west-1.localhost:{}",
        server.addr.port()
    );
    registry_other
        .send(
            registry_other
                .req(Method::GET, "/v2/")
                .header("host", &other_region),
        )
        .await
        .err(403, "DENIED");
}

#[tokio::test]
async fn auth_off_serves_anonymous_requests() {
    let server = TestServer::start_with(|c| c.auth = AuthMode::Off).await;
    server.create_repository("open").await;
    server
        .ecr_as("123456789012", "us-east-1")
        .create_repository()
        .repository_name("elsewhere")
        .send()
        .await
        .unwrap();
    let anonymous = Registry::anonymous(&server);
    let resp = anonymous.get("/v2/").await.ok(200);
    assert!(resp.header("www-authenticate").is_none());
    assert_eq!(anonymous.catalog().await, ["open"]);
    let d = anonymous.push_blob("open", b"anonymous bytes").await;
    assert!(anonymous.blob_exists("open", &d).await);

    // The Host still picks the namespace.
    let host = format!(
        "123456789012.dkr.ecr.us-east-1.localhost:{}",
        server.addr.port()
    );
    let resp = anonymous
        .send(
            anonymous
                .req(Method::GET, "/v2/_catalog")
                .header("host", &host),
        )
        .await
        .ok(200);
    assert_eq!(resp.json()["repositories"], json!(["elsewhere"]));

    // A garbage credential is ignored, but an expired genuine token is still refused.
    anonymous
        .with_auth("Basic Zm9vOmJhcg==")
        .get("/v2/")
        .await
        .ok(200);
    let registry = Registry::login(&server).await;
    server.state.registry.clock().advance(13 * 3600 * 1000);
    registry.get("/v2/").await.err(403, "DENIED");
}

// ---------------------------------------------------------------------------------------------
// Blob uploads
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn monolithic_and_streamed_uploads() {
    let server = TestServer::start().await;
    server.create_repository("team/app").await;
    let registry = Registry::login(&server).await;

    // POST ?digest= with the whole body.
    let one = bytes_of(1, 70_000);
    let d1 = registry.push_blob("team/app", &one).await;
    assert_same(
        &registry
            .get(&format!("/v2/team/app/blobs/{d1}"))
            .await
            .ok(200)
            .body,
        &one,
    );

    // POST, then a single PUT carrying the body.
    let two = bytes_of(2, 2 * MIB + 17);
    let d2 = digest(&two);
    let location = registry.start_upload("team/app").await;
    let resp = registry.finish_upload(&location, &d2, &two).await.ok(201);
    assert_eq!(
        resp.header("location"),
        Some(format!("/v2/team/app/blobs/{d2}").as_str())
    );
    assert_eq!(resp.header("docker-content-digest"), Some(d2.as_str()));
    assert_same(
        &registry
            .get(&format!("/v2/team/app/blobs/{d2}"))
            .await
            .ok(200)
            .body,
        &two,
    );
    // The session is closed once the blob exists.
    registry
        .get(&location)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");

    // POST, one streamed PATCH (chunked transfer encoding, no Content-Range), PUT with no body:
    // what docker and containerd do.
    let three = bytes_of(3, 3 * MIB + 5);
    let d3 = digest(&three);
    let location = registry.start_upload("team/app").await;
    let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
        three.chunks(100_000).map(|c| Ok(c.to_vec())).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
    let resp = registry
        .send(registry.req(Method::PATCH, &location).body(body))
        .await
        .ok(202);
    assert_eq!(
        resp.header("range"),
        Some(format!("0-{}", three.len() - 1).as_str())
    );
    assert_eq!(resp.header("location"), Some(location.as_str()));
    registry.finish_upload(&location, &d3, b"").await.ok(201);
    assert_same(
        &registry
            .get(&format!("/v2/team/app/blobs/{d3}"))
            .await
            .ok(200)
            .body,
        &three,
    );

    // The empty blob, both ways.
    let empty = digest(b"");
    assert_eq!(registry.push_blob("team/app", b"").await, empty);
    let resp = registry
        .head(&format!("/v2/team/app/blobs/{empty}"))
        .await
        .ok(200);
    assert_eq!(resp.header("content-length"), Some("0"));
    let location = registry.start_upload("team/app").await;
    registry.finish_upload(&location, &empty, b"").await.ok(201);
    assert!(registry
        .get(&format!("/v2/team/app/blobs/{empty}"))
        .await
        .ok(200)
        .body
        .is_empty());

    // Pushing the same blob again is fine (content addressing).
    assert_eq!(registry.push_blob("team/app", &one).await, d1);

    // A monolithic upload whose bytes are not the digest stores nothing.
    let wrong = digest(b"something else");
    let resp = registry
        .send(
            registry
                .req(
                    Method::POST,
                    &format!("/v2/team/app/blobs/uploads/?digest={wrong}"),
                )
                .body(one.clone()),
        )
        .await
        .err(400, "DIGEST_INVALID");
    assert_eq!(
        resp.json()["errors"][0]["detail"],
        json!({"expected": wrong, "actual": d1})
    );
    assert!(!registry.blob_exists("team/app", &wrong).await);
    registry
        .send(
            registry
                .req(
                    Method::POST,
                    "/v2/team/app/blobs/uploads/?digest=sha256:nothex",
                )
                .body("x"),
        )
        .await
        .err(400, "DIGEST_INVALID");

    // Uploads go to existing repositories only.
    registry
        .send(registry.req(Method::POST, "/v2/nope/blobs/uploads/"))
        .await
        .err(404, "NAME_UNKNOWN");
    registry
        .send(
            registry
                .req(
                    Method::POST,
                    &format!("/v2/nope/blobs/uploads/?digest={d1}"),
                )
                .body(one.clone()),
        )
        .await
        .err(404, "NAME_UNKNOWN");
    assert!(!server
        .dir
        .path()
        .join("blobs/sha256")
        .join(&wrong[7..9])
        .join(&wrong[7..])
        .exists());
}

/// `<start>-<end>` (inclusive) of a chunk that starts at `start`.
fn chunk_span(start: usize, chunk: &[u8]) -> String {
    format!("{start}-{}", start + chunk.len() - 1)
}

#[tokio::test]
async fn chunked_uploads() {
    let server = TestServer::start().await;
    server.create_repository("chunks").await;
    let registry = Registry::login(&server).await;
    let data = bytes_of(7, 1_000_000);
    let d = digest(&data);
    let (a, b, c) = (&data[..300_000], &data[300_000..700_000], &data[700_000..]);

    let location = registry.start_upload("chunks").await;
    let status = registry.get(&location).await.ok(204);
    assert_eq!(status.header("range"), Some("0-0"));
    assert_eq!(status.header("location"), Some(location.as_str()));

    let resp = registry.patch_chunk(&location, 0, a).await.ok(202);
    assert_eq!(resp.header("range"), Some("0-299999"));
    assert_eq!(resp.header("location"), Some(location.as_str()));
    assert!(resp.header("docker-upload-uuid").is_some());
    let resp = registry.patch_chunk(&location, 300_000, b).await.ok(202);
    assert_eq!(resp.header("range"), Some("0-699999"));
    assert_eq!(
        registry.get(&location).await.ok(204).header("range"),
        Some("0-699999")
    );

    // A chunk that does not start where the upload ends: a gap, an overlap, a replay.
    for start in [800_000, 500_000, 0] {
        let resp = registry
            .patch_chunk(&location, start, c)
            .await
            .err(416, "BLOB_UPLOAD_INVALID");
        assert_eq!(resp.header("range"), Some("0-699999"), "start {start}");
    }
    // Content-Length disagreeing with Content-Range, and a range that is not one.
    registry
        .send_chunk(Method::PATCH, &location, "700000-700009", c)
        .await
        .err(400, "SIZE_INVALID");
    for bad in ["bytes=1-2", "9-3", "x-y"] {
        registry
            .send_chunk(Method::PATCH, &location, bad, c)
            .await
            .err(416, "BLOB_UPLOAD_INVALID");
    }
    // None of that appended anything.
    assert_eq!(
        registry.get(&location).await.ok(204).header("range"),
        Some("0-699999")
    );

    // A closing PUT whose last chunk is out of order is a 416 like a PATCH's, and the session
    // stays open for the client to resume (the spec's recovery: GET the status, send again).
    let closing = format!("{location}?digest={d}");
    for start in [800_000, 500_000] {
        let resp = registry
            .send_chunk(Method::PUT, &closing, &chunk_span(start, c), c)
            .await
            .err(416, "BLOB_UPLOAD_INVALID");
        assert_eq!(resp.header("range"), Some("0-699999"), "start {start}");
    }
    registry
        .send_chunk(Method::PUT, &closing, "700000-700009", c)
        .await
        .err(400, "SIZE_INVALID");
    assert_eq!(
        registry.get(&location).await.ok(204).header("range"),
        Some("0-699999")
    );
    assert!(registry
        .get(&format!("/v2/chunks/blobs/{d}"))
        .await
        .status
        .is_client_error());

    // The last chunk may come with the closing PUT, with or without its Content-Range.
    let resp = registry
        .send_chunk(Method::PUT, &closing, &chunk_span(700_000, c), c)
        .await
        .ok(201);
    assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
    let resp = registry.get(&format!("/v2/chunks/blobs/{d}")).await.ok(200);
    assert_same(&resp.body, &data);
    let location = registry.start_upload("chunks").await;
    registry.patch_chunk(&location, 0, a).await.ok(202);
    registry.patch_chunk(&location, 300_000, b).await.ok(202);
    let resp = registry.finish_upload(&location, &d, c).await.ok(201);
    assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
    let resp = registry.get(&format!("/v2/chunks/blobs/{d}")).await.ok(200);
    assert_same(&resp.body, &data);

    // Chunks, then a PUT without body.
    let location = registry.start_upload("chunks").await;
    let data2 = bytes_of(8, 10);
    registry
        .patch_chunk(&location, 0, &data2[..4])
        .await
        .ok(202);
    registry
        .patch_chunk(&location, 4, &data2[4..])
        .await
        .ok(202);
    registry
        .finish_upload(&location, &digest(&data2), b"")
        .await
        .ok(201);
    assert_eq!(
        registry
            .get(&format!("/v2/chunks/blobs/{}", digest(&data2)))
            .await
            .ok(200)
            .body,
        data2
    );
}

#[tokio::test]
async fn upload_sessions_fail_cleanly() {
    let server = TestServer::start().await;
    server.create_repository("up").await;
    server.create_repository("other").await;
    let registry = Registry::login(&server).await;
    let data = bytes_of(9, 5000);
    let d = digest(&data);

    // Closing with the wrong digest: 400, the blob does not exist under either digest, and the
    // session is gone.
    let location = registry.start_upload("up").await;
    registry.patch_chunk(&location, 0, &data).await.ok(202);
    let wrong = digest(b"not these bytes");
    let resp = registry
        .finish_upload(&location, &wrong, b"")
        .await
        .err(400, "DIGEST_INVALID");
    assert_eq!(
        resp.json()["errors"][0]["detail"],
        json!({"expected": wrong, "actual": d})
    );
    assert!(!registry.blob_exists("up", &wrong).await);
    assert!(!registry.blob_exists("up", &d).await);
    registry
        .get(&location)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .patch_chunk(&location, 0, &data)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");

    // Closing without a digest, or with a malformed one, leaves the session open.
    let location = registry.start_upload("up").await;
    registry.patch_chunk(&location, 0, &data).await.ok(202);
    registry
        .send(registry.req(Method::PUT, &location))
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .finish_upload(&location, "sha256:1234", b"")
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .finish_upload(&location, &format!("sha512:{}", "ab".repeat(64)), b"")
        .await
        .err(400, "DIGEST_INVALID");
    assert_eq!(
        registry.get(&location).await.ok(204).header("range"),
        Some("0-4999")
    );

    // A session belongs to its repository.
    let uuid = location.rsplit('/').next().unwrap();
    registry
        .get(&format!("/v2/other/blobs/uploads/{uuid}"))
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .finish_upload(&format!("/v2/other/blobs/uploads/{uuid}"), &d, b"")
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");

    // Cancel: 204, then the session is unknown to every verb.
    registry.delete(&location).await.ok(204);
    registry
        .get(&location)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .delete(&location)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .patch_chunk(&location, 0, &data)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .finish_upload(&location, &d, &data)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    assert!(!registry.blob_exists("up", &d).await);
    assert_eq!(
        std::fs::read_dir(server.dir.path().join("uploads"))
            .unwrap()
            .count(),
        0
    );

    // Ids we never handed out (upload ids become file names: only our UUIDs are accepted).
    // (`..` itself only through a raw socket below: reqwest would resolve it client-side.)
    for id in [
        "not-a-uuid",
        "00000000-0000-0000-0000-000000000000",
        "%2e%2e%2fx",
        "..%2F..%2Fmetadata.sqlite",
    ] {
        let path = format!("/v2/up/blobs/uploads/{id}");
        registry.get(&path).await.err(404, "BLOB_UPLOAD_UNKNOWN");
        registry
            .patch_chunk(&path, 0, b"x")
            .await
            .err(404, "BLOB_UPLOAD_UNKNOWN");
        registry
            .finish_upload(&path, &digest(b"x"), b"x")
            .await
            .err(404, "BLOB_UPLOAD_UNKNOWN");
        registry.delete(&path).await.err(404, "BLOB_UPLOAD_UNKNOWN");
    }
    // Same through a raw socket, where nothing normalises the `..` away.
    let auth = registry.auth.clone().unwrap();
    for path in [
        "/v2/up/blobs/uploads/..",
        "/v2/up/blobs/uploads/%2e%2e",
        "/v2/up/blobs/uploads/..%2f..%2fx",
    ] {
        let (status, head, body) = raw_request(&server, "DELETE", path, &auth).await;
        assert_eq!(status, 404, "{path}");
        assert_eq!(body["errors"][0]["code"], "BLOB_UPLOAD_UNKNOWN", "{path}");
        assert!(head.contains("docker-distribution-api-version: registry/2.0"));
    }
    assert!(server.dir.path().join("metadata.sqlite").exists());

    // A session in a repository that does not exist.
    registry
        .get(&format!("/v2/nope/blobs/uploads/{uuid}"))
        .await
        .err(404, "NAME_UNKNOWN");
}

#[tokio::test]
async fn sessions_whose_bytes_are_gone() {
    let server = TestServer::start().await;
    server.create_repository("gone").await;
    let registry = Registry::login(&server).await;
    let data = bytes_of(10, 300_000);
    let d = digest(&data);

    // Two clients close the same session at once: one gets the blob, the other finds the
    // session over (404, not a 500 because its file was renamed away under it).
    for _ in 0..5 {
        let location = registry.start_upload("gone").await;
        registry.patch_chunk(&location, 0, &data).await.ok(202);
        let (a, b) = tokio::join!(
            registry.finish_upload(&location, &d, b""),
            registry.finish_upload(&location, &d, b"")
        );
        let mut statuses = [a.status.as_u16(), b.status.as_u16()];
        statuses.sort();
        assert_eq!(statuses, [201, 404]);
        let lost = if a.status == StatusCode::NOT_FOUND {
            a
        } else {
            b
        };
        lost.err(404, "BLOB_UPLOAD_UNKNOWN");
    }

    // A crash between moving an upload's bytes into place and closing its session leaves a
    // session without a file: it is over, not an internal error.
    let location = registry.start_upload("gone").await;
    registry.patch_chunk(&location, 0, &data).await.ok(202);
    let uuid = location.rsplit('/').next().unwrap();
    std::fs::remove_file(server.dir.path().join("uploads").join(uuid)).unwrap();
    registry
        .get(&location)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .patch_chunk(&location, 300_000, &data)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry
        .finish_upload(&location, &d, b"")
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
    registry.delete(&location).await.ok(204);
    registry
        .get(&location)
        .await
        .err(404, "BLOB_UPLOAD_UNKNOWN");
}

// ---------------------------------------------------------------------------------------------
// Reading blobs, mounts
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn reading_blobs() {
    let server = TestServer::start().await;
    server.create_repository("a-repo").await;
    server.create_repository("b-repo").await;
    let registry = Registry::login(&server).await;
    let data = bytes_of(11, 100);
    let d = registry.push_blob("a-repo", &data).await;
    let path = format!("/v2/a-repo/blobs/{d}");

    let resp = registry.get(&path).await.ok(200);
    assert_eq!(resp.body, data);
    assert_eq!(resp.header("content-length"), Some("100"));
    assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
    assert_eq!(
        resp.header("content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(resp.header("accept-ranges"), Some("bytes"));
    let resp = registry.head(&path).await.ok(200);
    assert!(resp.body.is_empty());
    assert_eq!(resp.header("content-length"), Some("100"));
    assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));

    // Ranges: 206 with Content-Range; suffix and open-ended ranges; past-the-end is clamped.
    for (range, start, end) in [
        ("bytes=10-19", 10, 19),
        ("bytes=90-", 90, 99),
        ("bytes=-5", 95, 99),
        ("bytes=50-500", 50, 99),
    ] {
        let resp = registry
            .send(registry.req(Method::GET, &path).header("range", range))
            .await
            .ok(206);
        assert_eq!(resp.body, data[start..=end], "{range}");
        assert_eq!(
            resp.header("content-range"),
            Some(format!("bytes {start}-{end}/100").as_str()),
            "{range}"
        );
        assert_eq!(
            resp.header("content-length"),
            Some((end - start + 1).to_string().as_str())
        );
    }
    for range in ["bytes=100-", "bytes=20-10", "bytes=-0", "bytes=x-y"] {
        let resp = registry
            .send(registry.req(Method::GET, &path).header("range", range))
            .await;
        let resp = resp.err(416, "BLOB_UPLOAD_INVALID");
        assert_eq!(resp.header("content-range"), Some("bytes */100"), "{range}");
    }
    // A Range this server does not serve (another unit, several ranges) is ignored (RFC 9110).
    for range in ["pages=1-2", "bytes=0-1,5-6"] {
        let resp = registry
            .send(registry.req(Method::GET, &path).header("range", range))
            .await
            .ok(200);
        assert_eq!(resp.body, data, "{range}");
        assert!(resp.header("content-range").is_none());
    }

    // Unknown here: never pushed, or pushed to another repository only.
    let unknown = digest(b"never pushed");
    registry
        .get(&format!("/v2/a-repo/blobs/{unknown}"))
        .await
        .err(404, "BLOB_UNKNOWN");
    registry
        .get(&format!("/v2/b-repo/blobs/{d}"))
        .await
        .err(404, "BLOB_UNKNOWN");
    let resp = registry.head(&format!("/v2/b-repo/blobs/{d}")).await;
    assert_eq!(resp.status, StatusCode::NOT_FOUND);
    registry
        .get(&format!("/v2/nope/blobs/{d}"))
        .await
        .err(404, "NAME_UNKNOWN");

    // Malformed digests.
    for bad in [
        "sha256:abc",
        "sha256:ZZ",
        &format!("sha512:{}", "a".repeat(128)),
        "nocolon",
    ] {
        registry
            .get(&format!("/v2/a-repo/blobs/{bad}"))
            .await
            .err(400, "DIGEST_INVALID");
    }
    registry
        .get(&format!(
            "/v2/a-repo/blobs/{}",
            d.to_uppercase().replace("SHA256", "sha256")
        ))
        .await
        .err(400, "DIGEST_INVALID");

    // ECR deletes blobs with the images that use them, never directly.
    registry.delete(&path).await.err(405, "UNSUPPORTED");
    assert_eq!(registry.get(&path).await.ok(200).body, data);
}

#[tokio::test]
async fn cross_repository_mounts() {
    let server = TestServer::start().await;
    for name in ["source", "target", "third"] {
        server.create_repository(name).await;
    }
    let registry = Registry::login(&server).await;
    let data = bytes_of(12, 4096);
    let d = registry.push_blob("source", &data).await;

    // A new registry has BLOB_MOUNTING disabled, as on ECR: 202 and a normal upload.
    let resp = registry
        .send(registry.req(
            Method::POST,
            &format!("/v2/target/blobs/uploads/?mount={d}&from=source"),
        ))
        .await
        .ok(202);
    assert!(resp.header("docker-upload-uuid").is_some());
    assert!(!registry.blob_exists("target", &d).await);
    server
        .ecr()
        .put_account_setting()
        .name("BLOB_MOUNTING")
        .value("ENABLED")
        .send()
        .await
        .unwrap();

    // Enabled, and the source has it: 201, linked, no session.
    let resp = registry
        .send(registry.req(
            Method::POST,
            &format!("/v2/target/blobs/uploads/?mount={d}&from=source"),
        ))
        .await
        .ok(201);
    assert_eq!(
        resp.header("location"),
        Some(format!("/v2/target/blobs/{d}").as_str())
    );
    assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
    assert!(resp.header("docker-upload-uuid").is_none());
    assert_eq!(
        registry
            .get(&format!("/v2/target/blobs/{d}"))
            .await
            .ok(200)
            .body,
        data
    );

    // The source lacks it, or does not exist: 202 with a fresh session instead, nothing linked.
    let other = digest(b"not in source");
    for from in ["source", "no-such-repo", "INVALID"] {
        let resp = registry
            .send(registry.req(
                Method::POST,
                &format!("/v2/third/blobs/uploads/?mount={other}&from={from}"),
            ))
            .await
            .ok(202);
        let location = resp.header("location").unwrap();
        assert!(
            location.starts_with("/v2/third/blobs/uploads/"),
            "{location}"
        );
        assert_eq!(resp.header("range"), Some("0-0"));
        registry.get(location).await.ok(204);
        assert!(!registry.blob_exists("third", &other).await);
    }
    // The session it opened works as any other.
    let resp = registry
        .send(registry.req(
            Method::POST,
            &format!("/v2/third/blobs/uploads/?mount={d}&from=nowhere"),
        ))
        .await
        .ok(202);
    let location = resp.header("location").unwrap().to_owned();
    registry.finish_upload(&location, &d, &data).await.ok(201);
    assert!(registry.blob_exists("third", &d).await);

    // Repositories encrypted differently never share blobs: 202.
    server
        .ecr()
        .create_repository()
        .repository_name("kms")
        .encryption_configuration(
            aws_sdk_ecr::types::EncryptionConfiguration::builder()
                .encryption_type(aws_sdk_ecr::types::EncryptionType::Kms)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    registry
        .send(registry.req(
            Method::POST,
            &format!("/v2/kms/blobs/uploads/?mount={d}&from=source"),
        ))
        .await
        .ok(202);
    assert!(!registry.blob_exists("kms", &d).await);

    registry
        .send(registry.req(
            Method::POST,
            "/v2/target/blobs/uploads/?mount=sha256:bad&from=source",
        ))
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .send(registry.req(
            Method::POST,
            &format!("/v2/nope/blobs/uploads/?mount={d}&from=source"),
        ))
        .await
        .err(404, "NAME_UNKNOWN");
}

// ---------------------------------------------------------------------------------------------
// Manifests
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn image_manifests_by_tag_and_digest() {
    let server = TestServer::start().await;
    server.create_repository("img").await;
    let registry = Registry::login(&server).await;

    for (media_type, tag, seed) in [(OCI_MANIFEST, "oci", 1), (DOCKER_MANIFEST, "docker", 2)] {
        let body = registry.image("img", media_type, seed).await;
        let d = digest(&body);
        let resp = registry
            .put_manifest("img", tag, media_type, &body)
            .await
            .ok(201);
        assert_eq!(
            resp.header("location"),
            Some(format!("/v2/img/manifests/{d}").as_str())
        );
        assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
        assert!(resp.header("oci-subject").is_none());
        // Tags are echoed only for pushes by digest.
        assert!(resp.header("oci-tag").is_none());

        for reference in [tag, d.as_str()] {
            let path = format!("/v2/img/manifests/{reference}");
            let resp = registry.get(&path).await.ok(200);
            assert_eq!(resp.body, body, "exact bytes by {reference}");
            assert_eq!(resp.header("content-type"), Some(media_type));
            assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
            assert_eq!(
                resp.header("content-length"),
                Some(body.len().to_string().as_str())
            );
            let resp = registry.head(&path).await.ok(200);
            assert!(resp.body.is_empty());
            assert_eq!(resp.header("content-type"), Some(media_type));
            assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
            assert_eq!(
                resp.header("content-length"),
                Some(body.len().to_string().as_str())
            );
        }
        // A client that accepts only the other family gets no manifest.
        let other = if media_type == OCI_MANIFEST {
            DOCKER_MANIFEST
        } else {
            OCI_MANIFEST
        };
        registry
            .send(
                registry
                    .req(Method::GET, &format!("/v2/img/manifests/{tag}"))
                    .header("accept", other),
            )
            .await
            .err(404, "MANIFEST_UNKNOWN");
    }
    assert_eq!(registry.tags("img").await, ["docker", "oci"]);

    // An identical re-push is fine on a mutable repository.
    let body = registry.image("img", OCI_MANIFEST, 1).await;
    registry
        .put_manifest("img", "oci", OCI_MANIFEST, &body)
        .await
        .ok(201);
    // A manifest without mediaType takes the Content-Type's.
    let mut doc: Value = serde_json::from_slice(&body).unwrap();
    doc.as_object_mut().unwrap().remove("mediaType");
    let bare = serde_json::to_vec(&doc).unwrap();
    registry
        .put_manifest("img", "bare", OCI_MANIFEST, &bare)
        .await
        .ok(201);
    assert_eq!(
        registry
            .head("/v2/img/manifests/bare")
            .await
            .ok(200)
            .header("content-type"),
        Some(OCI_MANIFEST)
    );

    // Delete by digest: the image and all its tags go; by tag: just the tag.
    let oci_digest = digest(&body);
    registry
        .put_manifest("img", "oci-2", OCI_MANIFEST, &body)
        .await
        .ok(201);
    registry.delete("/v2/img/manifests/oci-2").await.ok(202);
    assert_eq!(registry.tags("img").await, ["bare", "docker", "oci"]);
    registry
        .get(&format!("/v2/img/manifests/{oci_digest}"))
        .await
        .ok(200);
    registry
        .get("/v2/img/manifests/oci-2")
        .await
        .err(404, "MANIFEST_UNKNOWN");
    registry
        .delete("/v2/img/manifests/oci-2")
        .await
        .err(404, "MANIFEST_UNKNOWN");

    registry
        .put_manifest("img", "oci-3", OCI_MANIFEST, &body)
        .await
        .ok(201);
    let resp = registry
        .delete(&format!("/v2/img/manifests/{oci_digest}"))
        .await
        .ok(202);
    assert!(resp.body.is_empty());
    assert_eq!(registry.tags("img").await, ["bare", "docker"]);
    for reference in ["oci", "oci-3", oci_digest.as_str()] {
        registry
            .get(&format!("/v2/img/manifests/{reference}"))
            .await
            .err(404, "MANIFEST_UNKNOWN");
        let resp = registry
            .head(&format!("/v2/img/manifests/{reference}"))
            .await;
        assert_eq!(resp.status, StatusCode::NOT_FOUND);
    }
    registry
        .delete(&format!("/v2/img/manifests/{oci_digest}"))
        .await
        .err(404, "MANIFEST_UNKNOWN");
    // The layers stay with the repository and can be used again.
    registry
        .put_manifest("img", "oci", OCI_MANIFEST, &body)
        .await
        .ok(201);
}

#[tokio::test]
async fn pushing_by_digest_with_tags() {
    let server = TestServer::start().await;
    server.create_repository("bydigest").await;
    let registry = Registry::login(&server).await;
    let oci = registry.image("bydigest", OCI_MANIFEST, 3).await;
    let d = digest(&oci);

    // By digest without tags: untagged.
    let resp = registry
        .put_manifest("bydigest", &d, OCI_MANIFEST, &oci)
        .await
        .ok(201);
    assert_eq!(resp.header("docker-content-digest"), Some(d.as_str()));
    assert!(resp.headers_all("oci-tag").is_empty());
    assert!(registry.tags("bydigest").await.is_empty());

    // `?tag=` (OCI 1.1): each tag is set and echoed back.
    let resp = registry
        .send(
            registry
                .req(
                    Method::PUT,
                    &format!("/v2/bydigest/manifests/{d}?tag=a&tag=b"),
                )
                .header("content-type", OCI_MANIFEST)
                .body(oci.clone()),
        )
        .await
        .ok(201);
    assert_eq!(resp.headers_all("oci-tag"), ["a", "b"]);
    assert_eq!(registry.tags("bydigest").await, ["a", "b"]);
    let resp = registry
        .send(
            registry
                .req(
                    Method::PUT,
                    &format!("/v2/bydigest/manifests/{d}?tag=ok&tag=.bad"),
                )
                .header("content-type", OCI_MANIFEST)
                .body(oci.clone()),
        )
        .await;
    resp.err(400, "TAG_INVALID");
    assert_eq!(registry.tags("bydigest").await, ["a", "b"]);

    // By a digest the bytes do not have.
    let other = digest(b"other");
    let resp = registry
        .put_manifest("bydigest", &other, OCI_MANIFEST, &oci)
        .await
        .err(400, "DIGEST_INVALID");
    assert_eq!(
        resp.json()["errors"][0]["detail"],
        json!({"expected": other, "actual": d})
    );
    registry
        .get(&format!("/v2/bydigest/manifests/{other}"))
        .await
        .err(404, "MANIFEST_UNKNOWN");

    // A tag moves between media types: the GET follows it and answers the new type.
    let docker = registry.image("bydigest", DOCKER_MANIFEST, 4).await;
    registry
        .put_manifest("bydigest", "a", DOCKER_MANIFEST, &docker)
        .await
        .ok(201);
    let resp = registry.get("/v2/bydigest/manifests/a").await.ok(200);
    assert_eq!(resp.header("content-type"), Some(DOCKER_MANIFEST));
    assert_eq!(resp.body, docker);
    let resp = registry.get("/v2/bydigest/manifests/b").await.ok(200);
    assert_eq!(resp.header("content-type"), Some(OCI_MANIFEST));
    assert_eq!(resp.body, oci);
    let index = index_manifest(
        OCI_INDEX,
        vec![with_platform(
            manifest_descriptor(OCI_MANIFEST, &oci),
            "amd64",
        )],
    );
    registry
        .put_manifest("bydigest", "a", OCI_INDEX, &index)
        .await
        .ok(201);
    assert_eq!(
        registry
            .head("/v2/bydigest/manifests/a")
            .await
            .ok(200)
            .header("content-type"),
        Some(OCI_INDEX)
    );
}

#[tokio::test]
async fn indexes_and_manifest_lists() {
    let server = TestServer::start().await;
    server.create_repository("multi").await;
    let registry = Registry::login(&server).await;
    let amd = registry.image("multi", OCI_MANIFEST, 5).await;
    let arm = registry.image("multi", OCI_MANIFEST, 6).await;
    let d_amd = digest(&amd);

    // Children must be in the repository first.
    let index = index_manifest(
        OCI_INDEX,
        vec![
            with_platform(manifest_descriptor(OCI_MANIFEST, &amd), "amd64"),
            with_platform(manifest_descriptor(OCI_MANIFEST, &arm), "arm64"),
        ],
    );
    let resp = registry
        .put_manifest("multi", "latest", OCI_INDEX, &index)
        .await
        .err(400, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(
        resp.json()["errors"][0]["detail"],
        json!([d_amd, digest(&arm)])
    );
    registry
        .put_manifest("multi", &d_amd, OCI_MANIFEST, &amd)
        .await
        .ok(201);
    let resp = registry
        .put_manifest("multi", "latest", OCI_INDEX, &index)
        .await
        .err(400, "MANIFEST_BLOB_UNKNOWN");
    assert_eq!(resp.json()["errors"][0]["detail"], json!([digest(&arm)]));
    assert!(registry.tags("multi").await.is_empty());
    registry
        .put_manifest("multi", &digest(&arm), OCI_MANIFEST, &arm)
        .await
        .ok(201);
    let resp = registry
        .put_manifest("multi", "latest", OCI_INDEX, &index)
        .await
        .ok(201);
    let d_index = digest(&index);
    assert_eq!(resp.header("docker-content-digest"), Some(d_index.as_str()));
    let resp = registry.get("/v2/multi/manifests/latest").await.ok(200);
    assert_eq!(resp.body, index);
    assert_eq!(resp.header("content-type"), Some(OCI_INDEX));

    // A Docker manifest list over Docker manifests.
    let docker = registry.image("multi", DOCKER_MANIFEST, 7).await;
    let list = index_manifest(
        DOCKER_LIST,
        vec![with_platform(
            manifest_descriptor(DOCKER_MANIFEST, &docker),
            "amd64",
        )],
    );
    registry
        .put_manifest("multi", "docker-list", DOCKER_LIST, &list)
        .await
        .err(400, "MANIFEST_BLOB_UNKNOWN");
    registry
        .put_manifest("multi", "docker-image", DOCKER_MANIFEST, &docker)
        .await
        .ok(201);
    registry
        .put_manifest("multi", "docker-list", DOCKER_LIST, &list)
        .await
        .ok(201);
    let resp = registry
        .get(&format!("/v2/multi/manifests/{}", digest(&list)))
        .await
        .ok(200);
    assert_eq!(resp.body, list);
    assert_eq!(resp.header("content-type"), Some(DOCKER_LIST));

    // A manifest an index lists cannot be deleted.
    let resp = registry
        .delete(&format!("/v2/multi/manifests/{d_amd}"))
        .await
        .err(409, "DENIED");
    assert!(
        resp.error_message().contains(&d_amd),
        "{}",
        resp.error_message()
    );
    registry
        .get(&format!("/v2/multi/manifests/{d_amd}"))
        .await
        .ok(200);
    let resp = registry
        .delete(&format!("/v2/multi/manifests/{}", digest(&docker)))
        .await;
    resp.err(409, "DENIED");
    assert_eq!(
        registry
            .get("/v2/multi/manifests/docker-image")
            .await
            .ok(200)
            .body,
        docker
    );
    // Once the index is gone, its children can go.
    registry
        .delete(&format!("/v2/multi/manifests/{d_index}"))
        .await
        .ok(202);
    registry
        .delete(&format!("/v2/multi/manifests/{d_amd}"))
        .await
        .ok(202);
    registry
        .get(&format!("/v2/multi/manifests/{d_amd}"))
        .await
        .err(404, "MANIFEST_UNKNOWN");
}

#[tokio::test]
async fn bad_manifests_change_nothing() {
    let server = TestServer::start().await;
    server.create_repository("strict").await;
    let registry = Registry::login(&server).await;
    let good = registry.image("strict", OCI_MANIFEST, 8).await;
    registry
        .put_manifest("strict", "keep", OCI_MANIFEST, &good)
        .await
        .ok(201);
    let before = registry.get("/v2/strict/manifests/keep").await.ok(200).body;

    // Config or layers never uploaded to this repository.
    let config = b"{\"missing\":true}".to_vec();
    let layer = bytes_of(99, 10);
    let present = bytes_of(98, 10);
    registry.push_blob("strict", &present).await;
    let missing = image_manifest(
        OCI_MANIFEST,
        descriptor(OCI_CONFIG, &config),
        vec![
            descriptor(OCI_LAYER, &present),
            descriptor(OCI_LAYER, &layer),
        ],
    );
    let resp = registry
        .put_manifest("strict", "keep", OCI_MANIFEST, &missing)
        .await
        .err(400, "MANIFEST_BLOB_UNKNOWN");
    let mut expected = vec![digest(&config), digest(&layer)];
    expected.sort();
    assert_eq!(resp.json()["errors"][0]["detail"], json!(expected));
    // Blobs of another repository do not count.
    server.create_repository("elsewhere").await;
    registry.push_blob("elsewhere", &config).await;
    registry.push_blob("elsewhere", &layer).await;
    registry
        .put_manifest("strict", "keep", OCI_MANIFEST, &missing)
        .await
        .err(400, "MANIFEST_BLOB_UNKNOWN");
    // A Docker manifest missing its layers says the same.
    let docker_missing = image_manifest(
        DOCKER_MANIFEST,
        descriptor(DOCKER_CONFIG, &config),
        vec![descriptor(DOCKER_LAYER, &layer)],
    );
    registry
        .put_manifest("strict", "keep", DOCKER_MANIFEST, &docker_missing)
        .await
        .err(400, "MANIFEST_BLOB_UNKNOWN");

    // Not JSON at all: 405 UNSUPPORTED with ECR's own message (containers/image keys on it).
    for junk in [&b"not json"[..], b"[1,2]", b"", b"{\"schemaVersion\": 2"] {
        let resp = registry
            .put_manifest("strict", "keep", OCI_MANIFEST, junk)
            .await
            .err(405, "UNSUPPORTED");
        assert_eq!(
            resp.error_message(),
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
        );
    }
    // A media type ECR does not store (the withdrawn OCI artifact manifest).
    let artifact = br#"{"mediaType":"application/vnd.oci.artifact.manifest.v1+json","blobs":[]}"#;
    registry
        .put_manifest(
            "strict",
            "keep",
            "application/vnd.oci.artifact.manifest.v1+json",
            artifact,
        )
        .await
        .err(405, "UNSUPPORTED");

    // mediaType and Content-Type disagree.
    let resp = registry
        .put_manifest("strict", "keep", DOCKER_MANIFEST, &good)
        .await
        .err(400, "MANIFEST_INVALID");
    assert!(
        resp.error_message().contains("does not match Content-Type"),
        "{}",
        resp.error_message()
    );
    // Parseable but not a manifest of its type.
    for invalid in [
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []}),
        json!({"schemaVersion": 1, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, &present), "layers": []}),
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": {"mediaType": OCI_CONFIG, "digest": "sha256:zz", "size": 1}, "layers": []}),
        json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, &present), "layers": [], "annotations": {"a": 1}}),
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": {}}),
    ] {
        let body = serde_json::to_vec(&invalid).unwrap();
        let content_type = invalid["mediaType"].as_str().unwrap();
        registry
            .put_manifest("strict", "keep", content_type, &body)
            .await
            .err(400, "MANIFEST_INVALID");
    }

    // Larger than 4 MiB: 413. Exactly 4 MiB is still a manifest (JSON allows trailing blanks).
    let huge = vec![b' '; 4 * MIB + 1];
    registry
        .put_manifest("strict", "keep", OCI_MANIFEST, &huge)
        .await
        .err(413, "SIZE_INVALID");
    let mut padded = good.clone();
    padded.resize(4 * MIB, b' ');
    registry
        .put_manifest("strict", "padded", OCI_MANIFEST, &padded)
        .await
        .ok(201);
    assert_eq!(
        registry
            .get("/v2/strict/manifests/padded")
            .await
            .ok(200)
            .body
            .len(),
        4 * MIB
    );

    // Bad references in the URL.
    for tag in [".hidden", "-dash", &"t".repeat(129), "a+b"] {
        registry
            .put_manifest("strict", tag, OCI_MANIFEST, &good)
            .await
            .err(400, "TAG_INVALID");
        registry
            .get(&format!("/v2/strict/manifests/{tag}"))
            .await
            .err(400, "TAG_INVALID");
    }
    registry
        .get("/v2/strict/manifests/sha256:abc")
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .put_manifest("strict", "sha256:abc", OCI_MANIFEST, &good)
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .delete("/v2/strict/manifests/sha256:abc")
        .await
        .err(400, "DIGEST_INVALID");
    let resp = registry
        .get("/v2/strict/manifests/unknown")
        .await
        .err(404, "MANIFEST_UNKNOWN");
    assert_eq!(resp.error_message(), "Requested image not found");
    registry
        .get(&format!("/v2/strict/manifests/{}", digest(b"x")))
        .await
        .err(404, "MANIFEST_UNKNOWN");
    let resp = registry
        .put_manifest("nope", "keep", OCI_MANIFEST, &good)
        .await
        .err(404, "NAME_UNKNOWN");
    assert_eq!(
        resp.error_message(),
        "The repository with name 'nope' does not exist in the registry with id '000000000000'"
    );
    registry
        .get("/v2/nope/manifests/keep")
        .await
        .err(404, "NAME_UNKNOWN");
    registry
        .send(registry.req(Method::POST, "/v2/strict/manifests/keep"))
        .await
        .err(405, "UNSUPPORTED");

    // After all that: the same tags, the same bytes.
    assert_eq!(registry.tags("strict").await, ["keep", "padded"]);
    assert_eq!(
        registry.get("/v2/strict/manifests/keep").await.ok(200).body,
        before
    );
}

#[tokio::test]
async fn immutable_tags_are_pushed_once() {
    let server = TestServer::start().await;
    server
        .ecr()
        .create_repository()
        .repository_name("locked")
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    let registry = Registry::login(&server).await;
    let first = registry.image("locked", OCI_MANIFEST, 20).await;
    let second = registry.image("locked", OCI_MANIFEST, 21).await;
    registry
        .put_manifest("locked", "v1", OCI_MANIFEST, &first)
        .await
        .ok(201);

    // ECR refuses even an identical re-push over the registry API.
    let resp = registry
        .put_manifest("locked", "v1", OCI_MANIFEST, &first)
        .await
        .err(400, "TAG_INVALID");
    assert_eq!(
        resp.error_message(),
        "The image tag 'v1' already exists in the 'locked' repository and cannot be overwritten because the tag is immutable."
    );
    registry
        .put_manifest("locked", "v1", OCI_MANIFEST, &second)
        .await
        .err(400, "TAG_INVALID");
    let resp = registry
        .send(
            registry
                .req(
                    Method::PUT,
                    &format!("/v2/locked/manifests/{}?tag=v1", digest(&second)),
                )
                .header("content-type", OCI_MANIFEST)
                .body(second.clone()),
        )
        .await;
    resp.err(400, "TAG_INVALID");
    assert_eq!(
        registry.get("/v2/locked/manifests/v1").await.ok(200).body,
        first
    );
    registry
        .get(&format!("/v2/locked/manifests/{}", digest(&second)))
        .await
        .err(404, "MANIFEST_UNKNOWN");

    // New tags, and untagged pushes, are fine.
    registry
        .put_manifest("locked", "v2", OCI_MANIFEST, &first)
        .await
        .ok(201);
    registry
        .put_manifest("locked", &digest(&second), OCI_MANIFEST, &second)
        .await
        .ok(201);
    assert_eq!(registry.tags("locked").await, ["v1", "v2"]);
}

// ---------------------------------------------------------------------------------------------
// Referrers
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn referrers() {
    let server = TestServer::start().await;
    server.create_repository("refs").await;
    let registry = Registry::login(&server).await;
    let subject = registry.image("refs", OCI_MANIFEST, 30).await;
    registry
        .put_manifest("refs", "app", OCI_MANIFEST, &subject)
        .await
        .ok(201);
    let subject_digest = digest(&subject);
    let subject_descriptor = manifest_descriptor(OCI_MANIFEST, &subject);

    // An SBOM: artifactType of its own, empty config, annotations.
    let empty = registry.push_blob("refs", b"{}").await;
    assert_eq!(empty, digest(b"{}"));
    let sbom_bytes = b"{\"spdxVersion\":\"SPDX-2.3\"}".to_vec();
    registry.push_blob("refs", &sbom_bytes).await;
    let sbom = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
        "config": descriptor(OCI_EMPTY, b"{}"),
        "layers": [descriptor("application/spdx+json", &sbom_bytes)],
        "subject": subject_descriptor,
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}
    }))
    .unwrap();
    let resp = registry
        .put_manifest("refs", &digest(&sbom), OCI_MANIFEST, &sbom)
        .await
        .ok(201);
    assert_eq!(resp.header("oci-subject"), Some(subject_digest.as_str()));

    // A signature without artifactType: the config media type stands in.
    let sig_config = b"{\"sig\":1}".to_vec();
    registry.push_blob("refs", &sig_config).await;
    let signature = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": descriptor("application/vnd.example.signature.config+json", &sig_config),
        "layers": [],
        "subject": subject_descriptor
    }))
    .unwrap();
    let resp = registry
        .put_manifest("refs", "sig", OCI_MANIFEST, &signature)
        .await
        .ok(201);
    assert_eq!(resp.header("oci-subject"), Some(subject_digest.as_str()));

    // An index with a subject and no artifactType: no artifactType at all.
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [], "subject": subject_descriptor
    }))
    .unwrap();
    registry
        .put_manifest("refs", &digest(&index), OCI_INDEX, &index)
        .await
        .ok(201);

    let resp = registry
        .get(&format!("/v2/refs/referrers/{subject_digest}"))
        .await
        .ok(200);
    assert_eq!(resp.header("content-type"), Some(OCI_INDEX));
    assert!(resp.header("oci-filters-applied").is_none());
    let listed = resp.json();
    assert_eq!(listed["schemaVersion"], 2);
    assert_eq!(listed["mediaType"], OCI_INDEX);
    let mut manifests = listed["manifests"].as_array().unwrap().clone();
    manifests.sort_by_key(|m| m["digest"].as_str().unwrap().to_owned());
    let mut expected = vec![
        json!({"mediaType": OCI_MANIFEST, "digest": digest(&sbom), "size": sbom.len(),
               "artifactType": "application/spdx+json",
               "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}}),
        json!({"mediaType": OCI_MANIFEST, "digest": digest(&signature), "size": signature.len(),
               "artifactType": "application/vnd.example.signature.config+json"}),
        json!({"mediaType": OCI_INDEX, "digest": digest(&index), "size": index.len()}),
    ];
    expected.sort_by_key(|m| m["digest"].as_str().unwrap().to_owned());
    assert_eq!(manifests, expected);

    // Filtered by artifactType, and saying so. (A query is form-encoded: `+` must be `%2B`, a
    // bare `+` is a space — as in Go's `url.Query()`, which distribution uses.)
    let resp = registry
        .get(&format!(
            "/v2/refs/referrers/{subject_digest}?artifactType=application/spdx%2Bjson"
        ))
        .await;
    let resp = resp.ok(200);
    assert_eq!(resp.header("oci-filters-applied"), Some("artifactType"));
    let filtered = resp.json();
    assert_eq!(filtered["manifests"].as_array().unwrap().len(), 1);
    assert_eq!(filtered["manifests"][0]["digest"], digest(&sbom));
    let resp = registry
        .get(&format!(
            "/v2/refs/referrers/{subject_digest}?artifactType=application/none"
        ))
        .await;
    assert_eq!(resp.ok(200).json()["manifests"], json!([]));

    // A subject need not exist; its referrers are listed all the same.
    let ghost = digest(b"a subject never pushed");
    let orphan = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/vnd.example",
        "config": descriptor(OCI_EMPTY, b"{}"), "layers": [],
        "subject": {"mediaType": OCI_MANIFEST, "digest": ghost, "size": 123}
    }))
    .unwrap();
    let resp = registry
        .put_manifest("refs", &digest(&orphan), OCI_MANIFEST, &orphan)
        .await
        .ok(201);
    assert_eq!(resp.header("oci-subject"), Some(ghost.as_str()));
    let resp = registry
        .get(&format!("/v2/refs/referrers/{ghost}"))
        .await
        .ok(200);
    assert_eq!(resp.json()["manifests"][0]["digest"], digest(&orphan));

    // Nothing refers to it: 200 with an empty list, never 404.
    let resp = registry
        .get(&format!("/v2/refs/referrers/{}", digest(b"nobody")))
        .await
        .ok(200);
    assert_eq!(
        resp.json(),
        json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
    );
    // Referrers are per repository.
    server.create_repository("refs-other").await;
    let resp = registry
        .get(&format!("/v2/refs-other/referrers/{subject_digest}"))
        .await
        .ok(200);
    assert_eq!(resp.json()["manifests"], json!([]));
    registry
        .get("/v2/refs/referrers/sha256:abc")
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .get("/v2/refs/referrers/latest")
        .await
        .err(400, "DIGEST_INVALID");
    registry
        .get(&format!("/v2/nope/referrers/{subject_digest}"))
        .await
        .err(404, "NAME_UNKNOWN");

    // Deleting a referrer takes it off the list.
    registry
        .delete(&format!("/v2/refs/manifests/{}", digest(&sbom)))
        .await
        .ok(202);
    registry
        .delete(&format!("/v2/refs/manifests/{}", digest(&signature)))
        .await
        .ok(202);
    let resp = registry
        .get(&format!("/v2/refs/referrers/{subject_digest}"))
        .await
        .ok(200);
    let left: Vec<String> = resp.json()["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["digest"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(left, [digest(&index)]);
}

// ---------------------------------------------------------------------------------------------
// Listings
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn tag_list_pages() {
    let server = TestServer::start().await;
    server.create_repository("team/tags").await;
    let registry = Registry::login(&server).await;
    let body = registry.image("team/tags", OCI_MANIFEST, 40).await;
    for tag in ["e", "b", "d", "a", "c", "B"] {
        registry
            .put_manifest("team/tags", tag, OCI_MANIFEST, &body)
            .await
            .ok(201);
    }
    let resp = registry.get("/v2/team/tags/tags/list").await.ok(200);
    assert_eq!(resp.header("content-type"), Some("application/json"));
    assert_eq!(
        resp.json(),
        json!({"name": "team/tags", "tags": ["B", "a", "b", "c", "d", "e"]})
    );
    assert!(resp.header("link").is_none());

    // Walk the pages the Link header points to.
    let mut next = Some("/v2/team/tags/tags/list?n=2".to_owned());
    let mut pages = Vec::new();
    while let Some(path) = next {
        let resp = registry.get(&path).await.ok(200);
        pages.push(resp.json()["tags"].clone());
        next = resp.header("link").map(|link| {
            let target = link
                .strip_prefix('<')
                .and_then(|l| l.split_once(">; rel=\"next\""))
                .expect("a next link");
            target.0.to_owned()
        });
    }
    assert_eq!(
        pages,
        [json!(["B", "a"]), json!(["b", "c"]), json!(["d", "e"])]
    );
    let resp = registry
        .get("/v2/team/tags/tags/list?n=2&last=a")
        .await
        .ok(200);
    assert_eq!(
        resp.header("link"),
        Some("</v2/team/tags/tags/list?n=2&last=c>; rel=\"next\"")
    );
    let resp = registry.get("/v2/team/tags/tags/list?last=c").await.ok(200);
    assert_eq!(resp.json()["tags"], json!(["d", "e"]));
    let resp = registry.get("/v2/team/tags/tags/list?n=1000").await.ok(200);
    assert_eq!(resp.json()["tags"].as_array().unwrap().len(), 6);

    let resp = registry
        .get("/v2/team/tags/tags/list?n=1001")
        .await
        .err(400, "PAGINATION_NUMBER_INVALID");
    assert!(
        resp.error_message().contains("less than or equal to 1000"),
        "{}",
        resp.error_message()
    );
    registry
        .get("/v2/team/tags/tags/list?n=-1")
        .await
        .err(400, "PAGINATION_NUMBER_INVALID");
    registry
        .get("/v2/nope/tags/list")
        .await
        .err(404, "NAME_UNKNOWN");
    // An empty repository has an empty list.
    server.create_repository("empty").await;
    assert_eq!(
        registry.get("/v2/empty/tags/list").await.ok(200).json(),
        json!({"name": "empty", "tags": []})
    );
}

#[tokio::test]
async fn catalog_pages() {
    let server = TestServer::start().await;
    for i in (0..5).rev() {
        server.create_repository(&format!("repo-{i}")).await;
    }
    let registry = Registry::login(&server).await;
    assert_eq!(
        registry.catalog().await,
        ["repo-0", "repo-1", "repo-2", "repo-3", "repo-4"]
    );

    let resp = registry.get("/v2/_catalog?n=2").await.ok(200);
    assert_eq!(resp.json()["repositories"], json!(["repo-0", "repo-1"]));
    assert_eq!(
        resp.header("link"),
        Some("</v2/_catalog?n=2&last=repo-1>; rel=\"next\"")
    );
    let resp = registry.get("/v2/_catalog?n=2&last=repo-1").await.ok(200);
    assert_eq!(resp.json()["repositories"], json!(["repo-2", "repo-3"]));
    assert_eq!(
        resp.header("link"),
        Some("</v2/_catalog?n=2&last=repo-3>; rel=\"next\"")
    );
    let resp = registry.get("/v2/_catalog?n=2&last=repo-3").await.ok(200);
    assert_eq!(resp.json()["repositories"], json!(["repo-4"]));
    assert!(resp.header("link").is_none());
    // Exactly a page full: no next page.
    assert!(registry
        .get("/v2/_catalog?n=5")
        .await
        .ok(200)
        .header("link")
        .is_none());

    let resp = registry
        .get("/v2/_catalog?n=1001")
        .await
        .err(400, "PAGINATION_NUMBER_INVALID");
    assert!(
        resp.error_message().contains("less than or equal to 1000"),
        "{}",
        resp.error_message()
    );
    registry
        .get("/v2/_catalog?n=many")
        .await
        .err(400, "PAGINATION_NUMBER_INVALID");
}

#[tokio::test]
async fn catalog_defaults_to_pages_of_100() {
    let server = TestServer::start().await;
    for i in 0..101 {
        server.create_repository(&format!("r{i:03}")).await;
    }
    let registry = Registry::login(&server).await;
    let resp = registry.get("/v2/_catalog").await.ok(200);
    assert_eq!(resp.json()["repositories"].as_array().unwrap().len(), 100);
    assert_eq!(
        resp.header("link"),
        Some("</v2/_catalog?n=100&last=r099>; rel=\"next\"")
    );
}

// ---------------------------------------------------------------------------------------------
// Path tricks
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn path_tricks_are_invalid_names() {
    // The data dir is a child of a directory we watch: nothing may appear next to it.
    let outer = tempfile::tempdir().unwrap();
    let data = outer.path().join("data");
    let config = ecrd::config::Config::for_tests(data.clone());
    let server = TestServer::start_in(tempfile::tempdir().unwrap(), config).await;
    server.create_repository("ab").await;
    let registry = Registry::login(&server).await;
    let auth = registry.auth.clone().unwrap();
    let d = registry.push_blob("ab", b"inside").await;
    let files_before = list_files(&data);

    let paths = [
        "/v2/../etc/manifests/latest".to_owned(),
        "/v2/%2e%2e/manifests/latest".to_owned(),
        "/v2/%2E%2E/%2e%2e/tags/list".to_owned(),
        "/v2/ab/../../manifests/latest".to_owned(),
        "/v2/ab/%2e%2e/%2e%2e/blobs/uploads/".to_owned(),
        "/v2/..%2f..%2fescape/blobs/uploads/".to_owned(),
        "/v2/a//b/manifests/latest".to_owned(),
        "/v2//ab/tags/list".to_owned(),
        "/v2/AB/tags/list".to_owned(),
        "/v2/Ab/manifests/latest".to_owned(),
        "/v2/ab%00/tags/list".to_owned(),
        "/v2/a%ff/tags/list".to_owned(),
        "/v2/./ab/tags/list".to_owned(),
        format!("/v2/../ab/blobs/{d}"),
        format!("/v2/%2e%2e/referrers/{d}"),
    ];
    for path in &paths {
        for method in ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"] {
            let (status, head, body) = raw_request(&server, method, path, &auth).await;
            assert_eq!(status, 400, "{method} {path}");
            assert!(
                head.contains("docker-distribution-api-version: registry/2.0"),
                "{method} {path}"
            );
            if method != "HEAD" {
                assert_eq!(body["errors"][0]["code"], "NAME_INVALID", "{method} {path}");
            }
        }
    }
    // reqwest normalises dot segments itself; what it sends must be just as harmless.
    registry
        .get("/v2/UPPER/tags/list")
        .await
        .err(400, "NAME_INVALID");
    registry
        .get("/v2/a//b/tags/list")
        .await
        .err(400, "NAME_INVALID");

    assert_eq!(list_files(&data), files_before);
    let outside: Vec<_> = std::fs::read_dir(outer.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(outside, ["data"]);
    assert_eq!(registry.catalog().await, ["ab"]);
}

/// Every file under `dir`, relative, except SQLite's own journal files (which change with any
/// read) — sorted.
fn list_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .into_owned();
                if !rel.starts_with("metadata.sqlite") {
                    out.push(rel);
                }
            }
        }
    }
    out.sort();
    out
}
