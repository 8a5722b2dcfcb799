//! The HTTP server: one port, both fronts, graceful shutdown.
//!
//! Routing is by path and method only: `/v2/...` is the registry, `POST /` the ECR API,
//! `/_ecrd/...` ecrd's own admin hooks, `/_localstack/health` LocalStack's health probe.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::{any, get, post};
use axum::Router;
use tokio::net::TcpListener;

use crate::auth::token::Tokens;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::{CoreResult, Namespace, Registry};

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

/// A bound, ready server.
pub struct Server {
    pub local_addr: SocketAddr,
    pub state: Arc<AppState>,
    listener: TcpListener,
}

impl Server {
    /// Opens the store and binds the port. After this returns, connections are accepted (the
    /// kernel queues them until [`Server::run`] serves them).
    pub async fn bind(config: Config, clock: Clock) -> CoreResult<Server> {
        let registry = Registry::open(&config.data_dir, config.durable, clock).await?;
        let tokens = Tokens::load_or_create(&config.data_dir)?;
        let listener = TcpListener::bind(config.listen).await?;
        let local_addr = listener.local_addr()?;
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
        })
    }

    /// Serves until `shutdown` completes, then drains in-flight requests and flushes the store.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let registry = self.state.registry.clone();
        let flusher = tokio::spawn({
            let registry = registry.clone();
            async move {
                let mut tick = tokio::time::interval(Duration::from_secs(1));
                loop {
                    tick.tick().await;
                    if let Err(e) = registry.flush_pulls().await {
                        tracing::warn!(error = %e, "could not record pull times");
                    }
                }
            }
        });
        let app = router(self.state.clone());
        let served = axum::serve(self.listener, app)
            .with_graceful_shutdown(shutdown)
            .await;
        flusher.abort();
        if let Err(e) = registry.flush_pulls().await {
            tracing::warn!(error = %e, "could not record pull times at shutdown");
        }
        served
    }
}
