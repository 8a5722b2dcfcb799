//! Load generator and machine baselines for `bench/run` (see BENCHMARKS.md).
//!
//! Not a libtest/criterion bench (`harness = false`): one binary with subcommands, each writing
//! one JSON document that `report` then combines into `bench/out/results.json` and a Markdown
//! table. Every connection it opens goes to 127.0.0.1; every phase is bounded in requests or
//! seconds.
//!
//! * `baselines --dir DIR --out FILE` — single-core sha256 (the `sha2` crate ecrd uses; 256 MiB
//!   from memory, and one cache-hot buffer), write + fsync of a file in DIR, loopback TCP and
//!   loopback HTTP (in-process axum) streaming.
//! * `load --url URL --label L [--pid PID] --out FILE` — pushes, pulls, manifest GET/PUT, HEAD
//!   blob against one registry; with `--pid`, the server's peak RSS over a 1 GiB push and its
//!   CPU time per phase.
//! * `api-load --url URL --label L [--pid PID] --out FILE` — the ECR JSON API workload (PutImage,
//!   DescribeImages walks and single-image lookups, ListImages, BatchGetImage) against ecrd or
//!   moto's server.
//! * `startup --ecrd PATH --out FILE` — exec of `ecrd serve --ephemeral` → first `GET /v2/` 200.
//! * `trivial-server --listen ADDR` — answers every request with a fixed manifest: the ceiling
//!   of this harness's manifest GET (and `api-load`'s single-image DescribeImages) on this machine;
//!   and every blob GET with `--blob-mib` of one cache-hot buffer: the ceiling of a pull between
//!   two processes over loopback (`load --phases pull --no-setup`).
//! * `pull-rounds --registry L=URL … --ceiling L=URL …` — one blob pulled from every server in
//!   alternating rounds, so that pull ratios compare servers at the same moments of the machine.
//! * `report --dir DIR` — combines the parts, evaluates the targets, prints Markdown.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{Parser, Subcommand};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Empty, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rand::{RngCore, SeedableRng};
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Result<T> = std::result::Result<T, Error>;
type ReqBody = BoxBody<Bytes, Infallible>;

const MIB: u64 = 1024 * 1024;
/// Size of the request/response frames the client hands to hyper when streaming a blob.
const FRAME: usize = 1 << 20;
/// The digest pulls from `trivial-server` ask for: it answers any blob digest with its buffer.
const TRIVIAL_BLOB_DIGEST: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";

#[derive(Parser)]
#[command(
    name = "registry",
    about = "ecrd benchmark load generator (driven by bench/run)"
)]
struct Cli {
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true, global = true)]
    bench: bool,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Machine baselines: sha256, disk write+fsync, loopback.
    Baselines {
        /// A directory on the filesystem the durable data dir lives on.
        #[arg(long)]
        dir: PathBuf,
        #[arg(long, default_value_t = 256)]
        mib: u64,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// The registry workload against one server.
    Load {
        /// e.g. http://127.0.0.1:5000 (loopback only).
        #[arg(long)]
        url: String,
        #[arg(long)]
        label: String,
        /// The server's pid: peak RSS over a 1 GiB push, CPU time per phase.
        #[arg(long)]
        pid: Option<u32>,
        #[arg(long, default_value = "bench")]
        repo: String,
        #[arg(long, default_value_t = 256)]
        blob_mib: u64,
        #[arg(long, default_value_t = 8)]
        chunk_mib: u64,
        #[arg(long, default_value_t = 3)]
        repeat: usize,
        /// Size of the push during which peak RSS is read (needs --pid; 0 = skip).
        #[arg(long, default_value_t = 1024)]
        rss_push_mib: u64,
        #[arg(long, default_value_t = 64)]
        get_conns: usize,
        #[arg(long, default_value_t = 16)]
        put_conns: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        #[arg(long, default_value_t = 1.0)]
        warmup_seconds: f64,
        #[arg(long, default_value_t = 2000)]
        head_requests: usize,
        /// Comma-separated subset of: rss,push,chunked,pull,head,manifest-put,manifest-get.
        #[arg(
            long,
            default_value = "rss,push,chunked,pull,head,manifest-put,manifest-get"
        )]
        phases: String,
        /// A directory on the filesystem the server stores blobs on (page-cache warm-up files).
        #[arg(long, default_value = "/tmp")]
        scratch: PathBuf,
        /// Push nothing before the manifest and pull phases (for `trivial-server`, whose every
        /// blob is `--blob-mib` long).
        #[arg(long)]
        no_setup: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// The ECR JSON API workload against one server (ecrd or moto): see BENCHMARKS.md.
    ApiLoad {
        /// e.g. http://127.0.0.1:5000 (loopback only).
        #[arg(long)]
        url: String,
        #[arg(long)]
        label: String,
        /// The server's pid: its CPU time per phase.
        #[arg(long)]
        pid: Option<u32>,
        #[arg(long, default_value = "api-bench")]
        repo: String,
        /// Distinct images PutImage stores (tags img-0 … img-<n-1>).
        #[arg(long, default_value_t = 2000)]
        images: usize,
        #[arg(long, default_value_t = 16)]
        put_conns: usize,
        /// DescribeImages walk: maxResults per page.
        #[arg(long, default_value_t = 100)]
        page: usize,
        /// ListImages walk: maxResults per page.
        #[arg(long, default_value_t = 1000)]
        list_page: usize,
        /// How many times each walk is timed.
        #[arg(long, default_value_t = 5)]
        walks: usize,
        #[arg(long, default_value_t = 64)]
        get_conns: usize,
        #[arg(long, default_value_t = 5.0)]
        seconds: f64,
        #[arg(long, default_value_t = 1.0)]
        warmup_seconds: f64,
        /// Tags per BatchGetImage request.
        #[arg(long, default_value_t = 100)]
        batch: usize,
        #[arg(long, default_value_t = 500)]
        batch_requests: usize,
        /// Upper bound on the measured BatchGetImage requests' time: a slow server stops early
        /// (the number of requests done is reported).
        #[arg(long, default_value_t = 60.0)]
        batch_max_seconds: f64,
        /// Comma-separated subset of: put,walk,describe-one,list,batch-get,tokens. PutImage
        /// runs unless --no-setup, whatever this says: the other phases read its images.
        #[arg(long, default_value = "put,walk,describe-one,list,batch-get,tokens")]
        phases: String,
        /// Create nothing first (for `trivial-server`: `--phases describe-one --no-setup`).
        #[arg(long)]
        no_setup: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// Exec → first successful `GET /v2/`, for `ecrd serve --ephemeral --auth off`.
    Startup {
        #[arg(long)]
        ecrd: PathBuf,
        #[arg(long, default_value_t = 20)]
        runs: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// Pulls one blob from several servers in alternating rounds, the order rotated every round,
    /// so that every server is measured at the same moments of the machine: a ratio between two
    /// phases minutes apart measures how the VM drifted as much as the servers.
    PullRounds {
        /// LABEL=URL of a registry: the blob is pushed to it first (repeatable).
        #[arg(long = "registry")]
        registries: Vec<String>,
        /// LABEL=URL of a `trivial-server`, which answers any blob digest with `--blob-mib`
        /// MiB of one cache-hot buffer (repeatable).
        #[arg(long = "ceiling")]
        ceilings: Vec<String>,
        #[arg(long, default_value = "bench")]
        repo: String,
        #[arg(long, default_value_t = 256)]
        blob_mib: u64,
        #[arg(long, default_value_t = 8)]
        rounds: usize,
        #[arg(long)]
        out: PathBuf,
    },
    /// A server answering every request with one fixed manifest, and every blob GET with
    /// `blob_mib` MiB of one buffer (the harness's own ceilings).
    TrivialServer {
        #[arg(long)]
        listen: SocketAddr,
        #[arg(long, default_value_t = 256)]
        blob_mib: u64,
    },
    /// Combines the JSON parts in DIR into results.json and prints the Markdown table.
    Report {
        #[arg(long)]
        dir: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() {
    let cli = Cli::parse();
    let Some(command) = cli.command else {
        // `cargo bench` with no arguments: nothing to measure without servers; bench/run drives us.
        eprintln!("registry bench: run bench/run (or pass a subcommand; --help lists them)");
        return;
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async move {
        match command {
            Cmd::Baselines {
                dir,
                mib,
                repeat,
                out,
            } => write_json(&out, &baselines(&dir, mib, repeat).await?),
            Cmd::Load {
                url,
                label,
                pid,
                repo,
                blob_mib,
                chunk_mib,
                repeat,
                rss_push_mib,
                get_conns,
                put_conns,
                seconds,
                warmup_seconds,
                head_requests,
                phases,
                no_setup,
                scratch,
                out,
            } => {
                let opts = LoadOpts {
                    label,
                    pid,
                    repo,
                    blob_bytes: blob_mib * MIB,
                    chunk_bytes: chunk_mib * MIB,
                    repeat,
                    rss_push_bytes: rss_push_mib * MIB,
                    get_conns,
                    put_conns,
                    measure: Duration::from_secs_f64(seconds),
                    warmup: Duration::from_secs_f64(warmup_seconds),
                    head_requests,
                    phases: phases.split(',').map(|p| p.trim().to_owned()).collect(),
                    no_setup,
                    scratch,
                };
                write_json(&out, &load(&url, &opts).await?)
            }
            Cmd::ApiLoad {
                url,
                label,
                pid,
                repo,
                images,
                put_conns,
                page,
                list_page,
                walks,
                get_conns,
                seconds,
                warmup_seconds,
                batch,
                batch_requests,
                batch_max_seconds,
                phases,
                no_setup,
                out,
            } => {
                let opts = ApiOpts {
                    label,
                    pid,
                    repo,
                    images,
                    put_conns,
                    page,
                    list_page,
                    walks,
                    get_conns,
                    measure: Duration::from_secs_f64(seconds),
                    warmup: Duration::from_secs_f64(warmup_seconds),
                    batch,
                    batch_requests,
                    batch_max: Duration::from_secs_f64(batch_max_seconds),
                    phases: phases.split(',').map(|p| p.trim().to_owned()).collect(),
                    no_setup,
                };
                write_json(&out, &api_load(&url, &opts).await?)
            }
            Cmd::Startup { ecrd, runs, out } => {
                let result = tokio::task::spawn_blocking(move || startup(&ecrd, runs)).await??;
                write_json(&out, &result)
            }
            Cmd::PullRounds {
                registries,
                ceilings,
                repo,
                blob_mib,
                rounds,
                out,
            } => {
                let result =
                    pull_rounds(&registries, &ceilings, &repo, blob_mib * MIB, rounds).await?;
                write_json(&out, &result)
            }
            Cmd::TrivialServer { listen, blob_mib } => trivial_server(listen, blob_mib << 20).await,
            Cmd::Report { dir, out } => report(&dir, &out),
        }
    });
    if let Err(e) = outcome {
        eprintln!("registry bench: {e}");
        std::process::exit(1);
    }
}

fn write_json(path: &Path, value: &Value) -> Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(path, serde_json::to_string_pretty(value)? + "\n")?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Statistics
// ---------------------------------------------------------------------------------------------

fn mbps(bytes: u64, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

/// Writes `bytes` to a scratch file in `dir` (no fsync) and deletes it; returns the write rate.
///
/// On this project's VMs (Firecracker), the host takes back guest memory the guest is not
/// using, and the first write to such a page traps to the host: writing 256 MiB into the page
/// cache was measured with `dd` at 0.07 s on recently used pages and 0.6 s on the others,
/// whichever process writes. Writing and deleting a scratch file just before a push leaves the
/// push recently used page-cache pages, so that its figure does not depend on what earlier
/// phases left behind. The rate is reported as a noise check.
fn warm_page_cache(dir: &Path, data: &Bytes, bytes: u64) -> Result<f64> {
    let path = dir.join(format!("bench-warm-{}", std::process::id()));
    let t = Instant::now();
    let mut f = std::fs::File::create(&path)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(FRAME as u64).min(data.len() as u64) as usize;
        f.write_all(&data[..n])?;
        left -= n as u64;
    }
    let rate = mbps(bytes, t.elapsed());
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(round(rate, 0))
}

/// `{runs, best, median}` of throughput samples (higher is better).
fn summary(runs: &[f64]) -> Value {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let best = sorted.last().copied().unwrap_or(0.0);
    let median = if sorted.is_empty() {
        0.0
    } else {
        sorted[sorted.len() / 2]
    };
    json!({"runs": runs.iter().map(|r| round(*r, 1)).collect::<Vec<_>>(), "best": round(best, 1), "median": round(median, 1)})
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

/// Nearest-rank percentile of sorted microsecond samples, in milliseconds.
fn percentile_ms(sorted_us: &[u32], q: f64) -> f64 {
    if sorted_us.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * sorted_us.len() as f64).ceil() as usize).clamp(1, sorted_us.len());
    round(f64::from(sorted_us[rank - 1]) / 1000.0, 3)
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some(ticks / hz)
}

/// A `/proc/<pid>/status` field in KiB (VmHWM, VmRSS).
fn proc_status_kib(pid: u32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// CPU seconds spent by the server and by this client during a phase.
struct CpuMeter {
    pid: Option<u32>,
    server: Option<f64>,
    client: Option<f64>,
    wall: Instant,
}

impl CpuMeter {
    fn start(pid: Option<u32>) -> Self {
        CpuMeter {
            pid,
            server: pid.and_then(|p| cpu_seconds(Some(p))),
            client: cpu_seconds(None),
            wall: Instant::now(),
        }
    }

    fn stop(self) -> Value {
        let server = self
            .pid
            .and_then(|p| cpu_seconds(Some(p)))
            .zip(self.server)
            .map(|(b, a)| round(b - a, 2));
        let client = cpu_seconds(None)
            .zip(self.client)
            .map(|(b, a)| round(b - a, 2));
        json!({"wall_s": round(self.wall.elapsed().as_secs_f64(), 2), "server_cpu_s": server, "client_cpu_s": client})
    }
}

// ---------------------------------------------------------------------------------------------
// Blob content: a 16-byte prefix (distinct per push) followed by a shared random buffer, repeated
// up to `size`. Streamed as slices of one allocation: the data is never held twice.
// ---------------------------------------------------------------------------------------------

#[derive(Clone)]
struct Blob {
    prefix: Bytes,
    base: Bytes,
    size: u64,
}

impl Blob {
    fn new(base: &Bytes, size: u64, tag: &str) -> Blob {
        let mut prefix = [0u8; 16];
        let hash = Sha256::digest(format!("{tag}/{}", std::process::id()).as_bytes());
        prefix.copy_from_slice(&hash[..16]);
        Blob {
            prefix: Bytes::copy_from_slice(&prefix),
            base: base.clone(),
            size,
        }
    }

    /// Zero-copy frames covering `[start, end)` of the content.
    fn frames(&self, start: u64, end: u64) -> Vec<Bytes> {
        let mut frames = Vec::new();
        let mut at = start;
        let plen = self.prefix.len() as u64;
        if at < plen.min(end) {
            frames.push(self.prefix.slice(at as usize..plen.min(end) as usize));
            at = plen.min(end);
        }
        let blen = self.base.len() as u64;
        while at < end {
            let offset = at % blen;
            let n = (end - at).min(blen - offset).min(FRAME as u64);
            frames.push(self.base.slice(offset as usize..(offset + n) as usize));
            at += n;
        }
        frames
    }

    fn body(&self, start: u64, end: u64) -> ReqBody {
        let frames = self
            .frames(start, end)
            .into_iter()
            .map(|b| Ok(Frame::data(b)));
        StreamBody::new(futures_util::stream::iter(frames)).boxed()
    }

    fn digest(&self) -> String {
        let mut hasher = Sha256::new();
        for frame in self.frames(0, self.size) {
            hasher.update(&frame);
        }
        format!("sha256:{}", hex::encode(hasher.finalize()))
    }
}

fn random_bytes(len: u64, seed: u64) -> Bytes {
    let mut data = vec![0u8; len as usize];
    rand::rngs::SmallRng::seed_from_u64(seed).fill_bytes(&mut data);
    Bytes::from(data)
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 client: one hyper connection per worker, keep-alive, reconnect if the server closed.
// ---------------------------------------------------------------------------------------------

fn empty() -> ReqBody {
    Empty::new().boxed()
}

fn full(data: impl Into<Bytes>) -> ReqBody {
    Full::new(data.into()).boxed()
}

struct Client {
    addr: SocketAddr,
    host: String,
    sender: Option<SendRequest<ReqBody>>,
}

impl Client {
    fn new(base_url: &str) -> Result<Client> {
        let host = base_url
            .strip_prefix("http://")
            .ok_or("the URL must be http://127.0.0.1:PORT")?
            .trim_end_matches('/');
        let addr: SocketAddr = host
            .parse()
            .map_err(|_| format!("{host}: expected 127.0.0.1:PORT"))?;
        if !addr.ip().is_loopback() {
            return Err(format!(
                "{addr} is not a loopback address; this harness only loads 127.0.0.1"
            )
            .into());
        }
        Ok(Client {
            addr,
            host: host.to_owned(),
            sender: None,
        })
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<ReqBody>> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            let (sender, conn) =
                hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
            tokio::spawn(async move {
                let _ = conn.await;
            });
            self.sender = Some(sender);
        }
        let sender = self.sender.as_mut().expect("just connected");
        sender.ready().await?;
        Ok(sender)
    }

    async fn send(
        &mut self,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: ReqBody,
    ) -> Result<Response<Incoming>> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, &self.host);
        for (name, value) in headers {
            request = request.header(*name, value);
        }
        let request = request.body(body)?;
        let response = self.connection().await?.send_request(request).await?;
        // A server that closes after each response (moto's werkzeug server answers
        // `Connection: close`): open a fresh connection for the next request rather than race
        // the close.
        let closes = response
            .headers()
            .get(hyper::header::CONNECTION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("close"));
        if closes {
            self.sender = None;
        }
        Ok(response)
    }

    /// Sends, drains the body, and fails unless the status is `want`.
    async fn expect(
        &mut self,
        want: StatusCode,
        method: Method,
        path: &str,
        headers: &[(&str, String)],
        body: ReqBody,
    ) -> Result<(Response<()>, u64)> {
        let response = self.send(method.clone(), path, headers, body).await?;
        let (parts, body) = response.into_parts();
        if parts.status != want {
            let text = body
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            return Err(format!(
                "{method} {path}: {} (wanted {want}): {}",
                parts.status,
                String::from_utf8_lossy(&text[..text.len().min(300)])
            )
            .into());
        }
        let n = drain(body).await?;
        Ok((Response::from_parts(parts, ()), n))
    }
}

async fn drain(mut body: Incoming) -> Result<u64> {
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Ok(data) = frame?.into_data() {
            n += data.len() as u64;
        }
    }
    Ok(n)
}

