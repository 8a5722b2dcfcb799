//! Image operations: PutImage, BatchGetImage, BatchDeleteImage, ListImages, DescribeImages,
//! ListImageReferrers. All of them are the registry core's image operations seen through ECR's
//! shapes; PutImage is the very push path `PUT /v2/<name>/manifests/<ref>` takes.

use bytes::Bytes;

use super::{required, Api, Result};
use crate::core::catalog::{self, ImageFailure, ImageId};
use crate::core::images::{ManifestPush, PushFront};
use crate::core::manifest::OCI_EMPTY_CONFIG;
use crate::core::names::{Digest, Tag};
use crate::core::{CoreError, Namespace};
use crate::ecr::error::EcrError;
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;
use crate::store::manifests::{
    ImageStatus as StoreImageStatus, ManifestRow, TagStatus as StoreTagStatus,
};

pub(super) fn image_id(id: &ImageIdentifier) -> ImageId {
    ImageId {
        digest: id.image_digest.clone(),
        tag: id.image_tag.clone(),
    }
}

pub(super) fn identifier(digest: &str, tag: Option<String>) -> ImageIdentifier {
    ImageIdentifier {
        image_digest: Some(digest.to_owned()),
        image_tag: tag,
    }
}

fn failure(f: ImageFailure) -> super::ImageFailure {
    super::ImageFailure {
        image_id: Some(ImageIdentifier {
            image_digest: f.id.digest,
            image_tag: f.id.tag,
        }),
        failure_code: Some(ImageFailureCode::from(f.code.as_str())),
        failure_reason: Some(f.code.reason().to_owned()),
    }
}

fn tag_status(filter: Option<&DescribeImagesFilter>) -> StoreTagStatus {
    tag_status_of(filter.and_then(|f| f.tag_status.as_ref()))
}

fn tag_status_of(status: Option<&TagStatus>) -> StoreTagStatus {
    match status.map(TagStatus::as_str) {
        Some("TAGGED") => StoreTagStatus::Tagged,
        Some("UNTAGGED") => StoreTagStatus::Untagged,
        _ => StoreTagStatus::Any,
    }
}

/// The image status a listing's `imageStatus` filter selects: ACTIVE by default, `None` (every
/// image) for ANY, the one value of the model's enum that names no status.
fn status_filter(status: Option<&str>) -> Option<StoreImageStatus> {
    match status {
        None => Some(StoreImageStatus::Active),
        Some(status) => StoreImageStatus::parse(status),
    }
}

/// What DescribeImages reports as the artifact's media type: the config's, except for OCI 1.1
/// artifacts with an empty config, which are known by their `artifactType`.
fn artifact_media_type(row: &ManifestRow) -> Option<String> {
    match row.config_media_type.as_deref() {
        Some(OCI_EMPTY_CONFIG) | None => row.artifact_type.clone(),
        Some(config) => Some(config.to_owned()),
    }
}

fn image_detail(ns: &Namespace, repo: &str, row: ManifestRow, tags: Vec<String>) -> ImageDetail {
    let (image_scan_status, image_scan_findings_summary) = super::scanning::scan_summary(&row);
    ImageDetail {
        registry_id: Some(ns.account.clone()),
        repository_name: Some(repo.to_owned()),
        artifact_media_type: artifact_media_type(&row),
        image_digest: Some(row.digest),
        image_tags: (!tags.is_empty()).then_some(tags),
        image_size_in_bytes: Some(row.image_size),
        image_pushed_at: Some(Timestamp::from_unix_millis(row.pushed_at)),
        image_manifest_media_type: Some(row.media_type),
        last_recorded_pull_time: row.last_pulled_at.map(Timestamp::from_unix_millis),
        subject_manifest_digest: row.subject_digest,
        image_status: Some(ImageStatus::from(row.status.as_str())),
        last_archived_at: row.last_archived_at.map(Timestamp::from_unix_millis),
        last_activated_at: row.last_activated_at.map(Timestamp::from_unix_millis),
        image_scan_status,
        image_scan_findings_summary,
    }
}

/// `imageIds` and paging are exclusive on ECR's listing operations.
pub(super) fn ids_exclude_paging(ids: bool, next_token: bool, max_results: bool) -> Result<()> {
    if ids && (next_token || max_results) {
        return Err(EcrError::invalid_parameter(
            "Invalid parameter at 'imageIds' failed to satisfy constraint: \
             'imageIds cannot be used with nextToken or maxResults'",
        ));
    }
    Ok(())
}

