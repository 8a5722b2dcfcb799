//! Pull-through cache rules (Create/Describe/Update/Delete/ValidatePullThroughCacheRule).
//!
//! ecrd has no network. Rules are checked as ECR checks them and stored per registry, but nothing
//! is ever fetched through them: a pull of `<prefix>/<name>` that is not in ecrd answers as any
//! pull of a missing repository or image does (404 over the registry API,
//! RepositoryNotFoundException or ImageNotFoundException over the ECR API), and
//! ValidatePullThroughCacheRule always reports a rule as not valid, saying why. Secrets Manager is
//! out of reach too: a credential ARN is accepted when it is well formed and names the registry's
//! own account and region.

use std::sync::LazyLock;

use regex::Regex;

use super::error::SettingError;
use super::names::RepositoryPrefix;
use super::settings::{insert_new, Quota};
use super::templates::{check_custom_role_arn, invalid, parse_prefix};
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::registry::{self as registry_sql, Kind, PullThroughCacheRule};

/// Rules per registry (ECR's documented quota).
pub const RULES: Quota = Quota {
    limit: 50,
    what: "pull through cache rules",
};

/// ValidatePullThroughCacheRule's `failure` for every rule.
pub const OFFLINE_FAILURE: &str = "ecrd runs offline and cannot reach upstream registries: \
    the upstream registry and its credentials were not checked, and images are not pulled \
    through this rule";

/// How ECR authenticates to an upstream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Auth {
    /// Anonymous.
    None,
    /// A Secrets Manager secret (`credentialArn`), always required.
    Secret,
    /// ECR to ECR: an IAM role (`customRoleArn`), required when the upstream registry is in
    /// another account.
    Role,
}

/// An upstream registry ECR can cache from: its `upstreamRegistry` name, the host of its URL, and
/// how ECR signs in to it.
struct Upstream {
    kind: &'static str,
    host: &'static LazyLock<Regex>,
    auth: Auth,
}

macro_rules! host {
    ($name:ident, $re:literal) => {
        static $name: LazyLock<Regex> = LazyLock::new(|| Regex::new($re).expect("static regex"));
    };
}

host!(
    ECR_HOST,
    r"^([0-9]{12})\.dkr\.ecr\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?$"
);
host!(ECR_PUBLIC_HOST, r"^public\.ecr\.aws$");
host!(QUAY_HOST, r"^quay\.io$");
host!(K8S_HOST, r"^registry\.k8s\.io$");
host!(DOCKER_HUB_HOST, r"^registry-1\.docker\.io$");
host!(GITHUB_HOST, r"^ghcr\.io$");
host!(AZURE_HOST, r"^[a-z0-9][a-z0-9-]*\.azurecr\.io$");
host!(GITLAB_HOST, r"^registry\.gitlab\.com$");
host!(CHAINGUARD_HOST, r"^cgr\.dev$");

/// The upstreams of the model's `UpstreamRegistry` enum, with the URLs ECR documents for them.
static UPSTREAMS: [Upstream; 9] = [
    Upstream {
        kind: "ecr",
        host: &ECR_HOST,
        auth: Auth::Role,
    },
    Upstream {
        kind: "ecr-public",
        host: &ECR_PUBLIC_HOST,
        auth: Auth::None,
    },
    Upstream {
        kind: "quay",
        host: &QUAY_HOST,
        auth: Auth::None,
    },
    Upstream {
        kind: "k8s",
        host: &K8S_HOST,
        auth: Auth::None,
    },
    Upstream {
        kind: "docker-hub",
        host: &DOCKER_HUB_HOST,
        auth: Auth::Secret,
    },
    Upstream {
        kind: "github-container-registry",
        host: &GITHUB_HOST,
        auth: Auth::Secret,
    },
    Upstream {
        kind: "azure-container-registry",
        host: &AZURE_HOST,
        auth: Auth::Secret,
    },
    Upstream {
        kind: "gitlab-container-registry",
        host: &GITLAB_HOST,
        auth: Auth::Secret,
    },
    Upstream {
        kind: "chainguard",
        host: &CHAINGUARD_HOST,
        auth: Auth::Secret,
    },
];

