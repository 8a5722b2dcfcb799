//! The awsJson1.1 framing, as raw HTTP: what SDKs never send but other clients might.

mod common;

use common::TestServer;

const TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.";

async fn call(
    server: &TestServer,
    target: Option<&str>,
    body: &str,
) -> (u16, reqwest::header::HeaderMap, serde_json::Value) {
    let mut request = server
        .http()
        .post(format!("{}/", server.url))
        .header("content-type", "application/x-amz-json-1.1")
        .body(body.to_owned());
    if let Some(target) = target {
        request = request.header("x-amz-target", target);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let json =
        serde_json::from_slice(&response.bytes().await.unwrap()).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

#[tokio::test]
async fn errors_have_ecr_envelopes_and_request_ids() {
    let server = TestServer::start().await;
    let (status, headers, body) = call(
        &server,
        Some(&format!("{TARGET}DescribeRepositories")),
        r#"{"repositoryNames":["nope"]}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "RepositoryNotFoundException");
    assert!(body["message"].as_str().unwrap().contains("'nope'"));
    assert_eq!(headers["x-amzn-errortype"], "RepositoryNotFoundException");
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    assert_eq!(headers["x-amzn-requestid"].to_str().unwrap().len(), 36);

    let (status, _, body) = call(
        &server,
        Some("AmazonEC2ContainerRegistry_V20150921.NoSuchThing"),
        "{}",
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, _, body) = call(&server, None, "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );
    let (status, _, body) =
        call(&server, Some("SomeOtherService.DescribeRepositories"), "{}").await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("UnknownOperationException"))
    );

    for bad in ["{not json", "[]", "\"text\"", r#"{"maxResults":"ten"}"#] {
        let (status, _, body) =
            call(&server, Some(&format!("{TARGET}DescribeRepositories")), bad).await;
        assert_eq!(
            (status, body["__type"].as_str()),
            (400, Some("SerializationException")),
            "{bad}"
        );
    }
    let (status, _, body) = call(&server, Some(&format!("{TARGET}CreateRepository")), "{}").await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
    assert_eq!(
        body["message"],
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'Member must not be null'"
    );
    let (status, _, body) = call(
        &server,
        Some(&format!("{TARGET}CreateRepository")),
        r#"{"repositoryName":"ok-name","imageTagMutability":"SOMETIMES"}"#,
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: [MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'"
    );
    // None of these created anything.
    let (_, _, listed) = call(&server, Some(&format!("{TARGET}DescribeRepositories")), "").await;
    assert_eq!(listed["repositories"], serde_json::json!([]));
}

#[tokio::test]
async fn an_empty_body_is_an_empty_input_and_unknown_members_are_ignored() {
    let server = TestServer::start().await;
    let (status, headers, body) =
        call(&server, Some(&format!("{TARGET}GetAuthorizationToken")), "").await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
    assert!(body["authorizationData"][0]["authorizationToken"].is_string());
    let (status, _, body) = call(
        &server,
        Some(&format!("{TARGET}CreateRepository")),
        r#"{"repositoryName":"extra","someFutureMember":{"x":1}}"#,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(body["repository"]["repositoryName"], "extra");
    // Timestamps are epoch seconds, as JSON numbers.
    assert!(body["repository"]["createdAt"].is_number());
    // Absent members are omitted, never null.
    assert!(body["repository"]
        .get("imageTagMutabilityExclusionFilters")
        .is_none());
}

#[tokio::test]
async fn identity_comes_from_the_sigv4_credential_scope() {
    let server = TestServer::start().await;
    let signed = |akid: &str, region: &str| {
        format!(
            "AWS4-HMAC-SHA256 Credential={akid}/20260101/{region}/ecr/aws4_request, SignedHeaders=host;x-amz-date;x-amz-target, Signature=00"
        )
    };
    let create = |auth: String| {
        server
            .http()
            .post(format!("{}/", server.url))
            .header("x-amz-target", format!("{TARGET}CreateRepository"))
            .header("authorization", auth)
            .body(r#"{"repositoryName":"who"}"#)
            .send()
    };
    let body: serde_json::Value = create(signed("123456789012", "eu-west-1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["repository"]["repositoryArn"],
        "arn:aws:ecr:eu-west-1:123456789012:repository/who"
    );
    let body: serde_json::Value = create(signed("AKIDEXAMPLE", "ap-south-1"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        body["repository"]["repositoryArn"],
        "arn:aws:ecr:ap-south-1:000000000000:repository/who"
    );
}

/// Every operation of the model is implemented: an empty request gets a real answer (a result,
/// or a validation or not-found error), never NotImplementedException (501), and never a fault.
#[tokio::test]
async fn every_operation_of_the_model_is_implemented() {
    let server = TestServer::start().await;
    for op in ecrd::ecr::generated::Operation::ALL {
        let (status, headers, body) = call(&server, Some(&format!("{TARGET}{op}")), "{}").await;
        assert_ne!(status, 501, "{op}: {body}");
        assert!(status == 200 || status == 400, "{op}: {status} {body}");
        if status == 400 {
            let error_type = headers["x-amzn-errortype"].to_str().unwrap();
            assert_ne!(error_type, "NotImplementedException", "{op}");
            assert_eq!(body["__type"], error_type, "{op}");
        }
    }
}

#[tokio::test]
async fn the_same_blob_pushed_by_many_clients_at_once_is_stored_once() {
    let server = TestServer::start().await;
    server.create_repository("dedup").await;
    let basic = server.basic().await;
    let blob: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
    let digest = ecrd::core::names::Digest::of(&blob).to_string();
    let pushes = (0..8).map(|i| {
        let (http, url, basic, blob, digest) = (
            server.http(),
            server.url.clone(),
            basic.clone(),
            blob.clone(),
            digest.clone(),
        );
        async move {
            if i % 2 == 0 {
                http.post(format!("{url}/v2/dedup/blobs/uploads/?digest={digest}"))
                    .header("authorization", &basic)
                    .body(blob)
                    .send()
                    .await
                    .unwrap()
                    .status()
            } else {
                let started = http
                    .post(format!("{url}/v2/dedup/blobs/uploads/"))
                    .header("authorization", &basic)
                    .send()
                    .await
                    .unwrap();
                let location = started.headers()["location"].to_str().unwrap().to_owned();
                http.put(format!("{url}{location}?digest={digest}"))
                    .header("authorization", &basic)
                    .body(blob)
                    .send()
                    .await
                    .unwrap()
                    .status()
            }
        }
    });
    let statuses = futures_util::future::join_all(pushes).await;
    assert!(statuses.iter().all(|s| s.as_u16() == 201), "{statuses:?}");
    let files: Vec<_> = walk(&server.dir.path().join("blobs"))
        .into_iter()
        .filter(|p| p.ends_with(&digest[7..]))
        .collect();
    assert_eq!(files.len(), 1);
    let pulled = server
        .http()
        .get(format!("{}/v2/dedup/blobs/{digest}", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(pulled.as_ref(), blob.as_slice());
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
