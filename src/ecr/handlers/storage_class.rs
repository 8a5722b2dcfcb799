//! UpdateImageStorageClass: archive and restore (rules in `core::storage_class`).

use super::images::{identifier, image_id};
use super::{required, Api, Result};
use crate::core::storage_class::StorageClass;
use crate::ecr::error::EcrError;
use crate::ecr::generated::*;
use crate::ecr::RequestContext;

pub async fn update_image_storage_class(
    api: &Api,
    ctx: &RequestContext,
    input: UpdateImageStorageClassRequest,
) -> Result<UpdateImageStorageClassResponse> {
    let ns = ctx.namespace(input.registry_id.as_deref());
    let repo = required(input.repository_name, "repositoryName")?;
    let id = image_id(&required(input.image_id, "imageId")?);
    let target = required(input.target_storage_class, "targetStorageClass")?;
    let target = StorageClass::parse(target.as_str()).ok_or_else(|| {
        EcrError::constraint("targetStorageClass", "Member must satisfy enum value set")
    })?;
    let change = api
        .state
        .registry
        .update_storage_class(&ns, &repo, id, target)
        .await?;
    Ok(UpdateImageStorageClassResponse {
        registry_id: Some(ns.account),
        repository_name: Some(repo),
        image_id: Some(identifier(
            &change.image.manifest.digest,
            change.image.requested_tag,
        )),
        image_status: Some(ImageStatus::from(change.status.as_str())),
    })
}
