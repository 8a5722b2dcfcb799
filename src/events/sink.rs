//! Delivery of recorded events, in order and at least once, to a JSON-lines file
//! (`--events-file`) or to an EventBridge-compatible endpoint (`--events-endpoint`, e.g.
//! LocalStack's), as `PutEvents` calls to the account and region of each event.
//!
//! Each sink's cursor (the last delivered `seq`) is kept in the store after each batch is
//! delivered, so a restart resumes where delivery stopped; a crash between the delivery and the
//! cursor update delivers that batch again.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use serde_json::{json, Value};

use crate::core::{CoreError, CoreResult, Registry};
use crate::store::events::{self as event_sql, EventFilter, EventRow};

/// Events read per batch (one store read, one cursor update).
const BATCH: i64 = 1000;

/// Where recorded events go besides `GET /_ecrd/events`.
#[derive(Clone, Debug)]
pub enum Sink {
    /// Appended to a file, one JSON event per line.
    File(PathBuf),
    /// Sent to an EventBridge-compatible endpoint (plain HTTP) with `PutEvents`.
    EventBridge(EventBridge),
}

impl Sink {
    /// The sink's name in the `event_sinks` table.
    fn name(&self) -> &'static str {
        match self {
            Sink::File(_) => "file",
            Sink::EventBridge(_) => "eventbridge",
        }
    }

    /// Checks at start that the sink can be used at all, and says why not.
    pub fn check(&self) -> std::io::Result<()> {
        match self {
            Sink::File(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(drop)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("events file {}: {e}", path.display()))
                }),
            Sink::EventBridge(_) => Ok(()),
        }
    }

    async fn send(&self, rows: &[EventRow]) -> std::io::Result<()> {
        match self {
            Sink::File(path) => {
                let mut lines = String::new();
                for row in rows {
                    lines.push_str(&super::envelope(row).to_string());
                    lines.push('\n');
                }
                let path = path.clone();
                tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                    let mut file = std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?;
                    file.write_all(lines.as_bytes())
                })
                .await
                .map_err(std::io::Error::other)?
            }
            Sink::EventBridge(target) => {
                // PutEvents takes up to 10 entries, all for the caller's account and region.
                let mut start = 0;
                while start < rows.len() {
                    let (account, region) = (&rows[start].account, &rows[start].region);
                    let same = rows[start..]
                        .iter()
                        .take(10)
                        .take_while(|r| &r.account == account && &r.region == region)
                        .count();
                    target.put_events(&rows[start..start + same]).await?;
                    start += same;
                }
                Ok(())
            }
        }
    }
}

/// Delivers every event recorded since the sink's last delivery; returns how many.
pub async fn deliver(registry: &Registry, sink: &Sink) -> CoreResult<usize> {
    let mut delivered = 0;
    loop {
        // The cursor and what follows it, in one read.
        let rows = registry.store().read(|c| {
            let filter = EventFilter {
                after: event_sql::delivered(c, sink.name())?,
                ..EventFilter::default()
            };
            event_sql::list(c, &filter, BATCH)
        })?;
        let Some(last) = rows.last().map(|r| r.seq) else {
            return Ok(delivered);
        };
        sink.send(&rows).await?;
        let name = sink.name();
        registry
            .store()
            .write(move |c| event_sql::set_delivered(c, name, last))
            .await
            .map_err(CoreError::from)?;
        delivered += rows.len();
    }
}

/// Keeps the newest [`super::KEPT`] events.
pub async fn trim(registry: &Registry) -> CoreResult<usize> {
    registry
        .store()
        .write(|c| event_sql::trim(c, super::KEPT))
        .await
        .map_err(CoreError::from)
}

/// An EventBridge-compatible endpoint: `http://host:port`.
#[derive(Clone, Debug)]
pub struct EventBridge {
    authority: String,
}

/// How long one `PutEvents` call may take before the batch is tried again later.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

impl EventBridge {
    pub fn parse(url: &str) -> Result<EventBridge, String> {
        let uri: axum::http::Uri = url
            .parse()
            .map_err(|e| format!("events endpoint {url}: {e}"))?;
        match (uri.scheme_str(), uri.authority(), uri.path()) {
            (Some("http"), Some(authority), "" | "/") => Ok(EventBridge {
                authority: authority.to_string(),
            }),
            _ => Err(format!(
                "events endpoint {url}: give http://host:port (plain HTTP, no path), e.g. \
                 http://127.0.0.1:4566"
            )),
        }
    }

    /// One `PutEvents` call for events of one account and region. The `Authorization` header
    /// has SigV4's shape with the account as access key id and the region in the scope, which
    /// is how LocalStack picks the account's and region's default bus; nothing is signed.
    async fn put_events(&self, rows: &[EventRow]) -> std::io::Result<()> {
        let Some(first) = rows.first() else {
            return Ok(());
        };
        let entries: Vec<Value> = rows
            .iter()
            .map(|row| {
                // The stored detail is already the JSON text PutEvents takes.
                let resources: Value = row
                    .resources
                    .as_deref()
                    .and_then(|r| serde_json::from_str(r).ok())
                    .unwrap_or_else(|| json!([]));
                json!({
                    "Source": "aws.ecr",
                    "DetailType": row.detail_type,
                    "Detail": row.detail,
                    "Resources": resources,
                    "Time": row.at as f64 / 1000.0,
                    "EventBusName": "default",
                })
            })
            .collect();
        let body = json!({ "Entries": entries }).to_string();
        let date = chrono::Utc::now().format("%Y%m%d").to_string();
        let request = axum::http::Request::post("/")
            .header(axum::http::header::HOST, &self.authority)
            .header("x-amz-target", "AWSEvents.PutEvents")
            .header(
                axum::http::header::CONTENT_TYPE,
                "application/x-amz-json-1.1",
            )
            .header(
                axum::http::header::AUTHORIZATION,
                format!(
                    "AWS4-HMAC-SHA256 Credential={}/{date}/{}/events/aws4_request, \
                     SignedHeaders=host;x-amz-target, Signature={}",
                    first.account,
                    first.region,
                    "0".repeat(64)
                ),
            )
            .body(Full::new(Bytes::from(body)))
            .map_err(std::io::Error::other)?;
        let call = async {
            let stream = tokio::net::TcpStream::connect(&self.authority).await?;
            let (mut sender, connection) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                    .await
                    .map_err(std::io::Error::other)?;
            tokio::spawn(connection);
            let response = sender
                .send_request(request)
                .await
                .map_err(std::io::Error::other)?;
            let status = response.status();
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(std::io::Error::other)?
                .to_bytes();
            if !status.is_success() {
                return Err(std::io::Error::other(format!(
                    "PutEvents to {}: {status}: {}",
                    self.authority,
                    String::from_utf8_lossy(&body)
                )));
            }
            let answer: Value = serde_json::from_slice(&body).unwrap_or_default();
            let failed = answer["FailedEntryCount"].as_u64().unwrap_or(0);
            if failed > 0 {
                // Entries the bus refused are not retried: they would block every later event.
                tracing::warn!(failed, answer = %answer, "the event bus refused some events");
            }
            Ok(())
        };
        tokio::time::timeout(CALL_TIMEOUT, call)
            .await
            .map_err(|_| {
                std::io::Error::other(format!("PutEvents to {}: timed out", self.authority))
            })?
    }
}
