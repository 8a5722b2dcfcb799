//! EventBridge-style events: what a push, a delete, a storage-class change and a scan announce,
//! read through `GET /_ecrd/events` and from `--events-file`; failed changes announce nothing.

mod common;

use aws_sdk_ecr::types::{ImageIdentifier, ImageScanningConfiguration, TargetStorageClass};
use common::{image_manifest, push_image, push_referrer, put_manifest, run_lifecycle, TestServer};
use serde_json::Value;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const SIGNATURE: &str = "application/vnd.cncf.notary.signature";

/// `GET /_ecrd/events` with `query`: `(events, lastSequence)`.
async fn events(server: &TestServer, query: &str) -> (Vec<Value>, i64) {
    let response = server
        .http()
        .get(format!("{}/_ecrd/events{query}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    (
        body["events"].as_array().unwrap().clone(),
        body["lastSequence"].as_i64().unwrap(),
    )
}

/// The `detail` of each event after `after`, with its detail-type.
async fn details_after(server: &TestServer, after: i64) -> Vec<(String, Value)> {
    events(server, &format!("?after={after}"))
        .await
        .0
        .into_iter()
        .map(|e| {
            (
                e["detail-type"].as_str().unwrap().to_owned(),
                e["detail"].clone(),
            )
        })
        .collect()
}

async fn last_sequence(server: &TestServer) -> i64 {
    let mut after = 0;
    loop {
        let (page, last) = events(server, &format!("?after={after}")).await;
        if page.is_empty() {
            return last;
        }
        after = last;
    }
}

#[tokio::test]
async fn a_push_announces_an_image_action_with_the_envelope_eventbridge_delivers() {
    let server = TestServer::start().await;
    server.create_repository("team/app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "team/app", "v1.4.2", "a").await;

    let (all, last) = events(&server, "").await;
    assert_eq!(all.len(), 1, "{all:#?}");
    let event = &all[0];
    assert_eq!(event["version"], "0");
    assert_eq!(event["source"], "aws.ecr");
    assert_eq!(event["detail-type"], "ECR Image Action");
    assert_eq!(event["account"], "000000000000");
    assert_eq!(event["region"], "us-east-1");
    assert_eq!(event["resources"], serde_json::json!([]));
    assert!(uuid::Uuid::parse_str(event["id"].as_str().unwrap()).is_ok());
    let time = event["time"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(time).is_ok()
            && time.ends_with('Z')
            && time.len() == 20,
        "seconds precision, UTC: {time}"
    );
    assert_eq!(
        event["detail"],
        serde_json::json!({
            "result": "SUCCESS",
            "action-type": "PUSH",
            "repository-name": "team/app",
            "image-digest": digest,
            "image-tag": "v1.4.2",
            "manifest-media-type": OCI_MANIFEST,
            "artifact-media-type": OCI_CONFIG,
        })
    );
    // The cursor: nothing after the last event.
    assert!(events(&server, &format!("?after={last}"))
        .await
        .0
        .is_empty());
}

#[tokio::test]
async fn a_referrer_push_is_a_referrer_action_with_an_empty_tag_as_in_ecrs_example() {
    let server = TestServer::start().await;
    server.create_repository("oci-helloworld").await;
    let basic = server.basic().await;
    let subject = push_image(&server, &basic, "oci-helloworld", "latest", "s").await;
    let after = last_sequence(&server).await;
    let signature = push_referrer(&server, &basic, "oci-helloworld", &subject, SIGNATURE).await;

    let got = details_after(&server, after).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].0, "ECR Referrer Action");
    assert_eq!(
        got[0].1,
        serde_json::json!({
            "result": "SUCCESS",
            "repository-name": "oci-helloworld",
            "image-digest": signature,
            "action-type": "PUSH",
            "artifact-media-type": SIGNATURE,
            "image-tag": "",
            "manifest-media-type": OCI_MANIFEST,
        })
    );
    // Filtering by detail-type.
    let (referrer_events, _) = events(&server, "?detailType=ECR%20Referrer%20Action").await;
    assert_eq!(referrer_events.len(), 1);
}

