//! GetAuthorizationToken: registry passwords bound to an account and region.

use super::{Api, Result};
use crate::auth::token::Tokens;
use crate::ecr::generated::*;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;

pub async fn get_authorization_token(
    api: &Api,
    ctx: &RequestContext,
    input: GetAuthorizationTokenRequest,
) -> Result<GetAuthorizationTokenResponse> {
    let expires_at =
        api.state.registry.clock().now_millis() + api.state.config.token_lifetime_secs * 1000;
    let accounts = match input.registry_ids {
        Some(ids) => ids,
        None => vec![ctx.caller.account.clone()],
    };
    let data = accounts
        .into_iter()
        .map(|account| {
            let ns = ctx.namespace(Some(&account));
            let password = api.state.tokens.issue(&ns, expires_at);
            AuthorizationData {
                authorization_token: Some(Tokens::authorization_token(&password)),
                expires_at: Some(Timestamp::from_unix_millis(expires_at)),
                proxy_endpoint: Some(format!("http://{}", api.state.registry_host)),
            }
        })
        .collect();
    Ok(GetAuthorizationTokenResponse {
        authorization_data: Some(data),
    })
}
