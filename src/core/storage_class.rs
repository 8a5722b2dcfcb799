//! Storage classes: archiving images and restoring them (UpdateImageStorageClass; a lifecycle
//! `transition` archives through [`archive`] too).
//!
//! An archived image cannot be pulled (the registry answers as if it were absent) and is hidden
//! from default listings. The rules, where ECR documents some and ecrd picks the rest:
//!
//! * Moving an image to the class it is already in is refused
//!   (ImageStorageClassUpdateNotSupportedException).
//! * An image an index lists cannot be archived while that index is active: the index would name
//!   an image no one can pull. Archive the index first. Archiving an index leaves the images it
//!   lists as they are — they are images of their own.
//! * Referrers follow their subject (as ECR documents): archiving an image archives its referrers
//!   (and theirs); restoring it restores them.
//! * Restoring an index restores the archived images it lists, so that an active index never
//!   names an archived image.
//! * ECR restores in up to 20 minutes, showing ACTIVATING meanwhile. ecrd restores at once: the
//!   call answers ACTIVATING, as ECR's does, and the image is ACTIVE right after, with
//!   `lastActivatedAt` now.
//! * A restored image is treated as newly pushed (as on ECR): its scan from before the archive is
//!   gone, and scan on push scans it again.

use super::catalog::{self, FoundImage, ImageId};
use super::scanning;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::clock::Millis;
use crate::events::{self, ImageAction};
use crate::store::manifests::{self as manifest_sql, ImageStatus, ManifestRow};
use crate::store::repositories::RepositoryRow;
use crate::store::Conn;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageClass {
    Standard,
    Archive,
}

impl StorageClass {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageClass::Standard => "STANDARD",
            StorageClass::Archive => "ARCHIVE",
        }
    }

    pub fn parse(s: &str) -> Option<StorageClass> {
        [StorageClass::Standard, StorageClass::Archive]
            .into_iter()
            .find(|c| c.as_str() == s)
    }

    /// The class an image in this state is in; none while it is on its way back.
    pub fn of(status: ImageStatus) -> Option<StorageClass> {
        match status {
            ImageStatus::Active => Some(StorageClass::Standard),
            ImageStatus::Archived => Some(StorageClass::Archive),
            ImageStatus::Activating => None,
        }
    }
}

/// What UpdateImageStorageClass did: the image (as it was found) and its status now, as ECR
/// reports it (ARCHIVED, or ACTIVATING for a restore).
#[derive(Clone, Debug)]
pub struct StorageClassChange {
    pub image: FoundImage,
    pub status: ImageStatus,
}

fn not_supported(message: String) -> CoreError {
    CoreError::StorageClassUpdateNotSupported(message)
}

/// Whether an image may be archived; see the module's rules.
fn check_archivable(c: &Conn, m: &ManifestRow) -> CoreResult<()> {
    if m.status != ImageStatus::Active {
        return Err(not_supported(format!(
            "The image with digest '{}' is already in the ARCHIVE storage class",
            m.digest
        )));
    }
    if let Some(index) = active_parent(c, m.id)? {
        return Err(not_supported(format!(
            "The image with digest '{}' is referenced by the image index with digest '{}', which \
             is not archived. Archive the image index first",
            m.digest, index.digest
        )));
    }
    Ok(())
}

fn active_parent(c: &Conn, manifest_id: i64) -> CoreResult<Option<ManifestRow>> {
    Ok(manifest_sql::parents(c, manifest_id)?
        .into_iter()
        .find(|p| p.status == ImageStatus::Active))
}

/// Archives an image and, transitively, its active referrers (but none an active index lists).
pub(crate) fn archive(
    c: &Conn,
    repo: &RepositoryRow,
    manifest_id: i64,
    now: Millis,
) -> CoreResult<()> {
    let mut queue = vec![manifest_id];
    while let Some(id) = queue.pop() {
        let Some(row) = manifest_sql::find_by_id(c, id)? else {
            continue;
        };
        manifest_sql::set_archived(c, id, now)?;
        events::image_action(c, repo, now, ImageAction::Archive, (&row).into(), None)?;
        for referrer in manifest_sql::referrer_rows(c, repo.id, &row.digest)? {
            if referrer.status == ImageStatus::Active && active_parent(c, referrer.id)?.is_none() {
                queue.push(referrer.id);
            }
        }
    }
    Ok(())
}

/// Restores an image and, transitively, the archived images it lists and its archived
/// referrers; each restored image gets the scan a new push would.
fn restore(c: &Conn, repo: &RepositoryRow, manifest_id: i64, now: Millis) -> CoreResult<()> {
    let mut queue = vec![manifest_id];
    while let Some(id) = queue.pop() {
        let Some(row) = manifest_sql::find_by_id(c, id)? else {
            continue;
        };
        if row.status == ImageStatus::Active {
            continue;
        }
        manifest_sql::set_activated(c, id, now)?;
        events::image_action(c, repo, now, ImageAction::Restore, (&row).into(), None)?;
        manifest_sql::set_scan_completed(c, id, None)?;
        scanning::scan_on_arrival(
            c,
            repo,
            id,
            &row.media_type,
            row.config_media_type.as_deref(),
            now,
        )?;
        let children = manifest_sql::children(c, id)?;
        let referrers = manifest_sql::referrer_rows(c, repo.id, &row.digest)?;
        queue.extend(
            children
                .into_iter()
                .chain(referrers)
                .filter(|m| m.status != ImageStatus::Active)
                .map(|m| m.id),
        );
    }
    Ok(())
}

/// Restores an archived image that is pushed again (ECR restores it at once); called by the push
/// path inside its transaction.
pub(crate) fn restore_on_push(
    c: &Conn,
    repo: &RepositoryRow,
    existing: &ManifestRow,
    now: Millis,
) -> CoreResult<()> {
    if existing.status == ImageStatus::Active {
        return Ok(());
    }
    restore(c, repo, existing.id, now)
}

impl Registry {
    /// Moves an image to another storage class (UpdateImageStorageClass), in one transaction.
    pub async fn update_storage_class(
        &self,
        ns: &Namespace,
        repo: &str,
        id: ImageId,
        target: StorageClass,
    ) -> CoreResult<StorageClassChange> {
        let (ns, repo, now) = (ns.clone(), repo.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let row = super::repository_in(c, &ns, &repo)?;
                let image = catalog::resolve_one(c, &row, &id)?;
                let m = &image.manifest;
                let status = match target {
                    StorageClass::Archive => {
                        check_archivable(c, m)?;
                        archive(c, &row, m.id, now)?;
                        ImageStatus::Archived
                    }
                    StorageClass::Standard => {
                        if m.status == ImageStatus::Active {
                            return Err(not_supported(format!(
                                "The image with digest '{}' is already in the STANDARD storage class",
                                m.digest
                            )));
                        }
                        restore(c, &row, m.id, now)?;
                        ImageStatus::Activating
                    }
                };
                Ok(StorageClassChange { image, status })
            })
            .await
    }
}
