//! Lifecycle policies end to end: the API, previews, runs, time control, referrer cleanup.

mod common;

use aws_sdk_ecr::client::Waiters;
use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{ImageActionType, ImageIdentifier, LifecyclePolicyPreviewStatus};
use common::{push_image, push_referrer, put_manifest, run_lifecycle, TestServer};
use rand::{Rng, SeedableRng};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DAY: i64 = 24 * 3600;

fn policy(rules: &[serde_json::Value]) -> String {
    serde_json::json!({ "rules": rules }).to_string()
}

fn untagged_older_than(days: i64) -> String {
    policy(&[serde_json::json!({
        "rulePriority": 1, "description": "expire untagged images after some days",
        "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days},
        "action": {"type": "expire"}
    })])
}

fn any_older_than(days: i64) -> String {
    policy(&[serde_json::json!({
        "rulePriority": 1, "description": "expire every image older than some days",
        "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": days},
        "action": {"type": "expire"}
    })])
}

async fn advance_days(server: &TestServer, days: i64) {
    let response = server
        .http()
        .post(format!("{}/_ecrd/clock", server.url))
        .json(&serde_json::json!({"advanceSeconds": days * DAY}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

async fn digests(server: &TestServer, repo: &str) -> Vec<String> {
    let images = server
        .ecr()
        .list_images()
        .repository_name(repo)
        .send()
        .await
        .unwrap();
    let mut d: Vec<String> = images
        .image_ids()
        .iter()
        .map(|i| i.image_digest().unwrap().to_owned())
        .collect();
    d.sort();
    d.dedup();
    d
}

#[tokio::test]
async fn put_get_delete_policy_and_validation() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();
    let missing = ecr
        .get_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("LifecyclePolicyNotFoundException"));
    assert_eq!(
        missing.message(),
        Some("Lifecycle policy does not exist for the repository with name 'app' in the registry with id '000000000000'")
    );

    let text = untagged_older_than(14);
    let put = ecr
        .put_lifecycle_policy()
        .repository_name("app")
        .lifecycle_policy_text(&text)
        .send()
        .await
        .unwrap();
    assert_eq!(put.lifecycle_policy_text(), Some(text.as_str()));
    assert_eq!(put.registry_id(), Some("000000000000"));
    let got = ecr
        .get_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(got.lifecycle_policy_text(), Some(text.as_str()));
    assert!(got.last_evaluated_at().is_none(), "never evaluated yet");
    run_lifecycle(&server).await;
    let got = ecr
        .get_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert!(got.last_evaluated_at().is_some());

    let invalid = policy(&[serde_json::json!({
        "rulePriority": 1, "description": "a count rule must not carry countUnit",
        "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countUnit": "days", "countNumber": 1},
        "action": {"type": "expire"}
    })]);
    let err = ecr
        .put_lifecycle_policy()
        .repository_name("app")
        .lifecycle_policy_text(invalid)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(
        err.message(),
        Some("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: instance failed to match exactly one schema (matched 0 out of 2)'")
    );
    let short = ecr
        .put_lifecycle_policy()
        .repository_name("app")
        .lifecycle_policy_text("{\"rules\":[]}")
        .send()
        .await
        .unwrap_err();
    assert_eq!(short.code(), Some("InvalidParameterException"));
    assert_eq!(
        short.message(),
        Some("Invalid parameter at 'lifecyclePolicyText' failed to satisfy constraint: 'Member must have length greater than or equal to 100'")
    );
    // The refused policies left the stored one alone.
    let got = ecr
        .get_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(got.lifecycle_policy_text(), Some(text.as_str()));

    let deleted = ecr
        .delete_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.lifecycle_policy_text(), Some(text.as_str()));
    let again = ecr
        .delete_lifecycle_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("LifecyclePolicyNotFoundException"));
    let no_repo = ecr
        .get_lifecycle_policy()
        .repository_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_repo.code(), Some("RepositoryNotFoundException"));
}

