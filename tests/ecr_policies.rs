//! Resource policies through aws-sdk-ecr: Set/Get/DeleteRepositoryPolicy and
//! Put/Get/DeleteRegistryPolicy — shape checks with ECR's messages, per-namespace storage, and
//! a repository policy going with its repository.

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use common::{push_image, TestServer};

const PULL_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [{"Sid": "CrossAccountPull", "Effect": "Allow",
                 "Principal": {"AWS": "arn:aws:iam::222222222222:root"},
                 "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}]
}"#;

const DENY_POLICY: &str = r#"{"Version":"2008-10-17","Statement":{"Effect":"Deny","Principal":"*","Action":"ecr:DeleteRepository"}}"#;

const REPLICATION_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"Replication",
  "Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111111111111:root"},
  "Action":["ecr:CreateRepository","ecr:ReplicateImage"],
  "Resource":"arn:aws:ecr:us-east-1:000000000000:repository/*"}]}"#;

const INVALID_REPOSITORY_POLICY: &str =
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'";
const INVALID_REGISTRY_POLICY: &str =
    "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid registry policy provided'";

/// Texts that are not valid policies, each for a different reason.
const MALFORMED: &[&str] = &[
    "",
    "not json",
    "[1, 2]",
    r#"{"Version":"2012-10-17"}"#,
    r#"{"Version":"2012-10-17","Statement":[]}"#,
    r#"{"Version":"1999-01-01","Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*"}]}"#,
    r#"{"Statement":[{"Effect":"Permit","Principal":"*","Action":"ecr:*"}]}"#,
    r#"{"Statement":[{"Principal":"*","Action":"ecr:*"}]}"#,
    r#"{"Statement":[{"Effect":"Allow","Action":"ecr:*"}]}"#,
    r#"{"Statement":[{"Effect":"Allow","Principal":"*"}]}"#,
    r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}]}"#,
    r#"{"Statement":[{"Effect":"Allow","Principal":{"Robot":"x"},"Action":"ecr:*"}]}"#,
    r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"ecr:*","Colour":"red"}]}"#,
    r#"{"Statement":["Allow everything"]}"#,
];

async fn repository_policy(server: &TestServer, repo: &str) -> Result<String, String> {
    server
        .ecr()
        .get_repository_policy()
        .repository_name(repo)
        .send()
        .await
        .map(|out| out.policy_text().unwrap_or_default().to_owned())
        .map_err(|e| e.code().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn repository_policies_are_set_read_replaced_and_deleted() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();

    let set = ecr
        .set_repository_policy()
        .repository_name("app")
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap();
    assert_eq!(set.registry_id(), Some("000000000000"));
    assert_eq!(set.repository_name(), Some("app"));
    assert_eq!(set.policy_text(), Some(PULL_POLICY));

    let got = ecr
        .get_repository_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(got.registry_id(), Some("000000000000"));
    assert_eq!(got.repository_name(), Some("app"));
    assert_eq!(got.policy_text(), Some(PULL_POLICY));

    // A second policy replaces the first; `force` is accepted.
    let set = ecr
        .set_repository_policy()
        .repository_name("app")
        .policy_text(DENY_POLICY)
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(set.policy_text(), Some(DENY_POLICY));
    assert_eq!(
        repository_policy(&server, "app").await.as_deref(),
        Ok(DENY_POLICY)
    );

    let deleted = ecr
        .delete_repository_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.registry_id(), Some("000000000000"));
    assert_eq!(deleted.repository_name(), Some("app"));
    assert_eq!(deleted.policy_text(), Some(DENY_POLICY));

    let message = "Repository policy does not exist for the repository with name 'app' in the registry with id '000000000000'";
    let err = ecr
        .get_repository_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryPolicyNotFoundException"));
    assert_eq!(err.message(), Some(message));
    let err = ecr
        .delete_repository_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryPolicyNotFoundException"));
    assert_eq!(err.message(), Some(message));
}

#[tokio::test]
async fn malformed_repository_policies_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    server.create_repository("bare").await;
    let ecr = server.ecr();
    ecr.set_repository_policy()
        .repository_name("app")
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap();

    for text in MALFORMED {
        for repo in ["app", "bare"] {
            let err = ecr
                .set_repository_policy()
                .repository_name(repo)
                .policy_text(*text)
                .send()
                .await
                .unwrap_err();
            assert_eq!(err.code(), Some("InvalidParameterException"), "{text}");
            assert_eq!(err.message(), Some(INVALID_REPOSITORY_POLICY), "{text}");
        }
    }
    assert_eq!(
        repository_policy(&server, "app").await.as_deref(),
        Ok(PULL_POLICY)
    );
    assert_eq!(
        repository_policy(&server, "bare").await,
        Err("RepositoryPolicyNotFoundException".to_owned())
    );

    // Over the model's 10,240 characters: the generic constraint message.
    let huge = format!(
        r#"{{"Statement":[{{"Effect":"Allow","Principal":"*","Action":"ecr:*","Sid":"{}"}}]}}"#,
        "x".repeat(10_240)
    );
    let err = ecr
        .set_repository_policy()
        .repository_name("app")
        .policy_text(huge)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert!(err
        .message()
        .unwrap()
        .starts_with("Invalid parameter at 'policyText' failed to satisfy constraint"));
    assert_eq!(
        repository_policy(&server, "app").await.as_deref(),
        Ok(PULL_POLICY)
    );
}

