//! The ECR layer API (BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart,
//! CompleteLayerUpload, GetDownloadUrlForLayer) through aws-sdk-ecr, cross-checked over OCI, and
//! its download URLs over raw HTTP.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::operation::upload_layer_part::UploadLayerPartError;
use aws_sdk_ecr::primitives::Blob;
use aws_sdk_ecr::types::{LayerAvailability, LayerFailureCode};
use common::{call, TestServer};
use ecrd::core::names::Digest;
use serde_json::{json, Value};

const MIB: usize = 1024 * 1024;

/// Deterministic, not very compressible bytes.
fn bytes(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[1] ^ seed)
        .collect()
}

async fn initiate(server: &TestServer, repo: &str) -> String {
    let started = server
        .ecr()
        .initiate_layer_upload()
        .repository_name(repo)
        .send()
        .await
        .unwrap();
    started.upload_id().unwrap().to_owned()
}

async fn part(server: &TestServer, repo: &str, id: &str, first: usize, data: &[u8]) -> i64 {
    server
        .ecr()
        .upload_layer_part()
        .repository_name(repo)
        .upload_id(id)
        .part_first_byte(first as i64)
        .part_last_byte((first + data.len()) as i64 - 1)
        .layer_part_blob(Blob::new(data.to_vec()))
        .send()
        .await
        .unwrap()
        .last_byte_received()
        .unwrap()
}

async fn complete(server: &TestServer, repo: &str, id: &str, digest: &str) -> String {
    server
        .ecr()
        .complete_layer_upload()
        .repository_name(repo)
        .upload_id(id)
        .layer_digests(digest)
        .send()
        .await
        .unwrap()
        .layer_digest()
        .unwrap()
        .to_owned()
}

/// Uploads `data` as one layer in parts of `part_size` bytes; returns its digest.
async fn upload_layer(server: &TestServer, repo: &str, data: &[u8], part_size: usize) -> String {
    let id = initiate(server, repo).await;
    for (i, chunk) in data.chunks(part_size).enumerate() {
        let last = part(server, repo, &id, i * part_size, chunk).await;
        assert_eq!(last, (i * part_size + chunk.len()) as i64 - 1);
    }
    let digest = Digest::of(data).to_string();
    assert_eq!(complete(server, repo, &id, &digest).await, digest);
    digest
}

async fn availability(server: &TestServer, repo: &str, digest: &str) -> Option<LayerAvailability> {
    let checked = server
        .ecr()
        .batch_check_layer_availability()
        .repository_name(repo)
        .layer_digests(digest)
        .send()
        .await
        .unwrap();
    checked
        .layers()
        .first()
        .and_then(|l| l.layer_availability().cloned())
}