/// A cursor of `pushed_at|digest[|tag]`.
fn split_cursor(op: &str, token: &str, parts: usize) -> Result<Vec<String>> {
    let after = pagination::decode(op, token)?;
    let fields: Vec<String> = after.splitn(parts, '|').map(str::to_owned).collect();
    if fields.len() != parts || fields[0].parse::<i64>().is_err() {
        return Err(EcrError::constraint("nextToken", "Invalid NextToken"));
    }
    Ok(fields)
}

pub async fn put_image(
    api: &Api,
    ctx: &RequestContext,
    input: PutImageRequest,
) -> Result<PutImageResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let manifest = required(input.image_manifest, "imageManifest")?;
    let tags = match input.image_tag.as_deref() {
        Some(tag) => vec![Tag::parse(tag).map_err(CoreError::from)?],
        None => Vec::new(),
    };
    let expected_digest = match input.image_digest.as_deref() {
        Some(d) => Some(Digest::parse(d).map_err(CoreError::from)?),
        None => None,
    };
    let push = ManifestPush {
        body: Bytes::from(manifest.clone().into_bytes()),
        content_type: input.image_manifest_media_type.clone(),
        tags,
        expected_digest,
        front: PushFront::Api,
    };
    let pushed = api.state.registry.put_manifest(&ns, &repo, push).await?;
    Ok(PutImageResponse {
        image: Some(Image {
            registry_id: Some(ns.account),
            repository_name: Some(repo),
            image_id: Some(identifier(pushed.digest.as_str(), input.image_tag)),
            image_manifest: Some(manifest),
            image_manifest_media_type: Some(pushed.media_type),
        }),
    })
}

pub async fn batch_get_image(
    api: &Api,
    ctx: &RequestContext,
    input: BatchGetImageRequest,
) -> Result<BatchGetImageResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let ids: Vec<ImageId> = required(input.image_ids, "imageIds")?
        .iter()
        .map(image_id)
        .collect();
    let batch = api.state.registry.pull_images(&ns, &repo, &ids)?;
    let images = batch
        .done
        .into_iter()
        .map(|pulled| Image {
            registry_id: Some(ns.account.clone()),
            repository_name: Some(repo.clone()),
            image_id: Some(identifier(&pulled.manifest.digest, pulled.requested_tag)),
            // Stored manifests are JSON, so UTF-8: taken as is, without a copy.
            image_manifest: Some(
                String::from_utf8(pulled.body)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
            ),
            image_manifest_media_type: Some(pulled.manifest.media_type),
        })
        .collect();
    Ok(BatchGetImageResponse {
        images: Some(images),
        failures: Some(batch.failures.into_iter().map(failure).collect()),
    })
}

pub async fn batch_delete_image(
    api: &Api,
    ctx: &RequestContext,
    input: BatchDeleteImageRequest,
) -> Result<BatchDeleteImageResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let ids: Vec<ImageId> = required(input.image_ids, "imageIds")?
        .iter()
        .map(image_id)
        .collect();
    let batch = api.state.registry.delete_images(&ns, &repo, ids).await?;
    Ok(BatchDeleteImageResponse {
        image_ids: Some(
            batch
                .done
                .into_iter()
                .map(|d| identifier(&d.digest, d.tag))
                .collect(),
        ),
        failures: Some(batch.failures.into_iter().map(failure).collect()),
    })
}

pub async fn list_images(
    api: &Api,
    ctx: &RequestContext,
    input: ListImagesRequest,
) -> Result<ListImagesResponse> {
    const OP: &str = "ListImages";
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let filter = input.filter.as_ref();
    let status = tag_status_of(filter.and_then(|f| f.tag_status.as_ref()));
    let cursor = input
        .next_token
        .as_deref()
        .map(|t| split_cursor(OP, t, 3))
        .transpose()?;
    let after = cursor.as_ref().map(|c| {
        (
            c[0].parse().unwrap_or(i64::MIN),
            c[1].as_str(),
            c[2].as_str(),
        )
    });
    let limit = pagination::page_size(input.max_results);
    let image_status = status_filter(
        filter
            .and_then(|f| f.image_status.as_ref())
            .map(|s| s.as_str()),
    );
    let mut rows =
        api.state
            .registry
            .image_ids_page(&ns, &repo, status, image_status, after, limit + 1)?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_token = match (more, rows.last()) {
        (true, Some(last)) => Some(pagination::encode(
            OP,
            &format!(
                "{}|{}|{}",
                last.pushed_at,
                last.digest,
                last.tag.as_deref().unwrap_or("")
            ),
        )),
        _ => None,
    };
    Ok(ListImagesResponse {
        image_ids: Some(
            rows.into_iter()
                .map(|r| identifier(&r.digest, r.tag))
                .collect(),
        ),
        next_token,
    })
}

