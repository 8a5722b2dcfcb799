//! Registry-level settings: DescribeRegistry, PutReplicationConfiguration, Get/PutAccountSetting,
//! and DescribeImageReplicationStatus. These act on the caller's registry (no `registryId`),
//! except DescribeImageReplicationStatus.

use super::images::{identifier, image_id};
use super::{required, Api, Result};
use crate::ecr::generated::*;
use crate::ecr::RequestContext;
use crate::store::registry as stored;

fn replication_shape(config: stored::ReplicationConfiguration) -> ReplicationConfiguration {
    let rules = config
        .rules
        .into_iter()
        .map(|rule| ReplicationRule {
            destinations: Some(
                rule.destinations
                    .into_iter()
                    .map(|d| ReplicationDestination {
                        region: Some(d.region),
                        registry_id: Some(d.registry_id),
                    })
                    .collect(),
            ),
            // The model wants 1..=100 filters when present: none is said by leaving it out.
            repository_filters: (!rule.repository_filters.is_empty()).then(|| {
                rule.repository_filters
                    .into_iter()
                    .map(|filter| RepositoryFilter {
                        filter: Some(filter),
                        filter_type: Some(RepositoryFilterType::from("PREFIX_MATCH")),
                    })
                    .collect()
            }),
        })
        .collect();
    ReplicationConfiguration { rules: Some(rules) }
}

/// The configuration as the core keeps it (the validator has checked every required member and
/// that filters are PREFIX_MATCH, the only type).
fn replication_of(config: ReplicationConfiguration) -> stored::ReplicationConfiguration {
    let rules = config
        .rules
        .unwrap_or_default()
        .into_iter()
        .map(|rule| stored::ReplicationRule {
            destinations: rule
                .destinations
                .unwrap_or_default()
                .into_iter()
                .map(|d| stored::ReplicationDestination {
                    region: d.region.unwrap_or_default(),
                    registry_id: d.registry_id.unwrap_or_default(),
                })
                .collect(),
            repository_filters: rule
                .repository_filters
                .unwrap_or_default()
                .into_iter()
                .filter_map(|f| f.filter)
                .collect(),
        })
        .collect();
    stored::ReplicationConfiguration { rules }
}

pub async fn describe_registry(
    api: &Api,
    ctx: &RequestContext,
    _input: DescribeRegistryRequest,
) -> Result<DescribeRegistryResponse> {
    let ns = ctx.namespace(None);
    let config = api.state.registry.replication_configuration(&ns)?;
    Ok(DescribeRegistryResponse {
        registry_id: Some(ns.account),
        replication_configuration: Some(replication_shape(config)),
    })
}

/// Stores and echoes the configuration; ecrd does not replicate (see
/// `Registry::put_replication_configuration`).
pub async fn put_replication_configuration(
    api: &Api,
    ctx: &RequestContext,
    input: PutReplicationConfigurationRequest,
) -> Result<PutReplicationConfigurationResponse> {
    let ns = ctx.namespace(None);
    let config = replication_of(required(
        input.replication_configuration,
        "replicationConfiguration",
    )?);
    let stored = api
        .state
        .registry
        .put_replication_configuration(&ns, config)
        .await?;
    Ok(PutReplicationConfigurationResponse {
        replication_configuration: Some(replication_shape(stored)),
    })
}

pub async fn get_account_setting(
    api: &Api,
    ctx: &RequestContext,
    input: GetAccountSettingRequest,
) -> Result<GetAccountSettingResponse> {
    let ns = ctx.namespace(None);
    let name = required(input.name, "name")?;
    let value = api.state.registry.account_setting(&ns, &name)?;
    Ok(GetAccountSettingResponse {
        name: Some(name),
        value: Some(value),
    })
}

pub async fn put_account_setting(
    api: &Api,
    ctx: &RequestContext,
    input: PutAccountSettingRequest,
) -> Result<PutAccountSettingResponse> {
    let ns = ctx.namespace(None);
    let name = required(input.name, "name")?;
    let value = required(input.value, "value")?;
    api.state
        .registry
        .put_account_setting(&ns, &name, &value)
        .await?;
    Ok(PutAccountSettingResponse {
        name: Some(name),
        value: Some(value),
    })
}

pub async fn describe_image_replication_status(
    api: &Api,
    ctx: &RequestContext,
    input: DescribeImageReplicationStatusRequest,
) -> Result<DescribeImageReplicationStatusResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let id = image_id(&required(input.image_id, "imageId")?);
    let (found, statuses) = api
        .state
        .registry
        .image_replication_statuses(&ns, &repo, &id)?;
    Ok(DescribeImageReplicationStatusResponse {
        repository_name: Some(repo),
        image_id: Some(identifier(&found.manifest.digest, found.requested_tag)),
        replication_statuses: Some(
            statuses
                .into_iter()
                .map(|(destination, status)| ImageReplicationStatus {
                    region: Some(destination.region),
                    registry_id: Some(destination.registry_id),
                    status: Some(ReplicationStatus::from(status)),
                    failure_code: None,
                })
                .collect(),
        ),
    })
}