async fn oci_get(server: &TestServer, basic: &str, path: &str) -> reqwest::Response {
    server
        .http()
        .get(format!("{}{path}", server.url))
        .header("authorization", basic)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_layer_uploaded_through_the_api_is_pulled_over_oci() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();

    let started = ecr
        .initiate_layer_upload()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(started.part_size(), Some(10_485_760));
    let id = started.upload_id().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{id}");

    // A 5 MiB part (ECR's minimum for all but the last) and a short last part.
    let layer = bytes(5 * MIB + 1000, 7);
    let first = ecr
        .upload_layer_part()
        .repository_name("app")
        .upload_id(&id)
        .part_first_byte(0)
        .part_last_byte(5 * MIB as i64 - 1)
        .layer_part_blob(Blob::new(layer[..5 * MIB].to_vec()))
        .send()
        .await
        .unwrap();
    assert_eq!(first.last_byte_received(), Some(5 * MIB as i64 - 1));
    assert_eq!(first.registry_id(), Some("000000000000"));
    assert_eq!(first.repository_name(), Some("app"));
    assert_eq!(first.upload_id(), Some(id.as_str()));
    assert_eq!(
        part(&server, "app", &id, 5 * MIB, &layer[5 * MIB..]).await,
        layer.len() as i64 - 1
    );
    let layer_digest = Digest::of(&layer).to_string();
    let completed = ecr
        .complete_layer_upload()
        .repository_name("app")
        .upload_id(&id)
        .layer_digests(&layer_digest)
        .send()
        .await
        .unwrap();
    assert_eq!(completed.layer_digest(), Some(layer_digest.as_str()));
    assert_eq!(completed.registry_id(), Some("000000000000"));
    assert_eq!(completed.repository_name(), Some("app"));
    assert_eq!(completed.upload_id(), Some(id.as_str()));

    // Uploaded but used by no image: available, media type unknown yet.
    let checked = ecr
        .batch_check_layer_availability()
        .repository_name("app")
        .layer_digests(&layer_digest)
        .send()
        .await
        .unwrap();
    assert_eq!(checked.layers().len(), 1);
    assert_eq!(checked.layers()[0].layer_size(), Some(layer.len() as i64));
    assert_eq!(checked.layers()[0].media_type(), None);
    assert!(checked.failures().is_empty());

    // The config in one part, then the manifest over OCI.
    let config = br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers"}}"#;
    let config_digest = upload_layer(&server, "app", config, MIB).await;
    let manifest = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer.len()}]
    })
    .to_string();
    let basic = server.basic().await;
    let put = common::put_manifest(
        &server,
        &basic,
        "app",
        "v1",
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    )
    .await;
    assert_eq!(put.status(), 201);

    let pulled = oci_get(&server, &basic, "/v2/app/manifests/v1").await;
    assert_eq!(pulled.status(), 200);
    assert_eq!(pulled.bytes().await.unwrap(), manifest.as_bytes());
    let pulled = oci_get(&server, &basic, &format!("/v2/app/blobs/{layer_digest}")).await;
    assert_eq!(pulled.status(), 200);
    assert_eq!(pulled.bytes().await.unwrap(), layer);
    let pulled = oci_get(&server, &basic, &format!("/v2/app/blobs/{config_digest}")).await;
    assert_eq!(pulled.bytes().await.unwrap(), &config[..]);

    // Now an image uses them: the media types are known.
    let checked = ecr
        .batch_check_layer_availability()
        .repository_name("app")
        .layer_digests(&layer_digest)
        .layer_digests(&config_digest)
        .send()
        .await
        .unwrap();
    let media: Vec<_> = checked
        .layers()
        .iter()
        .map(|l| (l.layer_digest().unwrap(), l.media_type().unwrap()))
        .collect();
    assert_eq!(
        media,
        [
            (
                layer_digest.as_str(),
                "application/vnd.oci.image.layer.v1.tar+gzip"
            ),
            (
                config_digest.as_str(),
                "application/vnd.oci.image.config.v1+json"
            )
        ]
    );
}

