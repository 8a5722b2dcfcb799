//! Image tag mutability: which tags may be moved once set.

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagMutability {
    Mutable,
    Immutable,
    /// Immutable, except tags matching an exclusion filter.
    ImmutableWithExclusion,
    /// Mutable, except tags matching an exclusion filter.
    MutableWithExclusion,
}

impl TagMutability {
    pub const ALL: [TagMutability; 4] = [
        TagMutability::Mutable,
        TagMutability::Immutable,
        TagMutability::ImmutableWithExclusion,
        TagMutability::MutableWithExclusion,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TagMutability::Mutable => "MUTABLE",
            TagMutability::Immutable => "IMMUTABLE",
            TagMutability::ImmutableWithExclusion => "IMMUTABLE_WITH_EXCLUSION",
            TagMutability::MutableWithExclusion => "MUTABLE_WITH_EXCLUSION",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    pub fn takes_exclusions(self) -> bool {
        matches!(
            self,
            TagMutability::ImmutableWithExclusion | TagMutability::MutableWithExclusion
        )
    }

    /// Whether `tag`, once set, may not be moved or re-pushed.
    pub fn is_immutable(self, exclusions: &[String], tag: &str) -> bool {
        let excluded = || exclusions.iter().any(|f| wildcard_match(f, tag));
        match self {
            TagMutability::Mutable => false,
            TagMutability::Immutable => true,
            TagMutability::ImmutableWithExclusion => !excluded(),
            TagMutability::MutableWithExclusion => excluded(),
        }
    }
}

impl fmt::Display for TagMutability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `*` matches any run of characters (including none); everything else matches itself.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t): (Vec<char>, Vec<char>) = (pattern.chars().collect(), text.chars().collect());
    // Greedy matching with backtracking to the last star: linear in practice.
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && p[pi] != '*' && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("latest", "latest"));
        assert!(wildcard_match("dev-*", "dev-123"));
        assert!(wildcard_match("*-rc*", "1.0-rc2"));
        assert!(!wildcard_match("dev-*", "prod-1"));
        assert!(!wildcard_match("a*b", "acbd"));
        assert!(wildcard_match("a*b*", "acbd"));
    }

    #[test]
    fn exclusions_flip_the_rule() {
        let ex = vec!["dev-*".to_string()];
        assert!(TagMutability::ImmutableWithExclusion.is_immutable(&ex, "v1"));
        assert!(!TagMutability::ImmutableWithExclusion.is_immutable(&ex, "dev-1"));
        assert!(TagMutability::MutableWithExclusion.is_immutable(&ex, "dev-1"));
        assert!(!TagMutability::MutableWithExclusion.is_immutable(&ex, "v1"));
    }
}
