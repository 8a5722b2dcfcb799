//! The evaluator: images + policy + now → what to do with each image. Pure, so that a preview
//! and a real run cannot disagree.
//!
//! Procedure (consistent with every example of ECR's documentation): per storage class, rules in
//! priority order; a rule selects the images its tag requirements match; `imageCountMoreThan`
//! marks all but the newest N of them, `since*` those older than N days; an image is marked by at
//! most one rule, and an image whose tags matched a higher-priority rule is shielded from lower
//! ones even if that rule did not mark it.

use std::collections::HashSet;

use super::policy::{Action, CountType, Policy, Rule, TagMatch, TagStatus};
use crate::clock::Millis;
use crate::core::mutability::wildcard_match;
use crate::core::storage_class::StorageClass;

pub const DAY_MS: i64 = 24 * 3600 * 1000;

/// What the evaluator knows of an image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageFacts {
    pub digest: String,
    pub tags: Vec<String>,
    /// Push time, or the time it was restored from the archive.
    pub pushed_at: Millis,
    pub last_pulled_at: Option<Millis>,
    pub archived_at: Option<Millis>,
    /// `None` while being restored (considered by no rule).
    pub storage_class: Option<StorageClass>,
    /// Children of an index and referrers of an existing subject follow their parent, not rules.
    pub protected: bool,
}

/// One image a rule acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub digest: String,
    pub rule_priority: i64,
    pub action: Action,
}

fn selects(rule: &Rule, image: &ImageFacts) -> bool {
    match rule.tag_status {
        TagStatus::Untagged => image.tags.is_empty(),
        TagStatus::Any => true,
        TagStatus::Tagged => match &rule.tags {
            // Each prefix (pattern) must be matched by some tag; different tags may match different ones.
            TagMatch::Prefixes(prefixes) => prefixes
                .iter()
                .all(|p| image.tags.iter().any(|t| t.starts_with(p.as_str()))),
            TagMatch::Patterns(patterns) => patterns
                .iter()
                .all(|p| image.tags.iter().any(|t| wildcard_match(p, t))),
            TagMatch::None => !image.tags.is_empty(),
        },
    }
}

fn reference_time(rule: &Rule, image: &ImageFacts) -> Option<Millis> {
    match rule.count_type {
        CountType::ImageCountMoreThan | CountType::SinceImagePushed => Some(image.pushed_at),
        CountType::SinceImagePulled => Some(
            image
                .last_pulled_at
                .unwrap_or(image.pushed_at)
                .max(image.pushed_at),
        ),
        CountType::SinceImageTransitioned => image.archived_at,
    }
}

pub fn evaluate(policy: &Policy, images: &[ImageFacts], now: Millis) -> Vec<Decision> {
    let mut decisions = Vec::new();
    for class in [StorageClass::Standard, StorageClass::Archive] {
        let candidates: Vec<&ImageFacts> = images
            .iter()
            .filter(|i| i.storage_class == Some(class) && !i.protected)
            .collect();
        let mut claimed: HashSet<&str> = HashSet::new();
        let mut marked: HashSet<&str> = HashSet::new();
        for rule in policy.rules.iter().filter(|r| r.storage_class == class) {
            let mut matching: Vec<&ImageFacts> = candidates
                .iter()
                .copied()
                .filter(|i| selects(rule, i))
                .collect();
            let victims: Vec<&ImageFacts> = match rule.count_type {
                CountType::ImageCountMoreThan => {
                    // Newest first; ties broken by digest so the outcome never depends on input order.
                    matching.sort_by(|a, b| {
                        b.pushed_at
                            .cmp(&a.pushed_at)
                            .then_with(|| a.digest.cmp(&b.digest))
                    });
                    matching
                        .iter()
                        .copied()
                        .skip(rule.count_number as usize)
                        .collect()
                }
                _ => {
                    let age_limit = rule.count_number.saturating_mul(DAY_MS);
                    matching
                        .iter()
                        .copied()
                        .filter(|i| reference_time(rule, i).is_some_and(|t| now - t > age_limit))
                        .collect()
                }
            };
            for image in victims {
                let digest = image.digest.as_str();
                if !claimed.contains(digest) && marked.insert(digest) {
                    decisions.push(Decision {
                        digest: digest.to_owned(),
                        rule_priority: rule.priority,
                        action: rule.action,
                    });
                }
            }
            claimed.extend(matching.iter().map(|i| i.digest.as_str()));
        }
    }
    decisions
}