/// The path (and query) of a Location header, absolute or relative.
fn location(response: &Response<()>) -> Result<String> {
    let loc = response
        .headers()
        .get(hyper::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or("no Location header")?;
    let path = match loc.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => loc,
    };
    Ok(path.to_owned())
}

fn with_query(path: &str, kv: &str) -> String {
    if path.contains('?') {
        format!("{path}&{kv}")
    } else {
        format!("{path}?{kv}")
    }
}

fn octets(len: u64) -> Vec<(&'static str, String)> {
    vec![
        ("content-type", "application/octet-stream".to_owned()),
        ("content-length", len.to_string()),
    ]
}

// ---------------------------------------------------------------------------------------------
// Registry operations
// ---------------------------------------------------------------------------------------------

async fn start_upload(c: &mut Client, repo: &str) -> Result<String> {
    let (response, _) = c
        .expect(
            StatusCode::ACCEPTED,
            Method::POST,
            &format!("/v2/{repo}/blobs/uploads/"),
            &[("content-length", "0".into())],
            empty(),
        )
        .await?;
    location(&response)
}

/// POST, then PUT ?digest= with the whole body streamed.
async fn push_monolithic(
    c: &mut Client,
    repo: &str,
    blob: &Blob,
    digest: &str,
) -> Result<Duration> {
    let started = Instant::now();
    let loc = start_upload(c, repo).await?;
    let put = with_query(&loc, &format!("digest={digest}"));
    c.expect(
        StatusCode::CREATED,
        Method::PUT,
        &put,
        &octets(blob.size),
        blob.body(0, blob.size),
    )
    .await?;
    Ok(started.elapsed())
}

/// POST, PATCHes of `chunk` bytes with Content-Range, then PUT ?digest= with no body.
async fn push_chunked(
    c: &mut Client,
    repo: &str,
    blob: &Blob,
    digest: &str,
    chunk: u64,
) -> Result<Duration> {
    let started = Instant::now();
    let mut loc = start_upload(c, repo).await?;
    let mut at = 0;
    while at < blob.size {
        let end = (at + chunk).min(blob.size);
        let mut headers = octets(end - at);
        headers.push(("content-range", format!("{at}-{}", end - 1)));
        let (response, _) = c
            .expect(
                StatusCode::ACCEPTED,
                Method::PATCH,
                &loc,
                &headers,
                blob.body(at, end),
            )
            .await?;
        loc = location(&response)?;
        at = end;
    }
    let put = with_query(&loc, &format!("digest={digest}"));
    c.expect(
        StatusCode::CREATED,
        Method::PUT,
        &put,
        &[("content-length", "0".into())],
        empty(),
    )
    .await?;
    Ok(started.elapsed())
}

async fn pull(c: &mut Client, repo: &str, digest: &str, size: u64) -> Result<Duration> {
    let started = Instant::now();
    let (_, n) = c
        .expect(
            StatusCode::OK,
            Method::GET,
            &format!("/v2/{repo}/blobs/{digest}"),
            &[],
            empty(),
        )
        .await?;
    if n != size {
        return Err(format!("pulled {n} bytes of {size}").into());
    }
    Ok(started.elapsed())
}

// ---------------------------------------------------------------------------------------------
// `pull-rounds`
// ---------------------------------------------------------------------------------------------

/// One server of `pull-rounds`: its connection, kept across rounds, and what it serves.
struct RoundServer {
    label: String,
    client: Client,
    digest: String,
    runs: Vec<f64>,
}

fn label_and_url(spec: &str) -> Result<(&str, &str)> {
    spec.split_once('=')
        .ok_or_else(|| format!("{spec}: expected LABEL=URL").into())
}

async fn pull_rounds(
    registries: &[String],
    ceilings: &[String],
    repo: &str,
    size: u64,
    rounds: usize,
) -> Result<Value> {
    let base = random_bytes(size, 0x9a11);
    let blob = Blob::new(&base, size, "pull-rounds");
    let digest = blob.digest();
    let mut servers = Vec::new();
    for spec in registries {
        let (label, url) = label_and_url(spec)?;
        let mut client = Client::new(url)?;
        push_monolithic(&mut client, repo, &blob, &digest).await?;
        servers.push(RoundServer {
            label: label.to_owned(),
            client,
            digest: digest.clone(),
            runs: Vec::new(),
        });
    }
    for spec in ceilings {
        let (label, url) = label_and_url(spec)?;
        servers.push(RoundServer {
            label: label.to_owned(),
            client: Client::new(url)?,
            digest: TRIVIAL_BLOB_DIGEST.to_owned(),
            runs: Vec::new(),
        });
    }
    if servers.is_empty() {
        return Err("pull-rounds: no --registry and no --ceiling".into());
    }
    // The first pull on a fresh connection runs slower than the later ones on every server.
    for server in &mut servers {
        pull(&mut server.client, repo, &server.digest, size).await?;
    }
    let n = servers.len();
    for r in 0..rounds {
        let mut line = format!("  round {r}:");
        for k in 0..n {
            let server = &mut servers[(r + k) % n];
            let took = pull(&mut server.client, repo, &server.digest, size).await?;
            let rate = mbps(size, took);
            server.runs.push(round(rate, 0));
            line += &format!(" {} {rate:.0}", server.label);
        }
        eprintln!("{line} MB/s");
    }
    let mut out = serde_json::Map::new();
    out.insert("rounds".into(), json!(rounds));
    out.insert("blob_bytes".into(), json!(size));
    for server in &servers {
        out.insert(server.label.clone(), summary(&server.runs));
    }
    Ok(Value::Object(out))
}

fn manifest(config_digest: &str, config_size: usize, seq: &str) -> Bytes {
    Bytes::from(
        json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [],
            "annotations": {"org.example.bench.seq": seq},
        })
        .to_string(),
    )
}

