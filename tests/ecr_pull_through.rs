//! Pull-through cache rules through aws-sdk-ecr: Create/Describe/Update/Delete/Validate, their
//! validation, and what a pull through a cache prefix does in an offline ecrd.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use aws_sdk_ecr::types::{PullThroughCacheRule, UpstreamRegistry};
use common::{call, near, TestServer, T0};
use serde_json::{json, Value};

const DOCKER_SECRET: &str =
    "arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const OTHER_REGION_SECRET: &str =
    "arn:aws:secretsmanager:eu-west-1:000000000000:secret:ecr-pullthroughcache/docker-hub-AbCdEf";
const ROLE: &str = "arn:aws:iam::000000000000:role/ecr-pull-through";
const OTHER_ECR: &str = "111111111111.dkr.ecr.us-west-2.amazonaws.com";
const OWN_ECR: &str = "000000000000.dkr.ecr.us-west-2.amazonaws.com";

async fn all_rules(ecr: &aws_sdk_ecr::Client) -> Vec<PullThroughCacheRule> {
    ecr.describe_pull_through_cache_rules()
        .send()
        .await
        .unwrap()
        .pull_through_cache_rules()
        .to_vec()
}

fn prefixes(rules: &[PullThroughCacheRule]) -> Vec<&str> {
    rules
        .iter()
        .map(|r| r.ecr_repository_prefix().unwrap())
        .collect()
}

