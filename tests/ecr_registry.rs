//! Registry-level settings through aws-sdk-ecr: DescribeRegistry and PutReplicationConfiguration,
//! Get/PutAccountSetting, and DescribeImageReplicationStatus.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    ImageIdentifier, ReplicationConfiguration, ReplicationDestination, ReplicationRule,
    RepositoryFilter, RepositoryFilterType,
};
use common::{call, push_image, TestServer};
use serde_json::json;

fn destination(region: &str, account: &str) -> ReplicationDestination {
    ReplicationDestination::builder()
        .region(region)
        .registry_id(account)
        .build()
        .unwrap()
}

fn rule(destinations: Vec<ReplicationDestination>, prefixes: &[&str]) -> ReplicationRule {
    ReplicationRule::builder()
        .set_destinations(Some(destinations))
        .set_repository_filters((!prefixes.is_empty()).then(|| {
            prefixes
                .iter()
                .map(|p| {
                    RepositoryFilter::builder()
                        .filter(*p)
                        .filter_type(RepositoryFilterType::PrefixMatch)
                        .build()
                        .unwrap()
                })
                .collect()
        }))
        .build()
        .unwrap()
}

fn configuration(rules: Vec<ReplicationRule>) -> ReplicationConfiguration {
    ReplicationConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_new_registry_has_no_replication_rules() {
    let server = TestServer::start().await;
    let (status, body) = call(&server, "DescribeRegistry", json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"registryId": "000000000000", "replicationConfiguration": {"rules": []}})
    );
    let out = server
        .ecr_as("123456789012", "eu-west-1")
        .describe_registry()
        .send()
        .await
        .unwrap();
    assert_eq!(out.registry_id(), Some("123456789012"));
    assert!(out.replication_configuration().unwrap().rules().is_empty());
}

#[tokio::test]
async fn replication_configurations_are_stored_echoed_and_replaced() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let config = configuration(vec![
        rule(
            vec![
                destination("eu-west-1", "000000000000"),
                destination("us-east-1", "111111111111"),
            ],
            &["prod", "team/app"],
        ),
        rule(vec![destination("ap-south-1", "222222222222")], &[]),
    ]);
    let put = ecr
        .put_replication_configuration()
        .replication_configuration(config.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(put.replication_configuration(), Some(&config));
    let described = ecr.describe_registry().send().await.unwrap();
    assert_eq!(described.registry_id(), Some("000000000000"));
    assert_eq!(described.replication_configuration(), Some(&config));

    // The wire form: filters only where given.
    let (_, body) = call(&server, "DescribeRegistry", json!({})).await;
    assert_eq!(
        body["replicationConfiguration"],
        json!({"rules": [
            {"destinations": [{"region": "eu-west-1", "registryId": "000000000000"},
                              {"region": "us-east-1", "registryId": "111111111111"}],
             "repositoryFilters": [{"filter": "prod", "filterType": "PREFIX_MATCH"},
                                   {"filter": "team/app", "filterType": "PREFIX_MATCH"}]},
            {"destinations": [{"region": "ap-south-1", "registryId": "222222222222"}]}
        ]})
    );

    // The configuration is per registry.
    let other = server.ecr_as("test", "eu-west-1");
    assert!(other
        .describe_registry()
        .send()
        .await
        .unwrap()
        .replication_configuration()
        .unwrap()
        .rules()
        .is_empty());

    // No rules turns replication off.
    let put = ecr
        .put_replication_configuration()
        .replication_configuration(configuration(vec![]))
        .send()
        .await
        .unwrap();
    assert!(put.replication_configuration().unwrap().rules().is_empty());
    assert!(ecr
        .describe_registry()
        .send()
        .await
        .unwrap()
        .replication_configuration()
        .unwrap()
        .rules()
        .is_empty());
}