#[tokio::test]
async fn preview_reports_what_a_run_then_does() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let ecr = server.ecr();
    let old = push_image(&server, &basic, "app", "v1", "old").await;
    advance_days(&server, 20).await;
    // Registry passwords live 12 hours on ecrd's clock too: log in again after the jump.
    let basic = server.basic().await;
    let fresh = push_image(&server, &basic, "app", "v2", "fresh").await;

    let none = ecr
        .get_lifecycle_policy_preview()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(none.code(), Some("LifecyclePolicyPreviewNotFoundException"));
    let no_policy = ecr
        .start_lifecycle_policy_preview()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(no_policy.code(), Some("LifecyclePolicyNotFoundException"));

    let text = any_older_than(14);
    let started = ecr
        .start_lifecycle_policy_preview()
        .repository_name("app")
        .lifecycle_policy_text(&text)
        .send()
        .await
        .unwrap();
    assert_eq!(
        started.status(),
        Some(&LifecyclePolicyPreviewStatus::InProgress)
    );
    let busy = ecr
        .start_lifecycle_policy_preview()
        .repository_name("app")
        .lifecycle_policy_text(&text)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        busy.code(),
        Some("LifecyclePolicyPreviewInProgressException")
    );

    // The SDK's waiter polls until COMPLETE.
    ecr.wait_until_lifecycle_policy_preview_complete()
        .repository_name("app")
        .wait(std::time::Duration::from_secs(30))
        .await
        .unwrap();
    let preview = ecr
        .get_lifecycle_policy_preview()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        preview.status(),
        Some(&LifecyclePolicyPreviewStatus::Complete)
    );
    assert_eq!(preview.lifecycle_policy_text(), Some(text.as_str()));
    let results = preview.preview_results();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0].image_digest(), Some(old.as_str()));
    assert_eq!(results[0].image_tags(), ["v1"]);
    assert_eq!(results[0].applied_rule_priority(), Some(1));
    assert_eq!(
        results[0].action().unwrap().r#type(),
        Some(&ImageActionType::Expire)
    );
    assert_eq!(
        preview.summary().unwrap().expiring_image_total_count(),
        Some(1)
    );

    // A preview changes nothing; a run does exactly what it said.
    assert_eq!(digests(&server, "app").await.len(), 2);
    ecr.put_lifecycle_policy()
        .repository_name("app")
        .lifecycle_policy_text(&text)
        .send()
        .await
        .unwrap();
    let report = run_lifecycle(&server).await;
    assert_eq!(report["expired"], serde_json::json!([old]));
    assert_eq!(digests(&server, "app").await, vec![fresh]);
    let pull = server
        .http()
        .get(format!("{}/v2/app/manifests/v1", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(
        pull.status(),
        404,
        "expired images vanish from the registry too"
    );
}

#[tokio::test]
async fn the_readme_time_control_example() {
    // Push, advance 15 days, run lifecycle: a `sinceImagePushed 14 days` rule expires the images.
    let server = TestServer::start().await;
    server.create_repository("ci").await;
    let basic = server.basic().await;
    let ecr = server.ecr();
    ecr.put_lifecycle_policy()
        .repository_name("ci")
        .lifecycle_policy_text(any_older_than(14))
        .send()
        .await
        .unwrap();
    push_image(&server, &basic, "ci", "build-1", "1").await;
    push_image(&server, &basic, "ci", "build-2", "2").await;
    assert_eq!(
        run_lifecycle(&server).await["expired"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    advance_days(&server, 15).await;
    assert_eq!(
        run_lifecycle(&server).await["expired"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(digests(&server, "ci").await.is_empty());
}

#[tokio::test]
async fn referrers_follow_their_subject() {
    let server = TestServer::start().await;
    server.create_repository("signed").await;
    let basic = server.basic().await;
    let ecr = server.ecr();
    let image = push_image(&server, &basic, "signed", "v1", "image").await;
    let sbom = push_referrer(&server, &basic, "signed", &image, "application/spdx+json").await;
    let sbom_signature = push_referrer(
        &server,
        &basic,
        "signed",
        &sbom,
        "application/vnd.cncf.notary.signature",
    )
    .await;
    let never_pushed = format!("sha256:{}", "ab".repeat(32));
    let dangling = push_referrer(
        &server,
        &basic,
        "signed",
        &never_pushed,
        "application/vnd.cncf.notary.signature",
    )
    .await;

    // A rule that would expire every untagged image spares referrers while their subject exists.
    ecr.put_lifecycle_policy()
        .repository_name("signed")
        .lifecycle_policy_text(untagged_older_than(1))
        .send()
        .await
        .unwrap();
    advance_days(&server, 3).await;
    let report = run_lifecycle(&server).await;
    assert_eq!(
        report["expired"],
        serde_json::json!([dangling]),
        "only the referrer of a never-pushed subject is just an untagged image"
    );
    let mut expected = vec![image.clone(), sbom.clone(), sbom_signature.clone()];
    expected.sort();
    assert_eq!(digests(&server, "signed").await, expected);

    // Deleting the subject (here over the API) leaves its referrers until the next run, which
    // removes them, recursively — with or without a policy.
    ecr.delete_lifecycle_policy()
        .repository_name("signed")
        .send()
        .await
        .unwrap();
    ecr.batch_delete_image()
        .repository_name("signed")
        .image_ids(ImageIdentifier::builder().image_digest(&image).build())
        .send()
        .await
        .unwrap();
    let mut left = vec![sbom.clone(), sbom_signature.clone()];
    left.sort();
    assert_eq!(digests(&server, "signed").await, left);
    let report = run_lifecycle(&server).await;
    let mut removed: Vec<String> = report["referrers_removed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    removed.sort();
    assert_eq!(removed, left);
    assert!(digests(&server, "signed").await.is_empty());

    // A referrer whose subject was never pushed is left alone.
    let basic = server.basic().await;
    let lonely = push_referrer(
        &server,
        &basic,
        "signed",
        &never_pushed,
        "application/spdx+json",
    )
    .await;
    run_lifecycle(&server).await;
    assert_eq!(digests(&server, "signed").await, vec![lonely]);
}

#[tokio::test]
async fn oci_delete_of_a_subject_cascades_on_the_next_run() {
    let server = TestServer::start().await;
    server.create_repository("oci").await;
    let basic = server.basic().await;
    let image = push_image(&server, &basic, "oci", "v1", "image").await;
    let signature = push_referrer(
        &server,
        &basic,
        "oci",
        &image,
        "application/vnd.cncf.notary.signature",
    )
    .await;
    let deleted = server
        .http()
        .delete(format!("{}/v2/oci/manifests/{image}", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), 202);
    assert_eq!(digests(&server, "oci").await, vec![signature.clone()]);
    let report = run_lifecycle(&server).await;
    assert_eq!(report["referrers_removed"], serde_json::json!([signature]));
}

async fn push_untagged(server: &TestServer, basic: &str, repo: &str, seed: &str) -> String {
    let manifest = common::image_manifest(
        server,
        basic,
        repo,
        seed.as_bytes(),
        &[format!("layer {seed}").as_bytes()],
    )
    .await
    .to_string();
    let digest = ecrd::core::names::Digest::of(manifest.as_bytes()).to_string();
    assert_eq!(
        put_manifest(
            server,
            basic,
            repo,
            &digest,
            OCI_MANIFEST,
            manifest.as_bytes()
        )
        .await
        .status(),
        201
    );
    digest
}

/// A random policy of 1–3 rules, valid by construction.
fn random_policy(rng: &mut impl Rng) -> String {
    let prefixes = ["v", "dev", "release", "a"];
    let mut rules = Vec::new();
    let n = rng.random_range(1..=3);
    let mut used_untagged = false;
    for priority in 1..=n {
        let last = priority == n;
        let status = match rng.random_range(0..3) {
            0 if !used_untagged => {
                used_untagged = true;
                "untagged"
            }
            1 if last => "any",
            _ => "tagged",
        };
        let mut selection = serde_json::json!({"tagStatus": status});
        if status == "tagged" {
            selection["tagPrefixList"] =
                serde_json::json!([prefixes[(priority as usize - 1) % prefixes.len()]]);
        }
        if rng.random_bool(0.5) {
            selection["countType"] = "imageCountMoreThan".into();
            selection["countNumber"] = rng.random_range(1..4).into();
        } else {
            selection["countType"] = "sinceImagePushed".into();
            selection["countUnit"] = "days".into();
            selection["countNumber"] = rng.random_range(1..10).into();
        }
        rules.push(serde_json::json!({
            "rulePriority": priority, "description": "random rule for the preview property",
            "selection": selection, "action": {"type": "expire"}
        }));
    }
    policy(&rules)
}

#[tokio::test]
async fn preview_equals_execution_on_random_policies() {
    let server = TestServer::start().await;
    let mut basic = server.basic().await;
    let ecr = server.ecr();
    let mut rng = rand::rngs::StdRng::seed_from_u64(0xec7d);
    let tags = ["v1", "v2", "dev-1", "dev-2", "release-1", "a1", "latest"];
    for round in 0..12 {
        let repo = format!("prop-{round}");
        server.create_repository(&repo).await;
        let images = rng.random_range(3..9);
        for i in 0..images {
            let seed = format!("{round}-{i}");
            if rng.random_bool(0.7) {
                // Tags repeat across images, so some move from an older image to a newer one.
                push_image(
                    &server,
                    &basic,
                    &repo,
                    tags[rng.random_range(0..tags.len())],
                    &seed,
                )
                .await;
            } else {
                push_untagged(&server, &basic, &repo, &seed).await;
            }
            advance_days(&server, rng.random_range(0..3)).await;
            basic = server.basic().await;
        }
        let text = random_policy(&mut rng);
        ecr.start_lifecycle_policy_preview()
            .repository_name(&repo)
            .lifecycle_policy_text(&text)
            .send()
            .await
            .unwrap();
        let preview = ecr
            .get_lifecycle_policy_preview()
            .repository_name(&repo)
            .send()
            .await
            .unwrap();
        let mut predicted: Vec<String> = preview
            .preview_results()
            .iter()
            .map(|r| r.image_digest().unwrap().to_owned())
            .collect();
        predicted.sort();
        ecr.put_lifecycle_policy()
            .repository_name(&repo)
            .lifecycle_policy_text(&text)
            .send()
            .await
            .unwrap();
        let before = digests(&server, &repo).await;
        let response = server
            .http()
            .post(format!(
                "{}/_ecrd/lifecycle/run?repository={repo}",
                server.url
            ))
            .send()
            .await
            .unwrap();
        let report: serde_json::Value = response.json().await.unwrap();
        let mut expired: Vec<String> = report["expired"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        expired.sort();
        assert_eq!(predicted, expired, "round {round}: policy {text}");
        let after = digests(&server, &repo).await;
        assert_eq!(before.len() - after.len(), expired.len());
    }
}

#[tokio::test]
async fn the_scheduler_applies_policies_by_itself() {
    let server = TestServer::start_with(|c| {
        c.lifecycle_interval = Some(std::time::Duration::from_millis(100))
    })
    .await;
    server.create_repository("auto").await;
    let basic = server.basic().await;
    let ecr = server.ecr();
    ecr.put_lifecycle_policy()
        .repository_name("auto")
        .lifecycle_policy_text(any_older_than(14))
        .send()
        .await
        .unwrap();
    push_image(&server, &basic, "auto", "v1", "auto").await;
    advance_days(&server, 15).await;
    for _ in 0..50 {
        if digests(&server, "auto").await.is_empty() {
            let policy = ecr
                .get_lifecycle_policy()
                .repository_name("auto")
                .send()
                .await
                .unwrap();
            assert!(policy.last_evaluated_at().is_some());
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the scheduler never expired the image");
}

#[tokio::test]
async fn the_cli_runs_lifecycle_on_a_stopped_data_dir() {
    let server = TestServer::start_with(|c| c.durable = true).await;
    server.create_repository("offline").await;
    let basic = server.basic().await;
    server
        .ecr()
        .put_lifecycle_policy()
        .repository_name("offline")
        .lifecycle_policy_text(any_older_than(14))
        .send()
        .await
        .unwrap();
    let digest = push_image(&server, &basic, "offline", "v1", "offline").await;
    let dir = server.stop().await;

    let ecrd = env!("CARGO_BIN_EXE_ecrd");
    let data_dir = dir.path().to_str().unwrap();
    let not_yet = std::process::Command::new(ecrd)
        .args(["lifecycle", "run", "--data-dir", data_dir])
        .output()
        .unwrap();
    assert!(
        not_yet.status.success(),
        "{}",
        String::from_utf8_lossy(&not_yet.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&not_yet.stdout).unwrap();
    assert_eq!(report["expired"], serde_json::json!([]));

    let later = std::process::Command::new(ecrd)
        .args([
            "lifecycle",
            "run",
            "--data-dir",
            data_dir,
            "--repository",
            "offline",
            "--clock-offset",
            "15d",
        ])
        .output()
        .unwrap();
    assert!(
        later.status.success(),
        "{}",
        String::from_utf8_lossy(&later.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&later.stdout).unwrap();
    assert_eq!(report["expired"], serde_json::json!([digest]));
}
