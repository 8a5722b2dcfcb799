//! Scanning through aws-sdk-ecr: StartImageScan and DescribeImageScanFindings (basic scans that
//! complete at once with no findings), the quota, what cannot be scanned, scan on push, the
//! registry's scanning configuration and how it applies to repositories.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    ImageIdentifier, ImageScanningConfiguration, RegistryScanningRule, ScanFrequency, ScanStatus,
    ScanType, ScanningConfigurationFailureCode, ScanningRepositoryFilter,
    ScanningRepositoryFilterType, TargetStorageClass,
};
use common::{call, push_blob, push_image, put_manifest, TestServer, T0};
use serde_json::json;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const DAY_MS: i64 = 24 * 3600 * 1000;

fn by_tag(tag: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_tag(tag).build()
}

fn by_digest(digest: &str) -> ImageIdentifier {
    ImageIdentifier::builder().image_digest(digest).build()
}

fn millis(t: &aws_sdk_ecr::primitives::DateTime) -> i64 {
    t.to_millis().unwrap()
}

async fn start_scan(
    server: &TestServer,
    repo: &str,
    id: ImageIdentifier,
) -> Result<(), (String, String)> {
    server
        .ecr()
        .start_image_scan()
        .repository_name(repo)
        .image_id(id)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            (
                e.code().unwrap_or_default().to_owned(),
                e.message().unwrap_or_default().to_owned(),
            )
        })
}

/// The code of DescribeImageScanFindings' error, or "" when it succeeds.
async fn findings_error(server: &TestServer, repo: &str, id: ImageIdentifier) -> String {
    match server
        .ecr()
        .describe_image_scan_findings()
        .repository_name(repo)
        .image_id(id)
        .send()
        .await
    {
        Ok(_) => String::new(),
        Err(e) => e.code().unwrap_or_default().to_owned(),
    }
}

