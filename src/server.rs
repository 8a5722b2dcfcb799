//! The HTTP server: one port, both fronts, graceful shutdown.
//!
//! Routing is by path and method only: `/v2/...` is the registry, `POST /` the ECR API,
//! `/_ecrd/...` ecrd's own hooks (health, `POST /_ecrd/gc`, the download URLs of
//! GetDownloadUrlForLayer), `/_localstack/health` LocalStack's health probe.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, Query, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::auth::token::Tokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::gc::{self, DataDirLock};
use crate::core::{CoreError, CoreResult, Namespace, Registry};
use crate::events::{self, sink::Sink};

/// What every handler can reach.
pub struct AppState {
    pub registry: Registry,
    pub tokens: Tokens,
    pub config: Config,
    /// host[:port] written into repository URIs and proxy endpoints.
    pub registry_host: String,
}

impl AppState {
    pub fn default_namespace(&self) -> Namespace {
        Namespace::new(self.config.account_id.clone(), self.config.region.clone())
    }
}

pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", post(crate::ecr::handle))
        .route("/v2", any(crate::oci::handle))
        .route("/v2/", any(crate::oci::handle))
        .route("/v2/{*rest}", any(crate::oci::handle))
        .route("/_localstack/health", get(health))
        .route("/_ecrd/health", get(health))
        .merge(crate::admin::routes())
        .route("/_ecrd/gc", post(collect_garbage))
        .route(
            "/_ecrd/layers/{*rest}",
            get(crate::ecr::handlers::layers::download),
        )
        // Blobs stream to disk without limit; the manifest and JSON readers set their own.
        .layer(DefaultBodyLimit::disable())
        .layer(tower_http::catch_panic::CatchPanicLayer::new())
        .layer(tower_http::trace::TraceLayer::new_for_http())
        .with_state(state)
}

async fn health(State(_): State<Arc<AppState>>) -> impl IntoResponse {
    (
        StatusCode::OK,
        axum::Json(serde_json::json!({
            "services": {"ecr": "running"},
            "edition": "ecrd",
            "version": env!("CARGO_PKG_VERSION"),
        })),
    )
}

#[derive(serde::Deserialize)]
struct GcQuery {
    #[serde(default, rename = "dryRun")]
    dry_run: bool,
}

/// `POST /_ecrd/gc[?dryRun=true]`: collects garbage now and says what went (or would go).
async fn collect_garbage(
    State(state): State<Arc<AppState>>,
    Query(query): Query<GcQuery>,
) -> axum::response::Response {
    match state.registry.collect_garbage(query.dry_run).await {
        Ok(report) => (StatusCode::OK, axum::Json(report)).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "garbage collection failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                axum::Json(serde_json::json!({"error": e.to_string()})),
            )
                .into_response()
        }
    }
}

/// A bound, ready server.
pub struct Server {
    pub local_addr: SocketAddr,
    pub state: Arc<AppState>,
    listener: TcpListener,
    /// Held until [`Server::run`] returns: `ecrd gc` refuses a data dir in use.
    lock: DataDirLock,
    event_sinks: Vec<Sink>,
}

impl Server {
    /// Opens the store and binds the port. After this returns, connections are accepted (the
    /// kernel queues them until [`Server::run`] serves them).
    pub async fn bind(config: Config, clock: Clock) -> CoreResult<Server> {
        // Before opening: opening sweeps temporary and upload files, which a live server owns.
        let lock = DataDirLock::acquire(&config.data_dir)?
            .ok_or_else(|| CoreError::Io(DataDirLock::in_use(&config.data_dir)))?;
        // Refuse at start an event sink that cannot work, rather than warn forever.
        let event_sinks = config
            .event_sinks()
            .map_err(|e| CoreError::Io(std::io::Error::new(std::io::ErrorKind::InvalidInput, e)))?;
        for sink in &event_sinks {
            sink.check()?;
        }
        let registry = Registry::open(&config.data_dir, config.durable, clock).await?;
        let tokens = Tokens::load_or_create(&config.data_dir)?;
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
        lock.describe(&format!(
            "pid {}, serving http://{local_addr}",
            std::process::id()
        ))?;
        let registry_host = config
            .registry_host
            .clone()
            .unwrap_or_else(|| local_addr.to_string());
        let state = Arc::new(AppState {
            registry,
            tokens,
            config,
            registry_host,
        });
        Ok(Server {
            local_addr,
            state,
            listener,
            lock,
            event_sinks,
        })
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and flushes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Server {
            state,
            listener,
            lock,
            event_sinks,
            ..
        } = self;
        let registry = state.registry.clone();
        let mut background = vec![
            every(Duration::from_secs(1), "recording pull times", {
                let registry = registry.clone();
                move || {
                    let registry = registry.clone();
                    async move { registry.flush_pulls().await.map_err(|e| e.to_string()) }
                }
            }),
            every(gc::INTERVAL, "garbage collection", {
                let registry = registry.clone();
                move || {
                    let registry = registry.clone();
                    async move {
                        registry
                            .collect_garbage(false)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string())
                    }
                }
            }),
        ];
        background.push(every(Duration::from_secs(60), "trimming events", {
            let registry = registry.clone();
            move || {
                let registry = registry.clone();
                async move {
                    crate::events::sink::trim(&registry)
                        .await
                        .map(drop)
                        .map_err(|e| e.to_string())
                }
            }
        }));
        for sink in event_sinks.clone() {
            background.push(every(Duration::from_millis(200), "delivering events", {
                let registry = registry.clone();
                // Warn once when delivery starts failing and once when it works again, not at
                // every attempt (an endpoint that is down would fill the log).
                let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
                move || {
                    let (registry, sink, failing) = (registry.clone(), sink.clone(), failing.clone());
                    async move {
                        use std::sync::atomic::Ordering;
                        match events::sink::deliver(&registry, &sink).await {
                            Ok(_) if failing.swap(false, Ordering::Relaxed) => {
                                tracing::info!(?sink, "delivering events again");
                            }
                            Err(e) if !failing.swap(true, Ordering::Relaxed) => {
                                tracing::warn!(?sink, error = %e, "cannot deliver events; retrying");
                            }
                            _ => {}
                        }
                        Ok(())
                    }
                }
            }));
        }
        if let Some(period) = state.config.lifecycle_interval {
            background.push(every(period, "lifecycle run", {
                let registry = registry.clone();
                move || {
                    let registry = registry.clone();
                    async move {
                        let all = crate::lifecycle::runner::Scope::default();
                        crate::lifecycle::runner::run(&registry, &all)
                            .await
                            .map(drop)
                            .map_err(|e| e.to_string())
                    }
                }
            }));
        }
        let app = router(state);
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        for task in background {
            task.abort();
        }
        for sink in &event_sinks {
            if let Err(e) = events::sink::deliver(&registry, sink).await {
                tracing::warn!(?sink, error = %e, "could not deliver the last events");
            }
        }
        if let Err(e) = registry.close().await {
            tracing::warn!(error = %e, "could not record pull times at shutdown");
        }
        drop(lock);
        served
    }
}

/// Runs `job` every `period` (first after one period) until aborted; a failure is logged and the
/// next period tries again.
fn every<F, Fut>(period: Duration, what: &'static str, job: F) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> Fut + Send + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await; // the first tick is immediate; nothing is due at start
        loop {
            tick.tick().await;
            if let Err(error) = job().await {
                tracing::warn!(%error, "{what} failed");
            }
        }
    })
}
