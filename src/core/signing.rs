//! The registry's signing configuration (Put/Get/DeleteSigningConfiguration) and
//! DescribeImageSigningStatus.
//!
//! On ECR, a push to a repository a signing rule matches asks AWS Signer for a Notation signature
//! with the rule's signing profile. ecrd has no Signer and signs nothing: the configuration is
//! checked and stored, and an image's signing status has one entry per signing profile of the
//! rules matching its repository now, each FAILED with a failure that says so. (A status rather
//! than none, so that a client waiting for COMPLETE stops instead of polling forever; no placeholder
//! signature is written, so nothing claims a signature that was never made.)

use super::catalog::{self, FoundImage, ImageId};
use super::error::SettingError;
use super::mutability::wildcard_match;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::registry::{self as registry_sql, Kind, SigningConfiguration};

/// ECR's limit on signing rules per registry.
pub const MAX_SIGNING_RULES: usize = 10;

pub const SIGNING_FAILED: &str = "FAILED";
/// The `failureCode` of every signing status (ECR's codes are not documented).
pub const SIGNING_FAILURE_CODE: &str = "SigningUnavailable";
pub const SIGNING_FAILURE_REASON: &str = "ecrd does not sign images: AWS Signer cannot be \
    reached offline, so no signature was made with this signing profile";

/// The signing status of an image for one signing profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSigningStatus {
    pub signing_profile_arn: String,
    pub status: &'static str,
    pub failure_code: Option<&'static str>,
    pub failure_reason: Option<&'static str>,
}

fn configuration_not_found(ns: &Namespace) -> CoreError {
    SettingError::SigningConfigurationNotFound {
        registry_id: ns.account.clone(),
    }
    .into()
}

/// The distinct signing profiles of the rules that match `repository`, in rule order. A rule
/// without filters matches every repository; `*` in a filter matches any run of characters.
pub fn matching_profiles<'a>(config: &'a SigningConfiguration, repository: &str) -> Vec<&'a str> {
    let mut profiles: Vec<&str> = Vec::new();
    for rule in &config.rules {
        let matches = rule.repository_filters.is_empty()
            || rule
                .repository_filters
                .iter()
                .any(|f| wildcard_match(f, repository));
        if matches && !profiles.contains(&rule.signing_profile_arn.as_str()) {
            profiles.push(&rule.signing_profile_arn);
        }
    }
    profiles
}

impl Registry {
    /// Replaces the signing configuration (PutSigningConfiguration).
    pub async fn put_signing_configuration(
        &self,
        ns: &Namespace,
        config: SigningConfiguration,
    ) -> CoreResult<SigningConfiguration> {
        if config.rules.len() > MAX_SIGNING_RULES {
            return Err(CoreError::InvalidParameter(format!(
                "Invalid parameter at 'rules' failed to satisfy constraint: 'Member must have \
                 length less than or equal to {MAX_SIGNING_RULES}'"
            )));
        }
        let (ns, now) = (ns.clone(), self.clock.now_millis());
        self.store
            .write(move |c| {
                registry_sql::put(c, &ns, Kind::Signing, "", &config, now)?;
                Ok(config)
            })
            .await
    }

    /// The signing configuration, or SigningConfigurationNotFound.
    pub fn signing_configuration(&self, ns: &Namespace) -> CoreResult<SigningConfiguration> {
        self.store
            .read(|c| registry_sql::get(c, ns, Kind::Signing, ""))?
            .ok_or_else(|| configuration_not_found(ns))
    }

    /// Removes the signing configuration; returns it.
    pub async fn delete_signing_configuration(
        &self,
        ns: &Namespace,
    ) -> CoreResult<SigningConfiguration> {
        let ns = ns.clone();
        self.store
            .write(move |c| {
                registry_sql::remove(c, &ns, Kind::Signing, "")?
                    .ok_or_else(|| configuration_not_found(&ns))
            })
            .await
    }

    /// The image and its signing statuses (DescribeImageSigningStatus): none without a signing
    /// configuration or a rule matching the repository.
    pub fn image_signing_statuses(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &ImageId,
    ) -> CoreResult<(FoundImage, Vec<ImageSigningStatus>)> {
        self.store.read(|c| {
            let row = super::repository_in(c, ns, repo)?;
            let found = catalog::resolve_one(c, &row, id)?;
            let config: SigningConfiguration =
                registry_sql::get(c, ns, Kind::Signing, "")?.unwrap_or_default();
            let statuses = matching_profiles(&config, repo)
                .into_iter()
                .map(|profile| ImageSigningStatus {
                    signing_profile_arn: profile.to_owned(),
                    status: SIGNING_FAILED,
                    failure_code: Some(SIGNING_FAILURE_CODE),
                    failure_reason: Some(SIGNING_FAILURE_REASON),
                })
                .collect();
            Ok((found, statuses))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::registry::SigningRule;

    fn rule(profile: &str, filters: &[&str]) -> SigningRule {
        SigningRule {
            signing_profile_arn: profile.into(),
            repository_filters: filters.iter().map(|f| f.to_string()).collect(),
        }
    }

    #[test]
    fn each_matching_profile_once_in_rule_order() {
        let config = SigningConfiguration {
            rules: vec![
                rule("b", &["prod/*"]),
                rule("a", &["*/app", "other"]),
                rule("b", &[]),
                rule("c", &["dev-*"]),
            ],
        };
        assert_eq!(matching_profiles(&config, "prod/app"), ["b", "a"]);
        assert_eq!(matching_profiles(&config, "other"), ["a", "b"]);
        assert_eq!(matching_profiles(&config, "dev-1"), ["b", "c"]);
        assert!(matching_profiles(&SigningConfiguration::default(), "x").is_empty());
    }
}