#[tokio::test]
async fn batch_check_layer_availability_sees_oci_blobs_and_reports_failures() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    server.create_repository("other").await;
    let basic = server.basic().await;
    let pushed = common::push_blob(&server, &basic, "app", b"pushed over OCI").await;
    let absent = Digest::of(b"never pushed").to_string();

    let checked = server
        .ecr()
        .batch_check_layer_availability()
        .repository_name("app")
        .layer_digests(&pushed)
        .layer_digests(&absent)
        .layer_digests("sha256:abc")
        .layer_digests("not a digest")
        .send()
        .await
        .unwrap();
    assert_eq!(checked.layers().len(), 1);
    let layer = &checked.layers()[0];
    assert_eq!(layer.layer_digest(), Some(pushed.as_str()));
    assert_eq!(
        layer.layer_availability(),
        Some(&LayerAvailability::Available)
    );
    assert_eq!(layer.layer_size(), Some(b"pushed over OCI".len() as i64));
    let failures: Vec<_> = checked
        .failures()
        .iter()
        .map(|f| {
            (
                f.layer_digest().unwrap(),
                f.failure_code().unwrap().clone(),
                f.failure_reason().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        failures,
        [
            (
                absent.as_str(),
                LayerFailureCode::MissingLayerDigest,
                "Could not find layer"
            ),
            (
                "sha256:abc",
                LayerFailureCode::InvalidLayerDigest,
                "Invalid layer digest"
            ),
            (
                "not a digest",
                LayerFailureCode::InvalidLayerDigest,
                "Invalid layer digest"
            ),
        ]
    );

    // Blobs are per repository.
    assert_eq!(availability(&server, "other", &pushed).await, None);

    let err = server
        .ecr()
        .batch_check_layer_availability()
        .repository_name("nope")
        .layer_digests(&pushed)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    assert_eq!(
        err.message(),
        Some(
            "The repository with name 'nope' does not exist in the registry with id '000000000000'"
        )
    );
    let (status, body) = call(
        &server,
        "BatchCheckLayerAvailability",
        json!({"repositoryName": "app", "layerDigests": []}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
}

#[tokio::test]
async fn upload_layer_part_refuses_parts_that_do_not_continue_the_upload() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let id = initiate(&server, "app").await;

    // Before any byte: no lastValidByteReceived.
    let (status, body) = call(
        &server,
        "UploadLayerPart",
        json!({"repositoryName": "app", "uploadId": id, "partFirstByte": 3, "partLastByte": 4, "layerPartBlob": "YWI="}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidLayerPartException");
    assert_eq!(body["registryId"], "000000000000");
    assert_eq!(body["repositoryName"], "app");
    assert_eq!(body["uploadId"], id.as_str());
    assert!(body.get("lastValidByteReceived").is_none(), "{body}");
    assert_eq!(
        body["message"],
        "The layer part starts at byte 3, but the upload has received 0 bytes: the next part must start at byte 0"
    );

    assert_eq!(part(&server, "app", &id, 0, b"0123456789").await, 9);

    // A gap, an overlap, a range longer or shorter than the bytes, a reversed range: each is
    // refused with the last valid byte, and changes nothing.
    let cases: [(i64, i64, &[u8], &str); 5] = [
        (
            11,
            12,
            b"ab",
            "The layer part starts at byte 11, but the upload has received 10 bytes: the next part must start at byte 10",
        ),
        (
            5,
            6,
            b"ab",
            "The layer part starts at byte 5, but the upload has received 10 bytes: the next part must start at byte 10",
        ),
        (
            10,
            19,
            b"abcdefgh",
            "The layer part's byte range 10-19 is 10 bytes long, but the part has 8 bytes",
        ),
        (
            10,
            10,
            b"abcdefgh",
            "The layer part's byte range 10-10 is 1 bytes long, but the part has 8 bytes",
        ),
        (
            10,
            9,
            b"",
            "The layer part's last byte 9 is before its first byte 10",
        ),
    ];
    for (first, last, data, message) in cases {
        let err = server
            .ecr()
            .upload_layer_part()
            .repository_name("app")
            .upload_id(&id)
            .part_first_byte(first)
            .part_last_byte(last)
            .layer_part_blob(Blob::new(data.to_vec()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("InvalidLayerPartException"),
            "{first}-{last}"
        );
        assert_eq!(err.message(), Some(message));
        match err.into_service_error() {
            UploadLayerPartError::InvalidLayerPartException(e) => {
                assert_eq!(e.last_valid_byte_received(), Some(9));
                assert_eq!(e.registry_id(), Some("000000000000"));
                assert_eq!(e.repository_name(), Some("app"));
                assert_eq!(e.upload_id(), Some(id.as_str()));
            }
            other => panic!("{other:?}"),
        }
    }

    // The upload is as it was: the right next part continues it. It is the OCI front's upload
    // (whose status shows it), and OCI can finish it (no 5 MiB rule there).
    assert_eq!(part(&server, "app", &id, 10, b"abc").await, 12);
    let basic = server.basic().await;
    let status = oci_get(&server, &basic, &format!("/v2/app/blobs/uploads/{id}")).await;
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"].to_str().unwrap(), "0-12");
    let digest = Digest::of(b"0123456789abc").to_string();
    let finished = server
        .http()
        .put(format!(
            "{}/v2/app/blobs/uploads/{id}?digest={digest}",
            server.url
        ))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(finished.status(), 201);
    let pulled = oci_get(&server, &basic, &format!("/v2/app/blobs/{digest}")).await;
    assert_eq!(pulled.bytes().await.unwrap(), &b"0123456789abc"[..]);

    // Unknown uploads: a fresh UUID, one of another repository, one already completed.
    server.create_repository("other").await;
    let elsewhere = initiate(&server, "other").await;
    for unknown in [uuid::Uuid::new_v4().to_string(), elsewhere, id] {
        let err = server
            .ecr()
            .upload_layer_part()
            .repository_name("app")
            .upload_id(&unknown)
            .part_first_byte(0)
            .part_last_byte(0)
            .layer_part_blob(Blob::new(b"x".to_vec()))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("UploadNotFoundException"), "{unknown}");
        assert_eq!(
            err.message().unwrap(),
            format!("The upload with id '{unknown}' does not exist in the repository with name 'app' in the registry with id '000000000000'")
        );
    }
    let err = server
        .ecr()
        .upload_layer_part()
        .repository_name("nope")
        .upload_id(uuid::Uuid::new_v4().to_string())
        .part_first_byte(0)
        .part_last_byte(0)
        .layer_part_blob(Blob::new(b"x".to_vec()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    let err = server
        .ecr()
        .initiate_layer_upload()
        .repository_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
}

#[tokio::test]
async fn complete_layer_upload_errors() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();
    let complete_err = |id: String, digest: String| {
        let ecr = ecr.clone();
        async move {
            ecr.complete_layer_upload()
                .repository_name("app")
                .upload_id(id)
                .layer_digests(digest)
                .send()
                .await
                .unwrap_err()
        }
    };

    // Unknown upload.
    let unknown = uuid::Uuid::new_v4().to_string();
    let err = complete_err(unknown.clone(), Digest::of(b"x").to_string()).await;
    assert_eq!(err.code(), Some("UploadNotFoundException"));
    assert_eq!(
        err.message().unwrap(),
        format!("The upload with id '{unknown}' does not exist in the repository with name 'app' in the registry with id '000000000000'")
    );

    // Nothing uploaded: the upload stays open.
    let id = initiate(&server, "app").await;
    let err = complete_err(id.clone(), Digest::of(b"").to_string()).await;
    assert_eq!(err.code(), Some("EmptyUploadException"));
    assert_eq!(
        err.message().unwrap(),
        format!("The upload with id '{id}' for the repository with name 'app' in the registry with id '000000000000' does not contain any layer parts")
    );
    assert_eq!(part(&server, "app", &id, 0, b"late bytes").await, 9);
    let late = Digest::of(b"late bytes").to_string();
    assert_eq!(complete(&server, "app", &id, &late).await, late);

    // A part other than the last under 5 MiB.
    let id = initiate(&server, "app").await;
    part(&server, "app", &id, 0, &[1; 1024]).await;
    part(&server, "app", &id, 1024, &[2; 1024]).await;
    let mut small = vec![1; 1024];
    small.extend([2; 1024]);
    let small_digest = Digest::of(&small).to_string();
    let err = complete_err(id.clone(), small_digest.clone()).await;
    assert_eq!(err.code(), Some("LayerPartTooSmallException"));
    assert_eq!(
        err.message(),
        Some("All layer parts except the last part should be at least 5MB")
    );
    assert_eq!(availability(&server, "app", &small_digest).await, None);

    // The wrong digest: nothing stored, and the upload is gone.
    let id = initiate(&server, "app").await;
    part(&server, "app", &id, 0, b"real bytes").await;
    let claimed = Digest::of(b"other bytes").to_string();
    let err = complete_err(id.clone(), claimed.clone()).await;
    assert_eq!(err.code(), Some("InvalidLayerException"));
    assert_eq!(
        err.message().unwrap(),
        format!(
            "The layer digest '{claimed}' does not match the digest of the uploaded layer, '{}'",
            Digest::of(b"real bytes")
        )
    );
    for digest in [&claimed, &Digest::of(b"real bytes").to_string()] {
        assert_eq!(availability(&server, "app", digest).await, None);
    }
    let err = complete_err(id, claimed).await;
    assert_eq!(err.code(), Some("UploadNotFoundException"));
    // A digest no content can have (the model's pattern allows it).
    let id = initiate(&server, "app").await;
    part(&server, "app", &id, 0, b"real bytes").await;
    let err = complete_err(id, "sha256:abc".into()).await;
    assert_eq!(err.code(), Some("InvalidLayerException"));
    assert_eq!(
        err.message(),
        Some("The layer digest 'sha256:abc' does not match the digest of the uploaded layer")
    );

    // A layer the repository already has (pushed over OCI): refused, and the upload discarded.
    let basic = server.basic().await;
    let present = common::push_blob(&server, &basic, "app", b"already here").await;
    let id = initiate(&server, "app").await;
    part(&server, "app", &id, 0, b"already here").await;
    let err = complete_err(id.clone(), present.clone()).await;
    assert_eq!(err.code(), Some("LayerAlreadyExistsException"));
    assert_eq!(
        err.message().unwrap(),
        format!("The layer with digest '{present}' already exists in the repository with name 'app' in the registry with id '000000000000'")
    );
    let err = complete_err(id, present).await;
    assert_eq!(err.code(), Some("UploadNotFoundException"));

    let (status, body) = call(
        &server,
        "CompleteLayerUpload",
        json!({"repositoryName": "nope", "uploadId": uuid::Uuid::new_v4().to_string(), "layerDigests": [late]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "RepositoryNotFoundException");
}

#[tokio::test]
async fn download_urls_serve_the_layer_without_credentials_until_they_expire() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let image = common::push_image(&server, &basic, "app", "v1", "download").await;
    let manifest: Value = oci_get(&server, &basic, &format!("/v2/app/manifests/{image}"))
        .await
        .json()
        .await
        .unwrap();
    let layer = manifest["layers"][0]["digest"].as_str().unwrap().to_owned();
    let config = manifest["config"]["digest"].as_str().unwrap().to_owned();

    let got = server
        .ecr()
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest(&layer)
        .send()
        .await
        .unwrap();
    assert_eq!(got.layer_digest(), Some(layer.as_str()));
    let url = got.download_url().unwrap().to_owned();
    assert!(
        url.starts_with(&format!(
            "http://{}/_ecrd/layers/000000000000/us-east-1/app/{layer}?expires=",
            server.addr
        )),
        "{url}"
    );

    // No credentials needed; ranges work as on the registry.
    let plain = reqwest::Client::new();
    let whole = plain.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), 200);
    assert_eq!(
        whole.headers()["docker-content-digest"].to_str().unwrap(),
        layer
    );
    assert_eq!(whole.bytes().await.unwrap(), &b"layer of download"[..]);
    let ranged = plain
        .get(&url)
        .header("range", "bytes=0-4")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), 206);
    assert_eq!(ranged.bytes().await.unwrap(), &b"layer"[..]);
    let head = plain.head(&url).send().await.unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(
        head.headers()["content-length"].to_str().unwrap(),
        b"layer of download".len().to_string()
    );
    // The config is "used by an image" too.
    let config_url = server
        .ecr()
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest(&config)
        .send()
        .await
        .unwrap()
        .download_url()
        .unwrap()
        .to_owned();
    assert_eq!(plain.get(&config_url).send().await.unwrap().status(), 200);

    // Forgeries: another signature, another layer or repository under the same signature.
    let (base, query) = url.split_once('?').unwrap();
    let expires = query.split('&').next().unwrap();
    let forged = [
        format!("{base}?{expires}&signature=AAAA"),
        format!("{base}?{expires}"),
        format!("{}?{query}", base.replace("/app/", "/other/")),
        format!("{}?{query}", base.replace(&layer, &config)),
        format!(
            "{base}?expires={}&{}",
            i64::MAX,
            query.split('&').nth(1).unwrap()
        ),
    ];
    for forged in forged {
        let r = plain.get(&forged).send().await.unwrap();
        assert_eq!(r.status(), 403, "{forged}");
        let text = r.text().await.unwrap();
        assert!(
            text.contains("<Code>SignatureDoesNotMatch</Code>"),
            "{text}"
        );
    }

    // An hour later (by ecrd's clock) the URL has expired.
    server.state.registry.clock().advance(3600 * 1000);
    let r = plain.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 403);
    let text = r.text().await.unwrap();
    assert!(text.contains("<Code>AccessDenied</Code>"), "{text}");
    assert!(text.contains("Request has expired"), "{text}");
}

#[tokio::test]
async fn get_download_url_for_layer_errors() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let ecr = server.ecr();

    let absent = Digest::of(b"nothing").to_string();
    let err = ecr
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest(&absent)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LayersNotFoundException"));
    assert_eq!(
        err.message().unwrap(),
        format!("The layer with digest '{absent}' does not exist in the repository with name 'app' in the registry with id '000000000000'")
    );

    // Uploaded but used by no image.
    let loose = common::push_blob(&server, &basic, "app", b"loose").await;
    let err = ecr
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest(&loose)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LayerInaccessibleException"));
    assert_eq!(
        err.message().unwrap(),
        format!("The layer with digest '{loose}' is not available because it is not associated with an image in the repository with name 'app' in the registry with id '000000000000'. Unassociated image layers may be cleaned up at any time.")
    );

    // Used by an image of another repository only: still inaccessible here.
    server.create_repository("other").await;
    common::push_image(&server, &basic, "other", "v1", "shared").await;
    let shared = common::push_blob(&server, &basic, "app", b"layer of shared").await;
    let err = ecr
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest(&shared)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LayerInaccessibleException"));

    let err = ecr
        .get_download_url_for_layer()
        .repository_name("nope")
        .layer_digest(&loose)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    let err = ecr
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest("sha256:abc")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LayersNotFoundException"));
    let err = ecr
        .get_download_url_for_layer()
        .repository_name("app")
        .layer_digest("nonsense")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
}
