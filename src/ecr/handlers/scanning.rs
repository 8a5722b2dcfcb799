//! Scanning: StartImageScan, DescribeImageScanFindings, Put/GetRegistryScanningConfiguration,
//! BatchGetRepositoryScanningConfiguration — and the scan fields of DescribeImages.

use std::collections::BTreeMap;

use super::images::{identifier, image_id};
use super::{required, Api, Result};
use crate::core::scanning::{ImageScan, SCAN_COMPLETE};
use crate::ecr::error::EcrError;
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;
use crate::store::manifests::ManifestRow;
use crate::store::registry as stored;

fn complete() -> ImageScanStatus {
    ImageScanStatus {
        status: Some(ScanStatus::Complete),
        description: Some(SCAN_COMPLETE.to_owned()),
    }
}

fn severity_counts(scan: &ImageScan) -> BTreeMap<String, i32> {
    scan.severity_counts().into_iter().collect()
}

/// DescribeImages' `imageScanStatus` and `imageScanFindingsSummary`: present once the image has
/// a scan.
pub(super) fn scan_summary(
    row: &ManifestRow,
) -> (Option<ImageScanStatus>, Option<ImageScanFindingsSummary>) {
    match ImageScan::of(row) {
        None => (None, None),
        Some(scan) => (
            Some(complete()),
            Some(ImageScanFindingsSummary {
                image_scan_completed_at: Some(Timestamp::from_unix_millis(scan.completed_at)),
                vulnerability_source_updated_at: Some(Timestamp::from_unix_millis(
                    scan.vulnerability_source_updated_at,
                )),
                finding_severity_counts: Some(severity_counts(&scan)),
            }),
        ),
    }
}

/// Answers IN_PROGRESS, as ECR does; ecrd's scan is complete by the time the answer leaves, so
/// the first DescribeImageScanFindings (and the SDK's ImageScanComplete waiter) sees COMPLETE.
pub async fn start_image_scan(
    api: &Api,
    ctx: &RequestContext,
    input: StartImageScanRequest,
) -> Result<StartImageScanResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let id = image_id(&required(input.image_id, "imageId")?);
    let found = api.state.registry.start_image_scan(&ns, &repo, id).await?;
    Ok(StartImageScanResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        image_id: Some(identifier(&found.manifest.digest, found.requested_tag)),
        image_scan_status: Some(ImageScanStatus {
            status: Some(ScanStatus::InProgress),
            description: None,
        }),
    })
}

pub async fn describe_image_scan_findings(
    api: &Api,
    ctx: &RequestContext,
    input: DescribeImageScanFindingsRequest,
) -> Result<DescribeImageScanFindingsResponse> {
    const OP: &str = "DescribeImageScanFindings";
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let id = image_id(&required(input.image_id, "imageId")?);
    let (found, scan) = api.state.registry.image_scan(&ns, &repo, &id)?;
    // A completed scan's findings never change, so a position in them is a stable cursor.
    let start = match input.next_token.as_deref() {
        Some(token) => pagination::decode(OP, token)?
            .parse::<usize>()
            .map_err(|_| EcrError::constraint("nextToken", "Invalid NextToken"))?,
        None => 0,
    };
    let limit = pagination::page_size(input.max_results);
    let page: Vec<ImageScanFinding> = scan
        .findings
        .iter()
        .skip(start)
        .take(limit)
        .map(|f| ImageScanFinding {
            name: Some(f.name.clone()),
            severity: Some(FindingSeverity::from(f.severity.as_str())),
            description: f.description.clone(),
            uri: f.uri.clone(),
            attributes: None,
        })
        .collect();
    let end = start + page.len();
    let next_token = (end < scan.findings.len()).then(|| pagination::encode(OP, &end.to_string()));
    Ok(DescribeImageScanFindingsResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        image_id: Some(identifier(&found.manifest.digest, found.requested_tag)),
        image_scan_status: Some(complete()),
        image_scan_findings: Some(ImageScanFindings {
            image_scan_completed_at: Some(Timestamp::from_unix_millis(scan.completed_at)),
            vulnerability_source_updated_at: Some(Timestamp::from_unix_millis(
                scan.vulnerability_source_updated_at,
            )),
            finding_severity_counts: Some(severity_counts(&scan)),
            findings: Some(page),
            enhanced_findings: None,
        }),
        next_token,
    })
}

