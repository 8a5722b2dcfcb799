//! The `ecrd` command line.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use ecrd::clock::Clock;
use ecrd::config::{parse_duration_secs, AuthMode, Config};
use ecrd::core::gc::DataDirLock;
use ecrd::core::Registry;
use ecrd::server::Server;

type Failure = Box<dyn std::error::Error>;

#[derive(Parser)]
#[command(
    name = "ecrd",
    version,
    about = "Amazon ECR on a laptop: an OCI 1.1 registry and the ECR API in one process"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the registry and the ECR API on one port.
    Serve(ServeArgs),
    /// Remove blobs no image needs any more, orphaned blob files and expired uploads, from a data
    /// dir no server is using. (A running server collects by itself every 10 minutes, and at once
    /// on `POST /_ecrd/gc`.)
    Gc(GcArgs),
    /// Lifecycle policies.
    #[command(subcommand)]
    Lifecycle(LifecycleCommand),
}

#[derive(Subcommand)]
enum LifecycleCommand {
    /// Apply every repository's lifecycle policy now (and remove referrers whose subject was
    /// deleted), on a data dir no server is using. A running server does this by itself every
    /// `--lifecycle-interval`, and at once on `POST /_ecrd/lifecycle/run`.
    Run(LifecycleRunArgs),
}

#[derive(clap::Args)]
struct LifecycleRunArgs {
    /// The data dir [default: $XDG_DATA_HOME/ecrd].
    #[arg(long, env = "ECRD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Only this repository.
    #[arg(long)]
    repository: Option<String>,
    /// Only this account's repositories.
    #[arg(long, value_parser = parse_account)]
    account_id: Option<String>,
    /// Only this region's repositories.
    #[arg(long)]
    region: Option<String>,
    /// Evaluate as if this much time had passed (e.g. `15d`), for age-based rules.
    #[arg(long, value_parser = parse_duration_secs, allow_hyphen_values = true)]
    clock_offset: Option<i64>,
}

#[derive(clap::Args)]
struct GcArgs {
    /// The data dir to collect [default: $XDG_DATA_HOME/ecrd].
    #[arg(long, env = "ECRD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Only say what would be removed.
    #[arg(long)]
    dry_run: bool,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "ECRD_LISTEN", default_value = "127.0.0.1:5000")]
    listen: SocketAddr,
    /// Where metadata and blobs live [default: $XDG_DATA_HOME/ecrd].
    #[arg(long, env = "ECRD_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Use a temporary data dir, removed at exit; skips fsync (a throwaway test registry).
    #[arg(long, env = "ECRD_EPHEMERAL", conflicts_with = "data_dir")]
    ephemeral: bool,
    /// Account of requests that name none (a 12-digit access key id names its own).
    #[arg(long, env = "ECRD_ACCOUNT_ID", default_value = "000000000000", value_parser = parse_account)]
    account_id: String,
    /// Region of requests that name none (SigV4 requests name theirs).
    #[arg(long, env = "ECRD_REGION", default_value = "us-east-1")]
    region: String,
    /// host:port written into repositoryUri and proxyEndpoint [default: the listen address].
    #[arg(long, env = "ECRD_REGISTRY_HOST")]
    registry_host: Option<String>,
    /// `required`: /v2 needs the password from GetAuthorizationToken, as on ECR; `off`: anonymous
    /// requests are served, as on LocalStack.
    #[arg(long, env = "ECRD_AUTH", value_enum, default_value = "required")]
    auth: AuthMode,
    /// How often lifecycle policies are applied (`0` = only on demand): e.g. `90s`, `5m`, `1h`.
    #[arg(long, env = "ECRD_LIFECYCLE_INTERVAL", default_value = "5m", value_parser = parse_duration_secs)]
    lifecycle_interval: i64,
    /// Start with ecrd's clock moved by this much (e.g. `15d`, `-2h`): push times, token expiry
    /// and lifecycle all use this clock. `POST /_ecrd/clock` moves it while running.
    #[arg(long, env = "ECRD_CLOCK_OFFSET", default_value = "0", value_parser = parse_duration_secs, allow_hyphen_values = true)]
    clock_offset: i64,
    /// Append every ECR event (EventBridge JSON: image pushes and deletes, referrer actions,
    /// storage-class changes, scans) to this file, one per line. `GET /_ecrd/events` lists them
    /// with or without it.
    #[arg(long, env = "ECRD_EVENTS_FILE")]
    events_file: Option<PathBuf>,
    /// Send every ECR event with `PutEvents` to this EventBridge-compatible endpoint, plain
    /// HTTP (e.g. LocalStack: `http://127.0.0.1:4566`), to the default bus of the event's
    /// account and region.
    #[arg(long, env = "ECRD_EVENTS_ENDPOINT", value_parser = parse_events_endpoint)]
    events_endpoint: Option<String>,
    /// Log format.
    #[arg(long, env = "ECRD_LOG_FORMAT", value_enum, default_value = "text")]
    log_format: LogFormat,
    /// Log filter, e.g. `info`, `ecrd=debug,tower_http=debug`.
    #[arg(long, env = "ECRD_LOG_LEVEL", default_value = "info")]
    log_level: String,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

fn parse_events_endpoint(s: &str) -> Result<String, String> {
    ecrd::events::sink::EventBridge::parse(s).map(|_| s.to_owned())
}

