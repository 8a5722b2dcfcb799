//! Resource policies: the repository policy (SetRepositoryPolicy) and the registry policy
//! (PutRegistryPolicy). Both are IAM resource policies; ecrd checks their shape as ECR does and
//! stores them, but does not enforce them (it has no IAM to evaluate them against).

use serde_json::{Map, Value};

use super::settings::{account_setting_in, REGISTRY_POLICY_SCOPE};
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::registry::{self as registry_sql, Kind};
use crate::store::repositories as repo_sql;

/// Which policy a text is meant to be: the checks differ only in what actions may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PolicyKind {
    /// Any ECR action (`ecr:…`, wildcards allowed) or `*`.
    Repository,
    /// Registry policy with REGISTRY_POLICY_SCOPE V2: any ECR action, enforced on every request.
    RegistryV2,
    /// Registry policy with REGISTRY_POLICY_SCOPE V1: only the replication and pull-through
    /// cache actions mean anything, and ECR refuses others.
    RegistryV1,
}

/// The actions a V1 registry policy may grant.
const V1_ACTIONS: [&str; 3] = [
    "ecr:ReplicateImage",
    "ecr:BatchImportUpstreamImage",
    "ecr:CreateRepository",
];

impl PolicyKind {
    fn invalid(self) -> CoreError {
        let what = match self {
            PolicyKind::Repository => "repository",
            PolicyKind::RegistryV1 | PolicyKind::RegistryV2 => "registry",
        };
        CoreError::InvalidParameter(format!(
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid {what} policy provided'"
        ))
    }

    fn allows_action(self, action: &str) -> bool {
        match self {
            PolicyKind::RegistryV1 => V1_ACTIONS.iter().any(|a| a.eq_ignore_ascii_case(action)),
            PolicyKind::Repository | PolicyKind::RegistryV2 => {
                action == "*"
                    || (action.len() > 4
                        && action
                            .get(..4)
                            .is_some_and(|service| service.eq_ignore_ascii_case("ecr:")))
            }
        }
    }
}

/// Checks a policy's shape: a JSON object of `Version` (2012-10-17 or 2008-10-17), `Id` and a
/// `Statement` (one object or a non-empty list of them); each statement has `Effect` Allow or
/// Deny, exactly one of `Principal`/`NotPrincipal`, exactly one of `Action`/`NotAction`, and
/// optionally `Sid`, `Resource`/`NotResource` and `Condition`. Anything else is refused with
/// ECR's one message for an invalid policy.
pub fn check_policy(text: &str, kind: PolicyKind) -> CoreResult<()> {
    let ok = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(doc)) => document_ok(&doc, kind),
        _ => false,
    };
    if ok {
        Ok(())
    } else {
        Err(kind.invalid())
    }
}

fn document_ok(doc: &Map<String, Value>, kind: PolicyKind) -> bool {
    let keys_ok = doc
        .keys()
        .all(|k| matches!(k.as_str(), "Version" | "Id" | "Statement"));
    let version_ok = match doc.get("Version") {
        None => true,
        Some(Value::String(v)) => v == "2012-10-17" || v == "2008-10-17",
        Some(_) => false,
    };
    let id_ok = doc.get("Id").is_none_or(Value::is_string);
    let statements_ok = match doc.get("Statement") {
        Some(Value::Object(one)) => statement_ok(one, kind),
        Some(Value::Array(list)) => {
            !list.is_empty()
                && list.iter().all(|s| match s {
                    Value::Object(s) => statement_ok(s, kind),
                    _ => false,
                })
        }
        _ => false,
    };
    keys_ok && version_ok && id_ok && statements_ok
}