fn rule(frequency: ScanFrequency, filters: &[&str]) -> RegistryScanningRule {
    RegistryScanningRule::builder()
        .scan_frequency(frequency)
        .set_repository_filters(Some(
            filters
                .iter()
                .map(|f| {
                    ScanningRepositoryFilter::builder()
                        .filter(*f)
                        .filter_type(ScanningRepositoryFilterType::Wildcard)
                        .build()
                        .unwrap()
                })
                .collect(),
        ))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_scan_completes_at_once_with_no_findings() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "v1", "one").await;
    server.state.registry.clock().set(T0);
    let ecr = server.ecr();

    // No scan yet: DescribeImages says nothing about scans, DescribeImageScanFindings refuses.
    let detail = ecr
        .describe_images()
        .repository_name("app")
        .send()
        .await
        .unwrap()
        .image_details()[0]
        .clone();
    assert!(detail.image_scan_status().is_none());
    assert!(detail.image_scan_findings_summary().is_none());
    let err = ecr
        .describe_image_scan_findings()
        .repository_name("app")
        .image_id(by_tag("v1"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ScanNotFoundException"));
    assert_eq!(
        err.message(),
        Some("Image scan does not exist for the image with '{imageDigest:null, imageTag:'v1'}' in the repository with name 'app' in the registry with id '000000000000'")
    );

    let started = ecr
        .start_image_scan()
        .repository_name("app")
        .image_id(by_tag("v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(started.registry_id(), Some("000000000000"));
    assert_eq!(started.repository_name(), Some("app"));
    assert_eq!(
        started.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    assert_eq!(started.image_id().unwrap().image_tag(), Some("v1"));
    assert_eq!(
        started.image_scan_status().unwrap().status(),
        Some(&ScanStatus::InProgress)
    );

    let found = ecr
        .describe_image_scan_findings()
        .repository_name("app")
        .image_id(by_digest(&digest))
        .send()
        .await
        .unwrap();
    assert_eq!(found.registry_id(), Some("000000000000"));
    assert_eq!(found.repository_name(), Some("app"));
    assert_eq!(
        found.image_id().unwrap().image_digest(),
        Some(digest.as_str())
    );
    let status = found.image_scan_status().unwrap();
    assert_eq!(status.status(), Some(&ScanStatus::Complete));
    assert_eq!(
        status.description(),
        Some("The scan was completed successfully.")
    );
    let findings = found.image_scan_findings().unwrap();
    assert!((millis(findings.image_scan_completed_at().unwrap()) - T0).abs() < 5_000);
    assert!(findings.vulnerability_source_updated_at().is_some());
    assert!(findings.finding_severity_counts().unwrap().is_empty());
    assert!(findings.findings().is_empty());
    assert!(found.next_token().is_none());

    // The wire form.
    let (status, body) = call(
        &server,
        "DescribeImageScanFindings",
        json!({"repositoryName": "app", "imageId": {"imageTag": "v1"}, "maxResults": 1}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body["imageScanStatus"],
        json!({"status": "COMPLETE", "description": "The scan was completed successfully."})
    );
    assert_eq!(body["imageScanFindings"]["findings"], json!([]));
    assert_eq!(
        body["imageScanFindings"]["findingSeverityCounts"],
        json!({})
    );
    assert!(body.get("nextToken").is_none());
    let (status, body) = call(
        &server,
        "DescribeImageScanFindings",
        json!({"repositoryName": "app", "imageId": {"imageTag": "v1"}, "nextToken": "garbage"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");

    // DescribeImages now shows the scan.
    let detail = ecr
        .describe_images()
        .repository_name("app")
        .image_ids(by_tag("v1"))
        .send()
        .await
        .unwrap()
        .image_details()[0]
        .clone();
    let status = detail.image_scan_status().unwrap();
    assert_eq!(status.status(), Some(&ScanStatus::Complete));
    assert_eq!(
        status.description(),
        Some("The scan was completed successfully.")
    );
    let summary = detail.image_scan_findings_summary().unwrap();
    assert!((millis(summary.image_scan_completed_at().unwrap()) - T0).abs() < 5_000);
    assert!(summary.vulnerability_source_updated_at().is_some());
    assert!(summary.finding_severity_counts().unwrap().is_empty());
}

#[tokio::test]
async fn one_scan_per_image_per_day() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "v1", "one").await;
    push_image(&server, &basic, "app", "v2", "two").await;
    let clock = server.state.registry.clock().clone();
    clock.set(T0);

    start_scan(&server, "app", by_tag("v1")).await.unwrap();
    clock.set(T0 + DAY_MS - 60_000);
    let err = start_scan(&server, "app", by_digest(&digest))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        (
            "LimitExceededException".to_owned(),
            "The scan quota per image has been exceeded. Wait and try again.".to_owned()
        )
    );
    // The refused scan changed nothing: the first scan's time stands.
    let found = server
        .ecr()
        .describe_image_scan_findings()
        .repository_name("app")
        .image_id(by_tag("v1"))
        .send()
        .await
        .unwrap();
    let completed = millis(
        found
            .image_scan_findings()
            .unwrap()
            .image_scan_completed_at()
            .unwrap(),
    );
    assert!((completed - T0).abs() < 5_000);
    // Another image has its own quota.
    start_scan(&server, "app", by_tag("v2")).await.unwrap();

    // A day later the image may be scanned again.
    clock.set(T0 + DAY_MS + 60_000);
    start_scan(&server, "app", by_tag("v1")).await.unwrap();
    let found = server
        .ecr()
        .describe_image_scan_findings()
        .repository_name("app")
        .image_id(by_tag("v1"))
        .send()
        .await
        .unwrap();
    let completed = millis(
        found
            .image_scan_findings()
            .unwrap()
            .image_scan_completed_at()
            .unwrap(),
    );
    assert!((completed - (T0 + DAY_MS + 60_000)).abs() < 5_000);
}

#[tokio::test]
async fn only_active_container_images_can_be_scanned() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let image = push_image(&server, &basic, "app", "v1", "one").await;

    // An index.
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": image, "size": 100}]})
    .to_string();
    assert_eq!(
        put_manifest(&server, &basic, "app", "multi", OCI_INDEX, index.as_bytes())
            .await
            .status(),
        201
    );
    let err = start_scan(&server, "app", by_tag("multi"))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        (
            "UnsupportedImageTypeException".to_owned(),
            "An artifact with media type 'application/vnd.oci.image.index.v1+json' cannot be scanned. For more information, see the Amazon ECR documentation.".to_owned()
        )
    );
    assert_eq!(
        findings_error(&server, "app", by_tag("multi")).await,
        "ScanNotFoundException"
    );

    // A Helm chart: an image manifest, but no container image.
    let config = push_blob(
        &server,
        &basic,
        "app",
        br#"{"name":"chart","version":"1.0.0"}"#,
    )
    .await;
    let layer = push_blob(&server, &basic, "app", b"chart bytes").await;
    let chart = json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.cncf.helm.config.v1+json", "digest": config, "size": 34},
        "layers": [{"mediaType": "application/vnd.cncf.helm.chart.content.v1.tar+gzip", "digest": layer, "size": 11}]})
    .to_string();
    assert_eq!(
        put_manifest(
            &server,
            &basic,
            "app",
            "chart",
            OCI_MANIFEST,
            chart.as_bytes()
        )
        .await
        .status(),
        201
    );
    let err = start_scan(&server, "app", by_tag("chart"))
        .await
        .unwrap_err();
    assert_eq!(err.0, "UnsupportedImageTypeException");
    assert_eq!(
        err.1,
        "An artifact with media type 'application/vnd.cncf.helm.config.v1+json' cannot be scanned. For more information, see the Amazon ECR documentation."
    );

    // An archived image.
    server
        .ecr()
        .update_image_storage_class()
        .repository_name("app")
        .image_id(by_tag("multi"))
        .target_storage_class(TargetStorageClass::Archive)
        .send()
        .await
        .unwrap();
    server
        .ecr()
        .update_image_storage_class()
        .repository_name("app")
        .image_id(by_tag("v1"))
        .target_storage_class(TargetStorageClass::Archive)
        .send()
        .await
        .unwrap();
    let err = start_scan(&server, "app", by_tag("v1")).await.unwrap_err();
    assert_eq!(err.0, "ImageArchivedException");
    assert_eq!(
        err.1,
        "The image with imageId {imageDigest:null, imageTag:'v1'} in the repository with name 'app' in the registry with id '000000000000' is archived and cannot be scanned. Restore the image and try again."
    );
    assert_eq!(
        findings_error(&server, "app", by_tag("v1")).await,
        "ScanNotFoundException"
    );

    // Missing images and repositories.
    let err = start_scan(&server, "app", by_tag("v9")).await.unwrap_err();
    assert_eq!(
        err,
        (
            "ImageNotFoundException".to_owned(),
            "The image with imageId {imageDigest:null, imageTag:'v9'} does not exist within the repository with name 'app' in the registry with id '000000000000'".to_owned()
        )
    );
    assert_eq!(
        findings_error(&server, "app", by_tag("v9")).await,
        "ImageNotFoundException"
    );
    let err = start_scan(&server, "nope", by_tag("v1")).await.unwrap_err();
    assert_eq!(
        err,
        (
            "RepositoryNotFoundException".to_owned(),
            "The repository with name 'nope' does not exist in the registry with id '000000000000'"
                .to_owned()
        )
    );
    assert_eq!(
        findings_error(&server, "nope", by_tag("v1")).await,
        "RepositoryNotFoundException"
    );
}

#[tokio::test]
async fn scan_on_push_scans_new_images_and_counts_against_the_quota() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.create_repository()
        .repository_name("scanned")
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    // Set before the registry token is made, which would expire by the jump.
    server.state.registry.clock().set(T0);
    let basic = server.basic().await;
    push_image(&server, &basic, "scanned", "v1", "one").await;

    let found = ecr
        .describe_image_scan_findings()
        .repository_name("scanned")
        .image_id(by_tag("v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        found.image_scan_status().unwrap().status(),
        Some(&ScanStatus::Complete)
    );
    let completed = millis(
        found
            .image_scan_findings()
            .unwrap()
            .image_scan_completed_at()
            .unwrap(),
    );
    assert!((completed - T0).abs() < 5_000);
    let err = start_scan(&server, "scanned", by_tag("v1"))
        .await
        .unwrap_err();
    assert_eq!(err.0, "LimitExceededException");

    // An index pushed there is not scanned.
    let digest = push_image(&server, &basic, "scanned", "v2", "two").await;
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest, "size": 100}]})
    .to_string();
    put_manifest(
        &server,
        &basic,
        "scanned",
        "multi",
        OCI_INDEX,
        index.as_bytes(),
    )
    .await;
    assert_eq!(
        findings_error(&server, "scanned", by_tag("multi")).await,
        "ScanNotFoundException"
    );

    // Turned off, pushes are not scanned.
    ecr.put_image_scanning_configuration()
        .repository_name("scanned")
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(false)
                .build(),
        )
        .send()
        .await
        .unwrap();
    push_image(&server, &basic, "scanned", "v3", "three").await;
    assert_eq!(
        findings_error(&server, "scanned", by_tag("v3")).await,
        "ScanNotFoundException"
    );
}