pub async fn describe_images(
    api: &Api,
    ctx: &RequestContext,
    input: DescribeImagesRequest,
) -> Result<DescribeImagesResponse> {
    const OP: &str = "DescribeImages";
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    ids_exclude_paging(
        input.image_ids.is_some(),
        input.next_token.is_some(),
        input.max_results.is_some(),
    )?;

    if let Some(ids) = input.image_ids {
        let ids: Vec<ImageId> = ids.iter().map(image_id).collect();
        let mut batch = api.state.registry.find_images(&ns, &repo, &ids)?;
        if let Some(f) = batch.failures.pop() {
            return Err(image_not_found(&ns, &repo, &f.id));
        }
        let details = batch
            .done
            .into_iter()
            .map(|found| image_detail(&ns, &repo, found.manifest, found.tags))
            .collect();
        return Ok(DescribeImagesResponse {
            image_details: Some(details),
            next_token: None,
        });
    }

    let filter = input.filter.as_ref();
    let cursor = input
        .next_token
        .as_deref()
        .map(|t| split_cursor(OP, t, 2))
        .transpose()?;
    let after = cursor
        .as_ref()
        .map(|c| (c[0].parse().unwrap_or(i64::MIN), c[1].as_str()));
    let limit = pagination::page_size(input.max_results);
    let image_status = status_filter(
        filter
            .and_then(|f| f.image_status.as_ref())
            .map(|s| s.as_str()),
    );
    let mut rows = api.state.registry.images_page(
        &ns,
        &repo,
        tag_status(filter),
        image_status,
        after,
        limit + 1,
    )?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_token = match (more, rows.last()) {
        (true, Some(last)) => Some(pagination::encode(
            OP,
            &format!("{}|{}", last.manifest.pushed_at, last.manifest.digest),
        )),
        _ => None,
    };
    let details = rows
        .into_iter()
        .map(|r| image_detail(&ns, &repo, r.manifest, r.tags))
        .collect();
    Ok(DescribeImagesResponse {
        image_details: Some(details),
        next_token,
    })
}

fn image_not_found(ns: &Namespace, repo: &str, id: &ImageId) -> EcrError {
    EcrError::from(catalog::image_not_found(repo, &ns.account, id))
}

pub async fn list_image_referrers(
    api: &Api,
    ctx: &RequestContext,
    input: ListImageReferrersRequest,
) -> Result<ListImageReferrersResponse> {
    const OP: &str = "ListImageReferrers";
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let subject = required(
        required(input.subject_id, "subjectId")?.image_digest,
        "imageDigest",
    )?;
    let subject = Digest::parse(&subject).map_err(CoreError::from)?;
    let filter = input.filter.unwrap_or_default();
    let types = filter.artifact_types.unwrap_or_default();
    let status = status_filter(filter.artifact_status.as_ref().map(|s| s.as_str()));
    let rows = api
        .state
        .registry
        .referrers(&ns, &repo, &subject, &types, status)?;
    // ListImageReferrers pages 20 at a time by default, 50 at most.
    let limit = input.max_results.map_or(20, |n| n.max(1) as usize);
    let (page, next_token) = pagination::page_after(
        OP,
        &rows,
        // The order the rows come in: push time, then digest (zero-padded to sort as text).
        |r| format!("{:020}|{}", r.pushed_at, r.digest),
        input.next_token.as_deref(),
        limit,
    )?;
    let referrers = page
        .into_iter()
        .map(|r| ImageReferrer {
            digest: Some(r.digest),
            media_type: Some(r.media_type),
            artifact_type: r.artifact_type,
            size: Some(r.size),
            annotations: r.annotations.and_then(|a| serde_json::from_str(&a).ok()),
            artifact_status: Some(ArtifactStatus::from(r.status.as_str())),
        })
        .collect();
    Ok(ListImageReferrersResponse {
        referrers: Some(referrers),
        next_token,
    })
}