async fn put_manifest(c: &mut Client, repo: &str, tag: &str, body: Bytes) -> Result<()> {
    let headers = [
        ("content-type", OCI_MANIFEST.to_owned()),
        ("content-length", body.len().to_string()),
    ];
    c.expect(
        StatusCode::CREATED,
        Method::PUT,
        &format!("/v2/{repo}/manifests/{tag}"),
        &headers,
        full(body),
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// `load`
// ---------------------------------------------------------------------------------------------

struct LoadOpts {
    label: String,
    pid: Option<u32>,
    repo: String,
    blob_bytes: u64,
    chunk_bytes: u64,
    repeat: usize,
    rss_push_bytes: u64,
    get_conns: usize,
    put_conns: usize,
    measure: Duration,
    warmup: Duration,
    head_requests: usize,
    phases: Vec<String>,
    no_setup: bool,
    scratch: PathBuf,
}

impl LoadOpts {
    fn has(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

async fn load(url: &str, o: &LoadOpts) -> Result<Value> {
    let mut c = Client::new(url)?;
    let repo = o.repo.as_str();
    let mut out = serde_json::Map::new();
    out.insert("label".into(), json!(o.label));
    out.insert("url".into(), json!(url));
    let mut cpu = serde_json::Map::new();
    let log = |msg: String| eprintln!("  [{}] {msg}", o.label);

    let base = random_bytes(o.blob_bytes, 0x5eed);
    // Outlives `base` (dropped before the manifest phases) for the probes of those phases.
    let probe_sample = Bytes::copy_from_slice(&base[..base.len().min(64 << 20)]);
    // sha256 speed of this core just before each throughput phase: a slower figure than the
    // baseline's means the machine was busy with something else, and the phase is suspect.
    let mut probes = serde_json::Map::new();
    let mut warm = Vec::new();
    let probe = |base: &Bytes| {
        // Start every throughput phase with no dirty pages left by the one before: otherwise a
        // server that does not fsync (ephemeral, distribution) is measured against the kernel
        // writing back its predecessor's bytes.
        // SAFETY: sync(2) has no preconditions.
        unsafe { libc::sync() };
        let sample = base.slice(..base.len().min(64 << 20));
        let t = Instant::now();
        std::hint::black_box(Sha256::digest(&sample));
        round(mbps(sample.len() as u64, t.elapsed()), 0)
    };

    if let (Some(pid), true, true) = (o.pid, o.rss_push_bytes > 0, o.has("rss")) {
        probes.insert("rss".into(), json!(probe(&base)));
        let before = proc_status_kib(pid, "VmHWM");
        let blob = Blob::new(&base, o.rss_push_bytes, &format!("{}/rss", o.label));
        let digest = blob.digest();
        // Sample VmRSS while the push runs, as a cross-check of VmHWM.
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = tokio::task::spawn_blocking({
            let stop = stop.clone();
            move || {
                let mut max = 0;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    max = max.max(proc_status_kib(pid, "VmRSS").unwrap_or(0));
                    std::thread::sleep(Duration::from_millis(5));
                }
                max
            }
        });
        let meter = CpuMeter::start(o.pid);
        warm.push(json!(warm_page_cache(
            &o.scratch,
            &base,
            blob.size + blob.size / 2
        )?));
        let took = push_monolithic(&mut c, repo, &blob, &digest).await;
        cpu.insert("rss_push".into(), meter.stop());
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let sampled = sampler.await?;
        let took = took?;
        let after = proc_status_kib(pid, "VmHWM");
        log(format!(
            "1 GiB push: {:.0} MB/s, VmHWM {after:?} KiB",
            mbps(blob.size, took)
        ));
        out.insert(
            "rss".into(),
            json!({
                "push_bytes": blob.size,
                "push_mbps": round(mbps(blob.size, took), 1),
                "vmhwm_before_kib": before,
                "vmhwm_after_push_kib": after,
                "vmrss_max_sampled_kib": sampled,
            }),
        );
    }

    let mut pushed: Vec<(String, Blob)> = Vec::new();
    if o.has("push") {
        probes.insert("push".into(), json!(probe(&base)));
        let meter = CpuMeter::start(o.pid);
        let mut runs = Vec::new();
        for i in 0..o.repeat {
            let blob = Blob::new(&base, o.blob_bytes, &format!("{}/mono/{i}", o.label));
            let digest = blob.digest();
            warm.push(json!(warm_page_cache(&o.scratch, &base, 2 * blob.size)?));
            let took = push_monolithic(&mut c, repo, &blob, &digest).await?;
            runs.push(mbps(blob.size, took));
            log(format!("monolithic push {i}: {:.0} MB/s", runs[i]));
            pushed.push((digest, blob));
        }
        cpu.insert("push_monolithic".into(), meter.stop());
        out.insert("push_monolithic_mbps".into(), summary(&runs));
    }

    if o.has("chunked") {
        probes.insert("chunked".into(), json!(probe(&base)));
        let meter = CpuMeter::start(o.pid);
        let mut runs = Vec::new();
        for i in 0..o.repeat {
            let blob = Blob::new(&base, o.blob_bytes, &format!("{}/chunked/{i}", o.label));
            let digest = blob.digest();
            warm.push(json!(warm_page_cache(&o.scratch, &base, 2 * blob.size)?));
            let took = push_chunked(&mut c, repo, &blob, &digest, o.chunk_bytes).await?;
            runs.push(mbps(blob.size, took));
            log(format!("chunked push {i}: {:.0} MB/s", runs[i]));
            pushed.push((digest, blob));
        }
        cpu.insert("push_chunked".into(), meter.stop());
        out.insert("push_chunked_mbps".into(), summary(&runs));
    }

    if o.has("pull") {
        probes.insert("pull".into(), json!(probe(&base)));
        if o.no_setup {
            // `trivial-server` answers any blob digest with `blob_bytes` of its one buffer.
            let blob = Blob::new(&base, o.blob_bytes, "trivial");
            pushed.push((TRIVIAL_BLOB_DIGEST.to_owned(), blob));
        } else if pushed.is_empty() {
            let blob = Blob::new(&base, o.blob_bytes, &format!("{}/pull", o.label));
            let digest = blob.digest();
            push_monolithic(&mut c, repo, &blob, &digest).await?;
            pushed.push((digest, blob));
        }
        let meter = CpuMeter::start(o.pid);
        let mut runs = Vec::new();
        for i in 0..o.repeat {
            let (digest, blob) = &pushed[i % pushed.len()];
            let took = pull(&mut c, repo, digest, blob.size).await?;
            runs.push(mbps(blob.size, took));
            log(format!("pull {i}: {:.0} MB/s", runs[i]));
        }
        cpu.insert("pull".into(), meter.stop());
        out.insert("pull_mbps".into(), summary(&runs));
    }
    drop(pushed);
    drop(base);

    // A small config blob every manifest refers to, pushed monolithically (POST + PUT).
    let config = Bytes::from(json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}}).to_string());
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));
    let config_blob = Blob {
        prefix: Bytes::new(),
        base: config.clone(),
        size: config.len() as u64,
    };
    if !o.no_setup && (o.has("head") || o.has("manifest-put") || o.has("manifest-get")) {
        push_monolithic(&mut c, repo, &config_blob, &config_digest).await?;
    }

    if o.has("head") {
        let path = format!("/v2/{repo}/blobs/{config_digest}");
        for _ in 0..50 {
            c.expect(StatusCode::OK, Method::HEAD, &path, &[], empty())
                .await?;
        }
        let meter = CpuMeter::start(o.pid);
        let mut lat = Vec::with_capacity(o.head_requests);
        for _ in 0..o.head_requests {
            let t = Instant::now();
            c.expect(StatusCode::OK, Method::HEAD, &path, &[], empty())
                .await?;
            lat.push(micros(t.elapsed()));
        }
        cpu.insert("head_blob".into(), meter.stop());
        lat.sort_unstable();
        log(format!("HEAD blob p50 {} ms", percentile_ms(&lat, 0.5)));
        out.insert(
            "head_blob".into(),
            json!({"requests": lat.len(), "p50_ms": percentile_ms(&lat, 0.5), "p99_ms": percentile_ms(&lat, 0.99), "max_ms": percentile_ms(&lat, 1.0)}),
        );
    }

    if o.has("manifest-put") {
        probes.insert("manifest_put".into(), json!(probe(&probe_sample)));
        let meter = CpuMeter::start(o.pid);
        let op = LoopOp::PutManifest {
            repo: repo.to_owned(),
            config_digest: config_digest.clone(),
            config_len: config.len(),
            label: o.label.clone(),
        };
        let (ops, lat, errors, elapsed) =
            closed_loop(url, o.put_conns, o.warmup, o.measure, op).await?;
        cpu.insert("manifest_put".into(), meter.stop());
        let v = rate_json(o.put_conns, ops, &lat, errors, elapsed);
        log(format!(
            "manifest PUT x{}: {} ops/s",
            o.put_conns, v["ops_per_s"]
        ));
        out.insert("manifest_put".into(), v);
        probes.insert("manifest_put_after".into(), json!(probe(&probe_sample)));
    }

    if o.has("manifest-get") {
        if !o.no_setup {
            put_manifest(
                &mut c,
                repo,
                "latest",
                manifest(&config_digest, config.len(), "get-target"),
            )
            .await?;
        }
        let path = format!("/v2/{repo}/manifests/latest");
        probes.insert("manifest_get".into(), json!(probe(&probe_sample)));
        let meter = CpuMeter::start(o.pid);
        let (ops, lat, errors, elapsed) = closed_loop(
            url,
            o.get_conns,
            o.warmup,
            o.measure,
            LoopOp::GetManifest { path },
        )
        .await?;
        cpu.insert("manifest_get".into(), meter.stop());
        let v = rate_json(o.get_conns, ops, &lat, errors, elapsed);
        log(format!(
            "manifest GET x{}: {} ops/s, p99 {} ms",
            o.get_conns, v["ops_per_s"], v["p99_ms"]
        ));
        out.insert("manifest_get".into(), v);
        probes.insert("manifest_get_after".into(), json!(probe(&probe_sample)));
    }

    if let Some(pid) = o.pid {
        out.insert("vmhwm_end_kib".into(), json!(proc_status_kib(pid, "VmHWM")));
    }
    out.insert("cpu".into(), Value::Object(cpu));
    out.insert("sha256_probe_mbps".into(), Value::Object(probes));
    out.insert("page_cache_warm_mbps".into(), Value::Array(warm));
    Ok(Value::Object(out))
}

fn rate_json(conns: usize, ops: u64, lat: &[u32], errors: u64, elapsed: Duration) -> Value {
    json!({
        "conns": conns,
        "seconds": round(elapsed.as_secs_f64(), 2),
        "ops": ops,
        "errors": errors,
        "ops_per_s": round(ops as f64 / elapsed.as_secs_f64(), 0),
        "p50_ms": percentile_ms(lat, 0.5),
        "p99_ms": percentile_ms(lat, 0.99),
    })
}

/// What each worker of [`closed_loop`] does per request.
enum LoopOp {
    /// GET one manifest by tag; the body must not be empty.
    GetManifest { path: String },
    /// PUT a distinct manifest (annotation `<label>-<worker>-<seq>`) under a distinct tag.
    PutManifest {
        repo: String,
        config_digest: String,
        config_len: usize,
        label: String,
    },
    /// One ECR API call (`POST /`, awsJson1.1) with a fixed body; must answer 200, not empty.
    Ecr { op: &'static str, body: Bytes },
}

impl LoopOp {
    async fn run(&self, c: &mut Client, worker: usize, seq: u64) -> Result<()> {
        match self {
            LoopOp::GetManifest { path } => {
                let headers = [("accept", OCI_MANIFEST.to_owned())];
                let (_, n) = c
                    .expect(StatusCode::OK, Method::GET, path, &headers, empty())
                    .await?;
                if n == 0 {
                    return Err("empty manifest".into());
                }
                Ok(())
            }
            LoopOp::PutManifest {
                repo,
                config_digest,
                config_len,
                label,
            } => {
                let body = manifest(
                    config_digest,
                    *config_len,
                    &format!("{label}-{worker}-{seq}"),
                );
                put_manifest(c, repo, &format!("p-{worker}-{seq}"), body).await
            }
            LoopOp::Ecr { op, body } => {
                let answer = ecr_call(c, op, body.clone()).await?;
                if answer.is_empty() {
                    return Err(format!("{op}: empty answer").into());
                }
                Ok(())
            }
        }
    }
}

/// `conns` workers, each on its own keep-alive connection, issue requests back to back for
/// `warmup` (not recorded) and then `measure`. Returns successful ops, their sorted latencies
/// (µs), errors, and the measured wall time.
async fn closed_loop(
    url: &str,
    conns: usize,
    warmup: Duration,
    measure: Duration,
    op: LoopOp,
) -> Result<(u64, Vec<u32>, u64, Duration)> {
    let op = Arc::new(op);
    let start = Instant::now();
    let measure_from = start + warmup;
    let until = measure_from + measure;
    let mut tasks = Vec::new();
    for worker in 0..conns {
        let mut c = Client::new(url)?;
        let op = op.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            let (mut ok, mut errors, mut seq, mut first_error) = (0u64, 0u64, 0u64, None::<String>);
            loop {
                let t = Instant::now();
                if t >= until {
                    break;
                }
                let result = op.run(&mut c, worker, seq).await;
                seq += 1;
                let counted = t >= measure_from && Instant::now() <= until;
                match result {
                    Ok(()) if counted => {
                        ok += 1;
                        lat.push(micros(t.elapsed()));
                    }
                    Ok(()) => {}
                    Err(e) => {
                        errors += 1;
                        first_error.get_or_insert(e.to_string());
                        // A broken connection is re-opened by the next request.
                        c.sender = None;
                        if errors > 100 && ok == 0 {
                            break;
                        }
                    }
                }
            }
            (ok, lat, errors, first_error)
        }));
    }
    let (mut ops, mut lat, mut errors) = (0, Vec::new(), 0);
    for task in tasks {
        let (ok, l, e, first_error) = task.await?;
        if let Some(first_error) = first_error {
            eprintln!("    worker error (of {e}): {first_error}");
        }
        ops += ok;
        lat.extend(l);
        errors += e;
    }
    let elapsed = Instant::now()
        .min(until)
        .saturating_duration_since(measure_from);
    lat.sort_unstable();
    if ops == 0 {
        return Err(format!("no request succeeded ({errors} errors)").into());
    }
    Ok((ops, lat, errors, elapsed))
}

