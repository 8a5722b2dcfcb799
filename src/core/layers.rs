//! ECR's layer API (BatchCheckLayerAvailability, InitiateLayerUpload, UploadLayerPart,
//! CompleteLayerUpload, GetDownloadUrlForLayer) over the blob uploads of [`super::blobs`].
//!
//! Bytes take exactly the path of an OCI upload: InitiateLayerUpload is `start_upload`, a part is
//! a chunk given to `append_upload` with its [`ChunkRange`], completion is `finish_upload`, and a
//! layer's presence is `stat_blob`. What this module adds is only what ECR answers differently:
//!
//! * parts are inclusive byte ranges that must continue the upload and match their bytes, and
//!   every error names the upload (InvalidLayerPartException carries `lastValidByteReceived`);
//! * every part but the last must be at least 5 MiB — S3's multipart rule, which ECR applies when
//!   the upload is completed. Part sizes are kept in a small table (`layer_upload_parts`) rather
//!   than in memory, so the rule survives a restart like the upload itself, and goes with the
//!   upload row;
//! * completing an upload of a layer the repository already has is LayerAlreadyExistsException
//!   (and the upload is discarded);
//! * a download URL is given only for a layer an image of the repository uses
//!   (LayerInaccessibleException otherwise), as ECR documents.

use std::convert::Infallible;

use bytes::Bytes;

use super::blobs::{BlobInfo, ChunkRange};
use super::error::LayerError;
use super::manifest;
use super::names::Digest;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::blob_index;

/// The part size InitiateLayerUpload suggests: ECR's own value.
pub const PART_SIZE: u64 = 10 * 1024 * 1024;

/// S3's multipart minimum, which ECR applies to every part but the last.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// What BatchCheckLayerAvailability says of one requested digest.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerCheck {
    /// Linked into the repository. The media type is known once an image of the repository
    /// uses the layer (from that image's descriptor of it).
    Available {
        digest: Digest,
        size: u64,
        media_type: Option<String>,
    },
    /// A digest the repository does not have.
    Missing(String),
    /// Not a sha256 digest.
    Invalid(String),
}

/// An upload's identity, for the errors that must name it.
struct UploadRef<'a> {
    ns: &'a Namespace,
    repo: &'a str,
    id: &'a str,
}

impl UploadRef<'_> {
    /// The OCI-shaped upload errors of `blobs`, with ECR's context.
    fn explain(&self, error: CoreError) -> CoreError {
        match error {
            CoreError::UploadUnknown => LayerError::UploadNotFound {
                upload_id: self.id.to_owned(),
                repository: self.repo.to_owned(),
                registry_id: self.ns.account.clone(),
            }
            .into(),
            other => other,
        }
    }

    fn part_invalid(&self, reason: String, received: u64) -> CoreError {
        LayerError::PartInvalid {
            reason,
            registry_id: self.ns.account.clone(),
            repository: self.repo.to_owned(),
            upload_id: self.id.to_owned(),
            last_valid: received.checked_sub(1),
        }
        .into()
    }
}

impl Registry {
    /// Which of `digests` the repository has, each with its size (and media type when known).
    pub fn check_layers(
        &self,
        ns: &Namespace,
        repo: &str,
        digests: &[String],
    ) -> CoreResult<Vec<LayerCheck>> {
        let repository = self.repository(ns, repo)?;
        digests
            .iter()
            .map(|requested| {
                let Ok(digest) = Digest::parse(requested) else {
                    return Ok(LayerCheck::Invalid(requested.clone()));
                };
                match self.stat_blob(ns, repo, &digest) {
                    Ok(blob) => Ok(LayerCheck::Available {
                        media_type: self.layer_media_type(repository.id, &digest)?,
                        digest,
                        size: blob.size,
                    }),
                    Err(CoreError::BlobUnknown) => Ok(LayerCheck::Missing(requested.clone())),
                    Err(e) => Err(e),
                }
            })
            .collect()
    }

    /// The media type an image of the repository gives the blob, if one uses it.
    fn layer_media_type(&self, repository_id: i64, digest: &Digest) -> CoreResult<Option<String>> {
        let Some((media_type, body)) = self
            .store
            .read(|c| blob_index::a_manifest_using(c, repository_id, digest))?
        else {
            return Ok(None);
        };
        // The manifest was validated when it was pushed; should it no longer parse, the media
        // type is merely unknown.
        let Ok(parsed) = manifest::parse(&body, Some(&media_type)) else {
            return Ok(None);
        };
        Ok(parsed
            .config
            .iter()
            .chain(parsed.layers.iter())
            .find(|d| &d.digest == digest)
            .map(|d| d.media_type.clone()))
    }

