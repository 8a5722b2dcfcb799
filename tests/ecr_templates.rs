//! Repository creation templates through aws-sdk-ecr — Create/Describe/Update/Delete and their
//! validation — and CREATE_ON_PUSH: a registry-API push to a repository that does not exist
//! creates it from the template covering its name.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{
    EncryptionConfigurationForRepositoryCreationTemplate, EncryptionType, ImageTagMutability,
    ImageTagMutabilityExclusionFilter, ImageTagMutabilityExclusionFilterType, RctAppliedFor,
    RepositoryCreationTemplate, Tag,
};
use common::{near, push_image, put_manifest, TestServer, T0};
use serde_json::{json, Value};

const LIFECYCLE: &str = r#"{"rules":[{"rulePriority":1,"description":"keep ten images","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":10},"action":{"type":"expire"}}]}"#;
const POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow","Principal":{"AWS":["arn:aws:iam::222222222222:root"]},"Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;
const KMS_KEY: &str = "arn:aws:kms:us-east-1:000000000000:key/0a1b2c3d-aaaa-bbbb-cccc-0123456789ab";

fn tag(key: &str, value: &str) -> Tag {
    Tag::builder().key(key).value(value).build().unwrap()
}

fn wildcard(filter: &str) -> ImageTagMutabilityExclusionFilter {
    ImageTagMutabilityExclusionFilter::builder()
        .filter(filter)
        .filter_type(ImageTagMutabilityExclusionFilterType::Wildcard)
        .build()
        .unwrap()
}

fn kms() -> EncryptionConfigurationForRepositoryCreationTemplate {
    EncryptionConfigurationForRepositoryCreationTemplate::builder()
        .encryption_type(EncryptionType::Kms)
        .kms_key(KMS_KEY)
        .build()
        .unwrap()
}

async fn all_templates(ecr: &aws_sdk_ecr::Client) -> Vec<RepositoryCreationTemplate> {
    ecr.describe_repository_creation_templates()
        .send()
        .await
        .unwrap()
        .repository_creation_templates()
        .to_vec()
}

fn prefixes(templates: &[RepositoryCreationTemplate]) -> Vec<&str> {
    templates.iter().map(|t| t.prefix().unwrap()).collect()
}

/// A template with only what CreateRepositoryCreationTemplate requires.
async fn create_bare(ecr: &aws_sdk_ecr::Client, prefix: &str, applied_for: RctAppliedFor) {
    ecr.create_repository_creation_template()
        .prefix(prefix)
        .applied_for(applied_for)
        .send()
        .await
        .unwrap();
}