// ---------------------------------------------------------------------------------------------
// `api-load`: images over the ECR JSON API (awsJson1.1), against ecrd or moto's server
// ---------------------------------------------------------------------------------------------

const ECR_TARGET: &str = "AmazonEC2ContainerRegistry_V20150921.";
const AMZ_JSON: &str = "application/x-amz-json-1.1";
/// An `Authorization` header of the shape the AWS SDKs send. Neither server checks the
/// signature (ecrd's ECR front reads only the credential scope; moto verifies nothing by
/// default), but moto needs the scope's service (`ecr`) to route the call to its ECR backend.
/// Both servers get the same headers.
const SIGV4_SHAPE: &str = "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ecr/aws4_request, \
    SignedHeaders=content-type;host;x-amz-date;x-amz-target, \
    Signature=0000000000000000000000000000000000000000000000000000000000000000";

/// `POST /` with `X-Amz-Target: AmazonEC2ContainerRegistry_V20150921.<op>`: the answer's body,
/// or an error unless it is 200.
async fn ecr_call(c: &mut Client, op: &str, body: Bytes) -> Result<Bytes> {
    let headers = [
        ("x-amz-target", format!("{ECR_TARGET}{op}")),
        ("content-type", AMZ_JSON.to_owned()),
        ("authorization", SIGV4_SHAPE.to_owned()),
        ("x-amz-date", "20260101T000000Z".to_owned()),
        ("content-length", body.len().to_string()),
    ];
    let response = c.send(Method::POST, "/", &headers, full(body)).await?;
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await?.to_bytes();
    if parts.status != StatusCode::OK {
        return Err(format!(
            "{op}: {}: {}",
            parts.status,
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
        )
        .into());
    }
    Ok(bytes)
}

async fn ecr_json(c: &mut Client, op: &str, body: &Value) -> Result<Value> {
    let answer = ecr_call(c, op, Bytes::from(body.to_string())).await?;
    Ok(serde_json::from_slice(&answer)?)
}

fn image_tag(i: usize) -> String {
    format!("img-{i}")
}

/// A PutImage request: a distinct OCI manifest (annotation `<label>/<tag>`) over the one config
/// blob, under `tag`.
fn put_image_body(
    repo: &str,
    config_digest: &str,
    config_len: usize,
    seq: &str,
    tag: &str,
) -> Bytes {
    let manifest = manifest(config_digest, config_len, seq);
    Bytes::from(
        json!({
            "repositoryName": repo,
            "imageManifest": String::from_utf8_lossy(&manifest),
            "imageManifestMediaType": OCI_MANIFEST,
            "imageTag": tag,
        })
        .to_string(),
    )
}

/// InitiateLayerUpload, UploadLayerPart (one part), CompleteLayerUpload.
async fn layer_api_upload(c: &mut Client, repo: &str, data: &Bytes, digest: &str) -> Result<()> {
    use base64::Engine as _;
    let init = ecr_json(c, "InitiateLayerUpload", &json!({"repositoryName": repo})).await?;
    let upload = init["uploadId"]
        .as_str()
        .ok_or("InitiateLayerUpload: no uploadId")?
        .to_owned();
    ecr_json(
        c,
        "UploadLayerPart",
        &json!({
            "repositoryName": repo,
            "uploadId": upload,
            "partFirstByte": 0,
            "partLastByte": data.len() - 1,
            "layerPartBlob": base64::engine::general_purpose::STANDARD.encode(data),
        }),
    )
    .await?;
    ecr_json(
        c,
        "CompleteLayerUpload",
        &json!({"repositoryName": repo, "uploadId": upload, "layerDigests": [digest]}),
    )
    .await?;
    Ok(())
}

/// Puts the config blob every image refers to into the repository: through the ECR layer API,
/// else through the registry API (`POST /v2/<repo>/blobs/uploads/?digest=`). Says how, or why
/// neither worked (moto implements neither, and does not check that a manifest's blobs exist).
async fn put_config_blob(c: &mut Client, repo: &str, data: &Bytes, digest: &str) -> String {
    let api_error = match layer_api_upload(c, repo, data, digest).await {
        Ok(()) => {
            return "ECR layer API (InitiateLayerUpload, UploadLayerPart, CompleteLayerUpload)"
                .into()
        }
        Err(e) => e.to_string(),
    };
    c.sender = None;
    let path = format!("/v2/{repo}/blobs/uploads/?digest={digest}");
    let oci = c
        .expect(
            StatusCode::CREATED,
            Method::POST,
            &path,
            &octets(data.len() as u64),
            full(data.clone()),
        )
        .await;
    match oci {
        Ok(_) => format!(
            "registry API POST ?digest= (layer API refused: {})",
            short_error(&api_error)
        ),
        Err(e) => {
            c.sender = None;
            format!(
                "none: layer API refused ({}); registry API refused ({})",
                short_error(&api_error),
                short_error(&e.to_string())
            )
        }
    }
}

/// "<op>: <status>" of an error from [`ecr_call`] or [`Client::expect`], without the body.
fn short_error(s: &str) -> String {
    let short: Vec<&str> = s.splitn(3, ": ").take(2).collect();
    short.join(": ").chars().take(160).collect()
}

/// `conns` workers, each on its own connection, send `bodies[i]` as ECR `op` for every i once
/// (indexes taken in order from a shared counter). A failed call is retried on a fresh
/// connection, at most 3 times, and counted. Returns the sorted latencies (µs) of the successful
/// calls, the errors, the first error, and the wall time.
async fn each_once(
    url: &str,
    conns: usize,
    op: &'static str,
    bodies: Arc<Vec<Bytes>>,
) -> Result<(Vec<u32>, u64, Option<String>, Duration)> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..conns {
        let mut c = Client::new(url)?;
        let (next, bodies) = (next.clone(), bodies.clone());
        tasks.push(tokio::spawn(async move {
            let (mut lat, mut errors, mut first_error) = (Vec::new(), 0u64, None::<String>);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(body) = bodies.get(i) else { break };
                let mut tries = 0;
                loop {
                    let t = Instant::now();
                    match ecr_call(&mut c, op, body.clone()).await {
                        Ok(_) => {
                            lat.push(micros(t.elapsed()));
                            break;
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e.to_string());
                            c.sender = None;
                            tries += 1;
                            if tries > 3 {
                                return Err(format!("{op} #{i} failed {tries} times: {e}"));
                            }
                        }
                    }
                }
            }
            Ok((lat, errors, first_error))
        }));
    }
    let (mut lat, mut errors, mut first) = (Vec::new(), 0, None);
    for task in tasks {
        let (l, e, f) = task.await??;
        lat.extend(l);
        errors += e;
        first = first.or(f);
    }
    let elapsed = started.elapsed();
    lat.sort_unstable();
    Ok((lat, errors, first, elapsed))
}

/// A paged listing (DescribeImages, ListImages) followed by `nextToken` from its first page.
struct Walk {
    op: &'static str,
    /// The member of the answer holding the page's items.
    items: &'static str,
    repo: String,
    page: usize,
    token: Option<String>,
    done: bool,
    requests: usize,
}

impl Walk {
    fn new(op: &'static str, items: &'static str, repo: &str, page: usize) -> Walk {
        Walk {
            op,
            items,
            repo: repo.to_owned(),
            page,
            token: None,
            done: false,
            requests: 0,
        }
    }

    /// The next page's items as (digest, tags); `None` after the last page.
    async fn next(&mut self, c: &mut Client) -> Result<Option<Vec<(String, Vec<String>)>>> {
        if self.done {
            return Ok(None);
        }
        let mut request = json!({"repositoryName": self.repo, "maxResults": self.page});
        if let Some(token) = &self.token {
            request["nextToken"] = json!(token);
        }
        let answer = ecr_json(c, self.op, &request).await?;
        self.requests += 1;
        let items = answer[self.items]
            .as_array()
            .ok_or_else(|| format!("{}: no {} in the answer", self.op, self.items))?
            .iter()
            .map(|item| {
                let digest = item["imageDigest"].as_str().unwrap_or("").to_owned();
                let tags = match (&item["imageTags"], &item["imageTag"]) {
                    (Value::Array(tags), _) => tags
                        .iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect(),
                    (_, Value::String(tag)) => vec![tag.clone()],
                    _ => Vec::new(),
                };
                (digest, tags)
            })
            .collect();
        self.token = answer["nextToken"].as_str().map(str::to_owned);
        self.done = self.token.is_none();
        Ok(Some(items))
    }
}

/// What a walk saw against what was pushed (tags img-0 … img-<n-1>, one image each): every
/// image exactly once means every tag exactly once and `n` items in all.
fn check_walk(items: &[(String, Vec<String>)], n: usize) -> Value {
    let mut tags: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
    let mut digests = std::collections::HashSet::new();
    for (digest, item_tags) in items {
        digests.insert(digest.as_str());
        for tag in item_tags {
            *tags.entry(tag.as_str()).or_default() += 1;
        }
    }
    let originals: Vec<u32> = (0..n)
        .map(|i| tags.get(image_tag(i).as_str()).copied().unwrap_or(0))
        .collect();
    let once = originals.iter().all(|&k| k == 1);
    json!({
        "items": items.len(),
        "distinct_tags": tags.len(),
        "distinct_digests": digests.len(),
        "missing": originals.iter().filter(|&&k| k == 0).count(),
        "repeated": originals.iter().filter(|&&k| k > 1).count(),
        "every_image_once": once && items.len() == n,
    })
}

/// `{runs_ms, best_ms, median_ms}` of durations (lower is better).
fn time_summary(runs: &[Duration]) -> Value {
    let mut ms: Vec<f64> = runs.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    let runs_ms: Vec<f64> = ms.iter().map(|m| round(*m, 2)).collect();
    ms.sort_by(f64::total_cmp);
    json!({
        "runs_ms": runs_ms,
        "best_ms": ms.first().map(|m| round(*m, 2)),
        "median_ms": ms.get(ms.len() / 2).map(|m| round(*m, 2)),
    })
}

/// A paged walk timed `times` times; each walk's items checked against the `n` pushed images.
async fn timed_walks(
    c: &mut Client,
    op: &'static str,
    items: &'static str,
    repo: &str,
    page: usize,
    n: usize,
    times: usize,
) -> Result<Value> {
    // More pages than the images need means the server loops or ignores the token.
    let max_requests = n / page.max(1) + 10;
    let (mut runs, mut checks) = (Vec::new(), Vec::new());
    let mut requests = 0;
    for _ in 0..times {
        let mut walk = Walk::new(op, items, repo, page);
        let mut seen = Vec::with_capacity(n);
        let t = Instant::now();
        while let Some(page_items) = walk.next(c).await? {
            seen.extend(page_items);
            if walk.requests > max_requests {
                return Err(format!("{op} walk: more than {max_requests} pages").into());
            }
        }
        runs.push(t.elapsed());
        requests = walk.requests;
        checks.push(check_walk(&seen, n));
    }
    let all_once = checks.iter().all(|c| c["every_image_once"] == json!(true));
    let mut v = time_summary(&runs);
    v["page_size"] = json!(page);
    v["requests_per_walk"] = json!(requests);
    v["every_image_once_in_every_walk"] = json!(all_once);
    v["check"] = checks.last().cloned().unwrap_or(Value::Null);
    Ok(v)
}

