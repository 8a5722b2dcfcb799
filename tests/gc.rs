//! Garbage collection: what goes and what stays, racing pushes, `POST /_ecrd/gc`, and the
//! `ecrd gc` command beside (and without) a running server.

mod common;

use std::path::{Path, PathBuf};

use common::TestServer;
use ecrd::core::gc::GcReport;
use ecrd::core::names::Digest;
use serde_json::Value;

const HOUR_MS: i64 = 3600 * 1000;
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn blob_file(dir: &Path, digest: &str) -> PathBuf {
    let hex = digest.strip_prefix("sha256:").unwrap();
    dir.join("blobs/sha256").join(&hex[..2]).join(hex)
}

async fn blob_status(server: &TestServer, basic: &str, repo: &str, digest: &str) -> u16 {
    server
        .http()
        .get(format!("{}/v2/{repo}/blobs/{digest}", server.url))
        .header("authorization", basic)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn gc_over_http(server: &TestServer, dry_run: bool) -> Value {
    let response = server
        .http()
        .post(format!(
            "{}/_ecrd/gc{}",
            server.url,
            if dry_run { "?dryRun=true" } else { "" }
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response.json().await.unwrap()
}

/// Every blob of every image of `repo` (by tag), pulled and checked against its digest.
async fn pull_all(server: &TestServer, basic: &str, repo: &str, tags: &[String]) {
    for tag in tags {
        let response = server
            .http()
            .get(format!("{}/v2/{repo}/manifests/{tag}", server.url))
            .header("authorization", basic)
            .header("accept", OCI_MANIFEST)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{tag}");
        let manifest: Value = response.json().await.unwrap();
        let mut digests = vec![manifest["config"]["digest"].as_str().unwrap().to_owned()];
        for layer in manifest["layers"].as_array().unwrap() {
            digests.push(layer["digest"].as_str().unwrap().to_owned());
        }
        for digest in digests {
            assert!(
                blob_file(server.dir.path(), &digest).exists(),
                "{tag}: file of {digest}"
            );
            let response = server
                .http()
                .get(format!("{}/v2/{repo}/blobs/{digest}", server.url))
                .header("authorization", basic)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200, "{tag}: {digest}");
            let bytes = response.bytes().await.unwrap();
            assert_eq!(Digest::of(&bytes).to_string(), digest, "{tag}");
        }
    }
}

#[tokio::test]
async fn unused_old_blobs_go_used_and_fresh_ones_stay() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let dir = server.dir.path().to_owned();
    common::push_image(&server, &basic, "app", "v1", "kept").await;
    let old = common::push_blob(&server, &basic, "app", b"left behind by an aborted push").await;

    // Within the grace period nothing is collectable: a push may still need it.
    let report = server.state.registry.collect_garbage(true).await.unwrap();
    assert_eq!(report.blobs, 0, "{report}");

    server.state.registry.clock().advance(2 * HOUR_MS);
    let fresh = common::push_blob(&server, &basic, "app", b"uploaded just now").await;

    // A dry run says what would go, and removes nothing.
    let dry = gc_over_http(&server, true).await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(dry["blobs"], 1);
    assert_eq!(dry["blobBytes"], b"left behind by an aborted push".len());
    assert!(blob_file(&dir, &old).exists());
    assert_eq!(blob_status(&server, &basic, "app", &old).await, 200);

    let report = gc_over_http(&server, false).await;
    assert_eq!(report["dryRun"], false);
    assert_eq!(report["blobs"], 1);
    assert_eq!(report["blobBytes"], b"left behind by an aborted push".len());
    assert!(!blob_file(&dir, &old).exists());
    assert_eq!(blob_status(&server, &basic, "app", &old).await, 404);
    assert_eq!(blob_status(&server, &basic, "app", &fresh).await, 200);
    assert!(blob_file(&dir, &fresh).exists());
    pull_all(&server, &basic, "app", &["v1".to_owned()]).await;

    // Nothing more to take; and the fresh blob goes once it is old too.
    let again = server.state.registry.collect_garbage(false).await.unwrap();
    assert_eq!(again, GcReport::default());
    server.state.registry.clock().advance(2 * HOUR_MS);
    let later = server.state.registry.collect_garbage(false).await.unwrap();
    assert_eq!(later.blobs, 1);
    assert!(!blob_file(&dir, &fresh).exists());
    pull_all(&server, &basic, "app", &["v1".to_owned()]).await;

    // A re-upload of collected bytes brings them back.
    common::push_blob(&server, &basic, "app", b"left behind by an aborted push").await;
    assert_eq!(blob_status(&server, &basic, "app", &old).await, 200);
}

#[tokio::test]
async fn a_re_upload_refreshes_an_old_link() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let digest = common::push_blob(&server, &basic, "app", b"pushed twice").await;
    server.state.registry.clock().advance(2 * HOUR_MS);
    // The same bytes again, for a manifest about to be pushed: they must look fresh.
    common::push_blob(&server, &basic, "app", b"pushed twice").await;
    let report = server.state.registry.collect_garbage(false).await.unwrap();
    assert_eq!(report.blobs, 0, "{report}");
    assert_eq!(blob_status(&server, &basic, "app", &digest).await, 200);
}

