//! Repository settings through aws-sdk-ecr — PutImageTagMutability (checked against OCI pushes),
//! PutImageScanningConfiguration — and resource tags by ARN (TagResource, UntagResource,
//! ListTagsForResource).

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    ImageTagMutability, ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType,
    Tag,
};
use common::TestServer;
use serde_json::json;

const ARN: &str = "arn:aws:ecr:us-east-1:000000000000:repository/app";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn filter(wildcard: &str) -> ImageTagMutabilityExclusionFilter {
    ImageTagMutabilityExclusionFilter::builder()
        .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
        .filter(wildcard)
        .build()
        .unwrap()
}

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

async fn set_mutability(server: &TestServer, m: ImageTagMutability, filters: &[&str]) {
    server
        .ecr()
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(m)
        .set_image_tag_mutability_exclusion_filters(
            (!filters.is_empty()).then(|| filters.iter().map(|f| filter(f)).collect()),
        )
        .send()
        .await
        .unwrap();
}

/// The repository's (mutability, filters) as DescribeRepositories shows them.
async fn described(server: &TestServer) -> (ImageTagMutability, Vec<String>) {
    let out = server
        .ecr()
        .describe_repositories()
        .repository_names("app")
        .send()
        .await
        .unwrap();
    let repo = &out.repositories()[0];
    (
        repo.image_tag_mutability().unwrap().clone(),
        repo.image_tag_mutability_exclusion_filters()
            .iter()
            .map(|f| f.filter().to_owned())
            .collect(),
    )
}