/// What CreatePullThroughCacheRule asks for.
#[derive(Clone, Debug, Default)]
pub struct NewPullThroughCacheRule {
    pub ecr_repository_prefix: String,
    pub upstream_registry_url: String,
    /// The `upstreamRegistry` enum value, when given; inferred from the URL otherwise.
    pub upstream_registry: Option<String>,
    pub credential_arn: Option<String>,
    pub custom_role_arn: Option<String>,
    pub upstream_repository_prefix: Option<String>,
}

/// The result of ValidatePullThroughCacheRule.
#[derive(Clone, Debug)]
pub struct RuleValidation {
    pub is_valid: bool,
    pub failure: Option<String>,
}

fn unsupported(why: String) -> CoreError {
    SettingError::UnsupportedUpstreamRegistry(why).into()
}

fn not_found(ns: &Namespace, prefix: &str) -> CoreError {
    SettingError::PullThroughCacheRuleNotFound {
        prefix: prefix.to_owned(),
        registry_id: ns.account.clone(),
    }
    .into()
}

/// The upstream a URL names, checked against the `upstreamRegistry` the client gave, if any.
fn upstream(url: &str, kind: Option<&str>) -> CoreResult<&'static Upstream> {
    let host = url.to_ascii_lowercase();
    let by_url = UPSTREAMS.iter().find(|u| u.host.is_match(&host));
    match (by_url, kind) {
        (Some(u), None) => Ok(u),
        (Some(u), Some(kind)) if u.kind == kind => Ok(u),
        (Some(_), Some(kind)) => Err(unsupported(format!(
            "The upstream registry URL '{url}' is not a URL of the upstream registry '{kind}'"
        ))),
        (None, _) => Err(unsupported(format!(
            "The upstream registry URL '{url}' is not supported. Supported upstream registries \
             are Amazon ECR (<account>.dkr.ecr.<region>.amazonaws.com), Amazon ECR Public \
             (public.ecr.aws), Quay (quay.io), Kubernetes (registry.k8s.io), Docker Hub \
             (registry-1.docker.io), GitHub (ghcr.io), Azure (<registry>.azurecr.io), GitLab \
             (registry.gitlab.com) and Chainguard (cgr.dev)"
        ))),
    }
}

/// The region and account a Secrets Manager ARN names (`arn:aws:secretsmanager:<region>:
/// <account>:secret:…`).
fn secret_location(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (_arn, _partition, _service) = (parts.next()?, parts.next()?, parts.next()?);
    Some((parts.next()?, parts.next()?))
}

/// Checks how ECR would sign in to the rule's upstream: a secret where the upstream needs one (in
/// the registry's own account and region, where ECR looks for it), a role for another account's
/// ECR, and neither where it means nothing.
fn check_credentials(
    ns: &Namespace,
    upstream: &Upstream,
    rule: &PullThroughCacheRule,
) -> CoreResult<()> {
    match (upstream.auth, &rule.credential_arn) {
        (Auth::Secret, None) => {
            // ECR's observed wording.
            return Err(unsupported(
                "The specified upstream registry requires authentication. Specify a valid \
                 Secrets Manager ARN."
                    .into(),
            ));
        }
        (Auth::Role, Some(_)) => return Err(invalid(
            "credentialArn",
            "credentialArn cannot be used with an upstream registry of type ecr; use customRoleArn",
        )),
        _ => {}
    }
    if let Some(arn) = &rule.credential_arn {
        if secret_location(arn) != Some((ns.region.as_str(), ns.account.as_str())) {
            return Err(SettingError::SecretNotFound { arn: arn.clone() }.into());
        }
    }
    match (&rule.custom_role_arn, upstream.auth) {
        (Some(arn), Auth::Role) => check_custom_role_arn(ns, arn),
        (Some(_), _) => Err(invalid(
            "customRoleArn",
            "customRoleArn can only be used with an upstream registry of type ecr",
        )),
        (None, Auth::Role) => {
            let upstream_account = upstream
                .host
                .captures(&rule.upstream_registry_url.to_ascii_lowercase())
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned());
            if upstream_account.as_deref() == Some(ns.account.as_str()) {
                Ok(())
            } else {
                Err(unsupported(
                    "The specified upstream registry is in another account and requires \
                     authentication. Specify the ARN of an IAM role in customRoleArn."
                        .into(),
                ))
            }
        }
        (None, _) => Ok(()),
    }
}