fn statement_ok(s: &Map<String, Value>, kind: PolicyKind) -> bool {
    let keys_ok = s.keys().all(|k| {
        matches!(
            k.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        )
    });
    let sid_ok = s.get("Sid").is_none_or(Value::is_string);
    let effect_ok = matches!(
        s.get("Effect").and_then(Value::as_str),
        Some("Allow" | "Deny")
    );
    let principal_ok = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), None) | (None, Some(p)) => principal_value_ok(p),
        _ => false,
    };
    let action_ok = match (s.get("Action"), s.get("NotAction")) {
        (Some(a), None) | (None, Some(a)) => {
            strings(a).is_some_and(|actions| actions.iter().all(|a| kind.allows_action(a)))
        }
        _ => false,
    };
    let resource_ok = match (s.get("Resource"), s.get("NotResource")) {
        (None, None) => true,
        (Some(r), None) | (None, Some(r)) => strings(r).is_some(),
        (Some(_), Some(_)) => false,
    };
    let condition_ok = match s.get("Condition") {
        None => true,
        Some(Value::Object(operators)) => operators.values().all(Value::is_object),
        Some(_) => false,
    };
    keys_ok && sid_ok && effect_ok && principal_ok && action_ok && resource_ok && condition_ok
}

/// `"*"`, or an object of principal types, each naming one or more principals.
fn principal_value_ok(p: &Value) -> bool {
    match p {
        Value::String(s) => s == "*",
        Value::Object(types) => {
            !types.is_empty()
                && types.iter().all(|(kind, who)| {
                    matches!(
                        kind.as_str(),
                        "AWS" | "Service" | "Federated" | "CanonicalUser"
                    ) && strings(who).is_some()
                })
        }
        _ => false,
    }
}

/// A string, or a non-empty list of strings; every string non-empty.
fn strings(v: &Value) -> Option<Vec<&str>> {
    let list: Vec<&str> = match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) if !items.is_empty() => {
            items.iter().map(Value::as_str).collect::<Option<_>>()?
        }
        _ => return None,
    };
    list.iter().all(|s| !s.is_empty()).then_some(list)
}

impl Registry {
    /// Sets the repository policy (SetRepositoryPolicy), replacing any. ECR's `force` skips a
    /// check that the policy does not lock the caller out; ecrd enforces no policy, so there is
    /// nothing to skip.
    pub async fn set_repository_policy(
        &self,
        ns: &Namespace,
        name: &str,
        text: String,
    ) -> CoreResult<()> {
        check_policy(&text, PolicyKind::Repository)?;
        let (ns, name) = (ns.clone(), name.to_owned());
        self.store
            .write(move |c| {
                let repo = super::repository_in(c, &ns, &name)?;
                repo_sql::set_policy(c, repo.id, Some(&text))?;
                Ok(())
            })
            .await
    }

    /// The repository policy text, or RepositoryPolicyNotFound.
    pub fn repository_policy(&self, ns: &Namespace, name: &str) -> CoreResult<String> {
        let repo = self.repository(ns, name)?;
        self.store
            .read(|c| repo_sql::policy(c, repo.id))?
            .ok_or_else(|| policy_not_found(ns, name))
    }

    /// Removes the repository policy; returns the removed text.
    pub async fn delete_repository_policy(&self, ns: &Namespace, name: &str) -> CoreResult<String> {
        let (ns, name) = (ns.clone(), name.to_owned());
        self.store
            .write(move |c| {
                let repo = super::repository_in(c, &ns, &name)?;
                let text =
                    repo_sql::policy(c, repo.id)?.ok_or_else(|| policy_not_found(&ns, &name))?;
                repo_sql::set_policy(c, repo.id, None)?;
                Ok(text)
            })
            .await
    }

    /// Sets the registry policy (PutRegistryPolicy), checked against the registry's
    /// REGISTRY_POLICY_SCOPE.
    pub async fn put_registry_policy(&self, ns: &Namespace, text: String) -> CoreResult<()> {
        let (ns, now) = (ns.clone(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let kind = match account_setting_in(c, &ns, REGISTRY_POLICY_SCOPE)?.as_str() {
                    "V1" => PolicyKind::RegistryV1,
                    _ => PolicyKind::RegistryV2,
                };
                check_policy(&text, kind)?;
                registry_sql::put_document(c, &ns, Kind::RegistryPolicy, "", &text, now)?;
                Ok(())
            })
            .await
    }

