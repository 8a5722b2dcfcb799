//! An ecrd started in-process on an ephemeral port, and clients pointed at it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use aws_sdk_ecr::config::{BehaviorVersion, Credentials, Region};
use base64::Engine;
use ecrd::clock::Clock;
use ecrd::config::Config;
use ecrd::server::{AppState, Server};

pub struct TestServer {
    pub addr: SocketAddr,
    pub url: String,
    pub state: Arc<AppState>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut config = Config::for_tests(dir.path().to_owned());
        adjust(&mut config);
        Self::start_in(dir, config).await
    }

    pub async fn start_in(dir: tempfile::TempDir, config: Config) -> TestServer {
        let server = Server::bind(config, Clock::new())
            .await
            .expect("ecrd starts");
        let addr = server.local_addr;
        let state = server.state.clone();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        TestServer {
            addr,
            url: format!("http://{addr}"),
            state,
            stop: Some(stop),
            task: Some(task),
            dir,
        }
    }

    /// Stops the server gracefully and hands back its data dir.
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server ran");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.dir, dir)
    }

    /// An ECR client with LocalStack-style dummy credentials (account 000000000000).
    pub fn ecr(&self) -> aws_sdk_ecr::Client {
        self.ecr_as("test", "us-east-1")
    }

    /// An ECR client whose access key id (12 digits = an account) and region are given.
    pub fn ecr_as(&self, access_key_id: &str, region: &str) -> aws_sdk_ecr::Client {
        let config = aws_sdk_ecr::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(&self.url)
            .region(Region::new(region.to_owned()))
            .credentials_provider(Credentials::new(
                access_key_id,
                "secret",
                None,
                None,
                "tests",
            ))
            .build();
        aws_sdk_ecr::Client::from_conf(config)
    }

    /// The registry password GetAuthorizationToken gives the default account.
    pub async fn password(&self) -> String {
        password_from(&self.ecr()).await
    }

    /// `Authorization: Basic ...` for the default account.
    pub async fn basic(&self) -> String {
        let token = self
            .ecr()
            .get_authorization_token()
            .send()
            .await
            .expect("token");
        format!(
            "Basic {}",
            token.authorization_data()[0]
                .authorization_token()
                .expect("token")
        )
    }

    pub fn http(&self) -> reqwest::Client {
        reqwest::Client::builder().build().expect("http client")
    }

    pub async fn create_repository(&self, name: &str) {
        self.ecr()
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .expect("repository created");
    }
}

pub async fn password_from(client: &aws_sdk_ecr::Client) -> String {
    let token = client
        .get_authorization_token()
        .send()
        .await
        .expect("token");
    let encoded = token.authorization_data()[0]
        .authorization_token()
        .expect("token")
        .to_owned();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .expect("base64");
    let decoded = String::from_utf8(decoded).expect("utf-8");
    let (user, password) = decoded.split_once(':').expect("AWS:password");
    assert_eq!(user, "AWS");
    password.to_owned()
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Pushes a blob to `repo` over the registry API (monolithic POST); returns its digest.
pub async fn push_blob(server: &TestServer, basic: &str, repo: &str, bytes: &[u8]) -> String {
    let digest = ecrd::core::names::Digest::of(bytes).to_string();
    let response = server
        .http()
        .post(format!(
            "{}/v2/{repo}/blobs/uploads/?digest={digest}",
            server.url
        ))
        .header("authorization", basic)
        .body(bytes.to_vec())
        .send()
        .await
        .expect("blob push");
    assert_eq!(response.status(), 201, "blob push to {repo}");
    digest
}

/// An OCI image manifest over a pushed config and layers (pushing them first).
pub async fn image_manifest(
    server: &TestServer,
    basic: &str,
    repo: &str,
    config: &[u8],
    layers: &[&[u8]],
) -> serde_json::Value {
    let config_digest = push_blob(server, basic, repo, config).await;
    let mut descriptors = Vec::new();
    for layer in layers {
        let digest = push_blob(server, basic, repo, layer).await;
        descriptors.push(serde_json::json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest, "size": layer.len()
        }));
    }
    serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": descriptors
    })
}

