//! Image scanning: manual scans (StartImageScan), their results (DescribeImageScanFindings),
//! scan on push, and the registry's scanning configuration.
//!
//! Basic scanning needs a vulnerability database, which ecrd does not have offline: a scan
//! completes the moment it starts, with no findings. Everything around it is kept as ECR has it —
//! which images can be scanned, the one-scan-per-image-per-day quota (scan on push included),
//! archived images, and results that a restore from the archive discards.

use super::catalog::{self, FoundImage, ImageId};
use super::error::ScanError;
use super::manifest::{DOCKER_MANIFEST, OCI_MANIFEST};
use super::mutability::wildcard_match;
use super::repositories::Repository;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::clock::Millis;
use crate::events;
use crate::store::manifests::{self as manifest_sql, ImageStatus, ManifestRow};
use crate::store::registry::{self as registry_sql, Kind, ScanningConfiguration, ScanningRule};
use crate::store::repositories::RepositoryRow;
use crate::store::Conn;

/// ECR scans an image at most once a day.
pub const SCAN_QUOTA_MS: Millis = 24 * 3600 * 1000;

/// ECR's description of a completed basic scan.
pub const SCAN_COMPLETE: &str = "The scan was completed successfully.";

/// The config media types of container images: the only artifacts basic scanning reads.
const IMAGE_CONFIGS: [&str; 2] = [
    "application/vnd.docker.container.image.v1+json",
    "application/vnd.oci.image.config.v1+json",
];

/// Why a manifest cannot be scanned, as the media type ECR names in its refusal; `None` when it
/// can. Only container images can: an image manifest whose config is an image config. Indexes
/// are refused by their own media type, other artifacts (Helm charts, signatures, SBOMs) by their
/// config's.
pub fn unscannable(media_type: &str, config_media_type: Option<&str>) -> Option<String> {
    if media_type != OCI_MANIFEST && media_type != DOCKER_MANIFEST {
        return Some(media_type.to_owned());
    }
    match config_media_type {
        Some(config) if IMAGE_CONFIGS.contains(&config) => None,
        Some(config) => Some(config.to_owned()),
        None => Some(media_type.to_owned()),
    }
}

/// A completed basic scan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageScan {
    pub completed_at: Millis,
    /// When the vulnerability database was last updated. ecrd has none; it reports the scan's
    /// own time.
    pub vulnerability_source_updated_at: Millis,
    /// Always empty: ecrd has no vulnerability database.
    pub findings: Vec<Finding>,
}

/// One vulnerability a scan found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    pub name: String,
    pub severity: String,
    pub description: Option<String>,
    pub uri: Option<String>,
}

impl ImageScan {
    /// The image's scan, if it has one.
    pub fn of(row: &ManifestRow) -> Option<ImageScan> {
        row.scan_completed_at.map(|at| ImageScan {
            completed_at: at,
            vulnerability_source_updated_at: at,
            findings: Vec::new(),
        })
    }

    /// Findings per severity; only severities that occur.
    pub fn severity_counts(&self) -> Vec<(String, i32)> {
        let mut counts: Vec<(String, i32)> = Vec::new();
        for f in &self.findings {
            match counts.iter_mut().find(|(s, _)| *s == f.severity) {
                Some((_, n)) => *n += 1,
                None => counts.push((f.severity.clone(), 1)),
            }
        }
        counts
    }
}

/// A registry's scanning configuration before any is put: basic scanning, no rules.
fn default_configuration() -> ScanningConfiguration {
    ScanningConfiguration {
        scan_type: "BASIC".into(),
        rules: Vec::new(),
    }
}

/// The registry's scanning configuration, inside a transaction.
fn configuration_in(c: &Conn, ns: &Namespace) -> CoreResult<ScanningConfiguration> {
    Ok(registry_sql::get(c, ns, Kind::Scanning, "")?.unwrap_or_else(default_configuration))
}

/// Checks what the model cannot: BASIC scanning scans on push only; ENHANCED scanning (Amazon
/// Inspector) on push or continuously.
pub fn check_configuration(config: &ScanningConfiguration) -> CoreResult<()> {
    let allowed: &[&str] = match config.scan_type.as_str() {
        "ENHANCED" => &["SCAN_ON_PUSH", "CONTINUOUS_SCAN"],
        _ => &["SCAN_ON_PUSH"],
    };
    for rule in &config.rules {
        if !allowed.contains(&rule.scan_frequency.as_str()) {
            return Err(CoreError::Validation(format!(
                "Scan frequency {} is not supported for scan type {}. Supported scan frequencies: {}",
                rule.scan_frequency,
                config.scan_type,
                allowed.join(", ")
            )));
        }
    }
    Ok(())
}

/// How a repository is scanned: the first registry rule with a filter matching its name decides
/// (ECR's rule order), with the filters that matched; without one, the repository's own scan on
/// push flag (PutImageScanningConfiguration) does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RepositoryScanning {
    /// The repository's own flag, whatever the registry's rules say.
    pub scan_on_push: bool,
    /// SCAN_ON_PUSH, CONTINUOUS_SCAN or MANUAL.
    pub frequency: String,
    pub applied_filters: Vec<String>,
}