#[tokio::test]
async fn failed_pushes_and_deletes_announce_nothing() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let before = last_sequence(&server).await;

    // A manifest naming a blob that was never pushed.
    let mut manifest = image_manifest(&server, &basic, "app", b"{}", &[]).await;
    manifest["layers"] = serde_json::json!([{
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": format!("sha256:{}", "ab".repeat(32)), "size": 3
    }]);
    let response = put_manifest(
        &server,
        &basic,
        "app",
        "v1",
        OCI_MANIFEST,
        manifest.to_string().as_bytes(),
    )
    .await;
    assert_eq!(response.status(), 400);
    // An immutable tag pushed again with other content, over the ECR API.
    server
        .ecr()
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(aws_sdk_ecr::types::ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    push_image(&server, &basic, "app", "fixed", "one").await;
    let after_push = last_sequence(&server).await;
    let other = image_manifest(&server, &basic, "app", b"{\"other\":1}", &[]).await;
    let refused = server
        .ecr()
        .put_image()
        .repository_name("app")
        .image_tag("fixed")
        .image_manifest(other.to_string())
        .send()
        .await;
    assert!(refused.is_err());
    // Deleting what is not there.
    let missing = server
        .ecr()
        .batch_delete_image()
        .repository_name("app")
        .image_ids(ImageIdentifier::builder().image_tag("nope").build())
        .send()
        .await
        .unwrap();
    assert_eq!(missing.failures().len(), 1);

    assert_eq!(after_push, before + 1, "only the successful push");
    assert!(details_after(&server, after_push).await.is_empty());
}

#[tokio::test]
async fn deletes_announce_one_event_per_removed_tag_or_one_untagged() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "a", "x").await;
    // A second and third tag on the same image, over the registry API.
    let manifest = server
        .http()
        .get(format!("{}/v2/app/manifests/a", server.url))
        .header("authorization", &basic)
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    for tag in ["b", "c"] {
        assert_eq!(
            put_manifest(&server, &basic, "app", tag, OCI_MANIFEST, &manifest)
                .await
                .status(),
            201
        );
    }
    let after = last_sequence(&server).await;

    let ecr = server.ecr();
    // Untag one tag: one DELETE for it.
    ecr.batch_delete_image()
        .repository_name("app")
        .image_ids(ImageIdentifier::builder().image_tag("a").build())
        .send()
        .await
        .unwrap();
    let got = details_after(&server, after).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1["action-type"], "DELETE");
    assert_eq!(got[0].1["image-tag"], "a");
    assert_eq!(got[0].1["image-digest"], digest.as_str());

    // Delete by digest over the registry API: one DELETE per remaining tag.
    let after = last_sequence(&server).await;
    let response = server
        .http()
        .delete(format!("{}/v2/app/manifests/{digest}", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let mut tags: Vec<String> = details_after(&server, after)
        .await
        .iter()
        .map(|(kind, d)| {
            assert_eq!(kind, "ECR Image Action");
            assert_eq!(d["action-type"], "DELETE");
            d["image-tag"].as_str().unwrap().to_owned()
        })
        .collect();
    tags.sort();
    assert_eq!(tags, ["b", "c"]);

    // An untagged image, deleted by digest: one DELETE with an empty tag.
    let lone = image_manifest(&server, &basic, "app", b"{\"lone\":1}", &[])
        .await
        .to_string();
    let lone_digest = ecrd::core::names::Digest::of(lone.as_bytes()).to_string();
    assert_eq!(
        put_manifest(
            &server,
            &basic,
            "app",
            &lone_digest,
            OCI_MANIFEST,
            lone.as_bytes()
        )
        .await
        .status(),
        201
    );
    let after = last_sequence(&server).await;
    ecr.batch_delete_image()
        .repository_name("app")
        .image_ids(
            ImageIdentifier::builder()
                .image_digest(&lone_digest)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let got = details_after(&server, after).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].1["image-tag"], "");
    assert_eq!(got[0].1["image-digest"], lone_digest.as_str());
}

