//! Images as the ECR API addresses them: by `{imageDigest, imageTag}` ids, in pages, in batches.
//!
//! [`resolve`] is the one place an image id is looked up; BatchGetImage, BatchDeleteImage,
//! DescribeImages and the OCI manifest DELETE all go through it, so they agree on what an id means
//! and on each failure.

use super::names::{Digest, Tag};
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::clock::Millis;
use crate::events::{self, ImageAction};
use crate::store::manifests::{
    self as manifest_sql, ImageIdRow, ImageRow, ImageStatus, ManifestRow, TagStatus,
};
use crate::store::repositories::RepositoryRow;
use crate::store::Conn;

/// An image id as a client sent it: either part may be missing or malformed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImageId {
    pub digest: Option<String>,
    pub tag: Option<String>,
}

/// Why one id of a batch failed (ECR's `ImageFailureCode`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailureCode {
    InvalidImageDigest,
    InvalidImageTag,
    ImageTagDoesNotMatchDigest,
    ImageNotFound,
    MissingDigestAndTag,
    ImageReferencedByManifestList,
    /// Archived: it cannot be pulled until it is restored.
    ImageInaccessible,
}

impl FailureCode {
    pub fn as_str(self) -> &'static str {
        match self {
            FailureCode::InvalidImageDigest => "InvalidImageDigest",
            FailureCode::InvalidImageTag => "InvalidImageTag",
            FailureCode::ImageTagDoesNotMatchDigest => "ImageTagDoesNotMatchDigest",
            FailureCode::ImageNotFound => "ImageNotFound",
            FailureCode::MissingDigestAndTag => "MissingDigestAndTag",
            FailureCode::ImageReferencedByManifestList => "ImageReferencedByManifestList",
            FailureCode::ImageInaccessible => "ImageInaccessible",
        }
    }

    /// ECR's `failureReason` texts.
    pub fn reason(self) -> &'static str {
        match self {
            FailureCode::InvalidImageDigest => {
                "Invalid request parameters: image digest should satisfy the regex '[a-zA-Z0-9-_+.]+:[a-fA-F0-9]+'"
            }
            FailureCode::InvalidImageTag => {
                "Invalid request parameters: image tag should satisfy the regex '[a-zA-Z0-9-_.]+'"
            }
            FailureCode::ImageTagDoesNotMatchDigest => {
                "Invalid request parameters: given tag does not map to the given digest"
            }
            FailureCode::ImageNotFound => "Requested image not found",
            FailureCode::MissingDigestAndTag => "Invalid request parameters: both tag and digest cannot be null",
            FailureCode::ImageReferencedByManifestList => {
                "Requested image is referenced by a manifest list; delete the manifest list first"
            }
            FailureCode::ImageInaccessible => {
                "The image is archived; restore it with UpdateImageStorageClass to pull it"
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFailure {
    pub id: ImageId,
    pub code: FailureCode,
}

/// An image found by id: its manifest and all its tags.
#[derive(Clone, Debug)]
pub struct FoundImage {
    pub manifest: ManifestRow,
    pub tags: Vec<String>,
    /// The tag the id named, if it named one.
    pub requested_tag: Option<String>,
}

/// An image pulled by BatchGetImage: its manifest row, the tag the id named, the stored bytes.
#[derive(Clone, Debug)]
pub struct PulledImage {
    pub manifest: ManifestRow,
    pub requested_tag: Option<String>,
    pub body: Vec<u8>,
}

/// Looks up one image id in a repository.
pub fn resolve(
    c: &Conn,
    repository_id: i64,
    id: &ImageId,
) -> CoreResult<Result<FoundImage, FailureCode>> {
    let (manifest, requested_tag) = match resolve_manifest(c, repository_id, id)? {
        Ok(found) => found,
        Err(code) => return Ok(Err(code)),
    };
    let tags = manifest_sql::tags_of(c, manifest.id)?;
    Ok(Ok(FoundImage {
        manifest,
        tags,
        requested_tag,
    }))
}

/// The manifest an image id names, and the tag it named (if any), without the image's tags.
fn resolve_manifest(
    c: &Conn,
    repository_id: i64,
    id: &ImageId,
) -> CoreResult<Result<(ManifestRow, Option<String>), FailureCode>> {
    let digest = match id.digest.as_deref().map(Digest::parse) {
        None => None,
        Some(Ok(d)) => Some(d),
        Some(Err(_)) => return Ok(Err(FailureCode::InvalidImageDigest)),
    };
    let tag = match id.tag.as_deref().map(Tag::parse) {
        None => None,
        Some(Ok(t)) => Some(t),
        Some(Err(_)) => return Ok(Err(FailureCode::InvalidImageTag)),
    };
    let manifest = match (&digest, &tag) {
        (None, None) => return Ok(Err(FailureCode::MissingDigestAndTag)),
        (Some(d), None) => manifest_sql::find_by_digest(c, repository_id, d)?,
        (None, Some(t)) => manifest_sql::find_by_tag(c, repository_id, t.as_str())?,
        (Some(d), Some(t)) => match manifest_sql::find_by_digest(c, repository_id, d)? {
            None => None,
            Some(m) => match manifest_sql::tag_target(c, repository_id, t.as_str())? {
                Some(target) if target == m.id => Some(m),
                Some(_) => return Ok(Err(FailureCode::ImageTagDoesNotMatchDigest)),
                None => None,
            },
        },
    };
    let Some(manifest) = manifest else {
        return Ok(Err(FailureCode::ImageNotFound));
    };
    Ok(Ok((manifest, tag.map(|t| t.to_string()))))
}

/// Looks up the one image a single-image operation names (UpdateImageStorageClass,
/// StartImageScan, DescribeImageScanFindings, DescribeImageReplicationStatus): whatever is wrong
/// with the id, the answer is ImageNotFound, as DescribeImages answers an id it cannot resolve.
pub fn resolve_one(c: &Conn, repo: &RepositoryRow, id: &ImageId) -> CoreResult<FoundImage> {
    resolve(c, repo.id, id)?.map_err(|_| image_not_found(&repo.name, &repo.account, id))
}

/// ImageNotFound for an id of repository `repo` of registry `registry_id`.
pub fn image_not_found(repo: &str, registry_id: &str, id: &ImageId) -> CoreError {
    CoreError::ImageNotFound {
        digest: id.digest.clone(),
        tag: id.tag.clone(),
        repository: repo.to_owned(),
        registry_id: registry_id.to_owned(),
    }
}

/// What one deleted id removed: the digest, and the tag (one entry per removed tag).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedImageId {
    pub digest: String,
    pub tag: Option<String>,
}

/// Deletes one id: a tag alone untags (and deletes the image with its last tag); a digest
/// deletes the image with all its tags. Refused while an index lists the image. Records a
/// `DELETE` event per removed id.
pub fn delete_id(
    c: &Conn,
    repo: &RepositoryRow,
    id: &ImageId,
    now: Millis,
) -> CoreResult<Result<Vec<DeletedImageId>, FailureCode>> {
    let found = match resolve(c, repo.id, id)? {
        Ok(found) => found,
        Err(code) => return Ok(Err(code)),
    };
    let manifest = &found.manifest;
    let whole_image = id.digest.is_some() || found.tags.len() <= 1;
    let listed = whole_image && manifest_sql::is_child_of_an_index(c, manifest.id)?;
    if listed && id.digest.is_some() {
        return Ok(Err(FailureCode::ImageReferencedByManifestList));
    }
    // Untagging a child of an index by its last tag is fine; the image itself must stay.
    let removed = if listed || !whole_image {
        untag(c, repo.id, manifest, found.requested_tag.as_deref())?
    } else {
        manifest_sql::delete(c, manifest.id)?;
        if found.tags.is_empty() {
            vec![DeletedImageId {
                digest: manifest.digest.clone(),
                tag: None,
            }]
        } else {
            found
                .tags
                .iter()
                .map(|t| DeletedImageId {
                    digest: manifest.digest.clone(),
                    tag: Some(t.clone()),
                })
                .collect()
        }
    };
    for gone in &removed {
        events::image_action(
            c,
            repo,
            now,
            ImageAction::Delete,
            manifest.into(),
            gone.tag.as_deref(),
        )?;
    }
    Ok(Ok(removed))
}

fn untag(
    c: &Conn,
    repository_id: i64,
    manifest: &ManifestRow,
    tag: Option<&str>,
) -> CoreResult<Vec<DeletedImageId>> {
    let tag = tag.unwrap_or_default().to_owned();
    manifest_sql::delete_tag(c, repository_id, &tag)?;
    Ok(vec![DeletedImageId {
        digest: manifest.digest.clone(),
        tag: Some(tag),
    }])
}

/// Outcome of a batch: what worked, and what failed and why.
#[derive(Clone, Debug)]
pub struct Batch<T> {
    pub done: Vec<T>,
    pub failures: Vec<ImageFailure>,
}

impl<T> Batch<T> {
    /// Records that `id` failed with `code`.
    fn fail(&mut self, id: &ImageId, code: FailureCode) {
        self.failures.push(ImageFailure {
            id: id.clone(),
            code,
        });
    }
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Batch {
            done: Vec::new(),
            failures: Vec::new(),
        }
    }
}

