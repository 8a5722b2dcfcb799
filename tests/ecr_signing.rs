//! Managed signing through aws-sdk-ecr: Put/Get/DeleteSigningConfiguration and
//! DescribeImageSigningStatus. ecrd signs nothing, so every matching profile reports FAILED.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    ImageIdentifier, SigningConfiguration, SigningRepositoryFilter, SigningRepositoryFilterType,
    SigningRule, SigningStatus,
};
use common::{call, push_image, TestServer};
use serde_json::json;

const PROFILE_A: &str = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_a";
const PROFILE_B: &str = "arn:aws:signer:us-east-1:000000000000:/signing-profiles/team_b";

fn rule(profile: &str, filters: &[&str]) -> SigningRule {
    SigningRule::builder()
        .signing_profile_arn(profile)
        .set_repository_filters((!filters.is_empty()).then(|| {
            filters
                .iter()
                .map(|f| {
                    SigningRepositoryFilter::builder()
                        .filter(*f)
                        .filter_type(SigningRepositoryFilterType::WildcardMatch)
                        .build()
                        .unwrap()
                })
                .collect()
        }))
        .build()
        .unwrap()
}

fn configuration(rules: Vec<SigningRule>) -> SigningConfiguration {
    SigningConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .unwrap()
}

#[tokio::test]
async fn signing_configurations_are_put_got_replaced_and_deleted() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let not_found = "Signing configuration does not exist in the registry with id '000000000000'";
    let err = ecr.get_signing_configuration().send().await.unwrap_err();
    assert_eq!(err.code(), Some("SigningConfigurationNotFoundException"));
    assert_eq!(err.message(), Some(not_found));
    let err = ecr.delete_signing_configuration().send().await.unwrap_err();
    assert_eq!(err.code(), Some("SigningConfigurationNotFoundException"));

    let config = configuration(vec![
        rule(PROFILE_A, &["prod/*", "*-release"]),
        rule(PROFILE_B, &[]),
    ]);
    let put = ecr
        .put_signing_configuration()
        .signing_configuration(config.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.signing_configuration(), Some(&config));
    let got = ecr.get_signing_configuration().send().await.unwrap();
    assert_eq!(got.registry_id(), Some("000000000000"));
    assert_eq!(got.signing_configuration(), Some(&config));
    // The wire form: filters only where given.
    let (status, body) = call(&server, "GetSigningConfiguration", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"registryId": "000000000000", "signingConfiguration": {"rules": [
            {"signingProfileArn": PROFILE_A, "repositoryFilters": [
                {"filter": "prod/*", "filterType": "WILDCARD_MATCH"},
                {"filter": "*-release", "filterType": "WILDCARD_MATCH"}]},
            {"signingProfileArn": PROFILE_B}
        ]}})
    );

    // Per registry.
    let err = server
        .ecr_as("123456789012", "us-east-1")
        .get_signing_configuration()
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SigningConfigurationNotFoundException"));

    // Put replaces.
    let replacement = configuration(vec![rule(PROFILE_B, &["app"])]);
    ecr.put_signing_configuration()
        .signing_configuration(replacement.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(
        ecr.get_signing_configuration()
            .send()
            .await
            .unwrap()
            .signing_configuration(),
        Some(&replacement)
    );

    // Delete answers what it removed.
    let deleted = ecr.delete_signing_configuration().send().await.unwrap();
    assert_eq!(deleted.registry_id(), Some("000000000000"));
    assert_eq!(deleted.signing_configuration(), Some(&replacement));
    let err = ecr.get_signing_configuration().send().await.unwrap_err();
    assert_eq!(err.code(), Some("SigningConfigurationNotFoundException"));
}

