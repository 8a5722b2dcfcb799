//! Crash safety of the real binary: SIGKILL it in the middle of concurrent pushes, restart it on
//! the same data dir, and check that every push it acknowledged survived and that nothing on
//! disk contradicts the metadata. Three kills, at three different moments.

use std::collections::HashSet;
use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::StatusCode;
use sha2::Digest as _;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const PUSHERS: usize = 8;
const KIB: usize = 1024;

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// A small deterministic PRNG (xorshift64): sizes, upload styles, blob contents.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(len + 8);
        while out.len() < len {
            out.extend_from_slice(&self.next().to_le_bytes());
        }
        out.truncate(len);
        out
    }
}

/// A running `ecrd serve` (durable, auth off). Killed with SIGKILL when dropped.
struct Ecrd {
    child: Child,
    url: String,
}

impl Ecrd {
    fn start(data_dir: &Path) -> Ecrd {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ecrd"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--auth",
                "off",
                "--log-level",
                "error",
                "--data-dir",
            ])
            .arg(data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ecrd starts");
        // Port 0 and the "listening on" line: no race for a free port, and the line comes only
        // once the store is open (and swept) and the socket bound.
        let mut lines = std::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().expect("ecrd printed a line").expect("utf-8");
        let addr = first
            .split("listening on http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_owned();
        std::thread::spawn(move || lines.for_each(drop));
        Ecrd {
            child,
            url: format!("http://{addr}"),
        }
    }

    /// SIGKILL: no graceful shutdown, no flush, no destructor runs.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }
}

impl Drop for Ecrd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the server acknowledged (answered 2xx to).
#[derive(Clone, Default)]
struct Acks {
    blobs: Vec<(String, String, usize)>,
    manifests: Vec<(String, String, String, Vec<u8>)>,
}

/// Why a pusher stopped: the server died (expected), or it answered something it should not.
#[derive(Debug)]
enum Stop {
    Died,
    Wrong(String),
}

async fn call(
    request: reqwest::RequestBuilder,
    expected: StatusCode,
    what: &str,
) -> Result<reqwest::Response, Stop> {
    let response = request.send().await.map_err(|_| Stop::Died)?;
    if response.status() != expected {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(Stop::Wrong(format!("{what}: {status} {body}")));
    }
    Ok(response)
}

fn location(response: &reqwest::Response, base: &str) -> Result<String, Stop> {
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok());
    location
        .map(|l| format!("{base}{l}"))
        .ok_or_else(|| Stop::Wrong("no Location".into()))
}

/// Uploads one blob in one of the four styles clients use.
async fn upload(
    http: &reqwest::Client,
    base: &str,
    repo: &str,
    data: Vec<u8>,
    style: u64,
) -> Result<String, Stop> {
    let d = digest(&data);
    let uploads = format!("{base}/v2/{repo}/blobs/uploads/");
    if style == 0 {
        let post = http.post(format!("{uploads}?digest={d}")).body(data);
        call(post, StatusCode::CREATED, "monolithic POST").await?;
        return Ok(d);
    }
    let mut session = location(
        &call(http.post(&uploads), StatusCode::ACCEPTED, "POST").await?,
        base,
    )?;
    let last = match style {
        // POST, then PUT with the whole body.
        1 => data,
        // One streamed PATCH without Content-Range (docker, containerd).
        2 => {
            let pieces: Vec<Result<Vec<u8>, std::io::Error>> =
                data.chunks(64 * KIB).map(|c| Ok(c.to_vec())).collect();
            let body = reqwest::Body::wrap_stream(futures_util::stream::iter(pieces));
            let patch = http.patch(&session).body(body);
            session = location(
                &call(patch, StatusCode::ACCEPTED, "streamed PATCH").await?,
                base,
            )?;
            Vec::new()
        }
        // Chunks of 256 KiB with Content-Range; the PUT carries nothing.
        _ => {
            let mut start = 0;
            for chunk in data.chunks(256 * KIB) {
                let range = format!("{start}-{}", start + chunk.len() - 1);
                let patch = http
                    .patch(&session)
                    .header("content-range", range)
                    .body(chunk.to_vec());
                session = location(
                    &call(patch, StatusCode::ACCEPTED, "chunked PATCH").await?,
                    base,
                )?;
                start += chunk.len();
            }
            Vec::new()
        }
    };
    let put = http.put(format!("{session}?digest={d}")).body(last);
    call(put, StatusCode::CREATED, "closing PUT").await?;
    Ok(d)
}

