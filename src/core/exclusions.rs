//! Pull-time update exclusions (Register/DeregisterPullTimeUpdateExclusion,
//! ListPullTimeUpdateExclusions): IAM principals whose pulls ECR does not record in an image's
//! `lastRecordedPullTime`.
//!
//! ecrd keeps the list per registry, but every pull still records its time: ecrd does not know
//! who pulls. It verifies no credentials — a registry password says which account and region it
//! is for, a SigV4 signature names only an access key — so there is no IAM principal to compare
//! with the list.

use super::error::SettingError;
use super::settings::{insert_new, Quota};
use super::{CoreResult, Namespace, Registry};
use crate::store::registry::{self as registry_sql, Kind, PullTimeExclusion};

/// Exclusions per registry (ECR's documented quota is 100 per account).
pub const EXCLUSIONS: Quota = Quota {
    limit: 100,
    what: "pull time update exclusions",
};

impl Registry {
    /// Adds a principal to the list; returns when it was added.
    pub async fn register_pull_time_exclusion(
        &self,
        ns: &Namespace,
        principal: &str,
    ) -> CoreResult<i64> {
        let (ns, principal, now) = (ns.clone(), principal.to_owned(), self.clock.now_millis());
        self.store
            .write(move |c| {
                let exclusion = PullTimeExclusion { created_at: now };
                insert_new(
                    c,
                    &ns,
                    (Kind::PullTimeExclusion, &principal),
                    &exclusion,
                    now,
                    &EXCLUSIONS,
                    || {
                        SettingError::ExclusionAlreadyExists {
                            principal: principal.clone(),
                            registry_id: ns.account.clone(),
                        }
                        .into()
                    },
                )?;
                Ok(now)
            })
            .await
    }

    /// Removes a principal from the list.
    pub async fn deregister_pull_time_exclusion(
        &self,
        ns: &Namespace,
        principal: &str,
    ) -> CoreResult<()> {
        let (ns, principal) = (ns.clone(), principal.to_owned());
        self.store
            .write(move |c| {
                let removed: Option<PullTimeExclusion> =
                    registry_sql::remove(c, &ns, Kind::PullTimeExclusion, &principal)?;
                match removed {
                    Some(_) => Ok(()),
                    None => Err(SettingError::ExclusionNotFound {
                        principal,
                        registry_id: ns.account,
                    }
                    .into()),
                }
            })
            .await
    }

    /// The excluded principals, in ARN order.
    pub fn pull_time_exclusions(&self, ns: &Namespace) -> CoreResult<Vec<String>> {
        let all: Vec<(String, PullTimeExclusion)> = self
            .store
            .read(|c| registry_sql::all(c, ns, Kind::PullTimeExclusion))?;
        Ok(all.into_iter().map(|(principal, _)| principal).collect())
    }
}