fn parse_account(s: &str) -> Result<String, String> {
    if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) {
        Ok(s.to_owned())
    } else {
        Err("an account id is 12 digits".into())
    }
}

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            init_logging(args.log_format, &args.log_level);
            run(serve(args, started))
        }
        Command::Gc(args) => run(gc(args)),
        Command::Lifecycle(LifecycleCommand::Run(args)) => run(lifecycle_run(args)),
    }
}

/// Runs a command on a multi-threaded runtime; an error is printed and fails the process.
fn run(command: impl Future<Output = Result<(), Failure>>) -> std::process::ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("ecrd: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ecrd: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging(format: LogFormat, level: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(level)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn default_data_dir() -> Result<PathBuf, Failure> {
    Ok(dirs::data_dir()
        .map(|d| d.join("ecrd"))
        .ok_or("no data directory; pass --data-dir")?)
}

async fn serve(args: ServeArgs, started: Instant) -> Result<(), Failure> {
    let ephemeral_dir = if args.ephemeral {
        Some(tempfile::Builder::new().prefix("ecrd-").tempdir()?)
    } else {
        None
    };
    let data_dir = match (&ephemeral_dir, args.data_dir) {
        (Some(tmp), _) => tmp.path().to_owned(),
        (None, Some(dir)) => dir,
        (None, None) => default_data_dir()?,
    };
    let config = Config {
        listen: args.listen,
        data_dir: data_dir.clone(),
        account_id: args.account_id,
        region: args.region,
        registry_host: args.registry_host,
        auth: args.auth,
        durable: !args.ephemeral,
        token_lifetime_secs: 12 * 3600,
        lifecycle_interval: (args.lifecycle_interval > 0)
            .then(|| std::time::Duration::from_secs(args.lifecycle_interval.unsigned_abs())),
        events_file: args.events_file,
        events_endpoint: args.events_endpoint,
    };
    let clock = Clock::new();
    clock.advance(args.clock_offset * 1000);
    let server = Server::bind(config, clock).await?;
    let addr = server.local_addr;
    let host = server.state.registry_host.clone();
    println!(
        "ecrd {} listening on http://{addr} (ready in {} ms)",
        env!("CARGO_PKG_VERSION"),
        started.elapsed().as_millis()
    );
    println!(
        "data: {}{}",
        data_dir.display(),
        if args.ephemeral { " (ephemeral)" } else { "" }
    );
    let mut events = vec![format!("GET http://{addr}/_ecrd/events")];
    if let Some(path) = &server.state.config.events_file {
        events.push(format!("appended to {}", path.display()));
    }
    if let Some(url) = &server.state.config.events_endpoint {
        events.push(format!("PutEvents to {url}"));
    }
    println!("events: {}", events.join(", "));
    println!("log in:");
    println!("  aws ecr get-login-password --endpoint-url http://{addr} | docker login --username AWS --password-stdin {host}");
    server.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    drop(ephemeral_dir);
    Ok(())
}

async fn gc(args: GcArgs) -> Result<(), Failure> {
    let busy = format!(
        "ask that server to collect instead: POST /_ecrd/gc (e.g. curl -X POST http://<its address>/_ecrd/gc{})",
        if args.dry_run { "?dryRun=true" } else { "" }
    );
    let (registry, lock) = open_offline(args.data_dir, Clock::new(), &busy).await?;
    let report = registry.collect_garbage(args.dry_run).await?;
    println!("{report}");
    drop(lock);
    Ok(())
}

/// Opens a data dir no server holds; `busy` says what to do instead when one does.
async fn open_offline(
    data_dir: Option<PathBuf>,
    clock: Clock,
    busy: &str,
) -> Result<(Registry, DataDirLock), Failure> {
    let data_dir = match data_dir {
        Some(dir) => dir,
        None => default_data_dir()?,
    };
    // Never create a data dir just to find it empty.
    if !data_dir.join("metadata.sqlite").exists() {
        return Err(format!("{} holds no ecrd data", data_dir.display()).into());
    }
    let Some(lock) = DataDirLock::acquire(&data_dir)? else {
        return Err(format!("{}; {busy}", DataDirLock::in_use(&data_dir)).into());
    };
    let registry = Registry::open(&data_dir, true, clock).await?;
    Ok((registry, lock))
}

async fn lifecycle_run(args: LifecycleRunArgs) -> Result<(), Failure> {
    let clock = Clock::new();
    clock.advance(args.clock_offset.unwrap_or(0) * 1000);
    let (registry, lock) = open_offline(
        args.data_dir,
        clock,
        "ask that server instead: POST /_ecrd/lifecycle/run (e.g. curl -X POST http://<its address>/_ecrd/lifecycle/run)",
    )
    .await?;
    let namespace = match (args.account_id, args.region) {
        (None, None) => None,
        (account, region) => Some(ecrd::core::Namespace::new(
            account.unwrap_or_else(|| "000000000000".into()),
            region.unwrap_or_else(|| "us-east-1".into()),
        )),
    };
    let scope = ecrd::lifecycle::runner::Scope {
        namespace,
        repository: args.repository,
    };
    let report = ecrd::lifecycle::runner::run(&registry, &scope).await?;
    println!("{}", serde_json::to_string_pretty(&report)?);
    drop(lock);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}