impl Registry {
    pub async fn create_pull_through_cache_rule(
        &self,
        ns: &Namespace,
        new: NewPullThroughCacheRule,
    ) -> CoreResult<PullThroughCacheRule> {
        let prefix = parse_prefix("ecrRepositoryPrefix", &new.ecr_repository_prefix)?;
        let upstream = upstream(&new.upstream_registry_url, new.upstream_registry.as_deref())?;
        // ROOT (every repository without a rule of its own) and upstream prefixes are the
        // mapping of ECR-to-ECR caching.
        if prefix.is_root() && upstream.auth != Auth::Role {
            return Err(invalid(
                "ecrRepositoryPrefix",
                "ROOT can only be used with an upstream registry of type ecr",
            ));
        }
        let upstream_prefix = match new.upstream_repository_prefix {
            Some(p) if p != RepositoryPrefix::ROOT && upstream.auth != Auth::Role => {
                return Err(invalid(
                    "upstreamRepositoryPrefix",
                    "upstreamRepositoryPrefix can only be used with an upstream registry of type ecr",
                ))
            }
            Some(p) if p != RepositoryPrefix::ROOT && prefix.is_root() => {
                return Err(invalid(
                    "upstreamRepositoryPrefix",
                    "upstreamRepositoryPrefix can only be set when ecrRepositoryPrefix is not ROOT",
                ))
            }
            Some(p) => {
                parse_prefix("upstreamRepositoryPrefix", &p)?;
                Some(p)
            }
            None => None,
        };
        let now = self.clock.now_millis();
        let rule = PullThroughCacheRule {
            ecr_repository_prefix: new.ecr_repository_prefix,
            upstream_registry_url: new.upstream_registry_url,
            upstream_registry: upstream.kind.to_owned(),
            credential_arn: new.credential_arn,
            custom_role_arn: new.custom_role_arn,
            // ROOT, the default, maps upstream names unchanged; only ECR upstreams have it.
            upstream_repository_prefix: (upstream.auth == Auth::Role)
                .then(|| upstream_prefix.unwrap_or_else(|| RepositoryPrefix::ROOT.to_owned())),
            created_at: now,
            updated_at: now,
        };
        check_credentials(ns, upstream, &rule)?;
        let ns = ns.clone();
        self.store
            .write(move |c| {
                insert_new(
                    c,
                    &ns,
                    (Kind::PullThroughCacheRule, prefix.key()),
                    &rule,
                    now,
                    &RULES,
                    || {
                        SettingError::PullThroughCacheRuleAlreadyExists {
                            prefix: rule.ecr_repository_prefix.clone(),
                            registry_id: ns.account.clone(),
                        }
                        .into()
                    },
                )?;
                Ok(rule)
            })
            .await
    }

    /// The registry's rules in prefix order; with `prefixes`, exactly those, each of which must
    /// exist.
    pub fn pull_through_cache_rules(
        &self,
        ns: &Namespace,
        prefixes: Option<&[String]>,
    ) -> CoreResult<Vec<PullThroughCacheRule>> {
        let all: Vec<(String, PullThroughCacheRule)> = self
            .store
            .read(|c| registry_sql::all(c, ns, Kind::PullThroughCacheRule))?;
        let Some(prefixes) = prefixes else {
            return Ok(all.into_iter().map(|(_, rule)| rule).collect());
        };
        let mut keys = Vec::with_capacity(prefixes.len());
        for p in prefixes {
            let key = parse_prefix("ecrRepositoryPrefixes", p)?.key().to_owned();
            if !all.iter().any(|(k, _)| *k == key) {
                return Err(not_found(ns, p));
            }
            keys.push(key);
        }
        Ok(all
            .into_iter()
            .filter(|(key, _)| keys.contains(key))
            .map(|(_, rule)| rule)
            .collect())
    }