#[tokio::test]
async fn templates_are_created_described_updated_and_deleted() {
    let server = TestServer::start().await;
    let clock = server.state.registry.clock().clone();
    clock.set(T0);
    let ecr = server.ecr();

    let created = ecr
        .create_repository_creation_template()
        .prefix("prod")
        .description("production images")
        .encryption_configuration(kms())
        .resource_tags(tag("team", "core"))
        .resource_tags(tag("env", "prod"))
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(wildcard("latest"))
        .repository_policy(POLICY)
        .lifecycle_policy(LIFECYCLE)
        .applied_for(RctAppliedFor::CreateOnPush)
        .applied_for(RctAppliedFor::PullThroughCache)
        .custom_role_arn("arn:aws:iam::000000000000:role/ecr-templates")
        .send()
        .await
        .unwrap();
    assert_eq!(created.registry_id(), Some("000000000000"));
    let t = created.repository_creation_template().unwrap();
    assert_eq!(t.prefix(), Some("prod"));
    assert_eq!(t.description(), Some("production images"));
    assert_eq!(t.encryption_configuration(), Some(&kms()));
    // Tags come back once per key, in key order.
    assert_eq!(t.resource_tags(), [tag("env", "prod"), tag("team", "core")]);
    assert_eq!(
        t.image_tag_mutability(),
        Some(&ImageTagMutability::ImmutableWithExclusion)
    );
    assert_eq!(
        t.image_tag_mutability_exclusion_filters(),
        [wildcard("latest")]
    );
    assert_eq!(t.repository_policy(), Some(POLICY));
    assert_eq!(t.lifecycle_policy(), Some(LIFECYCLE));
    // Uses in the model's order.
    assert_eq!(
        t.applied_for(),
        [RctAppliedFor::PullThroughCache, RctAppliedFor::CreateOnPush]
    );
    assert_eq!(
        t.custom_role_arn(),
        Some("arn:aws:iam::000000000000:role/ecr-templates")
    );
    near(t.created_at(), T0);
    assert_eq!(t.updated_at(), t.created_at());
    let created_at = t.created_at().cloned();

    // ECR's defaults for what was not given.
    create_bare(&ecr, "ROOT", RctAppliedFor::Replication).await;
    create_bare(&ecr, "dev/", RctAppliedFor::CreateOnPush).await;
    let all = all_templates(&ecr).await;
    assert_eq!(prefixes(&all), ["ROOT", "dev/", "prod"]);
    let root = &all[0];
    assert_eq!(
        root.image_tag_mutability(),
        Some(&ImageTagMutability::Mutable)
    );
    assert_eq!(
        root.encryption_configuration().unwrap().encryption_type(),
        &EncryptionType::Aes256
    );
    assert!(root.resource_tags().is_empty());
    assert_eq!(root.repository_policy(), None);
    assert_eq!(root.lifecycle_policy(), None);
    assert_eq!(root.description(), None);

    // By prefix (a trailing '/' is implied); prefixes without a template are skipped.
    let some = ecr
        .describe_repository_creation_templates()
        .prefixes("dev")
        .prefixes("prod/")
        .prefixes("nothing")
        .send()
        .await
        .unwrap();
    assert_eq!(some.registry_id(), Some("000000000000"));
    assert_eq!(
        prefixes(some.repository_creation_templates()),
        ["dev/", "prod"]
    );

    // Pages.
    let first = ecr
        .describe_repository_creation_templates()
        .max_results(2)
        .send()
        .await
        .unwrap();
    assert_eq!(
        prefixes(first.repository_creation_templates()),
        ["ROOT", "dev/"]
    );
    let second = ecr
        .describe_repository_creation_templates()
        .max_results(2)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(prefixes(second.repository_creation_templates()), ["prod"]);
    assert_eq!(second.next_token(), None);

    // Update changes what is given and keeps the rest; mutability alone drops the exclusions;
    // an empty policy removes it.
    clock.set(T0 + 60_000);
    let updated = ecr
        .update_repository_creation_template()
        .prefix("prod/")
        .image_tag_mutability(ImageTagMutability::Immutable)
        .repository_policy("")
        .applied_for(RctAppliedFor::CreateOnPush)
        .send()
        .await
        .unwrap();
    let t = updated.repository_creation_template().unwrap();
    assert_eq!(updated.registry_id(), Some("000000000000"));
    assert_eq!(t.prefix(), Some("prod"));
    assert_eq!(
        t.image_tag_mutability(),
        Some(&ImageTagMutability::Immutable)
    );
    assert!(t.image_tag_mutability_exclusion_filters().is_empty());
    assert_eq!(t.repository_policy(), None);
    assert_eq!(t.lifecycle_policy(), Some(LIFECYCLE));
    assert_eq!(t.description(), Some("production images"));
    assert_eq!(t.applied_for(), [RctAppliedFor::CreateOnPush]);
    assert_eq!(t.created_at(), created_at.as_ref());
    near(t.updated_at(), T0 + 60_000);
    assert_eq!(all_templates(&ecr).await[2], *t);

    // Delete answers the template; then it is gone.
    let deleted = ecr
        .delete_repository_creation_template()
        .prefix("dev")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.registry_id(), Some("000000000000"));
    assert_eq!(
        deleted.repository_creation_template().unwrap().prefix(),
        Some("dev/")
    );
    assert_eq!(prefixes(&all_templates(&ecr).await), ["ROOT", "prod"]);
    for err in [
        ecr.delete_repository_creation_template()
            .prefix("dev")
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
        ecr.update_repository_creation_template()
            .prefix("dev")
            .description("x")
            .send()
            .await
            .unwrap_err()
            .into_service_error()
            .meta()
            .clone(),
    ] {
        assert_eq!(err.code(), Some("TemplateNotFoundException"));
        assert_eq!(
            err.message(),
            Some("The repository creation template with the prefix 'dev' does not exist in the registry with id '000000000000'")
        );
    }

    // Templates are per registry.
    assert!(all_templates(&server.ecr_as("test", "eu-west-1"))
        .await
        .is_empty());
}