#[tokio::test]
async fn rules_are_created_described_updated_validated_and_deleted() {
    let server = TestServer::start().await;
    let clock = server.state.registry.clock().clone();
    clock.set(T0);
    let ecr = server.ecr();

    // An upstream that needs no credentials; its kind is inferred from the URL.
    let created = ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("ecr-public")
        .upstream_registry_url("public.ecr.aws")
        .send()
        .await
        .unwrap();
    assert_eq!(created.ecr_repository_prefix(), Some("ecr-public"));
    assert_eq!(created.upstream_registry_url(), Some("public.ecr.aws"));
    assert_eq!(
        created.upstream_registry(),
        Some(&UpstreamRegistry::EcrPublic)
    );
    assert_eq!(created.registry_id(), Some("000000000000"));
    let created_at = near(created.created_at(), T0);
    assert_eq!(created.credential_arn(), None);
    assert_eq!(created.upstream_repository_prefix(), None);

    // One that needs a Secrets Manager secret, with the enum given.
    let docker = ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub/")
        .upstream_registry_url("registry-1.docker.io")
        .upstream_registry(UpstreamRegistry::DockerHub)
        .credential_arn(DOCKER_SECRET)
        .send()
        .await
        .unwrap();
    assert_eq!(docker.ecr_repository_prefix(), Some("docker-hub/"));
    assert_eq!(docker.credential_arn(), Some(DOCKER_SECRET));

    // ECR to ECR: ROOT, across accounts with a role; the upstream prefix defaults to ROOT.
    let root = ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("ROOT")
        .upstream_registry_url(OTHER_ECR)
        .custom_role_arn(ROLE)
        .send()
        .await
        .unwrap();
    assert_eq!(root.upstream_registry(), Some(&UpstreamRegistry::Ecr));
    assert_eq!(root.custom_role_arn(), Some(ROLE));
    assert_eq!(root.upstream_repository_prefix(), Some("ROOT"));
    // Within the account no role is needed, and upstream prefixes map names.
    let team = ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("team")
        .upstream_registry_url(OWN_ECR)
        .upstream_repository_prefix("prod")
        .send()
        .await
        .unwrap();
    assert_eq!(team.upstream_repository_prefix(), Some("prod"));

    // Described in prefix order (ROOT first), with their update times.
    let rules = all_rules(&ecr).await;
    assert_eq!(
        prefixes(&rules),
        ["ROOT", "docker-hub/", "ecr-public", "team"]
    );
    assert!(rules
        .iter()
        .all(|r| r.updated_at() == r.created_at() && r.registry_id() == Some("000000000000")));
    assert_eq!(near(rules[2].created_at(), T0), created_at);
    let (_, mut body) = call(
        &server,
        "DescribePullThroughCacheRules",
        json!({"ecrRepositoryPrefixes": ["docker-hub"]}),
    )
    .await;
    // Times are epoch seconds.
    let rule = body["pullThroughCacheRules"][0].as_object_mut().unwrap();
    let seconds = rule["createdAt"].as_f64().unwrap();
    assert!((seconds * 1000.0 - T0 as f64).abs() < 5_000.0, "{seconds}");
    assert_eq!(rule["updatedAt"], rule["createdAt"]);
    rule.remove("createdAt");
    rule.remove("updatedAt");
    assert_eq!(
        body,
        json!({"pullThroughCacheRules": [{
            "ecrRepositoryPrefix": "docker-hub/",
            "upstreamRegistryUrl": "registry-1.docker.io",
            "registryId": "000000000000",
            "credentialArn": DOCKER_SECRET,
            "upstreamRegistry": "docker-hub"
        }]})
    );

    // By prefix: the trailing '/' is implied.
    let some = ecr
        .describe_pull_through_cache_rules()
        .ecr_repository_prefixes("team/")
        .ecr_repository_prefixes("ecr-public")
        .send()
        .await
        .unwrap();
    assert_eq!(
        prefixes(some.pull_through_cache_rules()),
        ["ecr-public", "team"]
    );

    // Pages.
    let mut seen = Vec::new();
    let mut token = None;
    loop {
        let page = ecr
            .describe_pull_through_cache_rules()
            .max_results(3)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.pull_through_cache_rules().len() <= 3);
        seen.extend(
            prefixes(page.pull_through_cache_rules())
                .into_iter()
                .map(str::to_owned),
        );
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(seen, ["ROOT", "docker-hub/", "ecr-public", "team"]);

    // Update: a new secret, a later update time.
    clock.set(T0 + 60_000);
    let new_secret = DOCKER_SECRET.replace("AbCdEf", "GhIjKl");
    let updated = ecr
        .update_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub")
        .credential_arn(&new_secret)
        .send()
        .await
        .unwrap();
    assert_eq!(updated.ecr_repository_prefix(), Some("docker-hub/"));
    assert_eq!(updated.credential_arn(), Some(new_secret.as_str()));
    assert_eq!(updated.registry_id(), Some("000000000000"));
    let updated_at = near(updated.updated_at(), T0 + 60_000);
    let rule = &all_rules(&ecr).await[1];
    assert_eq!(rule.credential_arn(), Some(new_secret.as_str()));
    assert_eq!(rule.created_at(), docker.created_at());
    assert_eq!(near(rule.updated_at(), T0 + 60_000), updated_at);

    // Validate: offline, no rule is ever valid, and the failure says why.
    let validated = ecr
        .validate_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub")
        .send()
        .await
        .unwrap();
    assert!(!validated.is_valid());
    assert!(validated.failure().unwrap().contains("offline"));
    assert_eq!(
        validated.upstream_registry_url(),
        Some("registry-1.docker.io")
    );
    assert_eq!(validated.credential_arn(), Some(new_secret.as_str()));
    assert_eq!(validated.registry_id(), Some("000000000000"));

    // Delete answers the rule; then it is gone everywhere.
    let deleted = ecr
        .delete_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.ecr_repository_prefix(), Some("docker-hub/"));
    assert_eq!(
        deleted.upstream_registry_url(),
        Some("registry-1.docker.io")
    );
    assert_eq!(deleted.credential_arn(), Some(new_secret.as_str()));
    assert_eq!(deleted.created_at(), docker.created_at());
    assert_eq!(
        prefixes(&all_rules(&ecr).await),
        ["ROOT", "ecr-public", "team"]
    );
    let not_found = "The pull through cache rule with the prefix 'docker-hub' does not exist in \
                     the registry with id '000000000000'";
    let err = ecr
        .delete_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PullThroughCacheRuleNotFoundException"));
    assert_eq!(err.message(), Some(not_found));
    let err = ecr
        .validate_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PullThroughCacheRuleNotFoundException"));
    let err = ecr
        .update_pull_through_cache_rule()
        .ecr_repository_prefix("docker-hub")
        .credential_arn(DOCKER_SECRET)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PullThroughCacheRuleNotFoundException"));
    let err = ecr
        .describe_pull_through_cache_rules()
        .ecr_repository_prefixes("ecr-public")
        .ecr_repository_prefixes("docker-hub")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("PullThroughCacheRuleNotFoundException"));
    assert_eq!(err.message(), Some(not_found));

    // Rules are per registry.
    assert!(all_rules(&server.ecr_as("123456789012", "us-east-1"))
        .await
        .is_empty());
    assert!(all_rules(&server.ecr_as("test", "eu-west-1"))
        .await
        .is_empty());
}