#[tokio::test]
async fn a_restored_image_loses_its_scan_and_is_scanned_again_on_push_repositories() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    server.create_repository("manual").await;
    ecr.create_repository()
        .repository_name("onpush")
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let clock = server.state.registry.clock().clone();
    clock.set(T0);
    let basic = server.basic().await;
    push_image(&server, &basic, "manual", "v1", "one").await;
    push_image(&server, &basic, "onpush", "v1", "one").await;
    start_scan(&server, "manual", by_tag("v1")).await.unwrap();

    clock.set(T0 + 3_600_000);
    for repo in ["manual", "onpush"] {
        for target in [TargetStorageClass::Archive, TargetStorageClass::Standard] {
            ecr.update_image_storage_class()
                .repository_name(repo)
                .image_id(by_tag("v1"))
                .target_storage_class(target)
                .send()
                .await
                .unwrap();
        }
    }
    assert_eq!(
        findings_error(&server, "manual", by_tag("v1")).await,
        "ScanNotFoundException"
    );
    let found = ecr
        .describe_image_scan_findings()
        .repository_name("onpush")
        .image_id(by_tag("v1"))
        .send()
        .await
        .unwrap();
    let completed = millis(
        found
            .image_scan_findings()
            .unwrap()
            .image_scan_completed_at()
            .unwrap(),
    );
    assert!((completed - (T0 + 3_600_000)).abs() < 5_000);
}

