//! The OCI Distribution 1.1 front (`/v2/...`).
//!
//! [`endpoint`] turns a path into an [`endpoint::Endpoint`]; [`handlers`] resolves the caller's
//! namespace, calls the core and renders headers; [`error`] is the one place that turns core
//! errors into OCI error JSON.

pub mod endpoint;
pub mod error;
pub mod handlers;
mod namespace;

pub use handlers::handle;