impl Registry {
    /// A page of images (DescribeImages without ids), with pending pull times merged in.
    pub fn images_page(
        &self,
        ns: &Namespace,
        repo: &str,
        status: TagStatus,
        image_status: Option<ImageStatus>,
        after: Option<(i64, &str)>,
        limit: usize,
    ) -> CoreResult<Vec<ImageRow>> {
        let mut rows = self.store.read(|c| {
            let repo = super::repository_in(c, ns, repo)?;
            Ok::<_, CoreError>(manifest_sql::images_page(
                c,
                repo.id,
                status,
                image_status,
                after,
                limit,
            )?)
        })?;
        for row in &mut rows {
            self.merge_pending_pull(&mut row.manifest);
        }
        Ok(rows)
    }

    /// A page of (digest, tag) ids (ListImages).
    pub fn image_ids_page(
        &self,
        ns: &Namespace,
        repo: &str,
        status: TagStatus,
        image_status: Option<ImageStatus>,
        after: Option<(i64, &str, &str)>,
        limit: usize,
    ) -> CoreResult<Vec<ImageIdRow>> {
        self.store.read(|c| {
            let repo = super::repository_in(c, ns, repo)?;
            Ok(manifest_sql::image_ids_page(
                c,
                repo.id,
                status,
                image_status,
                after,
                limit,
            )?)
        })
    }

