//! Runtime configuration: what `ecrd serve` was told, after defaults are applied.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

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
    /// How often lifecycle policies are applied; `None` = only on demand.
    pub lifecycle_interval: Option<Duration>,
    /// A JSON-lines file every event is appended to (see `crate::events::sink`).
    pub events_file: Option<PathBuf>,
    /// An EventBridge-compatible endpoint (`http://host:port`) every event is sent to.
    pub events_endpoint: Option<String>,
}

impl Config {
    /// Where events are delivered besides `GET /_ecrd/events`; an endpoint that is not
    /// `http://host:port` is an error.
    pub fn event_sinks(&self) -> Result<Vec<crate::events::sink::Sink>, String> {
        use crate::events::sink::{EventBridge, Sink};
        let mut sinks: Vec<Sink> = self.events_file.iter().cloned().map(Sink::File).collect();
        if let Some(url) = &self.events_endpoint {
            sinks.push(Sink::EventBridge(EventBridge::parse(url)?));
        }
        Ok(sinks)
    }

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
            lifecycle_interval: None,
            events_file: None,
            events_endpoint: None,
        }
    }
}

/// Parses `90`, `90s`, `15m`, `36h`, `15d` (a plain number is seconds; may be negative).
pub fn parse_duration_secs(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().last() {
        Some((i, c)) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    let n: i64 = number
        .trim()
        .parse()
        .map_err(|_| format!("'{text}' is not a duration like 90s, 15m, 36h or 15d"))?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => {
            return Err(format!(
                "unknown unit '{unit}' in '{text}': use s, m, h or d"
            ))
        }
    };
    n.checked_mul(scale)
        .ok_or_else(|| format!("'{text}' is too long"))
}

#[cfg(test)]
mod tests {
    use super::parse_duration_secs;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("90"), Ok(90));
        assert_eq!(parse_duration_secs("15m"), Ok(900));
        assert_eq!(parse_duration_secs("15d"), Ok(15 * 86_400));
        assert_eq!(parse_duration_secs("-1h"), Ok(-3600));
        assert!(parse_duration_secs("1w").is_err());
        assert!(parse_duration_secs("d").is_err());
    }
}