#[tokio::test]
async fn invalid_rules_are_refused_with_ecr_errors_and_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.create_pull_through_cache_rule()
        .ecr_repository_prefix("quay")
        .upstream_registry_url("quay.io")
        .send()
        .await
        .unwrap();
    let before = all_rules(&ecr).await;

    struct Case {
        prefix: &'static str,
        url: &'static str,
        kind: Option<UpstreamRegistry>,
        secret: Option<&'static str>,
        role: Option<&'static str>,
        upstream_prefix: Option<&'static str>,
        code: &'static str,
        message: &'static str,
    }
    let case = |prefix, url, code, message| Case {
        prefix,
        url,
        kind: None,
        secret: None,
        role: None,
        upstream_prefix: None,
        code,
        message,
    };
    let cases = [
        case(
            "quay/",
            "quay.io",
            "PullThroughCacheRuleAlreadyExistsException",
            "A pull through cache rule with the prefix 'quay/' already exists in the registry with id '000000000000'",
        ),
        case(
            "hub",
            "registry-1.docker.io",
            "UnsupportedUpstreamRegistryException",
            "The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN.",
        ),
        case(
            "gh",
            "ghcr.io",
            "UnsupportedUpstreamRegistryException",
            "The specified upstream registry requires authentication. Specify a valid Secrets Manager ARN.",
        ),
        Case {
            kind: Some(UpstreamRegistry::DockerHub),
            ..case(
                "k8s",
                "registry.k8s.io",
                "UnsupportedUpstreamRegistryException",
                "The upstream registry URL 'registry.k8s.io' is not a URL of the upstream registry 'docker-hub'",
            )
        },
        Case {
            secret: Some(OTHER_REGION_SECRET),
            ..case(
                "hub",
                "registry-1.docker.io",
                "SecretNotFoundException",
                "The secret 'arn:aws:secretsmanager:eu-west-1:000000000000:secret:ecr-pullthroughcache/docker-hub-AbCdEf' was not found in the registry's account and region",
            )
        },
        Case {
            secret: Some("arn:aws:secretsmanager:us-east-1:000000000000:secret:docker-credentials-AbCdEf"),
            ..case(
                "hub",
                "registry-1.docker.io",
                "InvalidParameterException",
                r"Invalid parameter at 'credentialArn' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^arn:aws(-\w+)*:secretsmanager:[a-zA-Z0-9-:]+:secret:ecr\-pullthroughcache\/[a-zA-Z0-9\/_+=.@-]+$'",
            )
        },
        case(
            "ROOT",
            "public.ecr.aws",
            "InvalidParameterException",
            "Invalid parameter at 'ecrRepositoryPrefix' failed to satisfy constraint: 'ROOT can only be used with an upstream registry of type ecr'",
        ),
        Case {
            upstream_prefix: Some("library"),
            ..case(
                "pub",
                "public.ecr.aws",
                "InvalidParameterException",
                "Invalid parameter at 'upstreamRepositoryPrefix' failed to satisfy constraint: 'upstreamRepositoryPrefix can only be used with an upstream registry of type ecr'",
            )
        },
        Case {
            role: Some(ROLE),
            upstream_prefix: Some("prod"),
            ..case(
                "ROOT",
                OTHER_ECR,
                "InvalidParameterException",
                "Invalid parameter at 'upstreamRepositoryPrefix' failed to satisfy constraint: 'upstreamRepositoryPrefix can only be set when ecrRepositoryPrefix is not ROOT'",
            )
        },
        case(
            "other",
            OTHER_ECR,
            "UnsupportedUpstreamRegistryException",
            "The specified upstream registry is in another account and requires authentication. Specify the ARN of an IAM role in customRoleArn.",
        ),
        Case {
            role: Some(ROLE),
            ..case(
                "pub",
                "public.ecr.aws",
                "InvalidParameterException",
                "Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'customRoleArn can only be used with an upstream registry of type ecr'",
            )
        },
        Case {
            role: Some("arn:aws:iam::000000000000:user/someone"),
            ..case(
                "other",
                OTHER_ECR,
                "InvalidParameterException",
                "Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'must be the ARN of an IAM role'",
            )
        },
        Case {
            role: Some("arn:aws:iam::111111111111:role/theirs"),
            ..case(
                "other",
                OTHER_ECR,
                "InvalidParameterException",
                "Invalid parameter at 'customRoleArn' failed to satisfy constraint: 'the role must be in the same account as the registry'",
            )
        },
        Case {
            secret: Some(DOCKER_SECRET),
            role: Some(ROLE),
            ..case(
                "other",
                OTHER_ECR,
                "InvalidParameterException",
                "Invalid parameter at 'credentialArn' failed to satisfy constraint: 'credentialArn cannot be used with an upstream registry of type ecr; use customRoleArn'",
            )
        },
        case(
            "hub",
            "docker.io",
            "UnsupportedUpstreamRegistryException",
            "The upstream registry URL 'docker.io' is not supported. Supported upstream registries are Amazon ECR (<account>.dkr.ecr.<region>.amazonaws.com), Amazon ECR Public (public.ecr.aws), Quay (quay.io), Kubernetes (registry.k8s.io), Docker Hub (registry-1.docker.io), GitHub (ghcr.io), Azure (<registry>.azurecr.io), GitLab (registry.gitlab.com) and Chainguard (cgr.dev)",
        ),
        case(
            "Bad",
            "quay.io",
            "InvalidParameterException",
            r"Invalid parameter at 'ecrRepositoryPrefix' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*\/?|ROOT)$'",
        ),
        case(
            "a",
            "quay.io",
            "InvalidParameterException",
            "Invalid parameter at 'ecrRepositoryPrefix' failed to satisfy constraint: 'Member must have length greater than or equal to 2'",
        ),
    ];
    for c in cases {
        let err = ecr
            .create_pull_through_cache_rule()
            .ecr_repository_prefix(c.prefix)
            .upstream_registry_url(c.url)
            .set_upstream_registry(c.kind)
            .set_credential_arn(c.secret.map(str::to_owned))
            .set_custom_role_arn(c.role.map(str::to_owned))
            .set_upstream_repository_prefix(c.upstream_prefix.map(str::to_owned))
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some(c.code), "{}", c.message);
        assert_eq!(err.message(), Some(c.message));
        assert_eq!(all_rules(&ecr).await, before, "{}", c.message);
    }

    // An upstream kind outside the model's enum, over the raw protocol.
    let (status, body) = call(
        &server,
        "CreatePullThroughCacheRule",
        json!({"ecrRepositoryPrefix": "x1", "upstreamRegistryUrl": "quay.io",
               "upstreamRegistry": "artifactory"}),
    )
    .await;
    assert_eq!(
        (status, body["__type"].as_str()),
        (400, Some("InvalidParameterException"))
    );

    // Updates are checked the same way, and a failed one changes nothing.
    let hub = ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("hub")
        .upstream_registry_url("registry-1.docker.io")
        .credential_arn(DOCKER_SECRET)
        .send()
        .await
        .unwrap();
    let before = all_rules(&ecr).await;
    let err = ecr
        .update_pull_through_cache_rule()
        .ecr_repository_prefix("hub")
        .credential_arn(OTHER_REGION_SECRET)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("SecretNotFoundException"));
    let err = ecr
        .update_pull_through_cache_rule()
        .ecr_repository_prefix("hub")
        .custom_role_arn(ROLE)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    let err = ecr
        .update_pull_through_cache_rule()
        .ecr_repository_prefix("hub")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(
        err.message(),
        Some("Invalid parameter at 'credentialArn' failed to satisfy constraint: 'at least one of credentialArn and customRoleArn must be specified'")
    );
    assert_eq!(all_rules(&ecr).await, before);
    // The stored rule (not the create response, taken before the refused updates) keeps its secret.
    let stored = all_rules(&ecr).await;
    let stored_hub = stored
        .iter()
        .find(|r| r.ecr_repository_prefix() == Some("hub"))
        .expect("the hub rule");
    assert_eq!(stored_hub.credential_arn(), Some(DOCKER_SECRET));
    assert_eq!(hub.credential_arn(), stored_hub.credential_arn());
}

