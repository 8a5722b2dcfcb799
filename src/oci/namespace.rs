//! Which namespace (account, region) a registry request acts in, and whether it may.
//!
//! In order: a Host of the form `<account>.dkr.ecr.<region>.<anything>`, else the namespace the
//! Basic token was issued for, else the configured default. With auth required, a token is
//! mandatory and may only reach its own namespace.

use axum::http::{header, HeaderMap, StatusCode};

use super::error::OciError;
use crate::config::AuthMode;
use crate::core::Namespace;
use crate::server::AppState;

/// `<account>.dkr.ecr.<region>.<anything>` → the namespace it names.
pub fn from_host(host: &str) -> Option<Namespace> {
    let mut parts = host.split('.');
    let account = parts.next()?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if parts.next()? != "dkr" || parts.next()? != "ecr" {
        return None;
    }
    let region = parts.next()?;
    let region = region.split(':').next()?;
    (!region.is_empty() && parts.next().is_some()).then(|| Namespace::new(account, region))
}

pub fn host(headers: &HeaderMap) -> &str {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
}

pub fn resolve(state: &AppState, headers: &HeaderMap) -> Result<Namespace, OciError> {
    let host = host(headers);
    let by_host = from_host(host);
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok());
    let now = state.registry.clock().now_millis();
    let by_token = credentials.map(|c| state.tokens.verify_basic(c, now));

    match state.config.auth {
        AuthMode::Required => {
            let token_ns = match by_token {
                None => return Err(OciError::unauthorized(host, "Not Authorized")),
                Some(Err(e)) => return Err(OciError::from_token(e, host)),
                Some(Ok(ns)) => ns,
            };
            match by_host {
                Some(host_ns) if host_ns != token_ns => Err(OciError::new(
                    StatusCode::FORBIDDEN,
                    "DENIED",
                    format!(
                        "Your authorization token is for registry {} in {}, not {} in {}",
                        token_ns.account, token_ns.region, host_ns.account, host_ns.region
                    ),
                )),
                _ => Ok(token_ns),
            }
        }
        AuthMode::Off => match (by_host, by_token) {
            (_, Some(Err(e @ crate::auth::token::TokenError::Expired))) => {
                Err(OciError::from_token(e, host))
            }
            (Some(ns), _) => Ok(ns),
            (None, Some(Ok(ns))) => Ok(ns),
            _ => Ok(state.default_namespace()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecr_style_hosts_name_a_namespace() {
        assert_eq!(
            from_host("123456789012.dkr.ecr.eu-west-1.localhost:5000"),
            Some(Namespace::new("123456789012", "eu-west-1"))
        );
        assert_eq!(
            from_host("000000000000.dkr.ecr.us-east-1.localhost.localstack.cloud:4566"),
            Some(Namespace::new("000000000000", "us-east-1"))
        );
        assert_eq!(from_host("localhost:5000"), None);
        assert_eq!(from_host("12345.dkr.ecr.us-east-1.x"), None);
        assert_eq!(from_host("123456789012.dkr.ecr.us-east-1"), None);
    }
}
