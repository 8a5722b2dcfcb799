//! Registry-level settings of a namespace: account settings and the replication configuration.
//! (The registry policy is in [`super::policies`], the registry scanning configuration in
//! [`super::scanning`].)

use std::collections::HashSet;

use super::catalog::{self, FoundImage, ImageId};
use super::error::SettingError;
use super::{CoreError, CoreResult, Namespace, Registry};
use crate::store::registry::{
    self as registry_sql, Kind, ReplicationConfiguration, ReplicationDestination,
};
use crate::store::Conn;

pub const BASIC_SCAN_TYPE_VERSION: &str = "BASIC_SCAN_TYPE_VERSION";
pub const REGISTRY_POLICY_SCOPE: &str = "REGISTRY_POLICY_SCOPE";
pub const BLOB_MOUNTING: &str = "BLOB_MOUNTING";

/// An account setting: its name, the values it takes, and its value in a new registry.
struct AccountSetting {
    name: &'static str,
    values: &'static [&'static str],
    default: &'static str,
}

/// ECR's account settings. New accounts get the V2 registry policy scope (since late 2024) and
/// must opt in to blob mounting.
const ACCOUNT_SETTINGS: [AccountSetting; 3] = [
    AccountSetting {
        name: BASIC_SCAN_TYPE_VERSION,
        values: &["AWS_NATIVE", "CLAIR"],
        default: "AWS_NATIVE",
    },
    AccountSetting {
        name: REGISTRY_POLICY_SCOPE,
        values: &["V1", "V2"],
        default: "V2",
    },
    AccountSetting {
        name: BLOB_MOUNTING,
        values: &["ENABLED", "DISABLED"],
        default: "DISABLED",
    },
];

fn account_setting(name: &str) -> CoreResult<&'static AccountSetting> {
    ACCOUNT_SETTINGS
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| {
            let names: Vec<&str> = ACCOUNT_SETTINGS.iter().map(|s| s.name).collect();
            CoreError::Validation(format!(
                "Invalid account setting name '{name}'. Valid names are: {}",
                names.join(", ")
            ))
        })
}

/// An account setting's value in a registry, inside a transaction: the stored one or the
/// default.
pub(crate) fn account_setting_in(c: &Conn, ns: &Namespace, name: &str) -> CoreResult<String> {
    let setting = account_setting(name)?;
    let stored: Option<String> = registry_sql::get(c, ns, Kind::AccountSetting, setting.name)?;
    Ok(stored.unwrap_or_else(|| setting.default.to_owned()))
}

/// How many of a kind of registry setting a registry may hold, and what ECR calls them in the
/// LimitExceededException.
pub struct Quota {
    pub limit: usize,
    pub what: &'static str,
}

/// Stores a new registry setting under `key`, inside a transaction: `exists()` when the key is
/// taken, LimitExceededException when the registry already holds `quota.limit` of this kind.
pub(crate) fn insert_new<T: serde::Serialize>(
    c: &Conn,
    ns: &Namespace,
    (kind, key): (Kind, &str),
    value: &T,
    now: i64,
    quota: &Quota,
    exists: impl FnOnce() -> CoreError,
) -> CoreResult<()> {
    if registry_sql::document(c, ns, kind, key)?.is_some() {
        return Err(exists());
    }
    if registry_sql::count(c, ns, kind)? >= quota.limit {
        return Err(SettingError::LimitExceeded(format!(
            "The registry with id '{}' already has the maximum number of {} ({})",
            ns.account, quota.what, quota.limit
        ))
        .into());
    }
    registry_sql::put(c, ns, kind, key, value, now)?;
    Ok(())
}

/// ECR's limit on distinct destinations across all replication rules of a registry.
pub const MAX_REPLICATION_DESTINATIONS: usize = 25;

/// Checks what the model cannot: at most [`MAX_REPLICATION_DESTINATIONS`] distinct destinations,
/// none of them the registry itself.
pub fn check_replication(ns: &Namespace, config: &ReplicationConfiguration) -> CoreResult<()> {
    let invalid = |why: &str| {
        CoreError::InvalidParameter(format!(
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: '{why}'"
        ))
    };
    let destinations: HashSet<&ReplicationDestination> = config
        .rules
        .iter()
        .flat_map(|rule| rule.destinations.iter())
        .collect();
    if destinations
        .iter()
        .any(|d| d.region == ns.region && d.registry_id == ns.account)
    {
        return Err(invalid(
            "Replication destination cannot be the same as the source registry",
        ));
    }
    if destinations.len() > MAX_REPLICATION_DESTINATIONS {
        return Err(invalid(&format!(
            "Replication configuration cannot have more than {MAX_REPLICATION_DESTINATIONS} unique destinations"
        )));
    }
    Ok(())
}