#[cfg(test)]
mod tests {
    //! Tables from ECR's lifecycle documentation ("Examples of lifecycle policies" and
    //! "How lifecycle policies work"), plus corner cases.
    use super::*;
    use crate::lifecycle::policy::parse;

    const NOW: Millis = 1_000 * DAY_MS;

    /// An ACTIVE image pushed `days_ago` days before NOW.
    fn img(name: &str, tags: &[&str], days_ago: i64) -> ImageFacts {
        ImageFacts {
            digest: name.to_owned(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            pushed_at: NOW - days_ago * DAY_MS,
            last_pulled_at: None,
            archived_at: None,
            storage_class: Some(StorageClass::Standard),
            protected: false,
        }
    }

    fn rule(priority: i64, selection: &str, action: &str) -> String {
        format!(r#"{{"rulePriority":{priority},"selection":{selection},"action":{action}}}"#)
    }

    fn policy(rules: &[String]) -> Policy {
        parse(&format!(r#"{{"rules":[{}]}}"#, rules.join(","))).expect("valid policy")
    }

    fn expired(p: &Policy, images: &[ImageFacts]) -> Vec<String> {
        let mut names: Vec<String> = evaluate(p, images, NOW)
            .into_iter()
            .map(|d| d.digest)
            .collect();
        names.sort();
        names
    }

    const EXPIRE: &str = r#"{"type":"expire"}"#;

    fn keep(status_and_tags: &str, n: i64) -> String {
        format!(r#"{{{status_and_tags},"countType":"imageCountMoreThan","countNumber":{n}}}"#)
    }

    fn older(status_and_tags: &str, days: i64) -> String {
        format!(
            r#"{{{status_and_tags},"countType":"sinceImagePushed","countUnit":"days","countNumber":{days}}}"#
        )
    }

    #[test]
    fn untagged_older_than_14_days() {
        // "Filtering on image age" (older guide).
        let p = policy(&[rule(1, &older(r#""tagStatus":"untagged""#, 14), EXPIRE)]);
        let images = [
            img("old", &[], 15),
            img("fresh", &[], 13),
            img("tagged-old", &["v1"], 30),
            img("exactly", &[], 14),
        ];
        // Exactly 14 days old is not older than 14 days.
        assert_eq!(expired(&p, &images), ["old"]);
    }

    #[test]
    fn prod_pattern_older_than_14_days() {
        // "Filtering on image age" (current guide): tagPatternList ["prod*"].
        let p = policy(&[rule(
            1,
            &older(r#""tagStatus":"tagged","tagPatternList":["prod*"]"#, 14),
            EXPIRE,
        )]);
        let images = [
            img("prod-old", &["prod-1"], 20),
            img("prod-new", &["prod-2"], 3),
            img("dev-old", &["dev-1"], 20),
            img("none", &[], 20),
        ];
        assert_eq!(expired(&p, &images), ["prod-old"]);
    }

    #[test]
    fn keep_only_one_untagged_image() {
        // "Filtering on image count".
        let p = policy(&[rule(1, &keep(r#""tagStatus":"untagged""#, 1), EXPIRE)]);
        let images = [
            img("a", &[], 3),
            img("b", &[], 2),
            img("c", &[], 1),
            img("t", &["x"], 9),
        ];
        assert_eq!(expired(&p, &images), ["a", "b"]);
    }

    fn beta_prod_repository() -> [ImageFacts; 3] {
        [
            img("A", &["beta-1", "prod-1"], 10),
            img("B", &["beta-2", "prod-2"], 9),
            img("C", &["beta-3"], 8),
        ]
    }

    #[test]
    fn multiple_rules_example_a() {
        // "Filtering on multiple rules", example A: prod (priority 1), then beta.
        let p = policy(&[
            rule(
                1,
                &keep(r#""tagStatus":"tagged","tagPrefixList":["prod"]"#, 1),
                EXPIRE,
            ),
            rule(
                2,
                &keep(r#""tagStatus":"tagged","tagPrefixList":["beta"]"#, 1),
                EXPIRE,
            ),
        ]);
        // Rule 2 would mark B too, but B's tags matched rule 1, which shields it.
        assert_eq!(expired(&p, &beta_prod_repository()), ["A"]);
    }

    #[test]
    fn multiple_rules_example_b() {
        // Example B: the same repository with the priorities swapped.
        let p = policy(&[
            rule(
                1,
                &keep(r#""tagStatus":"tagged","tagPrefixList":["beta"]"#, 1),
                EXPIRE,
            ),
            rule(
                2,
                &keep(r#""tagStatus":"tagged","tagPrefixList":["prod"]"#, 1),
                EXPIRE,
            ),
        ]);
        assert_eq!(expired(&p, &beta_prod_repository()), ["A", "B"]);
    }

    #[test]
    fn multiple_tags_in_one_rule_example_a() {
        // "Filtering on multiple tags in a single rule", example A: every prefix must match.
        let p = policy(&[rule(
            1,
            &older(
                r#""tagStatus":"tagged","tagPrefixList":["alpha","beta"]"#,
                5,
            ),
            EXPIRE,
        )]);
        let images = [
            img("A", &["alpha-1"], 12),
            img("B", &["beta-1"], 11),
            img("C", &["alpha-2", "beta-2"], 10),
            img("D", &["alpha-3"], 4),
            img("E", &["beta-3"], 3),
            img("F", &["alpha-4", "beta-4"], 2),
        ];
        assert_eq!(expired(&p, &images), ["C"]);
    }

    #[test]
    fn multiple_tags_in_one_rule_example_b() {
        // Example B: tags are not exclusive.
        let p = policy(&[rule(
            1,
            &keep(
                r#""tagStatus":"tagged","tagPrefixList":["alpha","beta"]"#,
                1,
            ),
            EXPIRE,
        )]);
        let images = [
            img("A", &["alpha-1", "beta-1", "gamma-1"], 10),
            img("B", &["alpha-2", "beta-2"], 9),
            img("C", &["alpha-3", "beta-3", "gamma-2"], 8),
        ];
        assert_eq!(expired(&p, &images), ["A", "B"]);
    }

    #[test]
    fn all_images_example_a() {
        // "Filtering on all images", example A: keep only the newest image.
        let p = policy(&[rule(1, &keep(r#""tagStatus":"any""#, 1), EXPIRE)]);
        let images = [
            img("A", &["alpha-1"], 4),
            img("B", &["beta-1"], 3),
            img("C", &[], 2),
            img("D", &["alpha-2"], 1),
        ];
        assert_eq!(expired(&p, &images), ["A", "B", "C"]);
    }

    #[test]
    fn all_images_example_b() {
        // Example B: all rule types in one policy.
        let p = policy(&[
            rule(
                1,
                &keep(r#""tagStatus":"tagged","tagPrefixList":["alpha"]"#, 1),
                EXPIRE,
            ),
            rule(2, &older(r#""tagStatus":"untagged""#, 1), EXPIRE),
            rule(3, &keep(r#""tagStatus":"any""#, 1), EXPIRE),
        ]);
        // The guide pushes D and E "1 day ago", E after D: E is the newest by a minute here.
        let mut e = img("E", &[], 1);
        e.pushed_at += 60_000;
        let images = [
            img("A", &["alpha-1", "beta-1"], 4),
            img("B", &[], 3),
            img("C", &["alpha-2"], 2),
            img("D", &["git hash"], 1),
            e,
        ];
        // Rule 1 expires A; rule 2 expires B (E is not older than a day); rule 3 keeps the
        // newest (E) and may only mark D, the one image no earlier rule matched.
        assert_eq!(expired(&p, &images), ["A", "B", "D"]);
    }

    #[test]
    fn pattern_wildcards_match_whole_tags() {
        let p = policy(&[rule(
            1,
            &keep(r#""tagStatus":"tagged","tagPatternList":["prod*"]"#, 1),
            EXPIRE,
        )]);
        let images = [
            img("a", &["prod"], 3),
            img("b", &["production-team1"], 2),
            img("c", &["preprod"], 2),
            img("d", &["prod1"], 1),
        ];
        assert_eq!(expired(&p, &images), ["a", "b"]);
        let inner = policy(&[rule(
            1,
            &older(r#""tagStatus":"tagged","tagPatternList":["*prod*"]"#, 1),
            EXPIRE,
        )]);
        assert_eq!(expired(&inner, &images), ["a", "b", "c"]);
    }

    #[test]
    fn ties_in_push_time_are_broken_by_digest() {
        let p = policy(&[rule(1, &keep(r#""tagStatus":"any""#, 1), EXPIRE)]);
        let forward = [img("b", &[], 1), img("a", &[], 1), img("c", &[], 1)];
        let backward = [img("c", &[], 1), img("a", &[], 1), img("b", &[], 1)];
        assert_eq!(expired(&p, &forward), expired(&p, &backward));
        assert_eq!(expired(&p, &forward), ["b", "c"]);
    }

    #[test]
    fn protected_images_are_never_selected() {
        let p = policy(&[rule(1, &keep(r#""tagStatus":"any""#, 1), EXPIRE)]);
        let mut child = img("child-of-index", &[], 10);
        child.protected = true;
        let images = [child, img("old", &[], 5), img("new", &[], 1)];
        assert_eq!(expired(&p, &images), ["old"]);
    }

    #[test]
    fn since_image_pulled_uses_the_last_pull_and_only_transitions() {
        let p = policy(&[rule(
            1,
            r#"{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":30}"#,
            r#"{"type":"transition","targetStorageClass":"archive"}"#,
        )]);
        let mut pulled = img("pulled-recently", &["a"], 100);
        pulled.last_pulled_at = Some(NOW - 5 * DAY_MS);
        let mut stale = img("pulled-long-ago", &["b"], 100);
        stale.last_pulled_at = Some(NOW - 40 * DAY_MS);
        let never = img("never-pulled", &["c"], 31);
        let decisions = evaluate(&p, &[pulled, stale, never], NOW);
        let names: Vec<&str> = decisions.iter().map(|d| d.digest.as_str()).collect();
        assert_eq!(names, ["pulled-long-ago", "never-pulled"]);
        assert!(decisions.iter().all(|d| d.action == Action::Transition));
    }

    #[test]
    fn archive_rules_only_see_archived_images() {
        let p = policy(&[
            rule(1, &keep(r#""tagStatus":"any""#, 1), EXPIRE),
            rule(
                2,
                r#"{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":90}"#,
                EXPIRE,
            ),
        ]);
        let mut archived_old = img("archived-old", &[], 400);
        archived_old.storage_class = Some(StorageClass::Archive);
        archived_old.archived_at = Some(NOW - 100 * DAY_MS);
        let mut archived_new = img("archived-new", &[], 400);
        archived_new.storage_class = Some(StorageClass::Archive);
        archived_new.archived_at = Some(NOW - 10 * DAY_MS);
        let mut restoring = img("restoring", &[], 400);
        restoring.storage_class = None;
        let images = [archived_old, archived_new, restoring, img("active", &[], 1)];
        assert_eq!(expired(&p, &images), ["archived-old"]);
    }

    #[test]
    fn a_tag_moved_to_another_image_counts_for_its_new_image() {
        // "latest" moved from old to new: old is now untagged and falls under the untagged rule.
        let p = policy(&[
            rule(
                1,
                &keep(r#""tagStatus":"tagged","tagPrefixList":["latest"]"#, 1),
                EXPIRE,
            ),
            rule(2, &keep(r#""tagStatus":"untagged""#, 1), EXPIRE),
        ]);
        let images = [
            img("old", &[], 10),
            img("older", &[], 20),
            img("new", &["latest"], 1),
        ];
        assert_eq!(expired(&p, &images), ["older"]);
    }
}
