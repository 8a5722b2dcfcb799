//! Lifecycle policy text: parsing and ECR's validation.
//!
//! ECR validates policies with a JSON-schema validator and then with semantic checks; the
//! messages below copy the validator's phrasing, behind ECR's common prefix.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::core::storage_class::StorageClass;

/// A validation failure; `to_string()` is the full ECR message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: {0}'")]
pub struct PolicyError(pub String);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagStatus {
    Tagged,
    Untagged,
    Any,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CountType {
    ImageCountMoreThan,
    SinceImagePushed,
    SinceImagePulled,
    SinceImageTransitioned,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Action {
    Expire,
    /// Move to the archive storage class.
    Transition,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagMatch {
    None,
    Prefixes(Vec<String>),
    Patterns(Vec<String>),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    pub priority: i64,
    pub description: Option<String>,
    pub tag_status: TagStatus,
    pub tags: TagMatch,
    pub storage_class: StorageClass,
    pub count_type: CountType,
    pub count_number: i64,
    pub action: Action,
}

/// A valid policy; rules sorted by priority.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub rules: Vec<Rule>,
}

/// ECR's limits.
pub const MAX_RULES: usize = 50;
pub const MAX_WILDCARDS: usize = 4;
/// Archived images are billed for at least 90 days, so rules may not expire them sooner.
pub const MIN_ARCHIVE_DAYS: i64 = 90;

fn fail<T>(detail: impl Into<String>) -> Result<T, PolicyError> {
    Err(PolicyError(detail.into()))
}

fn json_list(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    format!("[{}]", quoted.join(","))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn wrong_type<T>(v: &Value, allowed: &str) -> Result<T, PolicyError> {
    fail(format!(
        "instance type ({}) does not match any allowed primitive type (allowed: [\"{allowed}\"])",
        type_name(v)
    ))
}

fn object(v: &Value) -> Result<&Map<String, Value>, PolicyError> {
    v.as_object().map_or_else(|| wrong_type(v, "object"), Ok)
}

/// The schema's checks of one object: only `allowed` keys, all `required` keys.
fn check_keys(
    obj: &Map<String, Value>,
    allowed: &[&str],
    required: &[&str],
) -> Result<(), PolicyError> {
    let mut missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|k| !obj.contains_key(*k))
        .collect();
    missing.sort_unstable();
    if !missing.is_empty() {
        return fail(format!(
            "object has missing required properties ({})",
            json_list(&missing)
        ));
    }
    let mut unknown: Vec<&str> = obj
        .keys()
        .map(String::as_str)
        .filter(|k| !allowed.contains(k))
        .collect();
    unknown.sort_unstable();
    if !unknown.is_empty() {
        return fail(format!(
            "object instance has properties which are not allowed by the schema: ({})",
            json_list(&unknown)
        ));
    }
    Ok(())
}

fn enumerated<'a>(v: &'a Value, values: &[&str]) -> Result<&'a str, PolicyError> {
    let s = v.as_str().map_or_else(|| wrong_type(v, "string"), Ok)?;
    if values.contains(&s) {
        Ok(s)
    } else {
        let mut sorted = values.to_vec();
        sorted.sort_unstable();
        fail(format!(
            "instance value ({s}) not found in enum :(possible values: {})",
            json_list(&sorted)
        ))
    }
}

fn positive(v: &Value) -> Result<i64, PolicyError> {
    let n = v.as_i64().map_or_else(|| wrong_type(v, "integer"), Ok)?;
    if n < 1 {
        return fail(format!(
            "numeric instance is lower than the required minimum (minimum: 1, found: {n})"
        ));
    }
    Ok(n)
}

fn strings(v: &Value) -> Result<Vec<String>, PolicyError> {
    let items = v.as_array().map_or_else(|| wrong_type(v, "array"), Ok)?;
    items
        .iter()
        .map(|i| {
            i.as_str()
                .map(str::to_owned)
                .map_or_else(|| wrong_type(i, "string"), Ok)
        })
        .collect()
}

/// "matched 0 out of N": ECR's answer for combinations the schema's `oneOf` rejects.
fn no_schema<T>() -> Result<T, PolicyError> {
    fail("instance failed to match exactly one schema (matched 0 out of 2)")
}

