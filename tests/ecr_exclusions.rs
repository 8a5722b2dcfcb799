//! Pull-time update exclusions through aws-sdk-ecr: Register/Deregister and the paginated list.
//! (ecrd keeps the list but cannot act on it: it does not know which IAM principal pulls.)

mod common;

use aws_sdk_ecr::error::ProvideErrorMetadata;
use common::{near, TestServer, T0};

fn role(name: &str) -> String {
    format!("arn:aws:iam::000000000000:role/{name}")
}

async fn listed(ecr: &aws_sdk_ecr::Client, page_size: i32) -> Vec<String> {
    let mut all = Vec::new();
    let mut token = None;
    loop {
        let page = ecr
            .list_pull_time_update_exclusions()
            .max_results(page_size)
            .set_next_token(token)
            .send()
            .await
            .unwrap();
        assert!(page.pull_time_update_exclusions().len() <= page_size as usize);
        all.extend(page.pull_time_update_exclusions().iter().cloned());
        token = page.next_token().map(str::to_owned);
        if token.is_none() {
            return all;
        }
    }
}

#[tokio::test]
async fn exclusions_are_registered_listed_and_deregistered() {
    let server = TestServer::start().await;
    server.state.registry.clock().set(T0);
    let ecr = server.ecr();
    assert!(ecr
        .list_pull_time_update_exclusions()
        .send()
        .await
        .unwrap()
        .pull_time_update_exclusions()
        .is_empty());

    for name in ["scanner", "ci/trivy", "auditor"] {
        let out = ecr
            .register_pull_time_update_exclusion()
            .principal_arn(role(name))
            .send()
            .await
            .unwrap();
        assert_eq!(out.principal_arn(), Some(role(name).as_str()));
        near(out.created_at(), T0);
    }
    let user = "arn:aws:iam::000000000000:user/snyk";
    ecr.register_pull_time_update_exclusion()
        .principal_arn(user)
        .send()
        .await
        .unwrap();
    let expected = [
        role("auditor"),
        role("ci/trivy"),
        role("scanner"),
        user.to_owned(),
    ];
    assert_eq!(listed(&ecr, 100).await, expected);
    assert_eq!(listed(&ecr, 3).await, expected);
    assert_eq!(listed(&ecr, 1).await, expected);

    let err = ecr
        .register_pull_time_update_exclusion()
        .principal_arn(role("scanner"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ExclusionAlreadyExistsException"));
    assert_eq!(
        err.message(),
        Some("The principal 'arn:aws:iam::000000000000:role/scanner' is already excluded from pull time updates in the registry with id '000000000000'")
    );

    let out = ecr
        .deregister_pull_time_update_exclusion()
        .principal_arn(role("scanner"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.principal_arn(), Some(role("scanner").as_str()));
    let err = ecr
        .deregister_pull_time_update_exclusion()
        .principal_arn(role("scanner"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ExclusionNotFoundException"));
    assert_eq!(
        err.message(),
        Some("The principal 'arn:aws:iam::000000000000:role/scanner' is not excluded from pull time updates in the registry with id '000000000000'")
    );
    assert_eq!(
        listed(&ecr, 100).await,
        [role("auditor"), role("ci/trivy"), user.to_owned()]
    );

    // Per registry.
    assert!(listed(&server.ecr_as("test", "eu-west-1"), 100)
        .await
        .is_empty());
}

#[tokio::test]
async fn invalid_principals_and_the_quota_are_refused_and_change_nothing() {
    let server = TestServer::start().await;
    let ecr = server.ecr();
    for bad in [
        "arn:aws:iam::000000000000:group/devs",
        "arn:aws:iam::12345:role/x",
        "arn:aws:sts::000000000000:assumed-role/x/session",
        "scanner",
    ] {
        let err = ecr
            .register_pull_time_update_exclusion()
            .principal_arn(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{bad}");
        assert_eq!(
            err.message(),
            Some(
                r"Invalid parameter at 'principalArn' failed to satisfy constraint: 'Member must satisfy regular expression pattern: ^arn:aws(-[a-z]+)*:iam::[0-9]{12}:(role|user)/[\w+=,.@-]+(/[\w+=,.@-]+)*$'"
            )
        );
        let err = ecr
            .deregister_pull_time_update_exclusion()
            .principal_arn(bad)
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.code(), Some("InvalidParameterException"), "{bad}");
    }
    assert!(listed(&ecr, 100).await.is_empty());

    for i in 0..100 {
        ecr.register_pull_time_update_exclusion()
            .principal_arn(role(&format!("r{i:03}")))
            .send()
            .await
            .unwrap();
    }
    let err = ecr
        .register_pull_time_update_exclusion()
        .principal_arn(role("one-too-many"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LimitExceededException"));
    assert_eq!(
        err.message(),
        Some(
            "The registry with id '000000000000' already has the maximum number of pull time \
             update exclusions (100)"
        )
    );
    let all = listed(&ecr, 1000).await;
    assert_eq!(all.len(), 100);
    assert!(!all.contains(&role("one-too-many")));
}