pub fn repository_scanning(
    config: &ScanningConfiguration,
    repo: &RepositoryRow,
) -> RepositoryScanning {
    let matching = |rule: &ScanningRule| -> Vec<String> {
        rule.repository_filters
            .iter()
            .filter(|f| wildcard_match(f, &repo.name))
            .cloned()
            .collect()
    };
    let by_rule = config.rules.iter().find_map(|rule| {
        let filters = matching(rule);
        (!filters.is_empty()).then(|| (rule.scan_frequency.clone(), filters))
    });
    match by_rule {
        Some((frequency, applied_filters)) => RepositoryScanning {
            scan_on_push: repo.scan_on_push,
            frequency,
            applied_filters,
        },
        None => RepositoryScanning {
            scan_on_push: repo.scan_on_push,
            frequency: if repo.scan_on_push {
                "SCAN_ON_PUSH"
            } else {
                "MANUAL"
            }
            .into(),
            applied_filters: Vec::new(),
        },
    }
}

/// Records the scan a new image gets when it arrives — pushed, or restored from the archive:
/// with basic scanning and scan on push (the repository's or a registry rule's), an image that
/// can be scanned is scanned now.
pub(crate) fn scan_on_arrival(
    c: &Conn,
    repo: &RepositoryRow,
    manifest_id: i64,
    media_type: &str,
    config_media_type: Option<&str>,
    now: Millis,
) -> CoreResult<()> {
    if unscannable(media_type, config_media_type).is_some() {
        return Ok(());
    }
    let ns = Namespace::new(repo.account.clone(), repo.region.clone());
    let config = configuration_in(c, &ns)?;
    if config.scan_type == "BASIC" && repository_scanning(&config, repo).frequency == "SCAN_ON_PUSH"
    {
        complete_scan(c, repo, manifest_id, now)?;
    }
    Ok(())
}

/// A basic scan of the image completes (at once, with no findings): recorded, with its event.
fn complete_scan(c: &Conn, repo: &RepositoryRow, manifest_id: i64, now: Millis) -> CoreResult<()> {
    manifest_sql::set_scan_completed(c, manifest_id, Some(now))?;
    let digest = manifest_sql::digest_of(c, manifest_id)?;
    let tags = manifest_sql::tags_of(c, manifest_id)?;
    events::image_scan(c, repo, now, &digest, &tags)?;
    Ok(())
}

impl Registry {
    /// Starts a basic scan (StartImageScan), which completes at once. Refused for archived images,
    /// for what is not a container image, under ENHANCED scanning, and within a day of the
    /// image's last scan.
    pub async fn start_image_scan(
        &self,
        ns: &Namespace,
        repo: &str,
        id: ImageId,
    ) -> CoreResult<FoundImage> {
        let (ns, repo, now) = (ns.clone(), repo.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let row = super::repository_in(c, &ns, &repo)?;
                let mut found = catalog::resolve_one(c, &row, &id)?;
                if configuration_in(c, &ns)?.scan_type == "ENHANCED" {
                    return Err(ScanError::EnhancedScanning.into());
                }
                let m = &found.manifest;
                if m.status != ImageStatus::Active {
                    return Err(ScanError::ImageArchived {
                        digest: id.digest.clone(),
                        tag: id.tag.clone(),
                        repository: row.name.clone(),
                        registry_id: row.account.clone(),
                    }
                    .into());
                }
                if let Some(media_type) = unscannable(&m.media_type, m.config_media_type.as_deref())
                {
                    return Err(ScanError::UnsupportedImageType { media_type }.into());
                }
                if m.scan_completed_at
                    .is_some_and(|at| now - at < SCAN_QUOTA_MS)
                {
                    return Err(ScanError::QuotaExceeded.into());
                }
                complete_scan(c, &row, m.id, now)?;
                found.manifest.scan_completed_at = Some(now);
                Ok(found)
            })
            .await
    }

    /// The image and its scan (DescribeImageScanFindings); ScanNotFound when it has none.
    pub fn image_scan(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &ImageId,
    ) -> CoreResult<(FoundImage, ImageScan)> {
        let row = self.repository(ns, repo)?;
        let found = self.store.read(|c| catalog::resolve_one(c, &row, id))?;
        let scan = ImageScan::of(&found.manifest).ok_or_else(|| ScanError::NotFound {
            digest: id.digest.clone(),
            tag: id.tag.clone(),
            repository: row.name.clone(),
            registry_id: row.account.clone(),
        })?;
        Ok((found, scan))
    }

    /// The registry's scanning configuration (GetRegistryScanningConfiguration).
    pub fn scanning_configuration(&self, ns: &Namespace) -> CoreResult<ScanningConfiguration> {
        self.store.read(|c| configuration_in(c, ns))
    }

    /// Replaces the registry's scanning configuration (PutRegistryScanningConfiguration). With
    /// ENHANCED, ECR hands scanning to Amazon Inspector; ecrd stores the choice, and then scans
    /// nothing (manual scans are refused, pushes are not scanned).
    pub async fn put_scanning_configuration(
        &self,
        ns: &Namespace,
        config: ScanningConfiguration,
    ) -> CoreResult<ScanningConfiguration> {
        check_configuration(&config)?;
        let (ns, now) = (ns.clone(), self.clock.now_millis());
        self.store
            .write(move |c| {
                registry_sql::put(c, &ns, Kind::Scanning, "", &config, now)?;
                Ok(config)
            })
            .await
    }

    /// How each named repository is scanned (BatchGetRepositoryScanningConfiguration); the names
    /// of missing repositories come back apart, with why.
    pub fn repository_scanning_configurations(
        &self,
        ns: &Namespace,
        names: &[String],
    ) -> CoreResult<ScanningBatch> {
        let config = self.scanning_configuration(ns)?;
        let mut batch = ScanningBatch::default();
        for name in names {
            match self.repository(ns, name) {
                Ok(row) => {
                    let scanning = repository_scanning(&config, &row);
                    batch.found.push((Repository::from_row(row), scanning));
                }
                Err(e @ CoreError::RepositoryNotFound { .. }) => {
                    batch.missing.push((name.clone(), e))
                }
                Err(e) => return Err(e),
            }
        }
        Ok(batch)
    }
}

