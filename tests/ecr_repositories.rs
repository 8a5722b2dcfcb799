//! The ECR API's repository operations and GetAuthorizationToken, through aws-sdk-ecr.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{EncryptionConfiguration, EncryptionType, ImageTagMutability, Tag};
use common::TestServer;

#[tokio::test]
async fn create_describe_delete() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let created = ecr
        .create_repository()
        .repository_name("team/app")
        .image_tag_mutability(ImageTagMutability::Immutable)
        .image_scanning_configuration(
            aws_sdk_ecr::types::ImageScanningConfiguration::builder()
                .scan_on_push(true)
                .build(),
        )
        .tags(
            Tag::builder()
                .key("team")
                .value("platform")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let repo = created.repository().unwrap();
    assert_eq!(repo.repository_name(), Some("team/app"));
    assert_eq!(repo.registry_id(), Some("000000000000"));
    assert_eq!(
        repo.repository_arn(),
        Some("arn:aws:ecr:us-east-1:000000000000:repository/team/app")
    );
    assert_eq!(
        repo.repository_uri(),
        Some(format!("{}/team/app", server.addr).as_str())
    );
    assert_eq!(
        repo.image_tag_mutability(),
        Some(&ImageTagMutability::Immutable)
    );
    assert!(repo.image_scanning_configuration().unwrap().scan_on_push());
    assert_eq!(
        repo.encryption_configuration().unwrap().encryption_type(),
        &EncryptionType::Aes256
    );
    assert!(repo.created_at().is_some());

    let again = ecr
        .create_repository()
        .repository_name("team/app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(again.code(), Some("RepositoryAlreadyExistsException"));
    assert!(again.message().unwrap().contains("team/app"));

    let described = ecr
        .describe_repositories()
        .repository_names("team/app")
        .send()
        .await
        .unwrap();
    assert_eq!(described.repositories().len(), 1);
    assert_eq!(
        described.repositories()[0].repository_name(),
        Some("team/app")
    );

    let missing = ecr
        .describe_repositories()
        .repository_names("team/app")
        .repository_names("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(missing.code(), Some("RepositoryNotFoundException"));
    assert_eq!(
        missing.message(),
        Some(
            "The repository with name 'nope' does not exist in the registry with id '000000000000'"
        )
    );

    let deleted = ecr
        .delete_repository()
        .repository_name("team/app")
        .send()
        .await
        .unwrap();
    assert_eq!(
        deleted.repository().unwrap().repository_name(),
        Some("team/app")
    );
    let gone = ecr
        .delete_repository()
        .repository_name("team/app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(gone.code(), Some("RepositoryNotFoundException"));
}

#[tokio::test]
async fn describe_repositories_pages_in_name_order() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for i in 0..25 {
        ecr.create_repository()
            .repository_name(format!("repo-{i:02}"))
            .send()
            .await
            .unwrap();
    }
    let mut names = Vec::new();
    let mut token = None;
    let mut pages = 0;
    loop {
        let page = ecr
            .describe_repositories()
            .max_results(10)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        pages += 1;
        names.extend(
            page.repositories()
                .iter()
                .map(|r| r.repository_name().unwrap().to_owned()),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(pages, 3);
    let expected: Vec<String> = (0..25).map(|i| format!("repo-{i:02}")).collect();
    assert_eq!(names, expected);

    // The SDK paginator walks the same pages with the server's default page size.
    let all: Vec<_> = ecr
        .describe_repositories()
        .into_paginator()
        .items()
        .send()
        .collect::<Vec<_>>()
        .await;
    assert_eq!(all.len(), 25);

    let bad = ecr
        .describe_repositories()
        .next_token("garbage")
        .send()
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Some("InvalidParameterException"));
    let mixed = ecr
        .describe_repositories()
        .repository_names("repo-01")
        .max_results(5)
        .send()
        .await
        .unwrap_err();
    assert_eq!(mixed.code(), Some("InvalidParameterException"));
    let zero = ecr
        .describe_repositories()
        .max_results(0)
        .send()
        .await
        .unwrap_err();
    assert_eq!(zero.code(), Some("InvalidParameterException"));
    assert_eq!(
        zero.message(),
        Some("Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value greater than or equal to 1'")
    );
}

#[tokio::test]
async fn invalid_create_requests_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for name in ["UPPER", "a//b", "../etc", "trailing-", &"a".repeat(257)] {
        let err = ecr
            .create_repository()
            .repository_name(name)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{name}");
        assert!(
            err.message()
                .unwrap()
                .starts_with("Invalid parameter at 'repositoryName'"),
            "{name}"
        );
    }
    let too_many: Vec<Tag> = (0..51)
        .map(|i| {
            Tag::builder()
                .key(format!("k{i}"))
                .value("v")
                .build()
                .unwrap()
        })
        .collect();
    let err = ecr
        .create_repository()
        .repository_name("tags")
        .set_tags(Some(too_many))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("TooManyTagsException"));
    let err = ecr
        .create_repository()
        .repository_name("tags")
        .tags(
            Tag::builder()
                .key("aws:reserved")
                .value("v")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidTagParameterException"));
    let err = ecr
        .create_repository()
        .repository_name("excl")
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let err = ecr
        .create_repository()
        .repository_name("kms")
        .encryption_configuration(
            EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::Aes256)
                .kms_key("k")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));

    let listed = ecr.describe_repositories().send().await.unwrap();
    assert!(
        listed.repositories().is_empty(),
        "failed creates must leave nothing behind"
    );
}