/// PUTs a manifest over the registry API; returns the response.
pub async fn put_manifest(
    server: &TestServer,
    basic: &str,
    repo: &str,
    reference: &str,
    media_type: &str,
    body: &[u8],
) -> reqwest::Response {
    server
        .http()
        .put(format!("{}/v2/{repo}/manifests/{reference}", server.url))
        .header("authorization", basic)
        .header("content-type", media_type)
        .body(body.to_vec())
        .send()
        .await
        .expect("manifest push")
}

/// Pushes a small image (config + one layer made from `seed`) under `tag`; returns its digest.
pub async fn push_image(
    server: &TestServer,
    basic: &str,
    repo: &str,
    tag: &str,
    seed: &str,
) -> String {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = format!("layer of {seed}");
    let manifest =
        image_manifest(server, basic, repo, config.as_bytes(), &[layer.as_bytes()]).await;
    let body = manifest.to_string();
    let response = put_manifest(
        server,
        basic,
        repo,
        tag,
        "application/vnd.oci.image.manifest.v1+json",
        body.as_bytes(),
    )
    .await;
    assert_eq!(response.status(), 201, "manifest push");
    ecrd::core::names::Digest::of(body.as_bytes()).to_string()
}

/// Pushes an OCI 1.1 artifact referring to `subject`; returns its digest.
pub async fn push_referrer(
    server: &TestServer,
    basic: &str,
    repo: &str,
    subject: &str,
    kind: &str,
) -> String {
    let empty = push_blob(server, basic, repo, b"{}").await;
    let payload = format!("{kind} of {subject}");
    let layer = push_blob(server, basic, repo, payload.as_bytes()).await;
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "artifactType": kind,
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty, "size": 2},
        "layers": [{"mediaType": kind, "digest": layer, "size": payload.len()}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": 1}
    })
    .to_string();
    let digest = ecrd::core::names::Digest::of(manifest.as_bytes()).to_string();
    assert_eq!(
        put_manifest(
            server,
            basic,
            repo,
            &digest,
            "application/vnd.oci.image.manifest.v1+json",
            manifest.as_bytes()
        )
        .await
        .status(),
        201
    );
    digest
}

/// Calls an ECR operation with a raw JSON body as the default caller: `(status, body)`. For the
/// inputs an SDK would refuse to send.
pub async fn call(
    server: &TestServer,
    op: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = server
        .http()
        .post(&server.url)
        .header(
            "x-amz-target",
            format!("AmazonEC2ContainerRegistry_V20150921.{op}"),
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_string())
        .send()
        .await
        .expect("ECR API call");
    let status = response.status().as_u16();
    (status, response.json().await.expect("JSON answer"))
}

/// A time ecrd's clock is set to (2027-01-15T08:00:00Z).
pub const T0: i64 = 1_800_000_000_000;

/// An SDK time in milliseconds, checked to be `expected` give or take a few seconds: ecrd's clock
/// keeps running after a test sets it.
pub fn near(t: Option<&aws_sdk_ecr::primitives::DateTime>, expected: i64) -> i64 {
    let millis = t.expect("a time").to_millis().expect("millis");
    assert!(
        (millis - expected).abs() < 5_000,
        "{millis} is not near {expected}"
    );
    millis
}

/// `POST /_ecrd/lifecycle/run`: applies every lifecycle policy now; returns the report.
pub async fn run_lifecycle(server: &TestServer) -> serde_json::Value {
    let response = server
        .http()
        .post(format!("{}/_ecrd/lifecycle/run", server.url))
        .send()
        .await
        .expect("lifecycle run");
    assert_eq!(response.status(), 200);
    response.json().await.expect("lifecycle report")
}

/// The registry API's Basic credentials for the namespace `client` calls ECR in.
pub async fn basic_from(client: &aws_sdk_ecr::Client) -> String {
    let password = password_from(client).await;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("AWS:{password}"))
    )
}
