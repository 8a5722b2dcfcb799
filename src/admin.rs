//! ecrd's own hooks under `/_ecrd/` (never part of ECR): run lifecycle now, read or move the
//! clock, read the events ECR would have sent. Tests use them to make days pass in
//! milliseconds and to see what a push or a lifecycle run announced.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::json;

use crate::core::Namespace;
use crate::lifecycle::runner::{self, Scope};
use crate::server::AppState;
use crate::store::events::EventFilter;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/_ecrd/lifecycle/run", post(run_lifecycle))
        .route("/_ecrd/clock", get(clock).post(move_clock))
        .route("/_ecrd/events", get(events))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    after: Option<i64>,
    limit: Option<i64>,
    account: Option<String>,
    region: Option<String>,
    #[serde(rename = "detailType")]
    detail_type: Option<String>,
}

/// `GET /_ecrd/events[?after=SEQ&limit=N&account=ID&region=R&detailType=T]`: recorded events,
/// oldest first (at most `limit`, default and cap 1000), and `lastSequence`, the `after` that
/// continues from them.
async fn events(
    State(state): State<Arc<AppState>>,
    query: Result<Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Query(query) = match query {
        Ok(query) => query,
        Err(e) => return failure(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let filter = EventFilter {
        after: query.after.unwrap_or(0),
        account: query.account,
        region: query.region,
        detail_type: query.detail_type,
    };
    let limit = query.limit.unwrap_or(1000).clamp(1, 1000);
    let (events, last) = match crate::events::read(&state.registry, &filter, limit) {
        Ok(read) => read,
        Err(e) => return failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    (
        StatusCode::OK,
        Json(json!({"events": events, "lastSequence": last})),
    )
        .into_response()
}

#[derive(Deserialize)]
struct RunQuery {
    repository: Option<String>,
    account: Option<String>,
    region: Option<String>,
}

fn failure(status: StatusCode, message: String) -> Response {
    (status, Json(json!({"error": message}))).into_response()
}

/// `POST /_ecrd/lifecycle/run[?repository=NAME&account=ID&region=R]`: applies lifecycle
/// policies now (and cleans up referrers of deleted subjects) and reports what it removed.
async fn run_lifecycle(
    State(state): State<Arc<AppState>>,
    Query(query): Query<RunQuery>,
) -> Response {
    let namespace = match (query.account, query.region, &query.repository) {
        (None, None, None) => None,
        (account, region, _) => {
            let default = state.default_namespace();
            Some(Namespace::new(
                account.unwrap_or(default.account),
                region.unwrap_or(default.region),
            ))
        }
    };
    let scope = Scope {
        namespace,
        repository: query.repository,
    };
    match runner::run(&state.registry, &scope).await {
        Ok(report) => (StatusCode::OK, Json(report)).into_response(),
        Err(e) => failure(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

fn now_json(state: &AppState) -> Json<serde_json::Value> {
    let now = state.registry.clock().now_millis();
    Json(json!({"now": now as f64 / 1000.0}))
}

/// `GET /_ecrd/clock`: ecrd's "now", in epoch seconds.
async fn clock(State(state): State<Arc<AppState>>) -> Json<serde_json::Value> {
    now_json(&state)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MoveClock {
    /// Moves time forward by this many seconds (negative: back).
    #[serde(rename = "advanceSeconds")]
    advance_seconds: Option<f64>,
    /// Sets "now" to this epoch time in seconds.
    #[serde(rename = "set")]
    set: Option<f64>,
}

/// `POST /_ecrd/clock` with `{"advanceSeconds": 1296000}` or `{"set": 1767225600}`.
async fn move_clock(State(state): State<Arc<AppState>>, body: axum::body::Bytes) -> Response {
    let request: MoveClock = match serde_json::from_slice(&body) {
        Ok(r) => r,
        Err(e) => {
            return failure(
                StatusCode::BAD_REQUEST,
                format!("expected {{\"advanceSeconds\": N}} or {{\"set\": EPOCH}}: {e}"),
            )
        }
    };
    let clock = state.registry.clock();
    match (request.advance_seconds, request.set) {
        (Some(by), None) if by.is_finite() => clock.advance((by * 1000.0) as i64),
        (None, Some(at)) if at.is_finite() => clock.set((at * 1000.0) as i64),
        _ => {
            return failure(
                StatusCode::BAD_REQUEST,
                "give exactly one of advanceSeconds and set".into(),
            )
        }
    }
    now_json(&state).into_response()
}