#[tokio::test]
async fn deleting_a_repository_frees_its_own_blobs_only() {
    let server = TestServer::start().await;
    server.create_repository("gone").await;
    server.create_repository("kept").await;
    let basic = server.basic().await;
    let dir = server.dir.path().to_owned();
    common::push_image(&server, &basic, "gone", "v1", "mine").await;
    common::push_image(&server, &basic, "kept", "v1", "shared").await;
    common::push_image(&server, &basic, "gone", "v2", "shared").await;
    let mine = Digest::of(b"layer of mine").to_string();
    let shared = Digest::of(b"layer of shared").to_string();

    // Referenced: nothing goes, however old.
    server.state.registry.clock().advance(2 * HOUR_MS);
    assert_eq!(
        server.state.registry.collect_garbage(false).await.unwrap(),
        GcReport::default()
    );

    server
        .ecr()
        .delete_repository()
        .repository_name("gone")
        .force(true)
        .send()
        .await
        .unwrap();
    // Without links, no grace is due.
    server.state.registry.clock().advance(-2 * HOUR_MS);
    let report = server.state.registry.collect_garbage(false).await.unwrap();
    // "mine": its config and layer; "shared" is also kept's.
    assert_eq!(report.blobs, 2, "{report}");
    assert!(!blob_file(&dir, &mine).exists());
    assert!(blob_file(&dir, &shared).exists());
    pull_all(&server, &basic, "kept", &["v1".to_owned()]).await;
}