struct ApiOpts {
    label: String,
    pid: Option<u32>,
    repo: String,
    images: usize,
    put_conns: usize,
    page: usize,
    list_page: usize,
    walks: usize,
    get_conns: usize,
    measure: Duration,
    warmup: Duration,
    batch: usize,
    batch_requests: usize,
    batch_max: Duration,
    phases: Vec<String>,
    no_setup: bool,
}

impl ApiOpts {
    fn has(&self, phase: &str) -> bool {
        self.phases.iter().any(|p| p == phase)
    }
}

async fn api_load(url: &str, o: &ApiOpts) -> Result<Value> {
    let mut c = Client::new(url)?;
    let repo = o.repo.as_str();
    let n = o.images;
    let mut out = serde_json::Map::new();
    out.insert("label".into(), json!(o.label));
    out.insert("url".into(), json!(url));
    let mut cpu = serde_json::Map::new();
    let mut probes = serde_json::Map::new();
    let log = |msg: String| eprintln!("  [{}] {msg}", o.label);
    // The client's sha256 speed before a phase: well below the baselines' figure means something
    // else was running on the machine.
    let probe_data = random_bytes(64 * MIB, 0xa91);
    let probe = || {
        // SAFETY: sync(2) has no preconditions.
        unsafe { libc::sync() };
        let t = Instant::now();
        std::hint::black_box(Sha256::digest(&probe_data));
        round(mbps(probe_data.len() as u64, t.elapsed()), 0)
    };

    let config = Bytes::from(
        json!({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})
            .to_string(),
    );
    let config_digest = format!("sha256:{}", hex::encode(Sha256::digest(&config)));

    if !o.no_setup {
        ecr_json(&mut c, "CreateRepository", &json!({"repositoryName": repo})).await?;
        let how = put_config_blob(&mut c, repo, &config, &config_digest).await;
        log(format!("config blob: {how}"));
        out.insert("config_blob".into(), json!(how));

        // 1. PutImage of n distinct images, put_conns at a time.
        probes.insert("put".into(), json!(probe()));
        let bodies: Vec<Bytes> = (0..n)
            .map(|i| {
                let tag = image_tag(i);
                put_image_body(
                    repo,
                    &config_digest,
                    config.len(),
                    &format!("{}/{tag}", o.label),
                    &tag,
                )
            })
            .collect();
        let meter = CpuMeter::start(o.pid);
        let (lat, errors, first_error, elapsed) =
            each_once(url, o.put_conns, "PutImage", Arc::new(bodies)).await?;
        cpu.insert("put_image".into(), meter.stop());
        if let Some(e) = first_error {
            eprintln!("    PutImage error (of {errors}): {e}");
        }
        let v = json!({
            "images": n,
            "conns": o.put_conns,
            "seconds": round(elapsed.as_secs_f64(), 3),
            "errors": errors,
            "ops_per_s": round(n as f64 / elapsed.as_secs_f64(), 0),
            "p50_ms": percentile_ms(&lat, 0.5),
            "p99_ms": percentile_ms(&lat, 0.99),
            "max_ms": percentile_ms(&lat, 1.0),
        });
        log(format!(
            "PutImage x{}: {n} images in {:.2} s, {} ops/s, p50 {} ms, p99 {} ms",
            o.put_conns,
            elapsed.as_secs_f64(),
            v["ops_per_s"],
            v["p50_ms"],
            v["p99_ms"]
        ));
        out.insert("put_image".into(), v);
    }

    // 2. The DescribeImages walk, sequential, pages of `page`.
    if o.has("walk") && !o.no_setup {
        let meter = CpuMeter::start(o.pid);
        let v = timed_walks(
            &mut c,
            "DescribeImages",
            "imageDetails",
            repo,
            o.page,
            n,
            o.walks,
        )
        .await?;
        cpu.insert("describe_walk".into(), meter.stop());
        log(format!(
            "DescribeImages walk (maxResults {}): best {} ms, median {} ms, {} requests, every image once: {}",
            o.page, v["best_ms"], v["median_ms"], v["requests_per_walk"], v["every_image_once_in_every_walk"]
        ));
        out.insert("describe_walk".into(), v);
    }

    // 3. DescribeImages of one image by tag, get_conns connections, closed loop.
    if o.has("describe-one") {
        let body = Bytes::from(
            json!({"repositoryName": repo, "imageIds": [{"imageTag": image_tag(n / 2)}]})
                .to_string(),
        );
        if !o.no_setup {
            let answer: Value =
                serde_json::from_slice(&ecr_call(&mut c, "DescribeImages", body.clone()).await?)?;
            let tags = &answer["imageDetails"][0]["imageTags"];
            if answer["imageDetails"].as_array().map(Vec::len) != Some(1)
                || tags
                    .as_array()
                    .is_none_or(|t| !t.contains(&json!(image_tag(n / 2))))
            {
                return Err(format!(
                    "DescribeImages of {}: unexpected answer {answer}",
                    image_tag(n / 2)
                )
                .into());
            }
        }
        probes.insert("describe_one".into(), json!(probe()));
        let meter = CpuMeter::start(o.pid);
        let op = LoopOp::Ecr {
            op: "DescribeImages",
            body,
        };
        let (ops, lat, errors, elapsed) =
            closed_loop(url, o.get_conns, o.warmup, o.measure, op).await?;
        cpu.insert("describe_one".into(), meter.stop());
        let v = rate_json(o.get_conns, ops, &lat, errors, elapsed);
        log(format!(
            "DescribeImages one tag x{}: {} ops/s, p50 {} ms, p99 {} ms",
            o.get_conns, v["ops_per_s"], v["p50_ms"], v["p99_ms"]
        ));
        out.insert("describe_one".into(), v);
    }

    // 4. The ListImages walk.
    if o.has("list") && !o.no_setup {
        let meter = CpuMeter::start(o.pid);
        let v = timed_walks(
            &mut c,
            "ListImages",
            "imageIds",
            repo,
            o.list_page,
            n,
            o.walks,
        )
        .await?;
        cpu.insert("list_walk".into(), meter.stop());
        log(format!(
            "ListImages walk (maxResults {}): best {} ms, median {} ms, {} requests, every image once: {}",
            o.list_page, v["best_ms"], v["median_ms"], v["requests_per_walk"], v["every_image_once_in_every_walk"]
        ));
        out.insert("list_walk".into(), v);
    }

    // 5. BatchGetImage of `batch` tags spread over the images, sequential.
    if o.has("batch-get") && !o.no_setup {
        let stride = (n / o.batch.max(1)).max(1);
        let ids: Vec<Value> = (0..o.batch.min(n))
            .map(|i| json!({"imageTag": image_tag(i * stride)}))
            .collect();
        let body = Bytes::from(json!({"repositoryName": repo, "imageIds": ids}).to_string());
        let check = |answer: &Bytes| -> bool {
            serde_json::from_slice::<Value>(answer).is_ok_and(|v| {
                v["images"].as_array().map(Vec::len) == Some(ids.len())
                    && v["failures"].as_array().is_none_or(Vec::is_empty)
            })
        };
        for _ in 0..20 {
            ecr_call(&mut c, "BatchGetImage", body.clone()).await?;
        }
        let meter = CpuMeter::start(o.pid);
        let (mut lat, mut bad) = (Vec::with_capacity(o.batch_requests), 0usize);
        let started = Instant::now();
        while lat.len() < o.batch_requests && started.elapsed() < o.batch_max {
            let t = Instant::now();
            let answer = ecr_call(&mut c, "BatchGetImage", body.clone()).await?;
            lat.push(micros(t.elapsed()));
            if !check(&answer) {
                bad += 1;
            }
        }
        cpu.insert("batch_get".into(), meter.stop());
        lat.sort_unstable();
        let v = json!({
            "tags_per_request": ids.len(),
            "requests": lat.len(),
            "incomplete_answers": bad,
            "p50_ms": percentile_ms(&lat, 0.5),
            "p99_ms": percentile_ms(&lat, 0.99),
            "max_ms": percentile_ms(&lat, 1.0),
        });
        log(format!(
            "BatchGetImage of {} tags: {} requests, p50 {} ms, p99 {} ms, incomplete answers {bad}",
            ids.len(),
            lat.len(),
            v["p50_ms"],
            v["p99_ms"]
        ));
        out.insert("batch_get".into(), v);
    }

    // Not timed: a DescribeImages walk that pushes 2 more images after each page. Tokens must
    // stay valid while images are added: every original image still seen exactly once.
    if o.has("tokens") && !o.no_setup {
        let mut walk = Walk::new("DescribeImages", "imageDetails", repo, o.page);
        let (mut seen, mut added) = (Vec::new(), 0usize);
        let max_requests = 2 * (n / o.page.max(1)) + 10;
        let mut error = None;
        loop {
            match walk.next(&mut c).await {
                Ok(Some(page_items)) => seen.extend(page_items),
                Ok(None) => break,
                Err(e) => {
                    error = Some(e.to_string());
                    break;
                }
            }
            if walk.done || walk.requests > max_requests {
                break;
            }
            for _ in 0..2 {
                let tag = format!("late-{added}");
                let body = put_image_body(
                    repo,
                    &config_digest,
                    config.len(),
                    &format!("{}/{tag}", o.label),
                    &tag,
                );
                ecr_call(&mut c, "PutImage", body).await?;
                added += 1;
            }
        }
        let late_seen = seen
            .iter()
            .flat_map(|(_, tags)| tags)
            .filter(|t| t.starts_with("late-"))
            .count();
        let originals: Vec<(String, Vec<String>)> = seen
            .into_iter()
            .filter(|(_, tags)| !tags.iter().any(|t| t.starts_with("late-")))
            .collect();
        let check = check_walk(&originals, n);
        let v = json!({
            "pages": walk.requests,
            "images_added_during_walk": added,
            "added_images_seen": late_seen,
            "error": error,
            "every_original_image_once": check["every_image_once"],
            "check": check,
        });
        log(format!(
            "token check: {} pages, {added} images added during the walk, originals each once: {}, added seen: {late_seen}",
            walk.requests, v["every_original_image_once"]
        ));
        out.insert("tokens".into(), v);
    }

    out.insert("cpu".into(), Value::Object(cpu));
    out.insert("sha256_probe_mbps".into(), Value::Object(probes));
    Ok(Value::Object(out))
}

// ---------------------------------------------------------------------------------------------
// `baselines`
// ---------------------------------------------------------------------------------------------