#[tokio::test]
async fn invalid_templates_are_refused_with_ecr_errors_and_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    create_bare(&ecr, "prod", RctAppliedFor::CreateOnPush).await;
    let before = all_templates(&ecr).await;

    let create = || {
        ecr.create_repository_creation_template()
            .prefix("team")
            .applied_for(RctAppliedFor::CreateOnPush)
    };
    let lifecycle_error = "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: Could not map policyString into LifecyclePolicy.'";
    let cases = [
        (
            ecr.create_repository_creation_template()
                .prefix("prod/")
                .applied_for(RctAppliedFor::Replication),
            "TemplateAlreadyExistsException",
            "A repository creation template with the prefix 'prod/' already exists in the registry with id '000000000000'",
        ),
        (
            create().lifecycle_policy("not a policy"),
            "InvalidParameterException",
            lifecycle_error,
        ),
        (
            create().repository_policy(r#"{"Statement":[]}"#),
            "InvalidParameterException",
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'",
        ),
        (
            create().image_tag_mutability(ImageTagMutability::ImmutableWithExclusion),
            "InvalidParameterException",
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'ImageTagMutabilityExclusionFilters can't be null when imageTagMutability is set as IMMUTABLE_WITH_EXCLUSION'",
        ),
        (
            create().image_tag_mutability_exclusion_filters(wildcard("dev-*")),
            "InvalidParameterException",
            "Invalid parameter at 'imageTagMutabilityExclusionFilters' failed to satisfy constraint: 'ImageTagMutabilityExclusionFilters can only be used when imageTagMutability is set as IMMUTABLE_WITH_EXCLUSION or MUTABLE_WITH_EXCLUSION, not MUTABLE'",
        ),
        (
            create().encryption_configuration(
                EncryptionConfigurationForRepositoryCreationTemplate::builder()
                    .encryption_type(EncryptionType::Aes256)
                    .kms_key(KMS_KEY)
                    .build()
                    .unwrap(),
            ),
            "InvalidParameterException",
            "Invalid parameter at 'encryptionConfiguration' failed to satisfy constraint: 'kmsKey can only be specified when encryptionType is KMS or KMS_DSSE'",
        ),
        (
            create().encryption_configuration(
                EncryptionConfigurationForRepositoryCreationTemplate::builder()
                    .encryption_type(EncryptionType::Kms)
                    .kms_key("alias/my-key")
                    .build()
                    .unwrap(),
            ),
            "InvalidParameterException",
            r"Invalid parameter at 'kmsKey' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^$|arn:aws[a-z0-9-]*:kms:[a-z0-9-]+:[0-9]{12}:key\/[a-z0-9-]+'",
        ),
        (
            create().resource_tags(tag("aws:owner", "me")),
            "InvalidParameterException",
            "Invalid parameter at 'resourceTags' failed to satisfy constraint: 'Invalid tag 'aws:owner': keys starting with 'aws:' are reserved'",
        ),
        (
            create().set_resource_tags(Some(
                (0..51).map(|i| tag(&format!("k{i}"), "v")).collect(),
            )),
            "InvalidParameterException",
            "Invalid parameter at 'resourceTags' failed to satisfy constraint: 'A repository can have at most 50 tags'",
        ),
        (
            create().custom_role_arn("arn:aws:iam::000000000000:user/someone"),
            "InvalidParameterException",
            "Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'must be the ARN of an IAM role'",
        ),
        (
            ecr.create_repository_creation_template()
                .prefix("team")
                .set_applied_for(Some(Vec::new())),
            "InvalidParameterException",
            "Invalid parameter at 'appliedFor' failed to satisfy constraint: 'Member must have length greater than or equal to 1'",
        ),
        (
            ecr.create_repository_creation_template()
                .prefix("Team")
                .applied_for(RctAppliedFor::CreateOnPush),
            "InvalidParameterException",
            r"Invalid parameter at 'prefix' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$'",
        ),
    ];
    for (request, code, message) in cases {
        let err = request.send().await.unwrap_err();
        assert_eq!(err.code(), Some(code), "{message}");
        assert_eq!(err.message(), Some(message));
        assert_eq!(all_templates(&ecr).await, before, "{message}");
    }

    // appliedFor outside the model's enum, over the raw protocol.
    let response = server
        .http()
        .post(&server.url)
        .header(
            "x-amz-target",
            "AmazonEC2ContainerRegistry_V20150921.CreateRepositoryCreationTemplate",
        )
        .header("content-type", "application/x-amz-json-1.1")
        .body(json!({"prefix": "team", "appliedFor": ["ON_PULL"]}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["__type"], "InvalidParameterException");

    // A failed update changes nothing.
    let err = ecr
        .update_repository_creation_template()
        .prefix("prod")
        .description("new")
        .lifecycle_policy("not a policy")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(err.message(), Some(lifecycle_error));
    let err = ecr
        .update_repository_creation_template()
        .prefix("prod")
        .image_tag_mutability_exclusion_filters(wildcard("x"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(all_templates(&ecr).await, before);
}

/// A registry-API push to a repository that does not exist creates it from the CREATE_ON_PUSH
/// template with the longest prefix covering its name, with all the template's settings.
#[tokio::test]
async fn a_registry_holds_at_most_a_hundred_templates() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for i in 0..100 {
        create_bare(&ecr, &format!("team{i:03}"), RctAppliedFor::Replication).await;
    }
    let err = ecr
        .create_repository_creation_template()
        .prefix("team100")
        .applied_for(RctAppliedFor::Replication)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceededException"));
    assert_eq!(
        err.message(),
        Some(
            "The registry with id '000000000000' already has the maximum number of repository \
             creation templates (100)"
        )
    );
    let all = all_templates(&ecr).await;
    assert_eq!(all.len(), 100);
    assert!(!prefixes(&all).contains(&"team100"));
    // A prefix that is taken is reported as such, even at the limit.
    let err = ecr
        .create_repository_creation_template()
        .prefix("team000")
        .applied_for(RctAppliedFor::Replication)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("TemplateAlreadyExistsException"));
}

#[tokio::test]
async fn pushes_create_repositories_from_create_on_push_templates() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let basic = server.basic().await;
    ecr.create_repository_creation_template()
        .prefix("prod")
        .encryption_configuration(kms())
        .resource_tags(tag("team", "core"))
        .image_tag_mutability(ImageTagMutability::ImmutableWithExclusion)
        .image_tag_mutability_exclusion_filters(wildcard("latest"))
        .repository_policy(POLICY)
        .lifecycle_policy(LIFECYCLE)
        .applied_for(RctAppliedFor::CreateOnPush)
        .send()
        .await
        .unwrap();
    // More specific, so it wins under prod/team/.
    create_bare(&ecr, "prod/team", RctAppliedFor::CreateOnPush).await;
    // Covers everything, but not for pushes.
    create_bare(&ecr, "ROOT", RctAppliedFor::PullThroughCache).await;

    // The first request of a push, an upload POST, creates the repository.
    let response = server
        .http()
        .post(format!("{}/v2/prod/app/blobs/uploads/", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 202);
    let repo = ecr
        .describe_repositories()
        .repository_names("prod/app")
        .send()
        .await
        .unwrap()
        .repositories()[0]
        .clone();
    assert_eq!(
        repo.image_tag_mutability(),
        Some(&ImageTagMutability::ImmutableWithExclusion)
    );
    assert_eq!(
        repo.image_tag_mutability_exclusion_filters(),
        [wildcard("latest")]
    );
    let encryption = repo.encryption_configuration().unwrap();
    assert_eq!(encryption.encryption_type(), &EncryptionType::Kms);
    assert_eq!(encryption.kms_key(), Some(KMS_KEY));
    let tags = ecr
        .list_tags_for_resource()
        .resource_arn(repo.repository_arn().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(tags.tags(), [tag("team", "core")]);
    let policy = ecr
        .get_repository_policy()
        .repository_name("prod/app")
        .send()
        .await
        .unwrap();
    assert_eq!(policy.policy_text(), Some(POLICY));
    let lifecycle = ecr
        .get_lifecycle_policy()
        .repository_name("prod/app")
        .send()
        .await
        .unwrap();
    assert_eq!(lifecycle.lifecycle_policy_text(), Some(LIFECYCLE));

    // A whole image pushed to a new name: the longest prefix's template applies. The repository
    // is then like any other: an immutable tag of prod/app refuses a second push.
    push_image(&server, &basic, "prod/team/svc", "v1", "svc").await;
    let svc = ecr
        .describe_repositories()
        .repository_names("prod/team/svc")
        .send()
        .await
        .unwrap();
    assert_eq!(
        svc.repositories()[0].image_tag_mutability(),
        Some(&ImageTagMutability::Mutable)
    );
    push_image(&server, &basic, "prod/app", "v1", "one").await;
    let config = r#"{"architecture":"amd64","os":"linux","seed":"two"}"#;
    let manifest =
        common::image_manifest(&server, &basic, "prod/app", config.as_bytes(), &[b"two"]).await;
    let again = put_manifest(
        &server,
        &basic,
        "prod/app",
        "v1",
        "application/vnd.oci.image.manifest.v1+json",
        manifest.to_string().as_bytes(),
    )
    .await;
    assert_eq!(again.status(), 400);

    // Reads never create: a pull of a missing repository under the prefix is still a 404.
    for (method, path) in [
        (reqwest::Method::GET, "/v2/prod/other/manifests/latest"),
        (reqwest::Method::HEAD, "/v2/prod/other/manifests/latest"),
        (reqwest::Method::GET, "/v2/prod/other/tags/list"),
    ] {
        let response = server
            .http()
            .request(method, format!("{}{path}", server.url))
            .header("authorization", &basic)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }

    // A name no CREATE_ON_PUSH template covers is NAME_UNKNOWN, as before.
    for name in ["dev/app", "prod"] {
        let response = server
            .http()
            .post(format!("{}/v2/{name}/blobs/uploads/", server.url))
            .header("authorization", &basic)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{name}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["errors"][0]["code"], "NAME_UNKNOWN", "{name}");
    }

    // A refused manifest push takes the repository created for it along: nothing changes.
    let orphan = json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{}", "a".repeat(64)), "size": 2},
        "layers": []
    });
    let refused = put_manifest(
        &server,
        &basic,
        "prod/orphan",
        "v1",
        "application/vnd.oci.image.manifest.v1+json",
        orphan.to_string().as_bytes(),
    )
    .await;
    assert_eq!(refused.status(), 400);

    // The ECR API never creates repositories on push.
    let err = ecr
        .initiate_layer_upload()
        .repository_name("prod/api")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    let err = ecr
        .put_image()
        .repository_name("prod/api")
        .image_manifest(orphan.to_string())
        .image_tag("v1")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));

    let names: Vec<String> = ecr
        .describe_repositories()
        .send()
        .await
        .unwrap()
        .repositories()
        .iter()
        .map(|r| r.repository_name().unwrap().to_owned())
        .collect();
    assert_eq!(names, ["prod/app", "prod/team/svc"]);

    // With a ROOT template for pushes, every new name is created.
    create_bare(&server.ecr(), "dev", RctAppliedFor::Replication).await;
    ecr.update_repository_creation_template()
        .prefix("ROOT")
        .applied_for(RctAppliedFor::CreateOnPush)
        .send()
        .await
        .unwrap();
    push_image(&server, &basic, "dev/app", "v1", "dev").await;
    push_image(&server, &basic, "anything", "v1", "any").await;
    assert_eq!(
        ecr.describe_repositories()
            .send()
            .await
            .unwrap()
            .repositories()
            .len(),
        4
    );
}
