//! Images: manifests and tags. A push over OCI (`PUT /v2/.../manifests/...`) and `PutImage` both
//! come here, to [`Registry::put_manifest`]; they differ only where ECR itself answers
//! differently, and that difference is spelled out in [`PushFront`].

use bytes::Bytes;

use super::catalog::{FailureCode, ImageFailure, ImageId};
use super::manifest::{self, ManifestKind, ParsedManifest};
use super::names::{Digest, Reference, Tag};
use super::repositories::Repository;
use super::{
    repository_for_push_in, scanning, storage_class, CoreError, CoreResult, Namespace, Registry,
};
use crate::events::{self, ImageAction, ImageFacts};
use crate::store::manifests::{
    self as manifest_sql, ImageStatus, ManifestRow, NewManifest, ReferrerRow,
};
use crate::store::{blob_index, Conn};

/// Which front a push came through: ECR answers an unchanged re-push differently on each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PushFront {
    /// The registry API: an identical re-push succeeds, unless the tag is immutable.
    Registry,
    /// `PutImage`: an identical re-push is ImageAlreadyExistsException.
    Api,
}

/// A manifest to store.
#[derive(Clone, Debug)]
pub struct ManifestPush {
    pub body: Bytes,
    /// The media type the client declared (Content-Type or `imageManifestMediaType`).
    pub content_type: Option<String>,
    pub tags: Vec<Tag>,
    /// The digest the client named (URL reference or `imageDigest`); must match the bytes.
    pub expected_digest: Option<Digest>,
    pub front: PushFront,
}

#[derive(Clone, Debug)]
pub struct PushedManifest {
    pub digest: Digest,
    pub media_type: String,
    pub subject: Option<Digest>,
    pub tags: Vec<Tag>,
    pub size: usize,
}

/// A stored manifest, with its bytes when asked for.
#[derive(Clone, Debug)]
pub struct StoredManifest {
    pub row: ManifestRow,
    pub body: Option<Bytes>,
}

