//! Pull-time update exclusions: Register/DeregisterPullTimeUpdateExclusion and
//! ListPullTimeUpdateExclusions, on the caller's registry. Stored, not acted on (see
//! `core::exclusions`).

use super::{required, Api, Result};
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;

pub async fn register_pull_time_update_exclusion(
    api: &Api,
    ctx: &RequestContext,
    input: RegisterPullTimeUpdateExclusionRequest,
) -> Result<RegisterPullTimeUpdateExclusionResponse> {
    let ns = ctx.namespace(None);
    let principal = required(input.principal_arn, "principalArn")?;
    let created_at = api
        .state
        .registry
        .register_pull_time_exclusion(&ns, &principal)
        .await?;
    Ok(RegisterPullTimeUpdateExclusionResponse {
        principal_arn: Some(principal),
        created_at: Some(Timestamp::from_unix_millis(created_at)),
    })
}

pub async fn deregister_pull_time_update_exclusion(
    api: &Api,
    ctx: &RequestContext,
    input: DeregisterPullTimeUpdateExclusionRequest,
) -> Result<DeregisterPullTimeUpdateExclusionResponse> {
    let ns = ctx.namespace(None);
    let principal = required(input.principal_arn, "principalArn")?;
    api.state
        .registry
        .deregister_pull_time_exclusion(&ns, &principal)
        .await?;
    Ok(DeregisterPullTimeUpdateExclusionResponse {
        principal_arn: Some(principal),
    })
}

pub async fn list_pull_time_update_exclusions(
    api: &Api,
    ctx: &RequestContext,
    input: ListPullTimeUpdateExclusionsRequest,
) -> Result<ListPullTimeUpdateExclusionsResponse> {
    const OP: &str = "ListPullTimeUpdateExclusions";
    let ns = ctx.namespace(None);
    let principals = api.state.registry.pull_time_exclusions(&ns)?;
    // The response list holds at most 100 (the model's bound, and ECR's quota of exclusions).
    let limit = pagination::page_size(input.max_results).min(100);
    let (page, next_token) = pagination::page_after(
        OP,
        &principals,
        String::clone,
        input.next_token.as_deref(),
        limit,
    )?;
    Ok(ListPullTimeUpdateExclusionsResponse {
        pull_time_update_exclusions: Some(page),
        next_token,
    })
}