/// Where an image was replicated to, and how that went: `(destination, status)`.
pub type ReplicationStatus = (ReplicationDestination, String);

impl Registry {
    /// An account setting (GetAccountSetting): stored or default; an unknown name is refused.
    pub fn account_setting(&self, ns: &Namespace, name: &str) -> CoreResult<String> {
        self.store.read(|c| account_setting_in(c, ns, name))
    }

    /// Sets an account setting (PutAccountSetting) to one of its values.
    pub async fn put_account_setting(
        &self,
        ns: &Namespace,
        name: &str,
        value: &str,
    ) -> CoreResult<()> {
        let setting = account_setting(name)?;
        if !setting.values.contains(&value) {
            return Err(CoreError::Validation(format!(
                "Invalid value '{value}' for account setting '{}'. Valid values are: {}",
                setting.name,
                setting.values.join(", ")
            )));
        }
        let (ns, value, now) = (ns.clone(), value.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                registry_sql::put(c, &ns, Kind::AccountSetting, setting.name, &value, now)
            })
            .await?;
        Ok(())
    }

    /// The replication configuration (DescribeRegistry): no rules until one is put.
    pub fn replication_configuration(
        &self,
        ns: &Namespace,
    ) -> CoreResult<ReplicationConfiguration> {
        let stored = self
            .store
            .read(|c| registry_sql::get(c, ns, Kind::Replication, ""))?;
        Ok(stored.unwrap_or_default())
    }

    /// Replaces the replication configuration (PutReplicationConfiguration); no rules turns
    /// replication off.
    ///
    /// ecrd does not replicate: the configuration is checked, stored and answered back, but
    /// pushes stay in their registry, and [`Registry::image_replication_statuses`] names no
    /// destination.
    pub async fn put_replication_configuration(
        &self,
        ns: &Namespace,
        config: ReplicationConfiguration,
    ) -> CoreResult<ReplicationConfiguration> {
        check_replication(ns, &config)?;
        let (ns, now) = (ns.clone(), self.clock.now_millis());
        self.store
            .write(move |c| {
                registry_sql::put(c, &ns, Kind::Replication, "", &config, now)?;
                Ok(config)
            })
            .await
    }

    /// The image and where it was replicated to (DescribeImageReplicationStatus). ecrd does not
    /// replicate, so the list is always empty, as ECR's is for an image no rule applied to.
    pub fn image_replication_statuses(
        &self,
        ns: &Namespace,
        repo: &str,
        id: &ImageId,
    ) -> CoreResult<(FoundImage, Vec<ReplicationStatus>)> {
        let found = self.store.read(|c| {
            let row = super::repository_in(c, ns, repo)?;
            catalog::resolve_one(c, &row, id)
        })?;
        Ok((found, Vec::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::registry::ReplicationRule;

    fn dest(region: &str, account: &str) -> ReplicationDestination {
        ReplicationDestination {
            region: region.into(),
            registry_id: account.into(),
        }
    }

    #[test]
    fn replication_destinations_are_counted_once_and_never_the_source() {
        let ns = Namespace::new("000000000000", "us-east-1");
        let rule = |dests: Vec<ReplicationDestination>| ReplicationRule {
            destinations: dests,
            repository_filters: Vec::new(),
        };
        let many: Vec<_> = (0..25)
            .map(|i| dest("eu-west-1", &format!("{i:012}")))
            .collect();
        let ok = ReplicationConfiguration {
            rules: vec![rule(many.clone()), rule(many.clone())],
        };
        // 000000000000 in eu-west-1 is another region of the same account: allowed.
        assert!(check_replication(&ns, &ok).is_ok());
        let mut too_many = many;
        too_many.push(dest("eu-west-2", "000000000000"));
        assert!(check_replication(
            &ns,
            &ReplicationConfiguration {
                rules: vec![rule(too_many)]
            }
        )
        .is_err());
        let own = ReplicationConfiguration {
            rules: vec![rule(vec![dest("us-east-1", "000000000000")])],
        };
        assert_eq!(
            check_replication(&ns, &own).unwrap_err().to_string(),
            "Invalid parameter at 'replicationConfiguration' failed to satisfy constraint: \
             'Replication destination cannot be the same as the source registry'"
        );
    }
}