impl Registry {
    /// Validates and stores a manifest, then points its tags at it — all in one transaction.
    pub async fn put_manifest(
        &self,
        ns: &Namespace,
        repo: &str,
        push: ManifestPush,
    ) -> CoreResult<PushedManifest> {
        let parsed = manifest::parse(&push.body, push.content_type.as_deref())?;
        let digest = Digest::of(&push.body);
        if let Some(expected) = &push.expected_digest {
            if expected != &digest {
                return Err(CoreError::ManifestDigestMismatch {
                    expected: expected.clone(),
                    actual: digest,
                });
            }
        }
        let (ns, repo, now) = (ns.clone(), repo.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                // In the push's own transaction: a repository created for it (from a template)
                // goes again if the manifest is refused.
                let repo = repository_for_push_in(c, &ns, &repo, push.front, now)?;
                store_manifest(c, &Repository::from_row(repo), &parsed, &digest, &push, now)
            })
            .await
    }

    /// Finds a manifest by tag or digest. A GET (`count_pull`) records a pull; a HEAD does not.
    pub fn get_manifest(
        &self,
        ns: &Namespace,
        repo: &str,
        reference: &Reference,
        with_body: bool,
        count_pull: bool,
    ) -> CoreResult<StoredManifest> {
        // The hottest path of a registry: one read transaction for repository, manifest and body.
        let (row, body) = self.store.read(|c| {
            let repo = super::repository_in(c, ns, repo)?;
            let row = match reference {
                Reference::Tag(tag) => manifest_sql::find_by_tag(c, repo.id, tag.as_str())?,
                Reference::Digest(digest) => manifest_sql::find_by_digest(c, repo.id, digest)?,
            };
            // Archived images cannot be pulled: the registry answers as if they were absent.
            let Some(row) = row.filter(|r| r.status == ImageStatus::Active) else {
                return Err(CoreError::ManifestUnknown);
            };
            let body = if with_body {
                Some(Bytes::from(manifest_sql::body(c, row.id)?))
            } else {
                None
            };
            Ok((row, body))
        })?;
        if count_pull {
            self.pulls
                .record(row.id, &row.digest, self.clock.now_millis());
        }
        Ok(StoredManifest { row, body })
    }

    /// Deletes an image by digest (with all its tags), or a tag (and the image with its last
    /// tag) — the same rule as BatchDeleteImage.
    pub async fn delete_manifest(
        &self,
        ns: &Namespace,
        repo: &str,
        reference: &Reference,
    ) -> CoreResult<()> {
        let id = match reference {
            Reference::Tag(tag) => ImageId {
                digest: None,
                tag: Some(tag.to_string()),
            },
            Reference::Digest(digest) => ImageId {
                digest: Some(digest.to_string()),
                tag: None,
            },
        };
        let mut batch = self.delete_images(ns, repo, vec![id]).await?;
        match batch.failures.pop() {
            None => Ok(()),
            Some(ImageFailure {
                code: FailureCode::ImageReferencedByManifestList,
                id,
            }) => Err(CoreError::ImageReferencedByManifestList {
                digest: id.digest.unwrap_or_default(),
            }),
            Some(_) => Err(CoreError::ManifestUnknown),
        }
    }

    /// Tags of a repository in lexical order, after `after`, at most `limit`.
    pub fn list_tags(
        &self,
        ns: &Namespace,
        repo: &str,
        after: Option<&str>,
        limit: usize,
    ) -> CoreResult<Vec<String>> {
        let repo = self.repository(ns, repo)?;
        Ok(self
            .store
            .read(|c| manifest_sql::list_tags(c, repo.id, after, limit))?)
    }

    /// Manifests whose subject is `subject` in this repository (the referrers index), oldest
    /// first; with `artifact_types`, only those of one of these types.
    /// `status`: only referrers in that state (`None`: any); the registry API lists only ACTIVE
    /// ones, since archived images cannot be pulled.
    pub fn referrers(
        &self,
        ns: &Namespace,
        repo: &str,
        subject: &Digest,
        artifact_types: &[String],
        status: Option<ImageStatus>,
    ) -> CoreResult<Vec<ReferrerRow>> {
        let repo = self.repository(ns, repo)?;
        let mut rows = self
            .store
            .read(|c| manifest_sql::referrers(c, repo.id, subject))?;
        if let Some(status) = status {
            rows.retain(|r| r.status == status);
        }
        if !artifact_types.is_empty() {
            rows.retain(|r| {
                r.artifact_type
                    .as_ref()
                    .is_some_and(|t| artifact_types.contains(t))
            });
        }
        Ok(rows)
    }
}

