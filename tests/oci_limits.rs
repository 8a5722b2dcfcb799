//! Client numbers at the edge of 64 bits: refused with the right error, never a panic.

mod common;

use common::{push_blob, put_manifest, TestServer};

#[tokio::test]
async fn a_content_range_ending_at_u64_max_is_refused() {
    let server = TestServer::start().await;
    server.create_repository("edge").await;
    let basic = server.basic().await;
    let started = server
        .http()
        .post(format!("{}/v2/edge/blobs/uploads/", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    let location = started.headers()["location"].to_str().unwrap().to_owned();
    let patched = server
        .http()
        .patch(format!("{}{location}", server.url))
        .header("authorization", &basic)
        .header("content-range", format!("0-{}", u64::MAX))
        .body(b"abc".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(patched.status(), 416);
    let status = server
        .http()
        .get(format!("{}{location}", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(status.status(), 204);
    assert_eq!(status.headers()["range"], "0-0", "nothing was appended");
}

#[tokio::test]
async fn layer_sizes_that_overflow_are_an_invalid_manifest() {
    let server = TestServer::start().await;
    server.create_repository("edge").await;
    let basic = server.basic().await;
    let config = push_blob(&server, &basic, "edge", b"{}").await;
    let layer = push_blob(&server, &basic, "edge", b"layer").await;
    let manifest = serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": i64::MAX},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": i64::MAX}
        ]
    })
    .to_string();
    let response = put_manifest(
        &server,
        &basic,
        "edge",
        "v1",
        "application/vnd.oci.image.manifest.v1+json",
        manifest.as_bytes(),
    )
    .await;
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "MANIFEST_INVALID");
}

#[tokio::test]
async fn a_descriptor_size_that_is_not_the_blobs_is_an_invalid_manifest() {
    let server = TestServer::start().await;
    server.create_repository("edge").await;
    let basic = server.basic().await;
    let config = push_blob(&server, &basic, "edge", b"{}").await;
    let layer = push_blob(&server, &basic, "edge", b"five!").await;
    let manifest = |layer_size: u64| {
        serde_json::json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config, "size": 2},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer, "size": layer_size}]
        })
        .to_string()
    };
    let media = "application/vnd.oci.image.manifest.v1+json";
    let lying = put_manifest(&server, &basic, "edge", "v1", media, manifest(1).as_bytes()).await;
    assert_eq!(lying.status(), 400);
    let body: serde_json::Value = lying.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "MANIFEST_INVALID");
    let honest = put_manifest(&server, &basic, "edge", "v1", media, manifest(5).as_bytes()).await;
    assert_eq!(honest.status(), 201);
}
