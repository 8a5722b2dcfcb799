//! Resource policies: Set/Get/DeleteRepositoryPolicy and Put/Get/DeleteRegistryPolicy. ecrd
//! stores them and answers them back verbatim; it does not enforce them.

use super::{required, Api, Result};
use crate::ecr::generated::*;
use crate::ecr::RequestContext;

pub async fn set_repository_policy(
    api: &Api,
    ctx: &RequestContext,
    input: SetRepositoryPolicyRequest,
) -> Result<SetRepositoryPolicyResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let name = required(input.repository_name, "repositoryName")?;
    let text = required(input.policy_text, "policyText")?;
    // `force` is accepted; see Registry::set_repository_policy for why it changes nothing.
    api.state
        .registry
        .set_repository_policy(&ns, &name, text.clone())
        .await?;
    Ok(SetRepositoryPolicyResponse {
        registry_id: Some(ns.account),
        repository_name: Some(name),
        policy_text: Some(text),
    })
}

pub async fn get_repository_policy(
    api: &Api,
    ctx: &RequestContext,
    input: GetRepositoryPolicyRequest,
) -> Result<GetRepositoryPolicyResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let name = required(input.repository_name, "repositoryName")?;
    let text = api.state.registry.repository_policy(&ns, &name)?;
    Ok(GetRepositoryPolicyResponse {
        registry_id: Some(ns.account),
        repository_name: Some(name),
        policy_text: Some(text),
    })
}

pub async fn delete_repository_policy(
    api: &Api,
    ctx: &RequestContext,
    input: DeleteRepositoryPolicyRequest,
) -> Result<DeleteRepositoryPolicyResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let name = required(input.repository_name, "repositoryName")?;
    let text = api
        .state
        .registry
        .delete_repository_policy(&ns, &name)
        .await?;
    Ok(DeleteRepositoryPolicyResponse {
        registry_id: Some(ns.account),
        repository_name: Some(name),
        policy_text: Some(text),
    })
}

pub async fn put_registry_policy(
    api: &Api,
    ctx: &RequestContext,
    input: PutRegistryPolicyRequest,
) -> Result<PutRegistryPolicyResponse> {
    let ns = ctx.namespace(None);
    let text = required(input.policy_text, "policyText")?;
    api.state
        .registry
        .put_registry_policy(&ns, text.clone())
        .await?;
    Ok(PutRegistryPolicyResponse {
        registry_id: Some(ns.account),
        policy_text: Some(text),
    })
}

pub async fn get_registry_policy(
    api: &Api,
    ctx: &RequestContext,
    _input: GetRegistryPolicyRequest,
) -> Result<GetRegistryPolicyResponse> {
    let ns = ctx.namespace(None);
    let text = api.state.registry.registry_policy(&ns)?;
    Ok(GetRegistryPolicyResponse {
        registry_id: Some(ns.account),
        policy_text: Some(text),
    })
}

pub async fn delete_registry_policy(
    api: &Api,
    ctx: &RequestContext,
    _input: DeleteRegistryPolicyRequest,
) -> Result<DeleteRegistryPolicyResponse> {
    let ns = ctx.namespace(None);
    let text = api.state.registry.delete_registry_policy(&ns).await?;
    Ok(DeleteRegistryPolicyResponse {
        registry_id: Some(ns.account),
        policy_text: Some(text),
    })
}