#[tokio::test]
async fn lifecycle_expiry_archive_and_restore_are_announced() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let old = push_image(&server, &basic, "app", "old", "o").await;
    let kept = push_image(&server, &basic, "app", "kept", "k").await;
    let ecr = server.ecr();
    let policy = serde_json::json!({"rules": [{
        "rulePriority": 1, "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
        "action": {"type": "expire"}
    }]});
    ecr.put_lifecycle_policy()
        .repository_name("app")
        .lifecycle_policy_text(policy.to_string())
        .send()
        .await
        .unwrap();
    let after = last_sequence(&server).await;
    run_lifecycle(&server).await;
    let got = details_after(&server, after).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    assert_eq!(got[0].1["action-type"], "DELETE");
    assert_eq!(got[0].1["image-digest"], old.as_str());
    assert_eq!(got[0].1["image-tag"], "old");

    let after = last_sequence(&server).await;
    for target in [TargetStorageClass::Archive, TargetStorageClass::Standard] {
        ecr.update_image_storage_class()
            .repository_name("app")
            .image_id(ImageIdentifier::builder().image_tag("kept").build())
            .target_storage_class(target)
            .send()
            .await
            .unwrap();
    }
    let got = details_after(&server, after).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    for ((kind, detail), class) in got.iter().zip(["ARCHIVE", "STANDARD"]) {
        assert_eq!(kind, "ECR Image Action");
        assert_eq!(detail["action-type"], "UPDATE_STORAGE_CLASS");
        assert_eq!(detail["target-storage-class"], class);
        assert_eq!(detail["image-digest"], kept.as_str());
        assert_eq!(detail["manifest-media-type"], OCI_MANIFEST);
    }
    let activated = got[1].1["last-activated-at"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(activated).is_ok(),
        "{activated}"
    );
    assert!(got[0].1.get("last-activated-at").is_none());
}

#[tokio::test]
async fn scan_on_push_announces_a_scan_with_the_repository_arn() {
    let server = TestServer::start().await;
    server
        .ecr()
        .create_repository()
        .repository_name("scanned")
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "scanned", "v1", "s").await;
    // The push is announced first, then the scan it led to.
    let kinds: Vec<String> = details_after(&server, 0)
        .await
        .into_iter()
        .map(|(kind, _)| kind)
        .collect();
    assert_eq!(kinds, ["ECR Image Action", "ECR Image Scan"]);
    let (all, _) = events(&server, "?detailType=ECR%20Image%20Scan").await;
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(
        all[0]["resources"],
        serde_json::json!(["arn:aws:ecr:us-east-1:000000000000:repository/scanned"])
    );
    assert_eq!(
        all[0]["detail"],
        serde_json::json!({
            "scan-status": "COMPLETE",
            "repository-name": "scanned",
            "image-digest": digest,
            "image-tags": ["v1"],
            "finding-severity-counts": {},
        })
    );
}