#[tokio::test]
async fn repository_policies_of_missing_repositories_and_other_namespaces() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let ecr = server.ecr();
    let missing =
        "The repository with name 'nope' does not exist in the registry with id '000000000000'";

    let err = ecr
        .set_repository_policy()
        .repository_name("nope")
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    assert_eq!(err.message(), Some(missing));
    let err = ecr
        .get_repository_policy()
        .repository_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    assert_eq!(err.message(), Some(missing));
    let err = ecr
        .delete_repository_policy()
        .repository_name("nope")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryNotFoundException"));
    assert_eq!(err.message(), Some(missing));

    // registryId selects another account, where `app` does not exist.
    let err = ecr
        .set_repository_policy()
        .registry_id("123456789012")
        .repository_name("app")
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some(
            "The repository with name 'app' does not exist in the registry with id '123456789012'"
        )
    );

    // Another account's `app` has its own policy.
    let other = server.ecr_as("123456789012", "us-east-1");
    other
        .create_repository()
        .repository_name("app")
        .send()
        .await
        .unwrap();
    other
        .set_repository_policy()
        .repository_name("app")
        .policy_text(DENY_POLICY)
        .send()
        .await
        .unwrap();
    let err = ecr
        .get_repository_policy()
        .repository_name("app")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("RepositoryPolicyNotFoundException"));
    let theirs = ecr
        .get_repository_policy()
        .registry_id("123456789012")
        .repository_name("app")
        .send()
        .await
        .unwrap();
    assert_eq!(theirs.registry_id(), Some("123456789012"));
    assert_eq!(theirs.policy_text(), Some(DENY_POLICY));
}

#[tokio::test]
async fn a_repository_policy_goes_with_its_repository() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    push_image(&server, &basic, "app", "v1", "one").await;
    let ecr = server.ecr();
    ecr.set_repository_policy()
        .repository_name("app")
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap();
    ecr.delete_repository()
        .repository_name("app")
        .force(true)
        .send()
        .await
        .unwrap();
    server.create_repository("app").await;
    assert_eq!(
        repository_policy(&server, "app").await,
        Err("RepositoryPolicyNotFoundException".to_owned())
    );
}

#[tokio::test]
async fn registry_policies_are_put_read_and_deleted_per_registry() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    let none = "Registry policy does not exist in the registry with id '000000000000'";

    let err = ecr.get_registry_policy().send().await.unwrap_err();
    assert_eq!(err.code(), Some("RegistryPolicyNotFoundException"));
    assert_eq!(err.message(), Some(none));
    let err = ecr.delete_registry_policy().send().await.unwrap_err();
    assert_eq!(err.code(), Some("RegistryPolicyNotFoundException"));
    assert_eq!(err.message(), Some(none));

    let put = ecr
        .put_registry_policy()
        .policy_text(REPLICATION_POLICY)
        .send()
        .await
        .unwrap();
    assert_eq!(put.registry_id(), Some("000000000000"));
    assert_eq!(put.policy_text(), Some(REPLICATION_POLICY));
    let got = ecr.get_registry_policy().send().await.unwrap();
    assert_eq!(got.registry_id(), Some("000000000000"));
    assert_eq!(got.policy_text(), Some(REPLICATION_POLICY));

    // With the default scope (V2) any ECR action may be granted.
    ecr.put_registry_policy()
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap();
    assert_eq!(
        ecr.get_registry_policy()
            .send()
            .await
            .unwrap()
            .policy_text(),
        Some(PULL_POLICY)
    );

    // Another account and another region have none.
    for other in [
        server.ecr_as("123456789012", "us-east-1"),
        server.ecr_as("test", "eu-west-1"),
    ] {
        let err = other.get_registry_policy().send().await.unwrap_err();
        assert_eq!(err.code(), Some("RegistryPolicyNotFoundException"));
    }
    let err = server
        .ecr_as("123456789012", "us-east-1")
        .get_registry_policy()
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        err.message(),
        Some("Registry policy does not exist in the registry with id '123456789012'")
    );

    let deleted = ecr.delete_registry_policy().send().await.unwrap();
    assert_eq!(deleted.registry_id(), Some("000000000000"));
    assert_eq!(deleted.policy_text(), Some(PULL_POLICY));
    let err = ecr.get_registry_policy().send().await.unwrap_err();
    assert_eq!(err.code(), Some("RegistryPolicyNotFoundException"));
}

#[tokio::test]
async fn malformed_registry_policies_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.put_registry_policy()
        .policy_text(REPLICATION_POLICY)
        .send()
        .await
        .unwrap();
    for text in MALFORMED {
        let err = ecr
            .put_registry_policy()
            .policy_text(*text)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{text}");
        assert_eq!(err.message(), Some(INVALID_REGISTRY_POLICY), "{text}");
    }
    assert_eq!(
        ecr.get_registry_policy()
            .send()
            .await
            .unwrap()
            .policy_text(),
        Some(REPLICATION_POLICY)
    );
}

#[tokio::test]
async fn a_v1_registry_policy_grants_only_replication_and_cache_actions() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    ecr.put_account_setting()
        .name("REGISTRY_POLICY_SCOPE")
        .value("V1")
        .send()
        .await
        .unwrap();
    ecr.put_registry_policy()
        .policy_text(REPLICATION_POLICY)
        .send()
        .await
        .unwrap();
    let err = ecr
        .put_registry_policy()
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidParameterException"));
    assert_eq!(err.message(), Some(INVALID_REGISTRY_POLICY));
    assert_eq!(
        ecr.get_registry_policy()
            .send()
            .await
            .unwrap()
            .policy_text(),
        Some(REPLICATION_POLICY)
    );

    // Back to V2, the same policy is accepted.
    ecr.put_account_setting()
        .name("REGISTRY_POLICY_SCOPE")
        .value("V2")
        .send()
        .await
        .unwrap();
    ecr.put_registry_policy()
        .policy_text(PULL_POLICY)
        .send()
        .await
        .unwrap();
}