    /// Replaces the rule's credential and/or role (UpdatePullThroughCacheRule); the result must
    /// satisfy the same rules as a new rule.
    pub async fn update_pull_through_cache_rule(
        &self,
        ns: &Namespace,
        prefix: &str,
        credential_arn: Option<String>,
        custom_role_arn: Option<String>,
    ) -> CoreResult<PullThroughCacheRule> {
        let key = parse_prefix("ecrRepositoryPrefix", prefix)?;
        if credential_arn.is_none() && custom_role_arn.is_none() {
            return Err(invalid(
                "credentialArn",
                "at least one of credentialArn and customRoleArn must be specified",
            ));
        }
        let (ns, prefix, now) = (ns.clone(), prefix.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let kind = Kind::PullThroughCacheRule;
                let mut rule: PullThroughCacheRule = registry_sql::get(c, &ns, kind, key.key())?
                    .ok_or_else(|| not_found(&ns, &prefix))?;
                if credential_arn.is_some() {
                    rule.credential_arn = credential_arn;
                }
                if custom_role_arn.is_some() {
                    rule.custom_role_arn = custom_role_arn;
                }
                let upstream =
                    upstream(&rule.upstream_registry_url, Some(&rule.upstream_registry))?;
                check_credentials(&ns, upstream, &rule)?;
                rule.updated_at = now;
                registry_sql::put(c, &ns, kind, key.key(), &rule, now)?;
                Ok(rule)
            })
            .await
    }

    /// Removes a rule; returns it. Repositories cached through it stay, as on ECR.
    pub async fn delete_pull_through_cache_rule(
        &self,
        ns: &Namespace,
        prefix: &str,
    ) -> CoreResult<PullThroughCacheRule> {
        let key = parse_prefix("ecrRepositoryPrefix", prefix)?;
        let (ns, prefix) = (ns.clone(), prefix.to_owned());
        self.store
            .write(move |c| {
                registry_sql::remove(c, &ns, Kind::PullThroughCacheRule, key.key())?
                    .ok_or_else(|| not_found(&ns, &prefix))
            })
            .await
    }

    /// ValidatePullThroughCacheRule: whether ECR can reach the upstream with the rule's
    /// credentials. ecrd cannot reach any upstream, so a rule is never valid here.
    pub fn validate_pull_through_cache_rule(
        &self,
        ns: &Namespace,
        prefix: &str,
    ) -> CoreResult<(PullThroughCacheRule, RuleValidation)> {
        let key = parse_prefix("ecrRepositoryPrefix", prefix)?;
        let rule: PullThroughCacheRule = self
            .store
            .read(|c| registry_sql::get(c, ns, Kind::PullThroughCacheRule, key.key()))?
            .ok_or_else(|| not_found(ns, prefix))?;
        Ok((
            rule,
            RuleValidation {
                is_valid: false,
                failure: Some(OFFLINE_FAILURE.to_owned()),
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_upstream() {
        let kind = |url: &str| upstream(url, None).map(|u| u.kind);
        assert_eq!(kind("public.ecr.aws").unwrap(), "ecr-public");
        assert_eq!(kind("registry-1.docker.io").unwrap(), "docker-hub");
        assert_eq!(
            kind("123456789012.dkr.ecr.eu-west-1.amazonaws.com").unwrap(),
            "ecr"
        );
        assert_eq!(
            kind("myreg.azurecr.io").unwrap(),
            "azure-container-registry"
        );
        assert_eq!(kind("cgr.dev").unwrap(), "chainguard");
        assert!(kind("docker.io").is_err());
        assert!(kind("https://quay.io").is_err());
        assert!(upstream("quay.io", Some("quay")).is_ok());
        assert!(upstream("quay.io", Some("docker-hub")).is_err());
    }

    #[test]
    fn secrets_are_looked_up_where_the_registry_is() {
        assert_eq!(
            secret_location(
                "arn:aws:secretsmanager:us-east-1:000000000000:secret:ecr-pullthroughcache/x-AbCd"
            ),
            Some(("us-east-1", "000000000000"))
        );
    }
}