#[tokio::test]
async fn the_registry_scanning_configuration_defaults_and_is_replaced() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let (status, body) = call(&server, "GetRegistryScanningConfiguration", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"registryId": "000000000000", "scanningConfiguration": {"scanType": "BASIC", "rules": []}})
    );

    let put = ecr
        .put_registry_scanning_configuration()
        .scan_type(ScanType::Basic)
        .rules(rule(ScanFrequency::ScanOnPush, &["prod-*", "*-api"]))
        .send()
        .await
        .unwrap();
    let config = put.registry_scanning_configuration().unwrap();
    assert_eq!(config.scan_type(), Some(&ScanType::Basic));
    assert_eq!(config.rules().len(), 1);
    assert_eq!(
        config.rules()[0].scan_frequency(),
        &ScanFrequency::ScanOnPush
    );
    let filters: Vec<_> = config.rules()[0]
        .repository_filters()
        .iter()
        .map(|f| f.filter())
        .collect();
    assert_eq!(filters, ["prod-*", "*-api"]);
    let got = ecr
        .get_registry_scanning_configuration()
        .send()
        .await
        .unwrap();
    assert_eq!(got.registry_id(), Some("000000000000"));
    assert_eq!(got.scanning_configuration(), Some(config));

    // Per registry.
    let other = server.ecr_as("123456789012", "us-east-1");
    let theirs = other
        .get_registry_scanning_configuration()
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.registry_id(), Some("123456789012"));
    assert!(theirs.scanning_configuration().unwrap().rules().is_empty());

    // Refused combinations change nothing.
    for (scan_type, frequency) in [
        (ScanType::Basic, ScanFrequency::ContinuousScan),
        (ScanType::Basic, ScanFrequency::Manual),
        (ScanType::Enhanced, ScanFrequency::Manual),
    ] {
        let err = ecr
            .put_registry_scanning_configuration()
            .scan_type(scan_type.clone())
            .rules(rule(frequency.clone(), &["*"]))
            .send()
            .await
            .unwrap_err();
        assert_eq!(
            err.code(),
            Some("ValidationException"),
            "{scan_type} {frequency}"
        );
    }
    let err = ecr
        .put_registry_scanning_configuration()
        .rules(rule(ScanFrequency::ContinuousScan, &["*"]))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some("Scan frequency CONTINUOUS_SCAN is not supported for scan type BASIC. Supported scan frequencies: SCAN_ON_PUSH")
    );
    let (status, body) = call(
        &server,
        "PutRegistryScanningConfiguration",
        json!({"scanType": "BASIC", "rules": [
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "a", "filterType": "WILDCARD"}]},
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "b", "filterType": "WILDCARD"}]},
            {"scanFrequency": "SCAN_ON_PUSH", "repositoryFilters": [{"filter": "c", "filterType": "WILDCARD"}]}]}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
    assert_eq!(
        ecr.get_registry_scanning_configuration()
            .send()
            .await
            .unwrap()
            .scanning_configuration(),
        Some(config)
    );

    // ENHANCED: stored, and manual scans are refused.
    ecr.put_registry_scanning_configuration()
        .scan_type(ScanType::Enhanced)
        .rules(rule(ScanFrequency::ContinuousScan, &["*"]))
        .send()
        .await
        .unwrap();
    server.create_repository("app").await;
    let basic = server.basic().await;
    push_image(&server, &basic, "app", "v1", "one").await;
    let err = start_scan(&server, "app", by_tag("v1")).await.unwrap_err();
    assert_eq!(err.0, "ValidationException");
    assert_eq!(
        findings_error(&server, "app", by_tag("v1")).await,
        "ScanNotFoundException"
    );

    // Without a scan type, BASIC; without rules, none.
    let put = ecr
        .put_registry_scanning_configuration()
        .send()
        .await
        .unwrap();
    let config = put.registry_scanning_configuration().unwrap();
    assert_eq!(config.scan_type(), Some(&ScanType::Basic));
    assert!(config.rules().is_empty());
}