/// Parses and validates a policy text as PutLifecyclePolicy does.
pub fn parse(text: &str) -> Result<Policy, PolicyError> {
    let Ok(doc) = serde_json::from_str::<Value>(text) else {
        return fail("Could not map policyString into LifecyclePolicy.");
    };
    let top = match &doc {
        Value::Object(map) => map,
        _ => return fail("Could not map policyString into LifecyclePolicy."),
    };
    check_keys(top, &["rules"], &["rules"])?;
    let rules = top["rules"]
        .as_array()
        .map_or_else(|| wrong_type(&top["rules"], "array"), Ok)?;
    if rules.is_empty() {
        return fail(
            "array is too short: must have at least 1 elements but instance has 0 elements",
        );
    }
    if rules.len() > MAX_RULES {
        return fail(format!(
            "a policy has at most {MAX_RULES} rules, found {}",
            rules.len()
        ));
    }
    let mut parsed: Vec<Rule> = rules.iter().map(parse_rule).collect::<Result<_, _>>()?;
    check_policy(&parsed)?;
    parsed.sort_by_key(|r| r.priority);
    Ok(Policy { rules: parsed })
}

fn parse_rule(value: &Value) -> Result<Rule, PolicyError> {
    let rule = object(value)?;
    check_keys(
        rule,
        &["rulePriority", "description", "selection", "action"],
        &["action", "rulePriority", "selection"],
    )?;
    let priority = positive(&rule["rulePriority"])?;
    let description = match rule.get("description") {
        None => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => return wrong_type(other, "string"),
    };

    let selection = object(&rule["selection"])?;
    check_keys(
        selection,
        &[
            "tagStatus",
            "tagPatternList",
            "tagPrefixList",
            "storageClass",
            "countType",
            "countUnit",
            "countNumber",
        ],
        &["countNumber", "countType", "tagStatus"],
    )?;
    let tag_status = match enumerated(&selection["tagStatus"], &["tagged", "untagged", "any"])? {
        "tagged" => TagStatus::Tagged,
        "untagged" => TagStatus::Untagged,
        _ => TagStatus::Any,
    };
    let count_type = match enumerated(
        &selection["countType"],
        &[
            "imageCountMoreThan",
            "sinceImagePushed",
            "sinceImagePulled",
            "sinceImageTransitioned",
        ],
    )? {
        "imageCountMoreThan" => CountType::ImageCountMoreThan,
        "sinceImagePushed" => CountType::SinceImagePushed,
        "sinceImagePulled" => CountType::SinceImagePulled,
        _ => CountType::SinceImageTransitioned,
    };
    let count_number = positive(&selection["countNumber"])?;
    match (count_type, selection.get("countUnit")) {
        (CountType::ImageCountMoreThan, None) => {}
        (CountType::ImageCountMoreThan, Some(_)) => return no_schema(),
        (_, None) => return fail("object has missing required properties ([\"countUnit\"])"),
        (_, Some(unit)) => {
            enumerated(unit, &["days"])?;
        }
    }
    let storage_class = match selection.get("storageClass") {
        None => StorageClass::Standard,
        Some(v) => match enumerated(v, &["standard", "archive"])? {
            "archive" => StorageClass::Archive,
            _ => StorageClass::Standard,
        },
    };
    let prefixes = selection.get("tagPrefixList").map(strings).transpose()?;
    let patterns = selection.get("tagPatternList").map(strings).transpose()?;
    let tags = match (tag_status, prefixes, patterns) {
        (TagStatus::Tagged, Some(p), None) if !p.is_empty() => TagMatch::Prefixes(p),
        (TagStatus::Tagged, None, Some(p)) if !p.is_empty() => {
            if let Some(bad) = p.iter().find(|q| q.matches('*').count() > MAX_WILDCARDS) {
                return fail(format!(
                    "tagPatternList '{bad}' has more than {MAX_WILDCARDS} wildcards"
                ));
            }
            TagMatch::Patterns(p)
        }
        (TagStatus::Tagged, Some(_), Some(_)) => {
            return fail("tagPrefixList and tagPatternList cannot both be specified");
        }
        (TagStatus::Tagged, _, _) => {
            return fail("tagPrefixList or tagPatternList must be specified and non-empty when tagStatus is tagged");
        }
        (_, None, None) => TagMatch::None,
        (_, _, _) => {
            return fail(
                "tagPrefixList and tagPatternList can only be used when tagStatus is tagged",
            )
        }
    };

    let action = object(&rule["action"])?;
    check_keys(action, &["type", "targetStorageClass"], &["type"])?;
    let action = match (
        enumerated(&action["type"], &["expire", "transition"])?,
        action.get("targetStorageClass"),
    ) {
        ("expire", None) => Action::Expire,
        ("transition", Some(target)) => {
            enumerated(target, &["archive"])?;
            Action::Transition
        }
        ("transition", None) => {
            return fail("object has missing required properties ([\"targetStorageClass\"])")
        }
        _ => return no_schema(),
    };

    match (count_type, action, storage_class) {
        (CountType::SinceImagePulled, Action::Expire, _) => {
            return fail("sinceImagePulled can only be used with the transition action")
        }
        (CountType::SinceImageTransitioned, Action::Transition, _) => {
            return fail("sinceImageTransitioned can only be used with the expire action")
        }
        (CountType::SinceImageTransitioned, _, StorageClass::Standard) => {
            return fail("sinceImageTransitioned requires storageClass archive")
        }
        (CountType::SinceImageTransitioned, _, _) if count_number < MIN_ARCHIVE_DAYS => {
            return fail(format!(
                "countNumber must be at least {MIN_ARCHIVE_DAYS} for sinceImageTransitioned: archived images are kept for {MIN_ARCHIVE_DAYS} days"
            ))
        }
        (ct, _, StorageClass::Archive) if ct != CountType::SinceImageTransitioned => {
            return fail("storageClass archive can only be used with sinceImageTransitioned")
        }
        _ => {}
    }

    Ok(Rule {
        priority,
        description,
        tag_status,
        tags,
        storage_class,
        count_type,
        count_number,
        action,
    })
}