/// What BatchGetRepositoryScanningConfiguration found: each repository with how it is scanned,
/// and each missing name with why.
#[derive(Debug, Default)]
pub struct ScanningBatch {
    pub found: Vec<(Repository, RepositoryScanning)>,
    pub missing: Vec<(String, CoreError)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_container_images_can_be_scanned() {
        assert_eq!(unscannable(OCI_MANIFEST, Some(IMAGE_CONFIGS[1])), None);
        assert_eq!(unscannable(DOCKER_MANIFEST, Some(IMAGE_CONFIGS[0])), None);
        assert_eq!(
            unscannable(super::super::manifest::OCI_INDEX, None).as_deref(),
            Some("application/vnd.oci.image.index.v1+json")
        );
        assert_eq!(
            unscannable(
                OCI_MANIFEST,
                Some("application/vnd.cncf.helm.config.v1+json")
            )
            .as_deref(),
            Some("application/vnd.cncf.helm.config.v1+json")
        );
    }

    fn repo(name: &str, scan_on_push: bool) -> RepositoryRow {
        RepositoryRow {
            id: 1,
            account: "000000000000".into(),
            region: "us-east-1".into(),
            name: name.into(),
            created_at: 0,
            tag_mutability: "MUTABLE".into(),
            exclusion_filters: Vec::new(),
            scan_on_push,
            encryption_type: "AES256".into(),
            kms_key: None,
        }
    }

    #[test]
    fn the_first_matching_rule_decides_else_the_repository_flag() {
        let config = ScanningConfiguration {
            scan_type: "ENHANCED".into(),
            rules: vec![
                ScanningRule {
                    scan_frequency: "CONTINUOUS_SCAN".into(),
                    repository_filters: vec!["prod-*".into(), "*-api".into()],
                },
                ScanningRule {
                    scan_frequency: "SCAN_ON_PUSH".into(),
                    repository_filters: vec!["*".into()],
                },
            ],
        };
        let s = repository_scanning(&config, &repo("prod-api", false));
        assert_eq!(s.frequency, "CONTINUOUS_SCAN");
        assert_eq!(s.applied_filters, ["prod-*", "*-api"]);
        let s = repository_scanning(&config, &repo("dev", false));
        assert_eq!(s.frequency, "SCAN_ON_PUSH");
        let none = default_configuration();
        assert_eq!(
            repository_scanning(&none, &repo("dev", false)).frequency,
            "MANUAL"
        );
        let flagged = repository_scanning(&none, &repo("dev", true));
        assert!(flagged.scan_on_push);
        assert_eq!(flagged.frequency, "SCAN_ON_PUSH");
        assert!(flagged.applied_filters.is_empty());
    }

    #[test]
    fn basic_scanning_only_scans_on_push() {
        let with = |scan_type: &str, frequency: &str| ScanningConfiguration {
            scan_type: scan_type.into(),
            rules: vec![ScanningRule {
                scan_frequency: frequency.into(),
                repository_filters: vec!["*".into()],
            }],
        };
        assert!(check_configuration(&with("BASIC", "SCAN_ON_PUSH")).is_ok());
        assert!(check_configuration(&with("BASIC", "CONTINUOUS_SCAN")).is_err());
        assert!(check_configuration(&with("BASIC", "MANUAL")).is_err());
        assert!(check_configuration(&with("ENHANCED", "CONTINUOUS_SCAN")).is_ok());
        assert!(check_configuration(&with("ENHANCED", "MANUAL")).is_err());
    }
}
