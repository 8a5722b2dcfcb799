//! Lifecycle policy operations: Put/Get/DeleteLifecyclePolicy, Start/GetLifecyclePolicyPreview.

use super::{required, Api, Result};
use crate::ecr::generated::*;
use crate::ecr::pagination;
use crate::ecr::wire_types::Timestamp;
use crate::ecr::RequestContext;
use crate::lifecycle::runner::{self, PreviewItem};

pub async fn put_lifecycle_policy(
    api: &Api,
    ctx: &RequestContext,
    input: PutLifecyclePolicyRequest,
) -> Result<PutLifecyclePolicyResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let text = required(input.lifecycle_policy_text, "lifecyclePolicyText")?;
    runner::put_policy(&api.state.registry, &ns, &repo, &text).await?;
    Ok(PutLifecyclePolicyResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        lifecycle_policy_text: Some(text),
    })
}

pub async fn get_lifecycle_policy(
    api: &Api,
    ctx: &RequestContext,
    input: GetLifecyclePolicyRequest,
) -> Result<GetLifecyclePolicyResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let policy = runner::get_policy(&api.state.registry, &ns, &repo)?;
    Ok(GetLifecyclePolicyResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        lifecycle_policy_text: Some(policy.text),
        last_evaluated_at: policy.last_evaluated_at.map(Timestamp::from_unix_millis),
    })
}

pub async fn delete_lifecycle_policy(
    api: &Api,
    ctx: &RequestContext,
    input: DeleteLifecyclePolicyRequest,
) -> Result<DeleteLifecyclePolicyResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let policy = runner::delete_policy(&api.state.registry, &ns, &repo).await?;
    Ok(DeleteLifecyclePolicyResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        lifecycle_policy_text: Some(policy.text),
        last_evaluated_at: policy.last_evaluated_at.map(Timestamp::from_unix_millis),
    })
}

pub async fn start_lifecycle_policy_preview(
    api: &Api,
    ctx: &RequestContext,
    input: StartLifecyclePolicyPreviewRequest,
) -> Result<StartLifecyclePolicyPreviewResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let text =
        runner::start_preview(&api.state.registry, &ns, &repo, input.lifecycle_policy_text).await?;
    Ok(StartLifecyclePolicyPreviewResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        lifecycle_policy_text: Some(text),
        status: Some(LifecyclePolicyPreviewStatus::from("IN_PROGRESS")),
    })
}

fn preview_result(item: PreviewItem) -> LifecyclePolicyPreviewResult {
    LifecyclePolicyPreviewResult {
        image_digest: Some(item.digest),
        image_tags: (!item.tags.is_empty()).then_some(item.tags),
        image_pushed_at: Some(Timestamp::from_unix_millis(item.pushed_at)),
        action: Some(LifecyclePolicyRuleAction {
            r#type: Some(ImageActionType::from(if item.transition {
                "TRANSITION"
            } else {
                "EXPIRE"
            })),
            target_storage_class: item
                .transition
                .then(|| LifecyclePolicyTargetStorageClass::from("ARCHIVE")),
        }),
        applied_rule_priority: Some(item.rule_priority as i32),
        storage_class: Some(LifecyclePolicyStorageClass::from(if item.archived {
            "ARCHIVE"
        } else {
            "STANDARD"
        })),
    }
}

pub async fn get_lifecycle_policy_preview(
    api: &Api,
    ctx: &RequestContext,
    input: GetLifecyclePolicyPreviewRequest,
) -> Result<GetLifecyclePolicyPreviewResponse> {
    const OP: &str = "GetLifecyclePolicyPreview";
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    super::images::ids_exclude_paging(
        input.image_ids.is_some(),
        input.next_token.is_some(),
        input.max_results.is_some(),
    )?;
    let preview = runner::get_preview(&api.state.registry, &ns, &repo).await?;

    let expiring = preview.items.iter().filter(|i| !i.transition).count() as i32;
    let transitioning = preview.items.iter().filter(|i| i.transition).count() as i32;
    let summary = LifecyclePolicyPreviewSummary {
        expiring_image_total_count: Some(expiring),
        transitioning_image_total_counts: (transitioning > 0).then(|| {
            vec![TransitioningImageTotalCount {
                target_storage_class: Some(LifecyclePolicyTargetStorageClass::from("ARCHIVE")),
                image_total_count: Some(transitioning),
            }]
        }),
    };

    let mut items = preview.items;
    if let Some(ids) = &input.image_ids {
        items.retain(|i| {
            ids.iter().any(|id| {
                id.image_digest.as_deref().is_none_or(|d| d == i.digest)
                    && id
                        .image_tag
                        .as_deref()
                        .is_none_or(|t| i.tags.iter().any(|x| x == t))
                    && (id.image_digest.is_some() || id.image_tag.is_some())
            })
        });
    }
    match input
        .filter
        .and_then(|f| f.tag_status)
        .as_ref()
        .map(TagStatus::as_str)
    {
        Some("TAGGED") => items.retain(|i| !i.tags.is_empty()),
        Some("UNTAGGED") => items.retain(|i| i.tags.is_empty()),
        _ => {}
    }
    // Pages of at most 100 (the default), continuing after the last digest.
    let limit = input.max_results.map_or(100, |n| n.max(1) as usize);
    let (page, next_token) = pagination::page_after(
        OP,
        &items,
        |i| i.digest.clone(),
        input.next_token.as_deref(),
        limit,
    )?;
    Ok(GetLifecyclePolicyPreviewResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        lifecycle_policy_text: Some(preview.text),
        status: Some(LifecyclePolicyPreviewStatus::from(preview.status.as_str())),
        preview_results: Some(page.into_iter().map(preview_result).collect()),
        next_token,
        summary: Some(summary),
    })
}