/// Pushes images into `crash/p<n>` until the server dies, recording each acknowledgement.
async fn pusher(
    base: String,
    pusher: usize,
    round: usize,
    acks: Arc<Mutex<Acks>>,
) -> Result<(), Stop> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let repo = format!("crash/p{pusher}");
    let mut rng = Rng::new((round * 100 + pusher) as u64 + 1);
    let ack_blob = |d: &str, len: usize| {
        acks.lock()
            .unwrap()
            .blobs
            .push((repo.clone(), d.to_owned(), len))
    };
    for image in 0.. {
        let config =
            format!(r#"{{"round":{round},"pusher":{pusher},"image":{image}}}"#).into_bytes();
        let config_len = config.len();
        let config_digest = upload(&http, &base, &repo, config, 0).await?;
        ack_blob(&config_digest, config_len);
        let mut layers = Vec::new();
        for _ in 0..1 + rng.below(2) {
            // Mostly small layers, now and then one of a few MiB.
            let len = if rng.below(5) == 0 {
                512 * KIB + rng.below(2560 * KIB as u64) as usize
            } else {
                rng.below(256 * KIB as u64) as usize
            };
            let data = rng.bytes(len);
            let d = upload(&http, &base, &repo, data, rng.below(4)).await?;
            ack_blob(&d, len);
            layers.push(serde_json::json!({"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": d, "size": len}));
        }
        let manifest = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest, "size": config_len},
            "layers": layers,
        }))
        .unwrap();
        let tag = format!("r{round}-i{image}");
        put_manifest(
            &http,
            &base,
            &repo,
            &tag,
            OCI_MANIFEST,
            manifest.clone(),
            &acks,
        )
        .await?;
        // Every third image also gets an index over it: manifest-to-manifest references.
        if image % 3 == 2 {
            let index = serde_json::to_vec(&serde_json::json!({
                "schemaVersion": 2, "mediaType": OCI_INDEX,
                "manifests": [{"mediaType": OCI_MANIFEST, "digest": digest(&manifest), "size": manifest.len(),
                               "platform": {"architecture": "amd64", "os": "linux"}}],
            }))
            .unwrap();
            put_manifest(
                &http,
                &base,
                &repo,
                &format!("{tag}-index"),
                OCI_INDEX,
                index,
                &acks,
            )
            .await?;
        }
    }
    Ok(())
}

async fn put_manifest(
    http: &reqwest::Client,
    base: &str,
    repo: &str,
    tag: &str,
    media_type: &str,
    body: Vec<u8>,
    acks: &Mutex<Acks>,
) -> Result<(), Stop> {
    let put = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("content-type", media_type)
        .body(body.clone());
    let response = call(put, StatusCode::CREATED, "manifest PUT").await?;
    let d = digest(&body);
    if response
        .headers()
        .get("docker-content-digest")
        .and_then(|v| v.to_str().ok())
        != Some(d.as_str())
    {
        return Err(Stop::Wrong(format!(
            "manifest {repo}:{tag}: wrong Docker-Content-Digest"
        )));
    }
    acks.lock()
        .unwrap()
        .manifests
        .push((repo.to_owned(), tag.to_owned(), d, body));
    Ok(())
}

