//! Runtime configuration: what `ecrd serve` was told, after defaults are applied.

use std::net::SocketAddr;
use std::path::PathBuf;

/// How the registry endpoint treats credentials.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthMode {
    /// As ECR: `/v2/` needs `Basic AWS:<password from GetAuthorizationToken>`.
    Required,
    /// As LocalStack: anonymous requests are served; a valid token still picks the namespace.
    Off,
}

/// Everything the server needs to start.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// The default namespace, used when a request names none.
    pub account_id: String,
    pub region: String,
    /// host[:port] written into `repositoryUri` and `proxyEndpoint`; `None` = the bound address.
    pub registry_host: Option<String>,
    pub auth: AuthMode,
    /// fsync blobs and SQLite commits before acknowledging. Off for `--ephemeral`, where the data
    /// dies with the process anyway.
    pub durable: bool,
    /// Lifetime of a registry password from GetAuthorizationToken.
    pub token_lifetime_secs: i64,
}

impl Config {
    /// A configuration for tests and embedding: loopback, ephemeral port, given data dir.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir,
            account_id: "000000000000".into(),
            region: "us-east-1".into(),
            registry_host: None,
            auth: AuthMode::Required,
            durable: false,
            token_lifetime_secs: 12 * 3600,
        }
    }
}