/// An image manifest (over blobs pushed first) that differs by `seed`; returns its bytes.
async fn manifest(server: &TestServer, basic: &str, seed: &str) -> Vec<u8> {
    let config = format!(r#"{{"architecture":"amd64","os":"linux","seed":"{seed}"}}"#);
    let layer = format!("layer of {seed}");
    common::image_manifest(server, basic, "app", config.as_bytes(), &[layer.as_bytes()])
        .await
        .to_string()
        .into_bytes()
}

/// PUTs a manifest under a tag over OCI: `(status, error code)`.
async fn push(server: &TestServer, basic: &str, tag: &str, body: &[u8]) -> (u16, Option<String>) {
    let response = common::put_manifest(server, basic, "app", tag, OCI_MANIFEST, body).await;
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    (
        status,
        body["errors"][0]["code"].as_str().map(str::to_owned),
    )
}

async fn tag_target(server: &TestServer, basic: &str, tag: &str) -> String {
    let response = server
        .http()
        .head(format!("{}/v2/app/manifests/{tag}", server.url))
        .header("authorization", basic)
        .header("accept", OCI_MANIFEST)
        .send()
        .await
        .unwrap();
    response.headers()["docker-content-digest"]
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn put_image_tag_mutability_replaces_the_setting() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();

    let out = ecr
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(filter("latest"))
        .image_tag_mutability_exclusion_filters(filter("dev-*"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.registry_id(), Some("000000000000"));
    assert_eq!(out.repository_name(), Some("app"));
    assert_eq!(
        out.image_tag_mutability(),
        Some(&ImageTagMutability::ImmutableWithExclusion)
    );
    let echoed: Vec<_> = out
        .image_tag_mutability_exclusion_filters()
        .iter()
        .map(|f| (f.filter(), f.filter_type().clone()))
        .collect();
    assert_eq!(
        echoed,
        [
            ("latest", ImageTagMutabilityExclusionFilterType::Wildcard),
            ("dev-*", ImageTagMutabilityExclusionFilterType::Wildcard)
        ]
    );
    assert_eq!(
        described(&server).await,
        (
            ImageTagMutability::ImmutableWithExclusion,
            vec!["latest".to_owned(), "dev-*".to_owned()]
        )
    );

    // Filters are replaced, not merged; a plain setting drops them.
    set_mutability(
        &server,
        ImageTagMutability::MutableWithExclusion,
        &["release-*"],
    )
    .await;
    assert_eq!(
        described(&server).await,
        (
            ImageTagMutability::MutableWithExclusion,
            vec!["release-*".to_owned()]
        )
    );
    let out = ecr
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::Immutable)
        .send()
        .await
        .unwrap();
    assert!(out.image_tag_mutability_exclusion_filters().is_empty());
    assert_eq!(
        described(&server).await,
        (ImageTagMutability::Immutable, vec![])
    );

    // Refused requests change nothing.
    let err = ecr
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(
        err.message(),
        Some("Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as IMMUTABLE_WITH_EXCLUSION'")
    );
    let err = ecr
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::Mutable)
        .image_tag_mutability_exclusion_filters(filter("latest"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert!(err
        .message()
        .unwrap()
        .starts_with("Invalid parameter at 'imageTagMutabilityExclusionFilters'"));
    let err = ecr
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::MutableWithExclusion)
        .image_tag_mutability_exclusion_filters(filter("bad filter!"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let err = ecr
        .put_image_tag_mutability()
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::from("SOMETIMES"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(
        described(&server).await,
        (ImageTagMutability::Immutable, vec![])
    );

    let err = ecr
        .put_image_tag_mutability()
        .repository_name("nope")
        .image_tag_mutability(ImageTagMutability::Mutable)
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
    // registryId selects the namespace.
    let err = ecr
        .put_image_tag_mutability()
        .registry_id("123456789012")
        .repository_name("app")
        .image_tag_mutability(ImageTagMutability::Mutable)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some(
            "The repository with name 'app' does not exist in the registry with id '123456789012'"
        )
    );
}

#[tokio::test]
async fn immutability_set_later_refuses_oci_re_pushes() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let one = manifest(&server, &basic, "one").await;
    let two = manifest(&server, &basic, "two").await;

    for t in ["v1", "latest", "dev-42", "release-1", "other"] {
        assert_eq!(push(&server, &basic, t, &one).await, (201, None), "{t}");
    }

    // IMMUTABLE: no tag moves — not even an identical re-push over the registry (as on ECR).
    set_mutability(&server, ImageTagMutability::Immutable, &[]).await;
    assert_eq!(
        push(&server, &basic, "v1", &two).await,
        (400, Some("TAG_INVALID".into()))
    );
    assert_eq!(
        push(&server, &basic, "v1", &one).await,
        (400, Some("TAG_INVALID".into()))
    );
    let response = common::put_manifest(&server, &basic, "app", "v1", OCI_MANIFEST, &two).await;
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(
        body["errors"][0]["message"],
        "The image tag 'v1' already exists in the 'app' repository and cannot be overwritten because the tag is immutable."
    );
    // A new tag may still be set.
    assert_eq!(push(&server, &basic, "fresh", &two).await, (201, None));

    // IMMUTABLE_WITH_EXCLUSION: the excluded tags move, wildcards anchored at both ends.
    set_mutability(
        &server,
        ImageTagMutability::ImmutableWithExclusion,
        &["latest", "dev-*"],
    )
    .await;
    assert_eq!(push(&server, &basic, "latest", &two).await, (201, None));
    assert_eq!(push(&server, &basic, "dev-42", &two).await, (201, None));
    for t in ["v1", "release-1", "other"] {
        assert_eq!(
            push(&server, &basic, t, &two).await,
            (400, Some("TAG_INVALID".into())),
            "{t}"
        );
    }

    // MUTABLE_WITH_EXCLUSION: only the excluded tags are fixed.
    set_mutability(
        &server,
        ImageTagMutability::MutableWithExclusion,
        &["release-*", "*-rc"],
    )
    .await;
    assert_eq!(
        push(&server, &basic, "release-1", &two).await,
        (400, Some("TAG_INVALID".into()))
    );
    assert_eq!(push(&server, &basic, "v1", &two).await, (201, None));
    assert_eq!(push(&server, &basic, "other", &two).await, (201, None));
    assert_eq!(push(&server, &basic, "1.0-rc", &one).await, (201, None));
    assert_eq!(
        push(&server, &basic, "1.0-rc", &two).await,
        (400, Some("TAG_INVALID".into()))
    );
    // `*-rc` is anchored: `1.0-rc2` is not excluded, so it stays mutable.
    assert_eq!(push(&server, &basic, "1.0-rc2", &one).await, (201, None));
    assert_eq!(push(&server, &basic, "1.0-rc2", &two).await, (201, None));

    // MUTABLE again: everything moves.
    set_mutability(&server, ImageTagMutability::Mutable, &[]).await;
    assert_eq!(push(&server, &basic, "release-1", &two).await, (201, None));
}

#[tokio::test]
async fn an_image_with_two_tags_moves_one_only_if_that_one_is_mutable() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let x = manifest(&server, &basic, "x").await;
    let y = manifest(&server, &basic, "y").await;
    let x_digest = ecrd::core::names::Digest::of(&x).to_string();
    let y_digest = ecrd::core::names::Digest::of(&y).to_string();
    assert_eq!(push(&server, &basic, "a", &x).await, (201, None));
    assert_eq!(push(&server, &basic, "b", &x).await, (201, None));

    // A is immutable (everything is, but for `b`): moving A is refused, though B may move.
    set_mutability(&server, ImageTagMutability::ImmutableWithExclusion, &["b"]).await;
    assert_eq!(
        push(&server, &basic, "a", &y).await,
        (400, Some("TAG_INVALID".into()))
    );
    assert_eq!(tag_target(&server, &basic, "a").await, x_digest);

    // A is excluded (B is not): A moves to Y, B stays on X.
    set_mutability(&server, ImageTagMutability::ImmutableWithExclusion, &["a"]).await;
    assert_eq!(push(&server, &basic, "a", &y).await, (201, None));
    assert_eq!(tag_target(&server, &basic, "a").await, y_digest);
    assert_eq!(tag_target(&server, &basic, "b").await, x_digest);
    assert_eq!(
        push(&server, &basic, "b", &y).await,
        (400, Some("TAG_INVALID".into()))
    );
}

#[tokio::test]
async fn put_image_scanning_configuration() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();
    let config = |on: bool| {
        aws_sdk_ecr::types::ImageScanningConfiguration::builder()
            .scan_on_push(on)
            .build()
    };
    let out = ecr
        .put_image_scanning_configuration()
        .repository_name("app")
        .image_scanning_configuration(config(true))
        .send()
        .await
        .unwrap();
    assert_eq!(out.registry_id(), Some("000000000000"));
    assert_eq!(out.repository_name(), Some("app"));
    assert!(out.image_scanning_configuration().unwrap().scan_on_push());
    let scan_on_push = |ecr: aws_sdk_ecr::Client| async move {
        ecr.describe_repositories()
            .repository_names("app")
            .send()
            .await
            .unwrap()
            .repositories()[0]
            .image_scanning_configuration()
            .unwrap()
            .scan_on_push()
    };
    assert!(scan_on_push(ecr.clone()).await);
    ecr.put_image_scanning_configuration()
        .repository_name("app")
        .image_scanning_configuration(config(false))
        .send()
        .await
        .unwrap();
    assert!(!scan_on_push(ecr.clone()).await);

    let err = ecr
        .put_image_scanning_configuration()
        .repository_name("nope")
        .image_scanning_configuration(config(true))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    assert!(!scan_on_push(ecr.clone()).await);
}