/// Checks across rules.
fn check_policy(rules: &[Rule]) -> Result<(), PolicyError> {
    let mut priorities = BTreeSet::new();
    for rule in rules {
        if !priorities.insert(rule.priority) {
            return fail(format!(
                "rulePriority {} is used by more than one rule",
                rule.priority
            ));
        }
    }
    for class in [StorageClass::Standard, StorageClass::Archive] {
        let of_class: Vec<&Rule> = rules.iter().filter(|r| r.storage_class == class).collect();
        let highest = of_class.iter().map(|r| r.priority).max();
        for rule in &of_class {
            if rule.tag_status == TagStatus::Any && Some(rule.priority) != highest {
                return fail(format!(
                    "rule with rulePriority {} selects tagStatus any and must have the highest rulePriority",
                    rule.priority
                ));
            }
        }
        if of_class
            .iter()
            .filter(|r| r.tag_status == TagStatus::Untagged)
            .count()
            > 1
        {
            return fail("only one rule can select untagged images");
        }
        let mut seen = BTreeSet::new();
        for rule in &of_class {
            let key = match &rule.tags {
                TagMatch::Prefixes(p) => format!("prefix:{}", sorted(p).join("\u{1f}")),
                TagMatch::Patterns(p) => format!("pattern:{}", sorted(p).join("\u{1f}")),
                TagMatch::None => continue,
            };
            if !seen.insert(key) {
                return fail("rules must not select the same tagPrefixList or tagPatternList");
            }
        }
    }
    Ok(())
}