/// The body of a push, inside the write transaction: every check that needs the repository's
/// state, then the insert.
fn store_manifest(
    c: &Conn,
    repo: &Repository,
    parsed: &ParsedManifest,
    digest: &Digest,
    push: &ManifestPush,
    now: i64,
) -> CoreResult<PushedManifest> {
    let repo_id = repo.row.id;
    let required = parsed.required_blobs();
    let sizes = blob_index::linked_sizes(c, repo_id, &required)?;
    let missing: Vec<Digest> = required
        .iter()
        .filter(|d| !sizes.contains_key(*d))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(CoreError::ManifestBlobUnknown { digests: missing });
    }
    // A descriptor's size is what clients read before fetching; it must be the blob's.
    for descriptor in parsed
        .config
        .iter()
        .chain(parsed.layers.iter())
        .filter(|d| !d.foreign)
    {
        let stored = sizes.get(&descriptor.digest).copied().unwrap_or_default();
        if u64::try_from(descriptor.size).ok() != Some(stored) {
            return Err(CoreError::ManifestInvalid(format!(
                "manifest invalid: descriptor size {} of {} is not the blob's size {stored}",
                descriptor.size, descriptor.digest
            )));
        }
    }

    let child_digests: Vec<Digest> = parsed.children.iter().map(|d| d.digest.clone()).collect();
    let mut children = Vec::with_capacity(child_digests.len());
    let mut absent = Vec::new();
    let mut children_size = 0;
    for digest in &child_digests {
        match manifest_sql::find_by_digest(c, repo_id, digest)? {
            Some(child) => {
                children.push(child.id);
                // ECR reports an index as large as its largest image.
                children_size = children_size.max(child.image_size);
            }
            None => absent.push(digest.clone()),
        }
    }
    if !absent.is_empty() {
        return Err(CoreError::ManifestChildrenUnknown { digests: absent });
    }

    let existing = manifest_sql::find_by_digest(c, repo_id, digest)?;
    check_tags(c, repo, existing.as_ref(), digest, push)?;

    let image_size = match parsed.kind {
        ManifestKind::Image => parsed.layers_size(),
        ManifestKind::Index => children_size,
        ManifestKind::Opaque => 0,
    };
    let (manifest_id, _created) = manifest_sql::insert(
        c,
        &NewManifest {
            repository_id: repo_id,
            digest,
            media_type: &parsed.media_type,
            artifact_type: parsed.artifact_type.as_deref(),
            config_media_type: parsed.config.as_ref().map(|d| d.media_type.as_str()),
            subject_digest: parsed.subject.as_ref().map(Digest::as_str),
            annotations: parsed.annotations.as_deref(),
            image_size,
            pushed_at: now,
            body: &push.body,
            blobs: &required,
            children: &children,
        },
    )?;
    for tag in &push.tags {
        manifest_sql::set_tag(c, repo_id, tag.as_str(), manifest_id, now)?;
    }
    let pushed = ImageFacts {
        digest: digest.as_str(),
        media_type: &parsed.media_type,
        artifact_type: parsed.artifact_type.as_deref(),
        config_media_type: parsed.config.as_ref().map(|d| d.media_type.as_str()),
        has_subject: parsed.subject.is_some(),
    };
    // One PUSH per tag; a push by digest alone is one untagged PUSH. Before the scan this push
    // may complete, as ECR announces them.
    let tags: Vec<Option<&str>> = match push.tags.as_slice() {
        [] => vec![None],
        tags => tags.iter().map(|t| Some(t.as_str())).collect(),
    };
    for tag in tags {
        events::image_action(c, &repo.row, now, ImageAction::Push, pushed, tag)?;
    }
    match &existing {
        None => scanning::scan_on_arrival(
            c,
            &repo.row,
            manifest_id,
            &parsed.media_type,
            parsed.config.as_ref().map(|d| d.media_type.as_str()),
            now,
        )?,
        // Pushing an archived image again restores it at once, as on ECR.
        Some(existing) => storage_class::restore_on_push(c, &repo.row, existing, now)?,
    }
    Ok(PushedManifest {
        digest: digest.clone(),
        media_type: parsed.media_type.clone(),
        subject: parsed.subject.clone(),
        tags: push.tags.clone(),
        size: push.body.len(),
    })
}

/// Tag immutability and re-push rules, as ECR applies them on each front.
fn check_tags(
    c: &Conn,
    repo: &Repository,
    existing: Option<&ManifestRow>,
    digest: &Digest,
    push: &ManifestPush,
) -> CoreResult<()> {
    let mutability = repo.tag_mutability();
    // Re-pushing an archived image is not a no-op: it restores the image.
    let mut unchanged = existing.is_some_and(|e| e.status == ImageStatus::Active);
    for tag in &push.tags {
        let target = manifest_sql::tag_target(c, repo.row.id, tag.as_str())?;
        let points_here = matches!((target, existing), (Some(t), Some(e)) if t == e.id);
        unchanged &= points_here;
        let immutable = mutability.is_immutable(&repo.row.exclusion_filters, tag.as_str());
        let refused = match push.front {
            // ECR refuses even an identical re-push of an immutable tag over the registry API.
            PushFront::Registry => immutable && target.is_some(),
            PushFront::Api => immutable && target.is_some() && !points_here,
        };
        if refused {
            return Err(CoreError::TagImmutable {
                tag: tag.to_string(),
                repository: repo.row.name.clone(),
            });
        }
    }
    if push.front == PushFront::Api && unchanged {
        return Err(CoreError::ImageAlreadyExists {
            digest: digest.to_string(),
            tag: push
                .tags
                .first()
                .map(|t| t.to_string())
                .unwrap_or_else(|| "null".into()),
            repository: repo.row.name.clone(),
            registry_id: repo.row.account.clone(),
        });
    }
    Ok(())
}