#[tokio::test]
async fn repositories_are_scanned_by_the_first_matching_rule_or_their_own_flag() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for name in ["prod-web", "team-api", "dev"] {
        server.create_repository(name).await;
    }
    ecr.create_repository()
        .repository_name("flagged")
        .image_scanning_configuration(
            ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecr.put_registry_scanning_configuration()
        .scan_type(ScanType::Basic)
        .rules(rule(
            ScanFrequency::ScanOnPush,
            &["prod-*", "*-api", "*-web"],
        ))
        .send()
        .await
        .unwrap();

    let out = ecr
        .batch_get_repository_scanning_configuration()
        .repository_names("prod-web")
        .repository_names("team-api")
        .repository_names("dev")
        .repository_names("flagged")
        .repository_names("missing")
        .send()
        .await
        .unwrap();
    let configs = out.scanning_configurations();
    assert_eq!(configs.len(), 4);
    let view: Vec<_> = configs
        .iter()
        .map(|c| {
            (
                c.repository_name().unwrap(),
                c.scan_on_push(),
                c.scan_frequency().unwrap().as_str(),
                c.applied_scan_filters()
                    .iter()
                    .map(|f| f.filter())
                    .collect::<Vec<_>>(),
            )
        })
        .collect();
    assert_eq!(
        view,
        [
            ("prod-web", false, "SCAN_ON_PUSH", vec!["prod-*", "*-web"]),
            ("team-api", false, "SCAN_ON_PUSH", vec!["*-api"]),
            ("dev", false, "MANUAL", vec![]),
            ("flagged", true, "SCAN_ON_PUSH", vec![]),
        ]
    );
    assert_eq!(
        configs[0].repository_arn(),
        Some("arn:aws:ecr:us-east-1:000000000000:repository/prod-web")
    );
    let failures = out.failures();
    assert_eq!(failures.len(), 1);
    assert_eq!(failures[0].repository_name(), Some("missing"));
    assert_eq!(
        failures[0].failure_code(),
        Some(&ScanningConfigurationFailureCode::RepositoryNotFound)
    );
    assert_eq!(
        failures[0].failure_reason(),
        Some("The repository with name 'missing' does not exist in the registry with id '000000000000'")
    );

    // A registry rule scans pushes as the repository flag does.
    let basic = server.basic().await;
    push_image(&server, &basic, "team-api", "v1", "one").await;
    push_image(&server, &basic, "dev", "v1", "one").await;
    assert_eq!(findings_error(&server, "team-api", by_tag("v1")).await, "");
    assert_eq!(
        findings_error(&server, "dev", by_tag("v1")).await,
        "ScanNotFoundException"
    );

    // Over the model's 25 names: the model's constraint.
    let err = ecr
        .batch_get_repository_scanning_configuration()
        .set_repository_names(Some((0..26).map(|i| format!("repo{i}")).collect()))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
}