    /// Appends the inclusive byte range `first..=last` of a layer (UploadLayerPart). Returns the
    /// last byte the upload now holds.
    pub async fn upload_layer_part(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &str,
        first: u64,
        last: u64,
        part: Bytes,
    ) -> CoreResult<u64> {
        let upload = UploadRef { ns, repo, id };
        if last < first {
            let received = self
                .upload_size(ns, repo, id)
                .map_err(|e| upload.explain(e))?;
            return Err(upload.part_invalid(
                format!("The layer part's last byte {last} is before its first byte {first}"),
                received,
            ));
        }
        let len = last - first + 1;
        let actual = part.len();
        let range = ChunkRange {
            start: Some(first),
            len: Some(len),
        };
        let body = futures_util::stream::iter([Ok::<_, Infallible>(part)]);
        match self.append_upload(ns, repo, id, range, body).await {
            Ok(size) => {
                let id = id.to_owned();
                self.store
                    .write(move |c| blob_index::record_layer_part(c, &id, first, len))
                    .await?;
                Ok(size - 1)
            }
            Err(CoreError::ChunkOutOfOrder { current }) => Err(upload.part_invalid(
                format!(
                    "The layer part starts at byte {first}, but the upload has received {current} \
                     bytes: the next part must start at byte {current}"
                ),
                current,
            )),
            // The upload was cut back to where the part started.
            Err(CoreError::SizeInvalid(_)) => Err(upload.part_invalid(
                format!(
                    "The layer part's byte range {first}-{last} is {len} bytes long, but the part \
                     has {actual} bytes"
                ),
                first,
            )),
            Err(e) => Err(upload.explain(e)),
        }
    }

    /// Finishes an upload as the layer `digest` (CompleteLayerUpload).
    ///
    /// The checks run from the cheapest on: an empty upload, a part too small, a layer the
    /// repository already has (the upload is then discarded, as nothing more can come of it),
    /// and last the digest of the bytes (on a mismatch the upload is discarded and nothing is
    /// stored, exactly as over OCI).
    pub async fn complete_layer_upload(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &str,
        digest: &str,
    ) -> CoreResult<Digest> {
        let upload = UploadRef { ns, repo, id };
        let size = self
            .upload_size(ns, repo, id)
            .map_err(|e| upload.explain(e))?;
        if size == 0 {
            return Err(LayerError::EmptyUpload {
                upload_id: id.to_owned(),
                repository: repo.to_owned(),
                registry_id: ns.account.clone(),
            }
            .into());
        }
        let parts = self.store.read(|c| blob_index::layer_part_sizes(c, id))?;
        if let Some((_last, others)) = parts.split_last() {
            if others.iter().any(|&s| s < MIN_PART_SIZE) {
                return Err(LayerError::PartTooSmall.into());
            }
        }
        let Ok(expected) = Digest::parse(digest) else {
            // No content hashes to it: a mismatch, whatever was uploaded.
            self.cancel_upload(ns, repo, id).await?;
            return Err(LayerError::DigestMismatch {
                expected: digest.to_owned(),
                actual: None,
            }
            .into());
        };
        match self.stat_blob(ns, repo, &expected) {
            Ok(_) => {
                self.cancel_upload(ns, repo, id).await?;
                return Err(LayerError::AlreadyExists {
                    digest: expected.to_string(),
                    repository: repo.to_owned(),
                    registry_id: ns.account.clone(),
                }
                .into());
            }
            Err(CoreError::BlobUnknown) => {}
            Err(e) => return Err(e),
        }
        let nothing_more = futures_util::stream::empty::<Result<Bytes, Infallible>>();
        match self
            .finish_upload(ns, repo, id, &expected, ChunkRange::default(), nothing_more)
            .await
        {
            Ok(blob) => Ok(blob.digest),
            Err(CoreError::DigestMismatch { expected, actual }) => {
                Err(LayerError::DigestMismatch {
                    expected: expected.to_string(),
                    actual: Some(actual),
                }
                .into())
            }
            Err(e) => Err(upload.explain(e)),
        }
    }

    /// A layer to hand out a download URL for (GetDownloadUrlForLayer): linked into the
    /// repository, and used by one of its images.
    pub fn layer_for_download(
        &self,
        ns: &Namespace,
        repo: &str,
        digest: &str,
    ) -> CoreResult<BlobInfo> {
        let repository = self.repository(ns, repo)?;
        let not_found = || -> CoreError {
            LayerError::NotFound {
                digest: digest.to_owned(),
                repository: repo.to_owned(),
                registry_id: ns.account.clone(),
            }
            .into()
        };
        let parsed = Digest::parse(digest).map_err(|_| not_found())?;
        let blob = match self.stat_blob(ns, repo, &parsed) {
            Ok(blob) => blob,
            Err(CoreError::BlobUnknown) => return Err(not_found()),
            Err(e) => return Err(e),
        };
        if !self
            .store
            .read(|c| blob_index::used_in_repository(c, repository.id, &parsed))?
        {
            return Err(LayerError::Inaccessible {
                digest: digest.to_owned(),
                repository: repo.to_owned(),
                registry_id: ns.account.clone(),
            }
            .into());
        }
        Ok(blob)
    }
}