async fn baselines(dir: &Path, mib: u64, repeat: usize) -> Result<Value> {
    let size = mib * MIB;
    let data = random_bytes(size, 0xba5e);

    let sha = {
        let data = data.clone();
        tokio::task::spawn_blocking(move || {
            (0..repeat)
                .map(|_| {
                    let t = Instant::now();
                    let d = Sha256::digest(&data);
                    std::hint::black_box(d);
                    mbps(size, t.elapsed())
                })
                .collect::<Vec<_>>()
        })
        .await?
    };
    eprintln!("  sha256 (sha2, one core): {sha:.0?} MB/s");
    // The hash function alone, as `openssl speed` measures it: one 1 MiB buffer that stays in
    // this core's cache. A push's bytes are copied in by another thread, often on the other
    // core, so the figure above (256 MiB streamed from memory) is what a push can hash at.
    let sha_hot = {
        let data = data.slice(..(FRAME.min(data.len())));
        tokio::task::spawn_blocking(move || {
            (0..repeat)
                .map(|_| {
                    let t = Instant::now();
                    let mut hasher = Sha256::new();
                    for _ in 0..256 {
                        hasher.update(&data);
                    }
                    std::hint::black_box(hasher.finalize());
                    mbps(256 * data.len() as u64, t.elapsed())
                })
                .collect::<Vec<_>>()
        })
        .await?
    };
    eprintln!("  sha256 (sha2, one core, cache-hot 1 MiB): {sha_hot:.0?} MB/s");

    let disk = {
        let (data, dir) = (data.clone(), dir.to_owned());
        tokio::task::spawn_blocking(move || -> Result<(Vec<f64>, Vec<f64>)> {
            let (mut total, mut fsync_only) = (Vec::new(), Vec::new());
            for i in 0..repeat {
                let path = dir.join(format!("bench-disk-{}-{i}", std::process::id()));
                let t = Instant::now();
                let mut f = std::fs::File::create(&path)?;
                for chunk in data.chunks(FRAME) {
                    f.write_all(chunk)?;
                }
                let written = t.elapsed();
                f.sync_all()?;
                let all = t.elapsed();
                drop(f);
                std::fs::remove_file(&path)?;
                total.push(mbps(size, all));
                fsync_only.push(round((all - written).as_secs_f64() * 1000.0, 1));
            }
            Ok((total, fsync_only))
        })
        .await??
    };
    eprintln!(
        "  disk write+fsync: {:.0?} MB/s (fsync part {:?} ms)",
        disk.0, disk.1
    );

    let fsync_lat = {
        let dir = dir.to_owned();
        tokio::task::spawn_blocking(move || fsync_latency(&dir, 300)).await??
    };
    eprintln!(
        "  4 KiB write + fsync: p50 {} ms, p99 {} ms",
        percentile_ms(&fsync_lat, 0.5),
        percentile_ms(&fsync_lat, 0.99)
    );

    let mut tcp = Vec::new();
    for _ in 0..repeat {
        tcp.push(loopback_tcp(size).await?);
    }
    eprintln!("  loopback TCP: {tcp:.0?} MB/s");
    let mut http = Vec::new();
    for _ in 0..repeat {
        http.push(loopback_http(size).await?);
    }
    eprintln!("  loopback HTTP (axum→hyper): {http:.0?} MB/s");

    let sha2_version = cargo_lock_version("sha2");
    Ok(json!({
        "bytes": size,
        "sha256_mbps": summary(&sha),
        "sha256_hot_mbps": summary(&sha_hot),
        "sha2_crate": sha2_version,
        "disk_write_fsync_mbps": summary(&disk.0),
        "disk_fsync_ms": disk.1,
        "disk_dir": dir.display().to_string(),
        "fsync_4k_p50_ms": percentile_ms(&fsync_lat, 0.5),
        "fsync_4k_p99_ms": percentile_ms(&fsync_lat, 0.99),
        "loopback_tcp_mbps": summary(&tcp),
        "loopback_http_mbps": summary(&http),
    }))
}

/// Latency of appending 4 KiB and fsyncing, `n` times (what one durable SQLite commit costs at
/// least); sorted microseconds.
fn fsync_latency(dir: &Path, n: usize) -> Result<Vec<u32>> {
    let path = dir.join(format!("bench-fsync-{}", std::process::id()));
    let mut f = std::fs::File::create(&path)?;
    let block = [0x42u8; 4096];
    let mut lat = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        f.write_all(&block)?;
        f.sync_all()?;
        lat.push(micros(t.elapsed()));
    }
    drop(f);
    std::fs::remove_file(&path)?;
    lat.sort_unstable();
    Ok(lat)
}

fn cargo_lock_version(krate: &str) -> Option<String> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock")).ok()?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line == format!("name = \"{krate}\"") {
            return lines
                .next()?
                .strip_prefix("version = \"")?
                .strip_suffix('"')
                .map(str::to_owned);
        }
    }
    None
}

/// A raw tokio TCP server writes `size` bytes to a client over 127.0.0.1.
async fn loopback_tcp(size: u64) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let (mut s, _) = listener.accept().await?;
        let chunk = vec![0xa5u8; FRAME];
        let mut left = size;
        while left > 0 {
            let n = left.min(FRAME as u64) as usize;
            s.write_all(&chunk[..n]).await?;
            left -= n as u64;
        }
        s.shutdown().await?;
        Ok::<_, std::io::Error>(())
    });
    let t = Instant::now();
    let mut client = TcpStream::connect(addr).await?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut got = 0u64;
    loop {
        let n = client.read(&mut buf).await?;
        if n == 0 {
            break;
        }
        got += n as u64;
    }
    let took = t.elapsed();
    server.await??;
    if got != size {
        return Err(format!("loopback TCP: got {got} of {size} bytes").into());
    }
    Ok(mbps(size, took))
}