#[tokio::test]
async fn events_belong_to_the_namespace_of_their_repository() {
    let server = TestServer::start().await;
    let other = server.ecr_as("111111111111", "eu-west-1");
    other
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    server.create_repository("app").await;
    let basic = server.basic().await;
    push_image(&server, &basic, "app", "mine", "m").await;
    let image = image_manifest(&server, &basic, "app", b"{\"x\":1}", &[]).await;
    // The other namespace gets the same config blob through the ECR layer API, then the image.
    let config = br#"{"x":1}"#;
    let upload = other
        .initiate_layer_upload()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    other
        .upload_layer_part()
        .repository_name("app")
        .upload_id(upload.upload_id().unwrap())
        .part_first_byte(0)
        .part_last_byte(config.len() as i64 - 1)
        .layer_part_blob(aws_sdk_ecr::primitives::Blob::new(config.to_vec()))
        .send()
        .await
        .unwrap();
    other
        .complete_layer_upload()
        .repository_name("app")
        .upload_id(upload.upload_id().unwrap())
        .layer_digests(image["config"]["digest"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    other
        .put_image()
        .repository_name("app")
        .image_tag("theirs")
        .image_manifest(image.to_string())
        .send()
        .await
        .unwrap();

    let (theirs, _) = events(&server, "?account=111111111111&region=eu-west-1").await;
    assert_eq!(theirs.len(), 1);
    assert_eq!(theirs[0]["account"], "111111111111");
    assert_eq!(theirs[0]["region"], "eu-west-1");
    assert_eq!(theirs[0]["detail"]["image-tag"], "theirs");
    let (mine, _) = events(&server, "?account=000000000000").await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["detail"]["image-tag"], "mine");
}

#[tokio::test]
async fn the_events_file_gets_every_event_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("events.jsonl");
    let data = tempfile::tempdir().unwrap();
    let mut config = ecrd::config::Config::for_tests(data.path().to_owned());
    config.events_file = Some(file.clone());
    let server = TestServer::start_in(data, config.clone()).await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    push_image(&server, &basic, "app", "one", "1").await;
    // Delivered in the background within a few hundred milliseconds.
    let mut lines = 0;
    for _ in 0..100 {
        lines = std::fs::read_to_string(&file).map_or(0, |s| s.lines().count());
        if lines == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(lines, 1);
    push_image(&server, &basic, "app", "two", "2").await;
    // A graceful stop delivers what is left; a restart does not deliver anything twice.
    let data = server.stop().await;
    let server = TestServer::start_in(data, config).await;
    push_image(&server, &basic, "app", "three", "3").await;
    drop(server.stop().await);
    let text = std::fs::read_to_string(&file).unwrap();
    let tags: Vec<String> = text
        .lines()
        .map(|line| {
            let event: Value = serde_json::from_str(line).unwrap();
            event["detail"]["image-tag"].as_str().unwrap().to_owned()
        })
        .collect();
    assert_eq!(tags, ["one", "two", "three"]);
}

#[tokio::test]
async fn a_bad_events_query_is_a_400_with_a_message() {
    let server = TestServer::start().await;
    for query in ["?after=x", "?limit=-", "?unknown=1"] {
        let response = server
            .http()
            .get(format!("{}/_ecrd/events{query}", server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{query}");
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|m| !m.is_empty()),
            "{query}"
        );
    }
}

#[tokio::test]
async fn a_deleted_subjects_signature_goes_with_a_referrer_delete_event() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let subject = push_image(&server, &basic, "app", "v1", "s").await;
    let signature = push_referrer(&server, &basic, "app", &subject, SIGNATURE).await;
    let after = last_sequence(&server).await;
    server
        .ecr()
        .batch_delete_image()
        .repository_name("app")
        .image_ids(ImageIdentifier::builder().image_digest(&subject).build())
        .send()
        .await
        .unwrap();
    run_lifecycle(&server).await;
    let got = details_after(&server, after).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(got[0].0, "ECR Image Action");
    assert_eq!(got[0].1["image-digest"], subject.as_str());
    assert_eq!(got[0].1["image-tag"], "v1");
    assert_eq!(got[1].0, "ECR Referrer Action");
    assert_eq!(got[1].1["action-type"], "DELETE");
    assert_eq!(got[1].1["image-digest"], signature.as_str());
    assert_eq!(got[1].1["artifact-media-type"], SIGNATURE);
    assert_eq!(got[1].1["image-tag"], "");
}

#[tokio::test]
async fn an_events_file_that_cannot_be_written_stops_the_start_with_its_name() {
    let data = tempfile::tempdir().unwrap();
    let mut config = ecrd::config::Config::for_tests(data.path().to_owned());
    let missing = data.path().join("no-such-dir").join("events.jsonl");
    config.events_file = Some(missing.clone());
    let error = match ecrd::server::Server::bind(config, ecrd::clock::Clock::new()).await {
        Ok(_) => panic!("ecrd started with an events file it cannot write"),
        Err(e) => e.to_string(),
    };
    assert!(error.contains(&missing.display().to_string()), "{error}");
}

/// A stand-in for EventBridge's API: records every request; the first `fail_first` answer 500.
struct FakeEventBridge {
    url: String,
    calls: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Value)>>>,
}