#[tokio::test]
async fn delete_needs_force_when_images_exist() {
    let server = TestServer::start().await;
    server.create_repository("full").await;
    let basic = server.basic().await;
    let http = server.http();
    // A config blob and a manifest pushed over the registry API.
    let config = br#"{"architecture":"amd64","os":"linux"}"#;
    let digest = ecrd::core::names::Digest::of(config);
    let r = http
        .post(format!(
            "{}/v2/full/blobs/uploads/?digest={digest}",
            server.url
        ))
        .header("authorization", &basic)
        .body(config.to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest.as_str(), "size": config.len()},
        "layers": []
    });
    let r = http
        .put(format!("{}/v2/full/manifests/v1", server.url))
        .header("authorization", &basic)
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(manifest.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);

    let ecr = server.ecr();
    let err = ecr
        .delete_repository()
        .repository_name("full")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotEmptyException"));
    ecr.delete_repository()
        .repository_name("full")
        .force(true)
        .send()
        .await
        .unwrap();
    let r = http
        .get(format!("{}/v2/full/manifests/v1", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn accounts_and_regions_are_namespaces() {
    let server = TestServer::start().await;
    let default = server.ecr();
    let other_account = server.ecr_as("123456789012", "us-east-1");
    let other_region = server.ecr_as("test", "eu-west-1");
    default
        .create_repository()
        .repository_name("shared-name")
        .send()
        .await
        .unwrap();
    let created = other_account
        .create_repository()
        .repository_name("shared-name")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.repository().unwrap().registry_id(),
        Some("123456789012")
    );
    assert_eq!(
        created.repository().unwrap().repository_arn(),
        Some("arn:aws:ecr:us-east-1:123456789012:repository/shared-name")
    );
    let in_region = other_region.describe_repositories().send().await.unwrap();
    assert!(in_region.repositories().is_empty());
    let created = other_region
        .create_repository()
        .repository_name("shared-name")
        .send()
        .await
        .unwrap();
    assert_eq!(
        created.repository().unwrap().repository_arn(),
        Some("arn:aws:ecr:eu-west-1:000000000000:repository/shared-name")
    );
    // registryId selects an account.
    let described = default
        .describe_repositories()
        .registry_id("123456789012")
        .send()
        .await
        .unwrap();
    assert_eq!(
        described.repositories()[0].registry_id(),
        Some("123456789012")
    );
}