#[tokio::test]
async fn orphaned_files_and_expired_uploads_go() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    let basic = server.basic().await;
    let dir = server.dir.path().to_owned();

    // A file a crash left between its rename and its row.
    let orphan = Digest::of(b"orphan");
    let path = blob_file(&dir, orphan.as_str());
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, b"orphan").unwrap();
    // A file that is not ours to judge.
    std::fs::write(dir.join("blobs/sha256/README"), b"hands off").unwrap();

    // An upload begun and abandoned a day ago, one begun now.
    let started = server
        .http()
        .post(format!("{}/v2/app/blobs/uploads/", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap();
    let abandoned = started.headers()["location"].to_str().unwrap().to_owned();
    server
        .http()
        .patch(format!("{}{abandoned}", server.url))
        .header("authorization", &basic)
        .body(b"12345".to_vec())
        .send()
        .await
        .unwrap();
    server.state.registry.clock().advance(25 * HOUR_MS);
    let basic = server.basic().await; // the first one expired with the day
    let live = server
        .http()
        .post(format!("{}/v2/app/blobs/uploads/", server.url))
        .header("authorization", &basic)
        .send()
        .await
        .unwrap()
        .headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();

    let dry = server.state.registry.collect_garbage(true).await.unwrap();
    assert_eq!(
        (
            dry.orphan_files,
            dry.orphan_bytes,
            dry.uploads,
            dry.upload_bytes
        ),
        (1, 6, 1, 5)
    );
    assert!(path.exists());

    let report = server.state.registry.collect_garbage(false).await.unwrap();
    assert_eq!(
        (
            report.orphan_files,
            report.orphan_bytes,
            report.uploads,
            report.upload_bytes
        ),
        (1, 6, 1, 5)
    );
    assert!(!path.exists());
    assert!(dir.join("blobs/sha256/README").exists());
    let status = |location: String| {
        let (server, basic) = (&server, &basic);
        async move {
            server
                .http()
                .get(format!("{}{location}", server.url))
                .header("authorization", basic)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16()
        }
    };
    assert_eq!(status(abandoned).await, 404);
    assert_eq!(status(live).await, 204);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn collections_racing_pushes_break_none() {
    let server = std::sync::Arc::new(TestServer::start().await);
    server.create_repository("app").await;
    let basic = server.basic().await;

    // Before uploading a layer, each pusher makes those very bytes garbage: it pushes them into
    // a scratch repository of its own and force-deletes it, leaving the blob linked nowhere —
    // collectable at once, by any clock. A collector runs without pause meanwhile, so it keeps
    // deleting blobs that a push is uploading and linking at that moment.
    const PUSHERS: usize = 4;
    const IMAGES: usize = 12;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let collector = {
        let (registry, done) = (server.state.registry.clone(), done.clone());
        tokio::spawn(async move {
            let (mut rounds, mut collected) = (0, 0);
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                collected += registry.collect_garbage(false).await.unwrap().blobs;
                rounds += 1;
                tokio::task::yield_now().await;
            }
            (rounds, collected)
        })
    };
    let mut pushers = Vec::new();
    for p in 0..PUSHERS {
        let (server, basic) = (server.clone(), basic.clone());
        pushers.push(tokio::spawn(async move {
            let scratch = format!("scratch-{p}");
            let mut tags = Vec::new();
            for i in 0..IMAGES {
                let tag = format!("p{p}-i{i}");
                let layer = format!("layer of {tag}");
                let config = format!(r#"{{"architecture":"amd64","os":"linux","tag":"{tag}"}}"#);
                server.create_repository(&scratch).await;
                common::push_blob(&server, &basic, &scratch, layer.as_bytes()).await;
                common::push_blob(&server, &basic, &scratch, config.as_bytes()).await;
                server
                    .ecr()
                    .delete_repository()
                    .repository_name(&scratch)
                    .force(true)
                    .send()
                    .await
                    .unwrap();
                // Asserts that every blob and the manifest were accepted.
                common::push_image(&server, &basic, "app", &tag, &tag).await;
                tags.push(tag);
            }
            tags
        }));
    }
    let mut tags = Vec::new();
    for pusher in pushers {
        tags.extend(pusher.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let (rounds, collected) = collector.await.unwrap();
    assert!(
        rounds > 1 && collected > 0,
        "{rounds} collections took {collected} blobs"
    );

    // Every manifest's blobs are there, files and all; and a last collection keeps them.
    pull_all(&server, &basic, "app", &tags).await;
    server.state.registry.clock().advance(2 * HOUR_MS);
    let basic = server.basic().await;
    server.state.registry.collect_garbage(false).await.unwrap();
    pull_all(&server, &basic, "app", &tags).await;
    eprintln!(
        "{rounds} collections took {collected} blobs while {} images were pushed",
        tags.len()
    );
}

fn ecrd_gc(dir: &Path, dry_run: bool) -> std::process::Output {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_ecrd"));
    command.arg("gc").arg("--data-dir").arg(dir);
    if dry_run {
        command.arg("--dry-run");
    }
    command.env_remove("ECRD_DATA_DIR").output().unwrap()
}

#[tokio::test]
async fn the_gc_command_refuses_a_live_data_dir_and_collects_an_idle_one() {
    let server = TestServer::start().await;
    server.create_repository("app").await;
    server.create_repository("tmp").await;
    let basic = server.basic().await;
    common::push_image(&server, &basic, "app", "v1", "kept").await;
    // Blobs linked nowhere are collectable at once, by any clock.
    let gone = common::push_blob(&server, &basic, "tmp", b"in a deleted repository").await;
    server
        .ecr()
        .delete_repository()
        .repository_name("tmp")
        .send()
        .await
        .unwrap();

    let live = ecrd_gc(server.dir.path(), false);
    assert!(!live.status.success());
    let stderr = String::from_utf8_lossy(&live.stderr);
    assert!(stderr.contains("is in use by a running ecrd"), "{stderr}");
    assert!(
        stderr.contains(&format!("serving http://{}", server.addr)),
        "{stderr}"
    );
    assert!(stderr.contains("POST /_ecrd/gc"), "{stderr}");
    assert!(blob_file(server.dir.path(), &gone).exists());

    let dir = server.stop().await;
    let dry = ecrd_gc(dir.path(), true);
    assert!(dry.status.success(), "{dry:?}");
    let stdout = String::from_utf8_lossy(&dry.stdout);
    assert!(
        stdout.starts_with(&format!(
            "would remove 1 unused blobs ({} bytes)",
            b"in a deleted repository".len()
        )),
        "{stdout}"
    );
    assert!(blob_file(dir.path(), &gone).exists());

    let real = ecrd_gc(dir.path(), false);
    assert!(real.status.success(), "{real:?}");
    let stdout = String::from_utf8_lossy(&real.stdout);
    assert!(stdout.starts_with("removed 1 unused blobs"), "{stdout}");
    assert!(!blob_file(dir.path(), &gone).exists());

    // The data dir serves as before.
    let config = ecrd::config::Config::for_tests(dir.path().to_owned());
    let server = TestServer::start_in(dir, config).await;
    let basic = server.basic().await;
    pull_all(&server, &basic, "app", &["v1".to_owned()]).await;

    let empty = tempfile::tempdir().unwrap();
    let nothing = ecrd_gc(empty.path(), false);
    assert!(!nothing.status.success());
    assert!(String::from_utf8_lossy(&nothing.stderr).contains("holds no ecrd data"));
}