/// Creates the pushers' repositories through the ECR API (no SigV4 needed with `--auth off`).
async fn create_repositories(base: &str) {
    let http = reqwest::Client::new();
    for p in 0..PUSHERS {
        let response = http
            .post(format!("{base}/"))
            .header(
                "x-amz-target",
                "AmazonEC2ContainerRegistry_V20150921.CreateRepository",
            )
            .header("content-type", "application/x-amz-json-1.1")
            .body(format!(r#"{{"repositoryName":"crash/p{p}"}}"#))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
    }
}

/// Every acknowledged blob and manifest is served back, bit for bit (eight requests at a time).
async fn check_acknowledged(base: &str, acks: &Acks) {
    use futures_util::StreamExt;
    let http = reqwest::Client::new();
    let blobs: HashSet<_> = acks.blobs.iter().collect();
    let checks = futures_util::stream::iter(blobs).map(|blob| check_blob(&http, base, blob));
    checks.buffer_unordered(8).collect::<Vec<()>>().await;
    let references = acks
        .manifests
        .iter()
        .flat_map(|(repo, tag, d, body)| [(repo, tag, d, body), (repo, d, d, body)]);
    let checks = futures_util::stream::iter(references).map(|m| check_manifest(&http, base, m));
    checks.buffer_unordered(8).collect::<Vec<()>>().await;
}

async fn check_blob(http: &reqwest::Client, base: &str, (repo, d, len): &(String, String, usize)) {
    let response = http
        .get(format!("{base}/v2/{repo}/blobs/{d}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "acknowledged blob {repo}@{d} lost"
    );
    let body = response.bytes().await.unwrap();
    assert_eq!(body.len(), *len, "{repo}@{d}");
    assert_eq!(&digest(&body), d, "{repo}@{d} has other bytes");
}

async fn check_manifest(
    http: &reqwest::Client,
    base: &str,
    (repo, reference, d, body): (&String, &String, &String, &Vec<u8>),
) {
    let response = http
        .get(format!("{base}/v2/{repo}/manifests/{reference}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "acknowledged manifest {repo}:{reference} lost"
    );
    let header = response
        .headers()
        .get("docker-content-digest")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(&header, d, "{repo}:{reference}");
    assert!(
        response.bytes().await.unwrap() == body[..],
        "{repo}:{reference} has other bytes"
    );
}

/// What is on disk agrees with itself: the metadata names only blobs whose files exist, every
/// file under `blobs/` holds the bytes its name says, and no temporary file survived.
fn check_disk(data_dir: &Path) {
    let db = rusqlite::Connection::open_with_flags(
        data_dir.join("metadata.sqlite"),
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
    )
    .expect("metadata opens read-only");
    let integrity: String = db
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    let mut fk_check = db.prepare("PRAGMA foreign_key_check").unwrap();
    let fk_violations = fk_check.query_map([], |_| Ok(())).unwrap().count();
    assert_eq!(fk_violations, 0, "foreign key violations");
    let dangling_tags: i64 = db
        .query_row(
            "SELECT count(*) FROM tags t LEFT JOIN manifests m ON m.id = t.manifest_id WHERE m.id IS NULL",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(dangling_tags, 0, "tags pointing to missing manifests");

    let blob_file = |d: &str| -> PathBuf {
        let hex = d.strip_prefix("sha256:").expect("sha256 digest");
        data_dir.join("blobs/sha256").join(&hex[..2]).join(hex)
    };
    let mut needed = db
        .prepare("SELECT DISTINCT digest FROM manifest_blobs")
        .unwrap();
    for d in needed.query_map([], |r| r.get::<_, String>(0)).unwrap() {
        let d = d.unwrap();
        assert!(
            blob_file(&d).is_file(),
            "a manifest needs {d}, which has no file"
        );
    }
    let mut rows = db.prepare("SELECT digest, size FROM blobs").unwrap();
    for row in rows
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (d, size) = row.unwrap();
        let meta =
            std::fs::metadata(blob_file(&d)).unwrap_or_else(|_| panic!("blob row {d} has no file"));
        assert_eq!(meta.len() as i64, size, "{d}");
    }

    // Files a crash left behind may have no row, but never other bytes than their name says.
    let mut files = 0;
    for prefix in std::fs::read_dir(data_dir.join("blobs/sha256")).unwrap() {
        let prefix = prefix.unwrap().path();
        for file in std::fs::read_dir(&prefix).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_owned();
            assert!(
                name.starts_with(prefix.file_name().unwrap().to_str().unwrap()),
                "{}",
                path.display()
            );
            assert_eq!(
                digest(&std::fs::read(&path).unwrap()),
                format!("sha256:{name}"),
                "{}",
                path.display()
            );
            files += 1;
        }
    }
    assert!(files > 0);
    let temp: Vec<_> = std::fs::read_dir(data_dir.join("tmp")).unwrap().collect();
    assert!(temp.is_empty(), "tmp/ not swept: {temp:?}");
    // Upload files without a session were swept too.
    let mut ids = db.prepare("SELECT id FROM uploads").unwrap();
    let sessions: HashSet<String> = ids
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for file in std::fs::read_dir(data_dir.join("uploads")).unwrap() {
        let name = file.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            sessions.contains(&name),
            "upload file {name} has no session"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_pushes_survive_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("data");
    let acks = Arc::new(Mutex::new(Acks::default()));
    let mut server = Ecrd::start(&data_dir);
    create_repositories(&server.url).await;

    // Early (uploads just opened), mid-way, and late (manifests and indexes in flight); a
    // little jitter from the clock so that repeated runs hit different instructions.
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_millis() as u64
        % 150;
    for (round, after_ms) in [(1, 150 + jitter), (2, 700 + jitter), (3, 1600 + jitter)] {
        let pushers: Vec<_> = (0..PUSHERS)
            .map(|p| tokio::spawn(pusher(server.url.clone(), p, round, acks.clone())))
            .collect();
        tokio::time::sleep(Duration::from_millis(after_ms)).await;
        server.kill();
        for p in pushers {
            match tokio::time::timeout(Duration::from_secs(30), p)
                .await
                .expect("pusher stops")
                .unwrap()
            {
                Err(Stop::Died) => {}
                Err(Stop::Wrong(what)) => panic!("round {round}: {what}"),
                Ok(()) => unreachable!("pushers push until the server dies"),
            }
        }

        // What the kill left behind, for the record (`--nocapture`): the sweep at start must
        // deal with it.
        let count = |sub: &str| std::fs::read_dir(data_dir.join(sub)).map_or(0, |d| d.count());
        let (temp, uploads) = (count("tmp"), count("uploads"));
        let started = std::time::Instant::now();
        server = Ecrd::start(&data_dir);
        let acknowledged = acks.lock().unwrap().clone();
        assert!(
            !acknowledged.blobs.is_empty(),
            "round {round}: nothing was acknowledged"
        );
        check_acknowledged(&server.url, &acknowledged).await;
        check_disk(&data_dir);
        eprintln!(
            "round {round}: killed after {after_ms} ms with {temp} temp and {uploads} upload files; \
             {} blobs and {} manifests acknowledged so far; restart and checks took {:?}",
            acknowledged.blobs.len(),
            acknowledged.manifests.len(),
            started.elapsed()
        );
    }
    let acks = acks.lock().unwrap();
    assert!(
        acks.manifests.len() >= 3,
        "too few manifests acknowledged: {}",
        acks.manifests.len()
    );
}