/// An axum server (the HTTP stack ecrd uses) streams `size` bytes to a hyper client.
async fn loopback_http(size: u64) -> Result<f64> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let chunk = Bytes::from(vec![0x5au8; FRAME]);
    let app = axum::Router::new().route(
        "/blob",
        axum::routing::get(move || {
            let chunk = chunk.clone();
            async move {
                let frames = (0..size.div_ceil(FRAME as u64)).map(move |i| {
                    let n = (size - i * FRAME as u64).min(FRAME as u64) as usize;
                    Ok::<_, Infallible>(chunk.slice(..n))
                });
                let mut response = axum::response::Response::new(axum::body::Body::from_stream(
                    futures_util::stream::iter(frames),
                ));
                response
                    .headers_mut()
                    .insert(hyper::header::CONTENT_LENGTH, size.into());
                response
            }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut c = Client::new(&format!("http://{addr}"))?;
    let t = Instant::now();
    let (_, got) = c
        .expect(StatusCode::OK, Method::GET, "/blob", &[], empty())
        .await?;
    let took = t.elapsed();
    server.abort();
    if got != size {
        return Err(format!("loopback HTTP: got {got} of {size} bytes").into());
    }
    Ok(mbps(size, took))
}

// ---------------------------------------------------------------------------------------------
// `trivial-server`
// ---------------------------------------------------------------------------------------------

async fn trivial_server(listen: SocketAddr, blob_bytes: u64) -> Result<()> {
    if !listen.ip().is_loopback() {
        return Err("trivial-server listens on loopback only".into());
    }
    // What a pull costs when the server does nothing but hand hyper one cache-hot 1 MiB buffer,
    // in 1 MiB frames as ecrd does: the loopback limit between two processes for this client.
    let chunk = Bytes::from(vec![0x5au8; FRAME]);
    let blob = axum::routing::get(move || {
        let chunk = chunk.clone();
        async move {
            let frames = (0..blob_bytes.div_ceil(FRAME as u64)).map(move |i| {
                let n = (blob_bytes - i * FRAME as u64).min(FRAME as u64) as usize;
                Ok::<_, Infallible>(chunk.slice(..n))
            });
            let mut response = axum::response::Response::new(axum::body::Body::from_stream(
                futures_util::stream::iter(frames),
            ));
            response
                .headers_mut()
                .insert(hyper::header::CONTENT_LENGTH, blob_bytes.into());
            response
        }
    });
    let body = manifest(&format!("sha256:{}", "0".repeat(64)), 80, "trivial");
    let digest = format!("sha256:{}", hex::encode(Sha256::digest(&body)));
    let app = axum::Router::new()
        .route("/v2/{repo}/blobs/{digest}", blob)
        .fallback(move || {
            let (body, digest) = (body.clone(), digest.clone());
            async move {
                (
                    [
                        (hyper::header::CONTENT_TYPE, OCI_MANIFEST.to_owned()),
                        (
                            hyper::header::HeaderName::from_static("docker-content-digest"),
                            digest,
                        ),
                    ],
                    body,
                )
            }
        });
    let listener = TcpListener::bind(listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// `startup`
// ---------------------------------------------------------------------------------------------

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// One `GET /v2/` on a fresh connection; the status code, or None if nothing listens yet.
fn probe(addr: SocketAddr) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_nodelay(true).ok()?;
    s.write_all(
        format!("GET /v2/ HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut head = [0u8; 12];
    s.read_exact(&mut head).ok()?;
    std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
}

fn startup(ecrd: &Path, runs: usize) -> Result<Value> {
    let mut samples = Vec::new();
    for _ in 0..runs {
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let started = Instant::now();
        let mut child = std::process::Command::new(ecrd)
            .args([
                "serve",
                "--ephemeral",
                "--auth",
                "off",
                "--listen",
                &addr.to_string(),
            ])
            .env_remove("ECRD_DATA_DIR")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?;
        let mut ready = None;
        while started.elapsed() < Duration::from_secs(10) {
            match probe(addr) {
                Some(200) => {
                    ready = Some(started.elapsed());
                    break;
                }
                Some(other) => {
                    let _ = child.kill();
                    return Err(format!("GET /v2/ answered {other}, not 200").into());
                }
                None => std::thread::sleep(Duration::from_micros(100)),
            }
        }
        // SIGTERM (not SIGKILL) so that ecrd removes its ephemeral directory.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        child.wait()?;
        let ready = ready.ok_or("ecrd did not answer GET /v2/ within 10 s")?;
        samples.push(ready.as_secs_f64() * 1000.0);
    }
    let mut sorted = samples.clone();
    sorted.sort_by(f64::total_cmp);
    eprintln!(
        "  startup: median {:.1} ms (min {:.1}, max {:.1})",
        sorted[sorted.len() / 2],
        sorted[0],
        sorted[sorted.len() - 1]
    );
    Ok(json!({
        "runs_ms": samples.iter().map(|s| round(*s, 2)).collect::<Vec<_>>(),
        "median_ms": round(sorted[sorted.len() / 2], 2),
        "min_ms": round(sorted[0], 2),
        "max_ms": round(sorted[sorted.len() - 1], 2),
    }))
}

// ---------------------------------------------------------------------------------------------
// `report`
// ---------------------------------------------------------------------------------------------

/// The median over rounds of `a`'s pull rate divided by `b`'s in the same round of
/// `pull-rounds`.
fn paired_ratio(rounds: &Value, a: &str, b: &str) -> Option<f64> {
    let runs = |k: &str| -> Option<Vec<f64>> {
        Some(
            rounds[k]["runs"]
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .collect(),
        )
    };
    let (a, b) = (runs(a)?, runs(b)?);
    let mut ratios: Vec<f64> = a
        .iter()
        .zip(&b)
        .filter(|(_, b)| **b > 0.0)
        .map(|(a, b)| a / b)
        .collect();
    ratios.sort_by(f64::total_cmp);
    let n = ratios.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(ratios[n / 2]),
        _ => Some((ratios[n / 2 - 1] + ratios[n / 2]) / 2.0),
    }
}

fn read_part(dir: &Path, name: &str) -> Value {
    std::fs::read_to_string(dir.join(format!("{name}.json")))
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok())
        .unwrap_or(Value::Null)
}

fn num(v: &Value, path: &str) -> Option<f64> {
    path.split('.')
        .try_fold(v, |v, k| v.get(k))
        .and_then(Value::as_f64)
}

fn fmt(v: Option<f64>, digits: usize) -> String {
    match v {
        Some(x) if x.is_finite() => format!("{x:.digits$}"),
        _ => "—".into(),
    }
}

fn report(dir: &Path, out: &Path) -> Result<()> {
    let machine = read_part(dir, "machine");
    let base = read_part(dir, "baselines");
    let start = read_part(dir, "startup");
    let servers: BTreeMap<&str, Value> = [
        ("durable", "ecrd-durable"),
        ("ephemeral", "ecrd-ephemeral"),
        ("distribution", "distribution"),
        ("trivial", "trivial"),
    ]
    .into_iter()
    .map(|(k, f)| (k, read_part(dir, f)))
    .collect();
    let s = |k: &str| &servers[k];
    let (d, e, x) = (s("durable"), s("ephemeral"), s("distribution"));

    let machine_line = format!(
        "Machine: {} × {}, {} RAM, {} ({}), kernel {}; {}",
        machine["nproc"].as_str().unwrap_or("?"),
        machine["cpu"].as_str().unwrap_or("?"),
        machine["memory"].as_str().unwrap_or("?"),
        machine["filesystem"].as_str().unwrap_or("?"),
        machine["disk_dir"].as_str().unwrap_or("?"),
        machine["kernel"].as_str().unwrap_or("?"),
        machine["date"].as_str().unwrap_or("?"),
    );
    let mut md = String::new();
    let mut line = |l: String| {
        md.push_str(&l);
        md.push('\n');
    };
    line(machine_line.clone());
    line(String::new());
    line("### Machine baselines (same run)".into());
    line(String::new());
    line("| baseline | best | median |".into());
    line("|---|---:|---:|".into());
    for (name, key) in [
        (
            format!(
                "sha256, one core (sha2 {}), 256 MiB from memory",
                base["sha2_crate"].as_str().unwrap_or("?")
            ),
            "sha256_mbps",
        ),
        (
            "sha256, one core, one cache-hot 1 MiB buffer (the hash alone)".into(),
            "sha256_hot_mbps",
        ),
        (
            "disk write + fsync, 256 MiB".into(),
            "disk_write_fsync_mbps",
        ),
        (
            "loopback TCP, 256 MiB (raw tokio)".into(),
            "loopback_tcp_mbps",
        ),
        (
            "loopback HTTP, 256 MiB (axum → hyper)".into(),
            "loopback_http_mbps",
        ),
    ] {
        line(format!(
            "| {name} | {} MB/s | {} MB/s |",
            fmt(num(&base, &format!("{key}.best")), 0),
            fmt(num(&base, &format!("{key}.median")), 0)
        ));
    }
    line(format!(
        "| 4 KiB append + fsync latency | p50 {} ms | p99 {} ms |",
        fmt(num(&base, "fsync_4k_p50_ms"), 2),
        fmt(num(&base, "fsync_4k_p99_ms"), 2)
    ));
    line(String::new());
    line("### Registry figures".into());
    line(String::new());
    line("| figure | ecrd durable | ecrd ephemeral | distribution |".into());
    line("|---|---:|---:|---:|".into());
    let row3 = |line: &mut dyn FnMut(String), name: &str, path: &str, digits: usize, unit: &str| {
        let cells: Vec<String> = [d, e, x]
            .iter()
            .map(|v| fmt(num(v, path), digits))
            .map(|c| if c == "—" { c } else { format!("{c}{unit}") })
            .collect();
        line(format!(
            "| {name} | {} | {} | {} |",
            cells[0], cells[1], cells[2]
        ));
    };
    row3(
        &mut line,
        "monolithic push 256 MiB, best",
        "push_monolithic_mbps.best",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "monolithic push 256 MiB, median",
        "push_monolithic_mbps.median",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "chunked push (8 MiB PATCHes), best",
        "push_chunked_mbps.best",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "chunked push (8 MiB PATCHes), median",
        "push_chunked_mbps.median",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "pull 256 MiB, best",
        "pull_mbps.best",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "pull 256 MiB, median",
        "pull_mbps.median",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "manifest GET by tag, 64 conns",
        "manifest_get.ops_per_s",
        0,
        " ops/s",
    );
    row3(
        &mut line,
        "manifest GET p50",
        "manifest_get.p50_ms",
        2,
        " ms",
    );
    row3(
        &mut line,
        "manifest GET p99",
        "manifest_get.p99_ms",
        2,
        " ms",
    );
    row3(
        &mut line,
        "manifest PUT, 16 conns",
        "manifest_put.ops_per_s",
        0,
        " ops/s",
    );
    row3(
        &mut line,
        "manifest PUT p50",
        "manifest_put.p50_ms",
        2,
        " ms",
    );
    row3(
        &mut line,
        "manifest PUT p99",
        "manifest_put.p99_ms",
        2,
        " ms",
    );
    row3(
        &mut line,
        "HEAD blob p50 (sequential, 2000)",
        "head_blob.p50_ms",
        3,
        " ms",
    );
    row3(&mut line, "HEAD blob p99", "head_blob.p99_ms", 3, " ms");
    row3(
        &mut line,
        "peak RSS (VmHWM) after 1 GiB push",
        "rss.vmhwm_after_push_kib",
        0,
        " KiB",
    );
    row3(
        &mut line,
        "1 GiB push (RSS run)",
        "rss.push_mbps",
        0,
        " MB/s",
    );
    row3(
        &mut line,
        "server CPU s, 3 monolithic pushes",
        "cpu.push_monolithic.server_cpu_s",
        2,
        "",
    );
    row3(
        &mut line,
        "server CPU s, 3 pulls",
        "cpu.pull.server_cpu_s",
        2,
        "",
    );
    row3(
        &mut line,
        "server CPU s, manifest GET phase",
        "cpu.manifest_get.server_cpu_s",
        2,
        "",
    );
    row3(
        &mut line,
        "client CPU s, manifest GET phase",
        "cpu.manifest_get.client_cpu_s",
        2,
        "",
    );
    row3(
        &mut line,
        "server CPU s, manifest PUT phase",
        "cpu.manifest_put.server_cpu_s",
        2,
        "",
    );
    row3(
        &mut line,
        "client-side sha256 probe before the pushes (noise check)",
        "sha256_probe_mbps.push",
        0,
        " MB/s",
    );
    let warm: Vec<String> = [d, e, x]
        .iter()
        .map(|v| {
            let rates: Vec<f64> = v["page_cache_warm_mbps"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let lo = rates.iter().copied().reduce(f64::min);
            let hi = rates.iter().copied().reduce(f64::max);
            format!("{}–{} MB/s", fmt(lo, 0), fmt(hi, 0))
        })
        .collect();
    line(format!(
        "| page-cache warm-up write before each push, min–max (noise check) | {} | {} | {} |",
        warm[0], warm[1], warm[2]
    ));
    row3(
        &mut line,
        "client-side sha256 probe before the pulls (noise check)",
        "sha256_probe_mbps.pull",
        0,
        " MB/s",
    );
    for (phase, key) in [("PUT", "manifest_put"), ("GET", "manifest_get")] {
        for (when, suffix) in [("before", ""), ("after", "_after")] {
            row3(
                &mut line,
                &format!(
                    "client-side sha256 probe {when} the manifest {phase} phase (noise check)"
                ),
                &format!("sha256_probe_mbps.{key}{suffix}"),
                0,
                " MB/s",
            );
        }
    }
    let trivial = num(s("trivial"), "manifest_get.ops_per_s");
    line(format!(
        "| harness ceiling: manifest GET vs a trivial axum server, 64 conns | {} ops/s | | |",
        fmt(trivial, 0)
    ));
    let lo_procs = num(s("trivial"), "pull_mbps.best");
    line(format!(
        "| harness ceiling: pull from a trivial axum server in its own process, best (median) | {} ({}) MB/s | | |",
        fmt(lo_procs, 0),
        fmt(num(s("trivial"), "pull_mbps.median"), 0)
    ));
    line(format!(
        "| startup: exec → first `GET /v2/` 200 (ephemeral, median of 20) | | {} ms | |",
        fmt(num(&start, "median_ms"), 1)
    ));
    line(String::new());

    // Pulls in alternating rounds (`pull-rounds`): every server at the same moments.
    let rounds = read_part(dir, "pull-rounds");
    const CEILING: &str = "ceiling";
    if !rounds.is_null() {
        line(format!(
            "### Pulls in alternating rounds ({} rounds of one 256 MiB pull per server, order rotated each round)",
            fmt(num(&rounds, "rounds"), 0)
        ));
        line(String::new());
        line("| server | best | median | per-round ratio to the ceiling, median |".into());
        line("|---|---:|---:|---:|".into());
        for (name, key) in [
            ("ecrd durable", "ecrd-durable"),
            ("ecrd ephemeral", "ecrd-ephemeral"),
            ("distribution", "distribution"),
            ("trivial server in its own process (the ceiling)", CEILING),
        ] {
            line(format!(
                "| {name} | {} MB/s | {} MB/s | {} |",
                fmt(num(&rounds, &format!("{key}.best")), 0),
                fmt(num(&rounds, &format!("{key}.median")), 0),
                fmt(paired_ratio(&rounds, key, CEILING), 2),
            ));
        }
        line(String::new());
    }

    // Targets.
    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let mut targets = Vec::new();
    let mut target = |name: &str, value: String, goal: &str, met: Option<bool>| {
        targets.push(json!({"target": name, "measured": value, "goal": goal, "met": met}));
    };
    let pct = |r: Option<f64>| r.map_or("—".into(), |r| format!("{:.0} %", r * 100.0));
    let times = |r: Option<f64>| r.map_or("—".into(), |r| format!("{r:.2}×"));

    let disk = num(&base, "disk_write_fsync_mbps.best");
    let sha = num(&base, "sha256_mbps.best");
    let lo = num(&base, "loopback_tcp_mbps.best")
        .into_iter()
        .chain(num(&base, "loopback_http_mbps.best"))
        .reduce(f64::max);

    let r = ratio(num(d, "push_monolithic_mbps.best"), disk);
    target(
        "durable push ≥ 90 % of disk write+fsync (monolithic, best)",
        pct(r),
        "≥ 90 %",
        r.map(|r| r >= 0.9),
    );
    let r = ratio(num(d, "push_chunked_mbps.best"), disk);
    target(
        "durable chunked push ≥ 90 % of disk write+fsync (best)",
        pct(r),
        "≥ 90 %",
        r.map(|r| r >= 0.9),
    );
    let r = ratio(num(e, "push_monolithic_mbps.best"), sha);
    target(
        "ephemeral push ≥ 75 % of single-core sha256 (monolithic, best)",
        pct(r),
        "≥ 75 %",
        r.map(|r| r >= 0.75),
    );
    let r = ratio(num(e, "push_chunked_mbps.best"), sha);
    target(
        "ephemeral chunked push ≥ 75 % of single-core sha256 (best)",
        pct(r),
        "≥ 75 %",
        r.map(|r| r >= 0.75),
    );
    // The loopback limit of a pull, which crosses two processes that wake each other on two
    // cores: the same client against a server in its own process that sends one cache-hot
    // buffer, pulled in the same rounds (a ratio of phases minutes apart measures the VM's
    // drift as much as the servers). The in-process baselines are shown for reference below.
    for label in ["durable", "ephemeral"] {
        let r = paired_ratio(&rounds, &format!("ecrd-{label}"), CEILING);
        target(
            &format!(
                "pull ≥ 90 % of loopback HTTP between two processes (ecrd {label}, alternating rounds, median of per-round ratios)"
            ),
            pct(r),
            "≥ 90 %",
            r.map(|r| r >= 0.9),
        );
        let r = paired_ratio(&rounds, &format!("ecrd-{label}"), "distribution");
        target(
            &format!(
                "pull ≥ 0.9× distribution (ecrd {label}, alternating rounds, median of per-round ratios)"
            ),
            times(r),
            "≥ 0.9×",
            r.map(|r| r >= 0.9),
        );
    }
    let lo_http = num(&base, "loopback_http_mbps.best");
    let lo_tcp = num(&base, "loopback_tcp_mbps.best");
    let mut reference = Vec::new();
    for (label, v) in [("durable", d), ("ephemeral", e)] {
        let pull = num(v, "pull_mbps.best");
        reference.push(format!(
            "* ecrd {label}, pull phase, best: {} of the ceiling phase's best, {} of in-process loopback HTTP, \
             {} of in-process raw TCP, {} distribution's pull phase",
            pct(ratio(pull, lo_procs)),
            pct(ratio(pull, lo_http)),
            pct(ratio(pull, lo_tcp)),
            times(ratio(pull, num(x, "pull_mbps.best"))),
        ));
    }
    let rss = num(d, "rss.vmhwm_after_push_kib").map(|k| k / 1024.0);
    target(
        "RSS < 64 MiB during a 1 GiB push (durable, VmHWM)",
        rss.map_or("—".into(), |m| format!("{m:.1} MiB")),
        "< 64 MiB",
        rss.map(|m| m < 64.0),
    );
    let st = num(&start, "median_ms");
    target(
        "first request < 20 ms after exec (median of 20)",
        fmt(st, 1) + " ms",
        "< 20 ms",
        st.map(|m| m < 20.0),
    );
    for (label, v) in [("durable", d), ("ephemeral", e)] {
        let r = ratio(
            num(v, "push_monolithic_mbps.best"),
            num(x, "push_monolithic_mbps.best"),
        );
        target(
            &format!("push ≥ 1.2× distribution (ecrd {label}, monolithic, best)"),
            times(r),
            "≥ 1.2×",
            r.map(|r| r >= 1.2),
        );
        let r = ratio(
            num(v, "push_chunked_mbps.best"),
            num(x, "push_chunked_mbps.best"),
        );
        target(
            &format!("chunked push ≥ 1.2× distribution (ecrd {label}, best)"),
            times(r),
            "≥ 1.2×",
            r.map(|r| r >= 1.2),
        );
        let r = ratio(
            num(v, "manifest_get.ops_per_s"),
            num(x, "manifest_get.ops_per_s"),
        );
        target(
            &format!("manifest GET by tag, 64 conns ≥ 20× distribution (ecrd {label})"),
            times(r),
            "≥ 20×",
            r.map(|r| r >= 20.0),
        );
    }
    let r = ratio(
        num(d, "manifest_put.ops_per_s"),
        num(x, "manifest_put.ops_per_s"),
    );
    target(
        "manifest PUT, 16 conns, durable ≥ 15× distribution",
        times(r),
        "≥ 15×",
        r.map(|r| r >= 15.0),
    );
    for (label, v) in [("durable", d), ("ephemeral", e)] {
        let p = num(v, "head_blob.p50_ms");
        target(
            &format!("HEAD blob p50 < 1 ms (ecrd {label})"),
            fmt(p, 3) + " ms",
            "< 1 ms",
            p.map(|p| p < 1.0),
        );
    }

    // What the machine allows at best, from the baselines of the same run.
    let fsync = num(&base, "fsync_4k_p50_ms");
    let put_conns = num(d, "manifest_put.conns").unwrap_or(16.0);
    let put_bound = fsync.map(|ms| put_conns * 1000.0 / ms);
    let push_bound = [sha, disk, lo].into_iter().flatten().reduce(f64::min);
    line("### Physical bounds on this machine".into());
    line(String::new());
    line(format!(
        "* a push hashes every byte on one core and writes it: at most min(sha256, disk, loopback) = {} MB/s; \
         90 % of disk write+fsync = {} MB/s. The best durable push is {} of that bound, the best ephemeral one {}.",
        fmt(push_bound, 0),
        fmt(disk.map(|d| d * 0.9), 0),
        pct(ratio(num(d, "push_monolithic_mbps.best"), push_bound)),
        pct(ratio(num(e, "push_monolithic_mbps.best"), push_bound)),
    ));
    line(format!(
        "* sha256 of one cache-hot buffer (the hash alone, as `openssl speed` measures it): {} MB/s. A push's bytes \
         are copied in on another thread, often the other core, so it hashes at about the 256 MiB figure; \
         the best ephemeral push is {} of the cache-hot figure.",
        fmt(num(&base, "sha256_hot_mbps.best"), 0),
        pct(ratio(
            num(e, "push_monolithic_mbps.best"),
            num(&base, "sha256_hot_mbps.best")
        ))
    ));
    line(format!(
        "* a durable manifest PUT waits for one fsync (group-committed): with {put_conns:.0} connections at most \
         {put_conns:.0} / {} ms = {} ops/s; 15× distribution = {} ops/s.",
        fmt(fsync, 2),
        fmt(put_bound, 0),
        fmt(num(x, "manifest_put.ops_per_s").map(|o| o * 15.0), 0)
    ));
    line(format!(
        "* manifest GET: this client against a server that does no work reaches {} ops/s; 20× distribution = {} ops/s.",
        fmt(trivial, 0),
        fmt(num(x, "manifest_get.ops_per_s").map(|o| o * 20.0), 0)
    ));
    line(String::new());

    line("### Targets".into());
    line(String::new());
    line("| target | measured | met? |".into());
    line("|---|---:|---|".into());
    for t in &targets {
        let met = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "not measured",
        };
        line(format!(
            "| {} | {} | {met} |",
            t["target"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or("")
        ));
    }

    line(String::new());
    line(
        "Pulls in separate phases, for reference (each server's three pulls minutes apart):".into(),
    );
    line(String::new());
    for l in reference {
        line(l);
    }

    let (api_md, api) = api_report(dir, &machine);
    // `bench/run --api-only` leaves the registry parts out: print only what was measured.
    let have_registry = [d, e, x].iter().any(|v| !v.is_null());
    let have_api = api["servers"]
        .as_object()
        .is_some_and(|p| p.values().any(|v| !v.is_null()));
    let md = match (have_registry, have_api) {
        (true, true) => format!("{md}\n{api_md}"),
        (false, true) => format!("{machine_line}\n\n{api_md}"),
        _ => md,
    };
    let results = json!({
        "machine": machine,
        "baselines": base,
        "startup": start,
        "servers": servers,
        "pull_rounds": rounds,
        "targets": targets,
        "api": api,
    });
    write_json(out, &results)?;
    print!("{md}");
    std::fs::write(dir.join("results.md"), &md)?;
    Ok(())
}

/// The "ECR API (vs moto)" section: Markdown, and the parts and targets for results.json.
fn api_report(dir: &Path, machine: &Value) -> (String, Value) {
    let parts: BTreeMap<&str, Value> = [
        "api-ecrd-durable",
        "api-ecrd-ephemeral",
        "api-moto",
        "api-trivial",
    ]
    .into_iter()
    .map(|f| (f, read_part(dir, f)))
    .collect();
    let (d, e, m) = (
        &parts["api-ecrd-durable"],
        &parts["api-ecrd-ephemeral"],
        &parts["api-moto"],
    );
    let mut md = String::new();
    let mut line = |l: String| {
        md.push_str(&l);
        md.push('\n');
    };
    line("### ECR API (vs moto)".into());
    line(String::new());
    line(format!(
        "Servers: ecrd durable (`--data-dir`, `--auth off`), ecrd `--ephemeral`, moto {} \
         (`python3 -m moto.server`); one repository, {} images.",
        machine["moto"].as_str().unwrap_or("?"),
        fmt(num(d, "put_image.images").or(num(m, "put_image.images")), 0),
    ));
    line(String::new());
    line("| figure | ecrd durable | ecrd ephemeral | moto |".into());
    line("|---|---:|---:|---:|".into());
    let row = |line: &mut dyn FnMut(String), name: &str, path: &str, digits: usize, unit: &str| {
        let cells: Vec<String> = [d, e, m]
            .iter()
            .map(|v| fmt(num(v, path), digits))
            .map(|c| if c == "—" { c } else { format!("{c}{unit}") })
            .collect();
        line(format!(
            "| {name} | {} | {} | {} |",
            cells[0], cells[1], cells[2]
        ));
    };
    let yes_no = |line: &mut dyn FnMut(String), name: &str, path: &str| {
        let cells: Vec<&str> = [d, e, m]
            .iter()
            .map(|v| {
                match path
                    .split('.')
                    .try_fold(*v, |v, k| v.get(k))
                    .and_then(Value::as_bool)
                {
                    Some(true) => "yes",
                    Some(false) => "**no**",
                    None => "—",
                }
            })
            .collect();
        line(format!(
            "| {name} | {} | {} | {} |",
            cells[0], cells[1], cells[2]
        ));
    };
    row(
        &mut line,
        "PutImage, distinct images, 16 conns",
        "put_image.ops_per_s",
        0,
        " ops/s",
    );
    row(&mut line, "PutImage p50", "put_image.p50_ms", 2, " ms");
    row(&mut line, "PutImage p99", "put_image.p99_ms", 2, " ms");
    row(
        &mut line,
        "PutImage, all images (wall)",
        "put_image.seconds",
        2,
        " s",
    );
    row(
        &mut line,
        "PutImage errors (retried)",
        "put_image.errors",
        0,
        "",
    );
    row(
        &mut line,
        "server CPU s, PutImage phase",
        "cpu.put_image.server_cpu_s",
        2,
        "",
    );
    row(
        &mut line,
        "DescribeImages walk (maxResults 100), best of 5",
        "describe_walk.best_ms",
        1,
        " ms",
    );
    row(
        &mut line,
        "DescribeImages walk, median of 5",
        "describe_walk.median_ms",
        1,
        " ms",
    );
    row(
        &mut line,
        "DescribeImages walk, requests per walk",
        "describe_walk.requests_per_walk",
        0,
        "",
    );
    yes_no(
        &mut line,
        "DescribeImages walk: every image seen exactly once (every walk)",
        "describe_walk.every_image_once_in_every_walk",
    );
    row(
        &mut line,
        "DescribeImages walk: distinct digests seen",
        "describe_walk.check.distinct_digests",
        0,
        "",
    );
    row(
        &mut line,
        "DescribeImages one image by tag, 64 conns",
        "describe_one.ops_per_s",
        0,
        " ops/s",
    );
    row(
        &mut line,
        "DescribeImages one image p50",
        "describe_one.p50_ms",
        2,
        " ms",
    );
    row(
        &mut line,
        "DescribeImages one image p99",
        "describe_one.p99_ms",
        2,
        " ms",
    );
    row(
        &mut line,
        "DescribeImages one image errors",
        "describe_one.errors",
        0,
        "",
    );
    row(
        &mut line,
        "server CPU s, DescribeImages-one phase",
        "cpu.describe_one.server_cpu_s",
        2,
        "",
    );
    row(
        &mut line,
        "client CPU s, DescribeImages-one phase",
        "cpu.describe_one.client_cpu_s",
        2,
        "",
    );
    row(
        &mut line,
        "ListImages walk (maxResults 1000), best of 5",
        "list_walk.best_ms",
        1,
        " ms",
    );
    row(
        &mut line,
        "ListImages walk, median of 5",
        "list_walk.median_ms",
        1,
        " ms",
    );
    row(
        &mut line,
        "ListImages walk, requests per walk",
        "list_walk.requests_per_walk",
        0,
        "",
    );
    yes_no(
        &mut line,
        "ListImages walk: every image seen exactly once (every walk)",
        "list_walk.every_image_once_in_every_walk",
    );
    row(
        &mut line,
        "BatchGetImage of 100 tags p50 (sequential)",
        "batch_get.p50_ms",
        2,
        " ms",
    );
    row(
        &mut line,
        "BatchGetImage of 100 tags p99",
        "batch_get.p99_ms",
        2,
        " ms",
    );
    row(
        &mut line,
        "BatchGetImage requests measured",
        "batch_get.requests",
        0,
        "",
    );
    row(
        &mut line,
        "BatchGetImage answers without all 100 images",
        "batch_get.incomplete_answers",
        0,
        "",
    );
    yes_no(
        &mut line,
        "walk while 2 images are pushed per page: every original image once",
        "tokens.every_original_image_once",
    );
    row(&mut line, "… pages in that walk", "tokens.pages", 0, "");
    row(
        &mut line,
        "client-side sha256 probe before PutImage (noise check)",
        "sha256_probe_mbps.put",
        0,
        " MB/s",
    );
    row(
        &mut line,
        "client-side sha256 probe before DescribeImages-one (noise check)",
        "sha256_probe_mbps.describe_one",
        0,
        " MB/s",
    );
    let trivial = num(&parts["api-trivial"], "describe_one.ops_per_s");
    line(format!(
        "| harness ceiling: the same DescribeImages request vs a trivial axum server, 64 conns | {} ops/s | | |",
        fmt(trivial, 0)
    ));
    line(String::new());
    line(format!(
        "Config blob: ecrd durable: {}; moto: {}.",
        d["config_blob"].as_str().unwrap_or("—"),
        m["config_blob"].as_str().unwrap_or("—"),
    ));
    line(String::new());

    let ratio = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| a / b);
    let times = |r: Option<f64>| r.map_or("—".into(), |r| format!("{r:.1}×"));
    let mut targets = Vec::new();
    let mut target = |name: String, value: String, goal: &str, met: Option<bool>| {
        targets.push(json!({"target": name, "measured": value, "goal": goal, "met": met}));
    };
    for (label, v) in [("durable", d), ("ephemeral", e)] {
        let r = ratio(num(v, "put_image.ops_per_s"), num(m, "put_image.ops_per_s"));
        target(
            format!("PutImage, 16 conns ≥ 10× moto's ops/s (ecrd {label})"),
            times(r),
            "≥ 10×",
            r.map(|r| r >= 10.0),
        );
        let r = ratio(
            num(v, "describe_one.ops_per_s"),
            num(m, "describe_one.ops_per_s"),
        );
        target(
            format!("DescribeImages of one image, 64 conns ≥ 50× moto's ops/s (ecrd {label})"),
            times(r),
            "≥ 50×",
            r.map(|r| r >= 50.0),
        );
        let r = ratio(
            num(v, "describe_walk.best_ms"),
            num(m, "describe_walk.best_ms"),
        );
        target(
            format!("DescribeImages walk of all images ≤ 0.15× moto's time (ecrd {label}, best vs best)"),
            r.map_or("—".into(), |r| format!("{r:.3}×")),
            "≤ 0.15×",
            r.map(|r| r <= 0.15),
        );
        let p = num(v, "batch_get.p50_ms");
        target(
            format!("BatchGetImage of 100 tags p50 ≤ 1 ms (ecrd {label})"),
            fmt(p, 2) + " ms",
            "≤ 1 ms",
            p.map(|p| p <= 1.0),
        );
    }
    line("#### Targets (ECR API)".into());
    line(String::new());
    line("| target | measured | met? |".into());
    line("|---|---:|---|".into());
    for t in &targets {
        let met = match t["met"].as_bool() {
            Some(true) => "met",
            Some(false) => "**not met**",
            None => "not measured",
        };
        line(format!(
            "| {} | {} | {met} |",
            t["target"].as_str().unwrap_or(""),
            t["measured"].as_str().unwrap_or("")
        ));
    }
    (md, json!({"servers": parts, "targets": targets}))
}