fn sorted(items: &[String]) -> Vec<String> {
    let mut v = items.to_vec();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(selection: &str, action: &str) -> String {
        format!(r#"{{"rules":[{{"rulePriority":1,"selection":{selection},"action":{action}}}]}}"#)
    }

    #[test]
    fn accepts_the_documented_example() {
        let text = r#"{"rules": [
          {"rulePriority": 1, "description": "keep 5 release builds",
           "selection": {"tagStatus": "tagged", "tagPatternList": ["v*.*.*"], "countType": "imageCountMoreThan", "countNumber": 5},
           "action": {"type": "expire"}},
          {"rulePriority": 2, "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 7},
           "action": {"type": "expire"}},
          {"rulePriority": 3, "selection": {"tagStatus": "any", "countType": "sinceImagePulled", "countUnit": "days", "countNumber": 60},
           "action": {"type": "transition", "targetStorageClass": "archive"}},
          {"rulePriority": 4, "selection": {"tagStatus": "any", "storageClass": "archive", "countType": "sinceImageTransitioned", "countUnit": "days", "countNumber": 365},
           "action": {"type": "expire"}}]}"#;
        let policy = parse(text).unwrap();
        assert_eq!(policy.rules.len(), 4);
        assert_eq!(
            policy.rules[0].tags,
            TagMatch::Patterns(vec!["v*.*.*".into()])
        );
        assert_eq!(policy.rules[3].storage_class, StorageClass::Archive);
    }

    #[test]
    fn rejects_with_ecr_messages() {
        let cases: &[(&str, &str)] = &[
            ("nope", "Could not map policyString into LifecyclePolicy."),
            ("{}", "object has missing required properties ([\"rules\"])"),
            (r#"{"rules":[{"rulePriority":1}]}"#, "object has missing required properties ([\"action\",\"selection\"])"),
            (&rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1,"foo":1}"#, r#"{"type":"expire"}"#),
             "object instance has properties which are not allowed by the schema: ([\"foo\"])"),
            (&rule(r#"{"tagStatus":"bogus","countType":"imageCountMoreThan","countNumber":1}"#, r#"{"type":"expire"}"#),
             "instance value (bogus) not found in enum :(possible values: [\"any\",\"tagged\",\"untagged\"])"),
            (&rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":0}"#, r#"{"type":"expire"}"#),
             "numeric instance is lower than the required minimum (minimum: 1, found: 0)"),
            (&rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countUnit":"days","countNumber":1}"#, r#"{"type":"expire"}"#),
             "instance failed to match exactly one schema (matched 0 out of 2)"),
            (&rule(r#"{"tagStatus":"any","countType":"sinceImagePushed","countNumber":1}"#, r#"{"type":"expire"}"#),
             "object has missing required properties ([\"countUnit\"])"),
            (&rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":"1"}"#, r#"{"type":"expire"}"#),
             "instance type (string) does not match any allowed primitive type (allowed: [\"integer\"])"),
            (&rule(r#"{"tagStatus":"tagged","countType":"imageCountMoreThan","countNumber":1}"#, r#"{"type":"expire"}"#),
             "tagPrefixList or tagPatternList must be specified and non-empty when tagStatus is tagged"),
            (&rule(r#"{"tagStatus":"untagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1}"#, r#"{"type":"expire"}"#),
             "tagPrefixList and tagPatternList can only be used when tagStatus is tagged"),
            (&rule(r#"{"tagStatus":"tagged","tagPatternList":["*a*b*c*d*e"],"countType":"imageCountMoreThan","countNumber":1}"#, r#"{"type":"expire"}"#),
             "tagPatternList '*a*b*c*d*e' has more than 4 wildcards"),
            (&rule(r#"{"tagStatus":"any","countType":"sinceImagePulled","countUnit":"days","countNumber":1}"#, r#"{"type":"expire"}"#),
             "sinceImagePulled can only be used with the transition action"),
            (&rule(r#"{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1}"#, r#"{"type":"expire","targetStorageClass":"archive"}"#),
             "instance failed to match exactly one schema (matched 0 out of 2)"),
            (&rule(r#"{"tagStatus":"any","storageClass":"archive","countType":"sinceImageTransitioned","countUnit":"days","countNumber":30}"#, r#"{"type":"expire"}"#),
             "countNumber must be at least 90 for sinceImageTransitioned: archived images are kept for 90 days"),
            (r#"{"rules":[
                {"rulePriority":1,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
                {"rulePriority":2,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#,
             "rule with rulePriority 1 selects tagStatus any and must have the highest rulePriority"),
            (r#"{"rules":[
                {"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
                {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["a"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}"#,
             "rulePriority 1 is used by more than one rule"),
            (r#"{"rules":[
                {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["a","b"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
                {"rulePriority":2,"selection":{"tagStatus":"tagged","tagPrefixList":["b","a"],"countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}}]}"#,
             "rules must not select the same tagPrefixList or tagPatternList"),
        ];
        for (text, detail) in cases {
            let err = parse(text).unwrap_err();
            assert_eq!(&err.0, detail, "{text}");
            assert!(err.to_string().starts_with(
                "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: "
            ));
        }
    }
}
