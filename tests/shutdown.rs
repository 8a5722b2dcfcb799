//! Graceful shutdown leaves a clean store: everything acknowledged is in the database file.

mod common;

use common::{push_image, TestServer};

#[tokio::test]
async fn a_stopped_server_leaves_no_write_ahead_log_behind() {
    let server = TestServer::start_with(|c| c.durable = true).await;
    server.create_repository("kept").await;
    let basic = server.basic().await;
    let digest = push_image(&server, &basic, "kept", "v1", "kept").await;
    // A pull recorded in memory only; shutdown must still write it.
    server
        .http()
        .get(format!("{}/v2/kept/manifests/v1", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    let dir = server.stop().await;
    let wal = dir.path().join("metadata.sqlite-wal");
    assert!(
        !wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0,
        "the WAL was checkpointed"
    );

    let config = ecrd::config::Config::for_tests(dir.path().to_owned());
    let again = TestServer::start_in(dir, config).await;
    let described = again
        .ecr()
        .describe_images()
        .repository_name("kept")
        .send()
        .await
        .unwrap();
    let detail = &described.image_details()[0];
    assert_eq!(detail.image_digest(), Some(digest.as_str()));
    assert!(
        detail.last_recorded_pull_time().is_some(),
        "the pull was written at shutdown"
    );
}
