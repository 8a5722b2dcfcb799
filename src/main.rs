//! The `ecrd` command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Instant;

use clap::{Parser, Subcommand};
use ecrd::clock::Clock;
use ecrd::config::{AuthMode, Config};
use ecrd::server::Server;

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
    let Command::Serve(args) = cli.command;
    init_logging(args.log_format, &args.log_level);
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
    match runtime.block_on(serve(args, started)) {
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
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn serve(args: ServeArgs, started: Instant) -> Result<(), Box<dyn std::error::Error>> {
    let ephemeral_dir = if args.ephemeral {
        Some(tempfile::Builder::new().prefix("ecrd-").tempdir()?)
    } else {
        None
    };
    let data_dir = match (&ephemeral_dir, args.data_dir) {
        (Some(tmp), _) => tmp.path().to_owned(),
        (None, Some(dir)) => dir,
        (None, None) => dirs::data_dir()
            .map(|d| d.join("ecrd"))
            .ok_or("no data directory; pass --data-dir")?,
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
    };
    let server = Server::bind(config, Clock::new()).await?;
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
    println!("log in:");
    println!("  aws ecr get-login-password --endpoint-url http://{addr} | docker login --username AWS --password-stdin {host}");
    server.run(shutdown_signal()).await?;
    tracing::info!("stopped");
    drop(ephemeral_dir);
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
