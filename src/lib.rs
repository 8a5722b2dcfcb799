//! ecrd — Amazon ECR on a laptop.
//!
//! # Layout
//!
//! One process serves two fronts over one registry core:
//!
//! * [`oci`] — the OCI Distribution 1.1 endpoint (`/v2/...`): parses a request into an
//!   [`oci::endpoint::Endpoint`], calls the core, renders OCI headers and error JSON.
//! * [`ecr`] — the ECR control API (awsJson1.1, `POST /` + `X-Amz-Target`): types and dispatch
//!   are generated from `api-models/`; handlers translate to core calls.
//! * [`core`] — the registry: repositories, manifests, tags, blobs, uploads, referrers. Every
//!   rule (validation, immutability, referrer tracking) lives here exactly once.
//! * [`store`] — SQLite metadata (single writer thread with group commit, pooled readers) and the
//!   content-addressed blob files. No SQL outside this module.
//! * [`auth`] — registry tokens (HMAC, no lookup), SigV4 credential-scope parsing, and the
//!   account/region a request acts in.
//! * [`server`] — builds the axum router for both fronts and runs it with graceful shutdown.
//!
//! See ARCHITECTURE.md for the invariants.

pub mod admin;
pub mod auth;
pub mod clock;
pub mod config;
pub mod core;
pub mod ecr;
pub mod events;
pub mod lifecycle;
pub mod oci;
pub mod server;
pub mod store;
