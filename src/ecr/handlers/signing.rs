//! Managed signing: Put/Get/DeleteSigningConfiguration (the caller's registry) and
//! DescribeImageSigningStatus. ecrd signs nothing (see `core::signing`).

use super::images::{identifier, image_id};
use super::{required, Api, Result};
use crate::ecr::generated::*;
use crate::ecr::RequestContext;
use crate::store::registry as stored;

fn configuration_shape(config: stored::SigningConfiguration) -> SigningConfiguration {
    let rules = config
        .rules
        .into_iter()
        .map(|rule| SigningRule {
            signing_profile_arn: Some(rule.signing_profile_arn),
            // The model wants 1..=100 filters when present: none is said by leaving it out.
            repository_filters: (!rule.repository_filters.is_empty()).then(|| {
                rule.repository_filters
                    .into_iter()
                    .map(|filter| SigningRepositoryFilter {
                        filter: Some(filter),
                        filter_type: Some(SigningRepositoryFilterType::WildcardMatch),
                    })
                    .collect()
            }),
        })
        .collect();
    SigningConfiguration { rules: Some(rules) }
}

/// The configuration as the core keeps it (the validator has checked every required member and
/// that filters are WILDCARD_MATCH, the only type).
fn configuration_of(config: SigningConfiguration) -> stored::SigningConfiguration {
    let rules = config
        .rules
        .unwrap_or_default()
        .into_iter()
        .map(|rule| stored::SigningRule {
            signing_profile_arn: rule.signing_profile_arn.unwrap_or_default(),
            repository_filters: rule
                .repository_filters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.filter)
                .collect(),
        })
        .collect();
    stored::SigningConfiguration { rules }
}

pub async fn put_signing_configuration(
    api: &Api,
    ctx: &RequestContext,
    input: PutSigningConfigurationRequest,
) -> Result<PutSigningConfigurationResponse> {
    let ns = ctx.namespace(None);
    let config = configuration_of(required(
        input.signing_configuration,
        "signingConfiguration",
    )?);
    let stored = api
        .state
        .registry
        .put_signing_configuration(&ns, config)
        .await?;
    Ok(PutSigningConfigurationResponse {
        signing_configuration: Some(configuration_shape(stored)),
    })
}

pub async fn get_signing_configuration(
    api: &Api,
    ctx: &RequestContext,
    _input: GetSigningConfigurationRequest,
) -> Result<GetSigningConfigurationResponse> {
    let ns = ctx.namespace(None);
    let config = api.state.registry.signing_configuration(&ns)?;
    Ok(GetSigningConfigurationResponse {
        registry_id: Some(ns.account),
        signing_configuration: Some(configuration_shape(config)),
    })
}

pub async fn delete_signing_configuration(
    api: &Api,
    ctx: &RequestContext,
    _input: DeleteSigningConfigurationRequest,
) -> Result<DeleteSigningConfigurationResponse> {
    let ns = ctx.namespace(None);
    let config = api.state.registry.delete_signing_configuration(&ns).await?;
    Ok(DeleteSigningConfigurationResponse {
        registry_id: Some(ns.account),
        signing_configuration: Some(configuration_shape(config)),
    })
}

pub async fn describe_image_signing_status(
    api: &Api,
    ctx: &RequestContext,
    input: DescribeImageSigningStatusRequest,
) -> Result<DescribeImageSigningStatusResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let id = image_id(&required(input.image_id, "imageId")?);
    let (found, statuses) = api.state.registry.image_signing_statuses(&ns, &repo, &id)?;
    Ok(DescribeImageSigningStatusResponse {
        repository_name: Some(repo),
        image_id: Some(identifier(&found.manifest.digest, found.requested_tag)),
        registry_id: Some(ns.account),
        signing_statuses: Some(
            statuses
                .into_iter()
                .map(|s| ImageSigningStatus {
                    signing_profile_arn: Some(s.signing_profile_arn),
                    status: Some(SigningStatus::from(s.status)),
                    failure_code: s.failure_code.map(str::to_owned),
                    failure_reason: s.failure_reason.map(str::to_owned),
                })
                .collect(),
        ),
    })
}