#[tokio::test]
async fn invalid_replication_configurations_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let kept = configuration(vec![rule(
        vec![destination("eu-west-1", "111111111111")],
        &[],
    )]);
    ecr.put_replication_configuration()
        .replication_configuration(kept.clone())
        .send()
        .await
        .unwrap();

    let eleven_rules = configuration(
        (0..11)
            .map(|i| rule(vec![destination("eu-west-1", &format!("{i:012}"))], &[]))
            .collect(),
    );
    let twenty_six_destinations = configuration(vec![
        rule(
            (0..13)
                .map(|i| destination("eu-west-1", &format!("{i:012}")))
                .collect(),
            &[],
        ),
        rule(
            (13..26)
                .map(|i| destination("eu-west-1", &format!("{i:012}")))
                .collect(),
            &[],
        ),
    ]);
    let cases = [
        (
            eleven_rules,
            "Invalid parameter at 'rules' failed to satisfy constraint: 'Member must have length less than or equal to 10'",
        ),
        (
            twenty_six_destinations,
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Replication configuration cannot have more than 25 unique destinations'",
        ),
        (
            configuration(vec![rule(vec![destination("eu-west-1", "12345")], &[])]),
            "Invalid parameter at 'registryId' failed to satisfy constraint: 'Member must satisfy regular expression pattern: [0-9]{12}'",
        ),
        (
            configuration(vec![rule(vec![destination("us-east-1", "000000000000")], &[])]),
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: 'Replication destination cannot be the same as the source registry'",
        ),
    ];
    for (config, message) in cases {
        let err = ecr
            .put_replication_configuration()
            .replication_configuration(config)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{message}");
        assert_eq!(err.message(), Some(message));
        assert_eq!(
            ecr.describe_registry()
                .send()
                .await
                .unwrap()
                .replication_configuration(),
            Some(&kept)
        );
    }

    // 25 destinations, some named twice across rules, are fine.
    let twenty_five = configuration(vec![
        rule(
            (0..25)
                .map(|i| destination("eu-west-1", &format!("{i:012}")))
                .collect(),
            &[],
        ),
        rule(
            (0..5)
                .map(|i| destination("eu-west-1", &format!("{i:012}")))
                .collect(),
            &["prod"],
        ),
    ]);
    ecr.put_replication_configuration()
        .replication_configuration(twenty_five)
        .send()
        .await
        .unwrap();

    // A filter of another type, over the raw protocol (the SDK cannot send one).
    let (status, body) = call(
        &server,
        "PutReplicationConfiguration",
        json!({"replicationConfiguration": {"rules": [{
            "destinations": [{"region": "eu-west-1", "registryId": "111111111111"}],
            "repositoryFilters": [{"filter": "prod", "filterType": "SUFFIX_MATCH"}]}]}}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(body["__type"], "InvalidParameterException");
}

#[tokio::test]
async fn account_settings_have_defaults_and_take_their_values() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for (name, default) in [
        ("BASIC_SCAN_TYPE_VERSION", "AWS_NATIVE"),
        ("REGISTRY_POLICY_SCOPE", "V2"),
        ("BLOB_MOUNTING", "DISABLED"),
    ] {
        let out = ecr.get_account_setting().name(name).send().await.unwrap();
        assert_eq!(out.name(), Some(name));
        assert_eq!(out.value(), Some(default));
    }
    for (name, value) in [
        ("BASIC_SCAN_TYPE_VERSION", "CLAIR"),
        ("REGISTRY_POLICY_SCOPE", "V1"),
        ("BLOB_MOUNTING", "ENABLED"),
    ] {
        let out = ecr
            .put_account_setting()
            .name(name)
            .value(value)
            .send()
            .await
            .unwrap();
        assert_eq!(out.name(), Some(name));
        assert_eq!(out.value(), Some(value));
        let got = ecr.get_account_setting().name(name).send().await.unwrap();
        assert_eq!(got.value(), Some(value));
    }
    // Settings are per registry: another account still has the defaults.
    let other = server.ecr_as("123456789012", "us-east-1");
    let got = other
        .get_account_setting()
        .name("BLOB_MOUNTING")
        .send()
        .await
        .unwrap();
    assert_eq!(got.value(), Some("DISABLED"));

    // Back again.
    ecr.put_account_setting()
        .name("BLOB_MOUNTING")
        .value("DISABLED")
        .send()
        .await
        .unwrap();
    let got = ecr
        .get_account_setting()
        .name("BLOB_MOUNTING")
        .send()
        .await
        .unwrap();
    assert_eq!(got.value(), Some("DISABLED"));
}

#[tokio::test]
async fn unknown_account_settings_and_values_are_validation_errors() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let err = ecr
        .get_account_setting()
        .name("FAVOURITE_COLOUR")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some("Invalid account setting name 'FAVOURITE_COLOUR'. Valid names are: BASIC_SCAN_TYPE_VERSION, REGISTRY_POLICY_SCOPE, BLOB_MOUNTING")
    );
    let err = ecr
        .put_account_setting()
        .name("FAVOURITE_COLOUR")
        .value("BLUE")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));

    let err = ecr
        .put_account_setting()
        .name("REGISTRY_POLICY_SCOPE")
        .value("V3")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    assert_eq!(
        err.message(),
        Some("Invalid value 'V3' for account setting 'REGISTRY_POLICY_SCOPE'. Valid values are: V1, V2")
    );
    // Values are case-sensitive.
    let err = ecr
        .put_account_setting()
        .name("BLOB_MOUNTING")
        .value("enabled")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ValidationException"));
    for (name, value) in [
        ("REGISTRY_POLICY_SCOPE", "V2"),
        ("BLOB_MOUNTING", "DISABLED"),
    ] {
        let got = ecr.get_account_setting().name(name).send().await.unwrap();
        assert_eq!(got.value(), Some(value), "{name} unchanged");
    }

    // A name over the model's 64 characters fails the model's constraint.
    let err = ecr
        .get_account_setting()
        .name("X".repeat(65))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
}

#[tokio::test]
async fn image_replication_status_names_no_destination() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "app", "v1", "one").await;
    // Even with a configuration: ecrd does not replicate.
    server
        .ecr()
        .put_replication_configuration()
        .replication_configuration(configuration(vec![rule(
            vec![destination("eu-west-1", "111111111111")],
            &[],
        )]))
        .send()
        .await
        .unwrap();
    let ecr = server.ecr();

    let out = ecr
        .describe_image_replication_status()
        .repository_name("app")
        .image_id(ImageIdentifier::builder().image_tag("v1").build())
        .send()
        .await
        .unwrap();
    assert_eq!(out.repository_name(), Some("app"));
    let id = out.image_id().unwrap();
    assert_eq!(id.image_digest(), Some(digest.as_str()));
    assert_eq!(id.image_tag(), Some("v1"));
    assert!(out.replication_statuses().is_empty());
    let (status, body) = call(
        &server,
        "DescribeImageReplicationStatus",
        json!({"repositoryName": "app", "imageId": {"imageDigest": digest}}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({"repositoryName": "app", "imageId": {"imageDigest": digest},
               "replicationStatuses": []})
    );

    let err = ecr
        .describe_image_replication_status()
        .repository_name("app")
        .image_id(ImageIdentifier::builder().image_tag("v2").build())
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ImageNotFoundException"));
    assert_eq!(
        err.message(),
        Some("The image with imageId {imageDigest:null, imageTag:'v2'} does not exist within the repository with name 'app' in the registry with id '000000000000'")
    );
    let err = ecr
        .describe_image_replication_status()
        .repository_name("nope")
        .image_id(ImageIdentifier::builder().image_tag("v1").build())
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
}