#[tokio::test]
async fn invalid_signing_configurations_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let kept = configuration(vec![rule(PROFILE_A, &[])]);
    ecr.put_signing_configuration()
        .signing_configuration(kept.clone())
        .send()
        .await
        .unwrap();

    let cases = [
        (
            configuration((0..11).map(|_| rule(PROFILE_A, &[])).collect()),
            "Invalid parameter at 'rules' failed to satisfy constraint: 'Member must have length less than or equal to 10'",
        ),
        (
            configuration(vec![rule(
                "arn:aws:signer:us-east-1:000000000000:signing-profile/x",
                &[],
            )]),
            r"Invalid parameter at 'signingProfileArn' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)*:signer:[a-z0-9-]+:[0-9]{12}:\/signing-profiles\/[a-zA-Z0-9_]{2,}$'",
        ),
        (
            configuration(vec![rule(PROFILE_A, &["Prod/App"])]),
            "Invalid parameter at 'filter' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^(?:[a-z0-9*]+(?:[._-][a-z0-9*]+)*/)*[a-z0-9*]+(?:[._-][a-z0-9*]+)*$'",
        ),
        (
            configuration(vec![SigningRule::builder()
                .signing_profile_arn(PROFILE_A)
                .set_repository_filters(Some(Vec::new()))
                .build()
                .unwrap()]),
            "Invalid parameter at 'repositoryFilters' failed to satisfy constraint: 'Member must have length greater than or equal to 1'",
        ),
    ];
    for (config, message) in cases {
        let err = ecr
            .put_signing_configuration()
            .signing_configuration(config)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{message}");
        assert_eq!(err.message(), Some(message));
        assert_eq!(
            ecr.get_signing_configuration()
                .send()
                .await
                .unwrap()
                .signing_configuration(),
            Some(&kept)
        );
    }

    // A filter of another type, over the raw protocol (the SDK cannot send one).
    let (status, body) = call(
        &server,
        "PutSigningConfiguration",
        json!({"signingConfiguration": {"rules": [{"signingProfileArn": PROFILE_B,
            "repositoryFilters": [{"filter": "app", "filterType": "PREFIX_MATCH"}]}]}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
    let (status, body) = call(&server, "PutSigningConfiguration", json!({})).await;
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Invalid parameter at 'signingConfiguration' failed to satisfy constraint: 'Member must not be null'"
    );
    assert_eq!(
        ecr.get_signing_configuration()
            .send()
            .await
            .unwrap()
            .signing_configuration(),
        Some(&kept)
    );
}

#[tokio::test]
async fn images_report_one_failed_status_per_matching_signing_profile() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let basic = server.basic().await;
    for repo in ["prod/app", "dev/app"] {
        server.create_repository(repo).await;
    }
    let digest = push_image(&server, &basic, "prod/app", "v1", "prod").await;
    push_image(&server, &basic, "dev/app", "v1", "dev").await;
    let by_tag = ImageIdentifier::builder().image_tag("v1").build();
    let status = |repo: &'static str, id: ImageIdentifier| {
        ecr.describe_image_signing_status()
            .repository_name(repo)
            .image_id(id)
            .send()
    };

    // No configuration: nothing was meant to be signed.
    let out = status("prod/app", by_tag.clone()).await.unwrap();
    assert!(out.signing_statuses().is_empty());

    ecr.put_signing_configuration()
        .signing_configuration(configuration(vec![
            rule(PROFILE_A, &["prod/*"]),
            rule(PROFILE_B, &["prod/app", "staging/*"]),
            rule(PROFILE_A, &["*"]),
        ]))
        .send()
        .await
        .unwrap();
    let out = status("prod/app", by_tag.clone()).await.unwrap();
    assert_eq!(out.repository_name(), Some("prod/app"));
    assert_eq!(out.registry_id(), Some("000000000000"));
    assert_eq!(
        out.image_id(),
        Some(
            &ImageIdentifier::builder()
                .image_digest(&digest)
                .image_tag("v1")
                .build()
        )
    );
    let statuses = out.signing_statuses();
    let profiles: Vec<&str> = statuses
        .iter()
        .map(|s| s.signing_profile_arn().unwrap())
        .collect();
    assert_eq!(profiles, [PROFILE_A, PROFILE_B]);
    for s in statuses {
        assert_eq!(s.status(), Some(&SigningStatus::Failed));
        assert_eq!(s.failure_code(), Some("SigningUnavailable"));
        assert!(s.failure_reason().unwrap().contains("does not sign"));
    }
    // dev/app matches only the catch-all rule.
    let out = status(
        "dev/app",
        ImageIdentifier::builder().image_digest(&digest).build(),
    )
    .await;
    // That digest is prod/app's image, not dev/app's.
    let err = out.unwrap_err();
    assert_eq!(err.code(), Some("ImageNotFoundException"));
    let out = status("dev/app", by_tag.clone()).await.unwrap();
    assert_eq!(out.signing_statuses().len(), 1);
    assert_eq!(
        out.signing_statuses()[0].signing_profile_arn(),
        Some(PROFILE_A)
    );

    // Errors of the image lookup.
    let err = status(
        "prod/app",
        ImageIdentifier::builder().image_tag("v2").build(),
    )
    .await
    .unwrap_err();
    assert_eq!(err.code(), Some("ImageNotFoundException"));
    assert_eq!(
        err.message(),
        Some("The image with imageId {imageDigest:null, imageTag:'v2'} does not exist within the repository with name 'prod/app' in the registry with id '000000000000'")
    );
    let err = status("nope", by_tag.clone()).await.unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    let (code, body) = call(
        &server,
        "DescribeImageSigningStatus",
        json!({"repositoryName": "prod/app"}),
    )
    .await;
    assert_eq!(code, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
}