async fn listed(server: &TestServer, arn: &str) -> Vec<(String, String)> {
    server
        .ecr()
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .unwrap()
        .tags()
        .iter()
        .map(|t| (t.key().to_owned(), t.value().to_owned()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[tokio::test]
async fn resource_tags_by_arn() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.create_repository()
        .repository_name("app")
        .tags(tag("team", "platform"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&server, ARN).await, pairs(&[("team", "platform")]));

    ecr.tag_resource()
        .resource_arn(ARN)
        .tags(tag("env", "dev"))
        .tags(tag("team", "core"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed(&server, ARN).await,
        pairs(&[("env", "dev"), ("team", "core")])
    );

    ecr.untag_resource()
        .resource_arn(ARN)
        .tag_keys("env")
        .tag_keys("never-set")
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&server, ARN).await, pairs(&[("team", "core")]));

    // The ARN, not the caller, names the namespace.
    let other = server.ecr_as("123456789012", "eu-west-1");
    other
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    let other_arn = "arn:aws:ecr:eu-west-1:123456789012:repository/app";
    ecr.tag_resource()
        .resource_arn(other_arn)
        .tags(tag("owner", "them"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        listed(&server, other_arn).await,
        pairs(&[("owner", "them")])
    );
    assert_eq!(listed(&server, ARN).await, pairs(&[("team", "core")]));

    let missing = "arn:aws:ecr:us-east-1:111111111111:repository/app";
    for err in [
        ecr.list_tags_for_resource()
            .resource_arn(missing)
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        ecr.tag_resource()
            .resource_arn(missing)
            .tags(tag("k", "v"))
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        ecr.untag_resource()
            .resource_arn(missing)
            .tag_keys("k")
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
    ] {
        assert_eq!(err.code(), Some("RepositoryNotFoundException"));
        assert_eq!(
            err.message(),
            Some("The repository with name 'app' does not exist in the registry with id '111111111111'")
        );
    }
}

#[tokio::test]
async fn resource_tag_errors_change_nothing() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();

    for arn in [
        "app",
        "",
        "arn:aws:ecr:us-east-1:000000000000:app",
        "arn:aws:ecr:us-east-1:000000000000:repository/",
        "arn:aws:ecr:us-east-1:000000000000:repository/UPPER",
        "arn:aws:ecr:us-east-1:0000:repository/app",
        "arn:aws:s3:us-east-1:000000000000:repository/app",
        "arn:gcp:ecr:us-east-1:000000000000:repository/app",
        "arn:aws:ecr::000000000000:repository/app",
        "arn:aws:ecr:us-east-1:000000000000:image/app",
    ] {
        let err = ecr
            .list_tags_for_resource()
            .resource_arn(arn)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{arn}");
        assert_eq!(
            err.message(),
            Some("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'"),
            "{arn}"
        );
        let err = ecr
            .tag_resource()
            .resource_arn(arn)
            .tags(tag("k", "v"))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{arn}");
        let err = ecr
            .untag_resource()
            .resource_arn(arn)
            .tag_keys("k")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{arn}");
    }
    // Other partitions are well-formed ARNs.
    assert!(ecr
        .list_tags_for_resource()
        .resource_arn("arn:aws-cn:ecr:us-east-1:000000000000:repository/app")
        .send()
        .await
        .is_ok());

    // 50 tags at most, counting those already set.
    let forty_nine: Vec<Tag> = (0..49).map(|i| tag(&format!("k{i:02}"), "v")).collect();
    ecr.tag_resource()
        .resource_arn(ARN)
        .set_tags(Some(forty_nine))
        .send()
        .await
        .unwrap();
    let before = listed(&server, ARN).await;
    assert_eq!(before.len(), 49);
    let err = ecr
        .tag_resource()
        .resource_arn(ARN)
        .tags(tag("new-1", "v"))
        .tags(tag("new-2", "v"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("TooManyTagsException"));
    assert_eq!(err.message(), Some("A repository can have at most 50 tags"));
    assert_eq!(listed(&server, ARN).await, before);
    // Overwriting existing keys adds none; the 50th fits.
    ecr.tag_resource()
        .resource_arn(ARN)
        .tags(tag("k00", "changed"))
        .tags(tag("new-1", "v"))
        .send()
        .await
        .unwrap();
    assert_eq!(listed(&server, ARN).await.len(), 50);

    // Reserved and malformed keys, on tagging and untagging.
    let before = listed(&server, ARN).await;
    for (key, value) in [
        ("aws:created-by", "me"),
        ("AWS:x", "v"),
        ("", "v"),
        (&"k".repeat(129) as &str, "v"),
        ("k00", &"v".repeat(257) as &str),
    ] {
        let err = ecr
            .tag_resource()
            .resource_arn(ARN)
            .tags(tag(key, value))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidTagParameterException"), "{key}");
        assert!(
            err.message().unwrap().starts_with("Invalid tag '"),
            "{:?}",
            err.message()
        );
    }
    let err = ecr
        .untag_resource()
        .resource_arn(ARN)
        .tag_keys("aws:created-by")
        .tag_keys("k00")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidTagParameterException"));
    assert_eq!(listed(&server, ARN).await, before);

    // Required members, through the raw protocol.
    let response = server
        .http()
        .post(&server.url)
        .header(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.TagResource",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(json!({"resourceArn": ARN}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "InvalidParameterException");
    assert_eq!(listed(&server, ARN).await, before);
}