fn filter_shapes(filters: Vec<String>) -> Vec<ScanningRepositoryFilter> {
    filters
        .into_iter()
        .map(|filter| ScanningRepositoryFilter {
            filter: Some(filter),
            filter_type: Some(ScanningRepositoryFilterType::Wildcard),
        })
        .collect()
}

fn configuration_shape(config: stored::ScanningConfiguration) -> RegistryScanningConfiguration {
    RegistryScanningConfiguration {
        scan_type: Some(ScanType::from(config.scan_type)),
        rules: Some(
            config
                .rules
                .into_iter()
                .map(|rule| RegistryScanningRule {
                    scan_frequency: Some(ScanFrequency::from(rule.scan_frequency)),
                    repository_filters: Some(filter_shapes(rule.repository_filters)),
                })
                .collect(),
        ),
    }
}

/// PutRegistryScanningConfiguration: without `scanType`, BASIC; without `rules`, none.
pub async fn put_registry_scanning_configuration(
    api: &Api,
    ctx: &RequestContext,
    input: PutRegistryScanningConfigurationRequest,
) -> Result<PutRegistryScanningConfigurationResponse> {
    let ns = ctx.namespace(None);
    let config = stored::ScanningConfiguration {
        scan_type: input
            .scan_type
            .map_or_else(|| "BASIC".to_owned(), |t| t.as_str().to_owned()),
        rules: input
            .rules
            .unwrap_or_default()
            .into_iter()
            .map(|rule| stored::ScanningRule {
                scan_frequency: rule
                    .scan_frequency
                    .map(|f| f.as_str().to_owned())
                    .unwrap_or_default(),
                repository_filters: rule
                    .repository_filters
                    .unwrap_or_default()
                    .into_iter()
                    .filter_map(|f| f.filter)
                    .collect(),
            })
            .collect(),
    };
    let stored = api
        .state
        .registry
        .put_scanning_configuration(&ns, config)
        .await?;
    Ok(PutRegistryScanningConfigurationResponse {
        registry_scanning_configuration: Some(configuration_shape(stored)),
    })
}

pub async fn get_registry_scanning_configuration(
    api: &Api,
    ctx: &RequestContext,
    _input: GetRegistryScanningConfigurationRequest,
) -> Result<GetRegistryScanningConfigurationResponse> {
    let ns = ctx.namespace(None);
    let config = api.state.registry.scanning_configuration(&ns)?;
    Ok(GetRegistryScanningConfigurationResponse {
        registry_id: Some(ns.account),
        scanning_configuration: Some(configuration_shape(config)),
    })
}

pub async fn batch_get_repository_scanning_configuration(
    api: &Api,
    ctx: &RequestContext,
    input: BatchGetRepositoryScanningConfigurationRequest,
) -> Result<BatchGetRepositoryScanningConfigurationResponse> {
    let ns = ctx.namespace(None);
    let names = required(input.repository_names, "repositoryNames")?;
    let batch = api
        .state
        .registry
        .repository_scanning_configurations(&ns, &names)?;
    Ok(BatchGetRepositoryScanningConfigurationResponse {
        scanning_configurations: Some(
            batch
                .found
                .into_iter()
                .map(|(repo, scanning)| RepositoryScanningConfiguration {
                    repository_arn: Some(repo.arn),
                    repository_name: Some(repo.row.name),
                    scan_on_push: Some(scanning.scan_on_push),
                    scan_frequency: Some(ScanFrequency::from(scanning.frequency)),
                    applied_scan_filters: Some(filter_shapes(scanning.applied_filters)),
                })
                .collect(),
        ),
        failures: Some(
            batch
                .missing
                .into_iter()
                .map(|(name, why)| RepositoryScanningConfigurationFailure {
                    repository_name: Some(name),
                    failure_code: Some(ScanningConfigurationFailureCode::RepositoryNotFound),
                    failure_reason: Some(why.to_string()),
                })
                .collect(),
        ),
    })
}
