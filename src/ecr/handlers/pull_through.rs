//! Pull-through cache rules: Create/Describe/Update/Delete/ValidatePullThroughCacheRule. ecrd
//! stores and checks them but never pulls through them (see `core::pull_through`).

use super::{required, Api, Result};
use crate::core::pull_through::NewPullThroughCacheRule;
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;
use crate::store::registry as stored;

fn rule_shape(registry_id: &str, rule: stored::PullThroughCacheRule) -> PullThroughCacheRule {
    PullThroughCacheRule {
        ecr_repository_prefix: Some(rule.ecr_repository_prefix),
        upstream_registry_url: Some(rule.upstream_registry_url),
        created_at: Some(Timestamp::from_unix_millis(rule.created_at)),
        registry_id: Some(registry_id.to_owned()),
        credential_arn: rule.credential_arn,
        custom_role_arn: rule.custom_role_arn,
        upstream_registry: Some(UpstreamRegistry::from(rule.upstream_registry)),
        updated_at: Some(Timestamp::from_unix_millis(rule.updated_at)),
        upstream_repository_prefix: rule.upstream_repository_prefix,
    }
}

pub async fn create_pull_through_cache_rule(
    api: &Api,
    ctx: &RequestContext,
    input: CreatePullThroughCacheRuleRequest,
) -> Result<CreatePullThroughCacheRuleResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let new = NewPullThroughCacheRule {
        ecr_repository_prefix: required(input.ecr_repository_prefix, "ecrRepositoryPrefix")?,
        upstream_registry_url: required(input.upstream_registry_url, "upstreamRegistryUrl")?,
        upstream_registry: input.upstream_registry.map(|u| u.as_str().to_owned()),
        credential_arn: input.credential_arn,
        custom_role_arn: input.custom_role_arn,
        upstream_repository_prefix: input.upstream_repository_prefix,
    };
    let rule = api
        .state
        .registry
        .create_pull_through_cache_rule(&ns, new)
        .await?;
    Ok(CreatePullThroughCacheRuleResponse {
        ecr_repository_prefix: Some(rule.ecr_repository_prefix),
        upstream_registry_url: Some(rule.upstream_registry_url),
        created_at: Some(Timestamp::from_unix_millis(rule.created_at)),
        registry_id: Some(ns.account),
        upstream_registry: Some(UpstreamRegistry::from(rule.upstream_registry)),
        credential_arn: rule.credential_arn,
        custom_role_arn: rule.custom_role_arn,
        upstream_repository_prefix: rule.upstream_repository_prefix,
    })
}

pub async fn describe_pull_through_cache_rules(
    api: &Api,
    ctx: &RequestContext,
    input: DescribePullThroughCacheRulesRequest,
) -> Result<DescribePullThroughCacheRulesResponse> {
    const OP: &str = "DescribePullThroughCacheRules";
    let ns = ctx.namespace(input.registry_id.as_deref());
    let rules = api
        .state
        .registry
        .pull_through_cache_rules(&ns, input.ecr_repository_prefixes.as_deref())?;
    let (page, next_token) = pagination::page_after(
        OP,
        &rules,
        |r| r.ecr_repository_prefix.clone(),
        input.next_token.as_deref(),
        pagination::page_size(input.max_results),
    )?;
    Ok(DescribePullThroughCacheRulesResponse {
        pull_through_cache_rules: Some(
            page.into_iter()
                .map(|rule| rule_shape(&ns.account, rule))
                .collect(),
        ),
        next_token,
    })
}

pub async fn update_pull_through_cache_rule(
    api: &Api,
    ctx: &RequestContext,
    input: UpdatePullThroughCacheRuleRequest,
) -> Result<UpdatePullThroughCacheRuleResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let prefix = required(input.ecr_repository_prefix, "ecrRepositoryPrefix")?;
    let rule = api
        .state
        .registry
        .update_pull_through_cache_rule(&ns, &prefix, input.credential_arn, input.custom_role_arn)
        .await?;
    Ok(UpdatePullThroughCacheRuleResponse {
        ecr_repository_prefix: Some(rule.ecr_repository_prefix),
        registry_id: Some(ns.account),
        updated_at: Some(Timestamp::from_unix_millis(rule.updated_at)),
        credential_arn: rule.credential_arn,
        custom_role_arn: rule.custom_role_arn,
        upstream_repository_prefix: rule.upstream_repository_prefix,
    })
}

pub async fn delete_pull_through_cache_rule(
    api: &Api,
    ctx: &RequestContext,
    input: DeletePullThroughCacheRuleRequest,
) -> Result<DeletePullThroughCacheRuleResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let prefix = required(input.ecr_repository_prefix, "ecrRepositoryPrefix")?;
    let rule = api
        .state
        .registry
        .delete_pull_through_cache_rule(&ns, &prefix)
        .await?;
    Ok(DeletePullThroughCacheRuleResponse {
        ecr_repository_prefix: Some(rule.ecr_repository_prefix),
        upstream_registry_url: Some(rule.upstream_registry_url),
        created_at: Some(Timestamp::from_unix_millis(rule.created_at)),
        registry_id: Some(ns.account),
        credential_arn: rule.credential_arn,
        custom_role_arn: rule.custom_role_arn,
        upstream_repository_prefix: rule.upstream_repository_prefix,
    })
}

/// Always `isValid: false`: ecrd cannot reach upstream registries.
pub async fn validate_pull_through_cache_rule(
    api: &Api,
    ctx: &RequestContext,
    input: ValidatePullThroughCacheRuleRequest,
) -> Result<ValidatePullThroughCacheRuleResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let prefix = required(input.ecr_repository_prefix, "ecrRepositoryPrefix")?;
    let (rule, validation) = api
        .state
        .registry
        .validate_pull_through_cache_rule(&ns, &prefix)?;
    Ok(ValidatePullThroughCacheRuleResponse {
        ecr_repository_prefix: Some(rule.ecr_repository_prefix),
        registry_id: Some(ns.account),
        upstream_registry_url: Some(rule.upstream_registry_url),
        credential_arn: rule.credential_arn,
        custom_role_arn: rule.custom_role_arn,
        upstream_repository_prefix: rule.upstream_repository_prefix,
        is_valid: Some(validation.is_valid),
        failure: validation.failure,
    })
}