    /// The registry policy text, or RegistryPolicyNotFound.
    pub fn registry_policy(&self, ns: &Namespace) -> CoreResult<String> {
        self.store
            .read(|c| registry_sql::document(c, ns, Kind::RegistryPolicy, ""))?
            .ok_or_else(|| registry_policy_not_found(ns))
    }

    /// Removes the registry policy; returns the removed text.
    pub async fn delete_registry_policy(&self, ns: &Namespace) -> CoreResult<String> {
        let ns = ns.clone();
        self.store
            .write(move |c| {
                registry_sql::delete_document(c, &ns, Kind::RegistryPolicy, "")?
                    .ok_or_else(|| registry_policy_not_found(&ns))
            })
            .await
    }
}

fn policy_not_found(ns: &Namespace, name: &str) -> CoreError {
    CoreError::RepositoryPolicyNotFound {
        name: name.to_owned(),
        registry_id: ns.account.clone(),
    }
}

fn registry_policy_not_found(ns: &Namespace) -> CoreError {
    CoreError::RegistryPolicyNotFound {
        registry_id: ns.account.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str, kind: PolicyKind) -> bool {
        check_policy(text, kind).is_ok()
    }

    const PULL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"pull","Effect":"Allow",
        "Principal":{"AWS":["arn:aws:iam::222222222222:root"]},
        "Action":["ecr:BatchGetImage","ecr:GetDownloadUrlForLayer"]}]}"#;

    #[test]
    fn well_formed_policies_pass() {
        assert!(ok(PULL, PolicyKind::Repository));
        assert!(ok(
            r#"{"Version":"2008-10-17","Statement":{"Effect":"Deny","Principal":"*","NotAction":"ecr:*",
               "Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-1"}}}}"#,
            PolicyKind::Repository
        ));
        assert!(ok(
            r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"*"}]}"#,
            PolicyKind::Repository
        ));
    }

    #[test]
    fn malformed_policies_fail() {
        for bad in [
            "",
            "not json",
            "[]",
            r#"{"Statement":[]}"#,
            r#"{"Version":"2012-10-17"}"#,
            r#"{"Version":"2020-01-01","Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"}}"#,
            r#"{"Statement":{"Effect":"Maybe","Principal":"*","Action":"ecr:*"}}"#,
            r#"{"Statement":{"Principal":"*","Action":"ecr:*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Action":"ecr:*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"someone","Action":"ecr:*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":{"Nobody":"x"},"Action":"ecr:*"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"s3:GetObject"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":[]}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","NotAction":"ecr:X"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Extra":1}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*","Condition":"x"}}"#,
            r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"ecr:*"},"Other":1}"#,
        ] {
            assert!(!ok(bad, PolicyKind::Repository), "{bad}");
        }
        let e = check_policy("{}", PolicyKind::Repository).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Invalid parameter at 'PolicyText' failed to satisfy constraint: 'Invalid repository policy provided'"
        );
        let e = check_policy("{}", PolicyKind::RegistryV2).unwrap_err();
        assert!(e
            .to_string()
            .ends_with("'Invalid registry policy provided'"));
    }

    #[test]
    fn v1_registry_policies_grant_only_replication_and_cache_actions() {
        let replicate = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},
            "Action":["ecr:CreateRepository","ecr:ReplicateImage"],"Resource":"arn:aws:ecr:us-east-1:111111111111:repository/*"}]}"#;
        assert!(ok(replicate, PolicyKind::RegistryV1));
        assert!(ok(replicate, PolicyKind::RegistryV2));
        assert!(!ok(PULL, PolicyKind::RegistryV1));
        assert!(ok(PULL, PolicyKind::RegistryV2));
    }
}