#[tokio::test]
async fn a_registry_holds_at_most_fifty_rules() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for i in 0..50 {
        ecr.create_pull_through_cache_rule()
            .ecr_repository_prefix(format!("cache{i:02}"))
            .upstream_registry_url("public.ecr.aws")
            .send()
            .await
            .unwrap();
    }
    let err = ecr
        .create_pull_through_cache_rule()
        .ecr_repository_prefix("cache50")
        .upstream_registry_url("public.ecr.aws")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceededException"));
    assert_eq!(
        err.message(),
        Some(
            "The registry with id '000000000000' already has the maximum number of pull through \
             cache rules (50)"
        )
    );
    assert_eq!(all_rules(&ecr).await.len(), 50);
    // Two full pages of 25.
    let first = ecr
        .describe_pull_through_cache_rules()
        .max_results(25)
        .send()
        .await
        .unwrap();
    assert_eq!(first.pull_through_cache_rules().len(), 25);
    let second = ecr
        .describe_pull_through_cache_rules()
        .max_results(25)
        .next_token(first.next_token().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(second.pull_through_cache_rules().len(), 25);
    assert_eq!(second.next_token(), None);
    assert_eq!(
        second.pull_through_cache_rules()[0].ecr_repository_prefix(),
        Some("cache25")
    );
}

/// ecrd cannot fetch from upstream registries: a pull through a cache prefix answers as any pull
/// of a repository that does not exist, and creates nothing.
#[tokio::test]
async fn pulls_through_a_cache_prefix_are_not_fetched() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.create_pull_through_cache_rule()
        .ecr_repository_prefix("ecr-public")
        .upstream_registry_url("public.ecr.aws")
        .send()
        .await
        .unwrap();
    let basic = server.basic().await;
    let response = server
        .http()
        .get(format!(
            "{}/v2/ecr-public/docker/library/alpine/manifests/latest",
            server.url
        ))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "NAME_UNKNOWN");
    let err = ecr
        .batch_get_image()
        .repository_name("ecr-public/docker/library/alpine")
        .image_ids(
            aws_sdk_ecr::types::ImageIdentifier::builder()
                .image_tag("latest")
                .build(),
        )
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    let repos = ecr.describe_repositories().send().await.unwrap();
    assert!(repos.repositories().is_empty());
}