    /// Looks up ids (DescribeImages with `imageIds`), all in one read transaction.
    pub fn find_images(
        &self,
        ns: &Namespace,
        repo: &str,
        ids: &[ImageId],
    ) -> CoreResult<Batch<FoundImage>> {
        let mut batch = Batch::default();
        self.store.read(|c| {
            let repo = super::repository_in(c, ns, repo)?;
            for id in ids {
                match resolve(c, repo.id, id)? {
                    Ok(found) => batch.done.push(found),
                    Err(code) => batch.fail(id, code),
                }
            }
            Ok::<_, CoreError>(())
        })?;
        for found in &mut batch.done {
            self.merge_pending_pull(&mut found.manifest);
        }
        Ok(batch)
    }

    /// Pulls images by id (BatchGetImage): each one found is counted as pulled and comes with
    /// its stored bytes, all read in one transaction. An archived image fails as the registry
    /// API's pull of it does.
    pub fn pull_images(
        &self,
        ns: &Namespace,
        repo: &str,
        ids: &[ImageId],
    ) -> CoreResult<Batch<PulledImage>> {
        let mut batch = Batch::default();
        self.store.read(|c| {
            let repo = super::repository_in(c, ns, repo)?;
            for id in ids {
                match resolve_manifest(c, repo.id, id)? {
                    Ok((manifest, requested_tag)) if manifest.status == ImageStatus::Active => {
                        let body = manifest_sql::body(c, manifest.id)?;
                        batch.done.push(PulledImage {
                            manifest,
                            requested_tag,
                            body,
                        });
                    }
                    // Archived: a pull fails, as the registry API's pull of it does.
                    Ok(_) => batch.fail(id, FailureCode::ImageInaccessible),
                    Err(code) => batch.fail(id, code),
                }
            }
            Ok::<_, CoreError>(())
        })?;
        let now = self.clock.now_millis();
        for pulled in &batch.done {
            self.pulls
                .record(pulled.manifest.id, &pulled.manifest.digest, now);
        }
        Ok(batch)
    }

    /// The one image `id` names, or ImageNotFound (see [`resolve_one`]).
    pub fn find_image(&self, ns: &Namespace, repo: &str, id: &ImageId) -> CoreResult<FoundImage> {
        let repo = self.repository(ns, repo)?;
        self.store.read(|c| resolve_one(c, &repo, id))
    }

    /// The stored bytes of a manifest found by [`Registry::find_images`].
    pub fn manifest_body(&self, manifest_id: i64) -> CoreResult<Vec<u8>> {
        Ok(self.store.read(|c| manifest_sql::body(c, manifest_id))?)
    }

    /// Deletes ids in one transaction (BatchDeleteImage).
    pub async fn delete_images(
        &self,
        ns: &Namespace,
        repo: &str,
        ids: Vec<ImageId>,
    ) -> CoreResult<Batch<DeletedImageId>> {
        let (ns, repo, now) = (ns.clone(), repo.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let repo = super::repository_in(c, &ns, &repo)?;
                let mut batch = Batch::default();
                for id in ids {
                    match delete_id(c, &repo, &id, now)? {
                        Ok(removed) => batch.done.extend(removed),
                        Err(code) => batch.failures.push(ImageFailure { id, code }),
                    }
                }
                Ok(batch)
            })
            .await
    }

    fn merge_pending_pull(&self, manifest: &mut ManifestRow) {
        if let Some(at) = self.pulls.pending(manifest.id, &manifest.digest) {
            manifest.last_pulled_at = Some(manifest.last_pulled_at.map_or(at, |t| t.max(at)));
        }
    }
}