async fn fake_eventbridge(fail_first: usize) -> FakeEventBridge {
    use axum::http::StatusCode;
    let calls: std::sync::Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, Value)>>> =
        Default::default();
    let seen = calls.clone();
    let app = axum::Router::new().route(
        "/",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let request: Value = serde_json::from_str(&body).unwrap_or_default();
                let entries = request["Entries"].as_array().map_or(0, Vec::len);
                let mut calls = seen.lock().unwrap();
                calls.push((headers, request));
                if calls.len() <= fail_first {
                    return (StatusCode::INTERNAL_SERVER_ERROR, "try again".to_owned());
                }
                let ids: Vec<Value> = (0..entries)
                    .map(|i| serde_json::json!({"EventId": format!("e-{i}")}))
                    .collect();
                (
                    StatusCode::OK,
                    serde_json::json!({"FailedEntryCount": 0, "Entries": ids}).to_string(),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    FakeEventBridge { url, calls }
}

#[tokio::test]
async fn events_are_put_to_an_eventbridge_endpoint_per_namespace_retried_until_taken() {
    let bus = fake_eventbridge(1).await;
    let server = TestServer::start_with(|c| c.events_endpoint = Some(bus.url.clone())).await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let mut digests = Vec::new();
    for i in 0..12 {
        digests.push(push_image(&server, &basic, "app", &format!("t{i}"), &format!("s{i}")).await);
    }
    // And one push in another namespace, over the registry API with that namespace's password.
    let other = server.ecr_as("111111111111", "eu-west-1");
    other
        .create_repository()
        .repository_name("theirs")
        .send()
        .await
        .unwrap();
    let their_basic = common::basic_from(&other).await;
    let theirs = push_image(&server, &their_basic, "theirs", "v1", "t").await;

    // Wait until all 13 PUSHes were taken (after the first call failed).
    let mut taken = Vec::new();
    for _ in 0..200 {
        let calls = bus.calls.lock().unwrap().clone();
        taken = calls.iter().skip(1).cloned().collect::<Vec<_>>();
        let entries: usize = taken
            .iter()
            .map(|(_, r)| r["Entries"].as_array().map_or(0, Vec::len))
            .sum();
        if entries >= 13 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (mut mine, mut their_pushes) = (Vec::new(), Vec::new());
    for (headers, request) in &taken {
        assert_eq!(headers["x-amz-target"], "AWSEvents.PutEvents");
        assert_eq!(headers["content-type"], "application/x-amz-json-1.1");
        // One namespace per call, named in the credential scope (how LocalStack picks the bus).
        let auth = headers["authorization"].to_str().unwrap();
        let (account, repository) = if auth.contains("Credential=111111111111/") {
            assert!(auth.contains("/eu-west-1/events/aws4_request"), "{auth}");
            ("111111111111", "theirs")
        } else {
            assert!(
                auth.starts_with("AWS4-HMAC-SHA256 Credential=000000000000/")
                    && auth.contains("/us-east-1/events/aws4_request"),
                "{auth}"
            );
            ("000000000000", "app")
        };
        let entries = request["Entries"].as_array().unwrap();
        assert!(
            !entries.is_empty() && entries.len() <= 10,
            "{}",
            entries.len()
        );
        for entry in entries {
            assert_eq!(entry["Source"], "aws.ecr");
            assert_eq!(entry["EventBusName"], "default");
            assert_eq!(entry["DetailType"], "ECR Image Action");
            assert!(entry["Time"].as_f64().is_some());
            assert_eq!(entry["Resources"], serde_json::json!([]));
            let detail: Value = serde_json::from_str(entry["Detail"].as_str().unwrap()).unwrap();
            assert_eq!(detail["action-type"], "PUSH");
            assert_eq!(
                detail["repository-name"], repository,
                "an event of {account}"
            );
            let digest = detail["image-digest"].as_str().unwrap().to_owned();
            if account == "111111111111" {
                their_pushes.push(digest);
            } else {
                mine.push(digest);
            }
        }
    }
    // Every push exactly once after the failed call, in order.
    assert_eq!(mine, digests);
    assert_eq!(their_pushes, [theirs]);
}

#[tokio::test]
async fn an_events_endpoint_that_is_not_plain_http_stops_the_start() {
    for url in [
        "https://events.example",
        "http://127.0.0.1:4566/path",
        "not a url",
    ] {
        let data = tempfile::tempdir().unwrap();
        let mut config = ecrd::config::Config::for_tests(data.path().to_owned());
        config.events_endpoint = Some(url.to_owned());
        let error = match ecrd::server::Server::bind(config, ecrd::clock::Clock::new()).await {
            Ok(_) => panic!("ecrd started with events endpoint {url}"),
            Err(e) => e.to_string(),
        };
        assert!(
            error.contains("http://host:port") || error.contains(url),
            "{url}: {error}"
        );
    }
}

#[tokio::test]
async fn a_forced_repository_delete_announces_no_image_deletes() {
    // ECR's documentation describes no per-image events for DeleteRepository --force; ecrd sends
    // none (ecr-behaviour.md §5).
    let server = TestServer::start().await;
    server.create_repository("doomed").await;
    let basic = server.basic().await;
    push_image(&server, &basic, "doomed", "v1", "d").await;
    let after = last_sequence(&server).await;
    server
        .ecr()
        .delete_repository()
        .repository_name("doomed")
        .force(true)
        .send()
        .await
        .unwrap();
    assert!(details_after(&server, after).await.is_empty());
}
