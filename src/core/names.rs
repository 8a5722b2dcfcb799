//! Identifiers of the registry and their grammars: namespaces, repository names, tags, digests.
//!
//! Each grammar is checked here and nowhere else; the fronts turn a [`NameError`] into their own
//! wire error.

use std::fmt;
use std::sync::LazyLock;

use regex::Regex;

/// One registry: an (account, region) pair. Repositories of different namespaces never meet.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Namespace {
    pub account: String,
    pub region: String,
}

impl Namespace {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Namespace {
            account: account.into(),
            region: region.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("invalid repository name")]
    Repository,
    #[error("invalid tag")]
    Tag,
    #[error("invalid digest")]
    Digest,
    #[error("unsupported digest algorithm")]
    DigestAlgorithm,
}

/// The model's repository-name pattern (the OCI `<name>` grammar), as quoted in ECR's errors.
pub const REPOSITORY_NAME_PATTERN: &str =
    r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*";

static REPOSITORY_NAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*$",
    )
    .expect("static regex")
});

/// A validated repository name (2–256 characters of the OCI name grammar).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepositoryName(String);

impl RepositoryName {
    pub fn parse(name: &str) -> Result<Self, NameError> {
        if (2..=256).contains(&name.len()) && REPOSITORY_NAME.is_match(name) {
            Ok(RepositoryName(name.to_owned()))
        } else {
            Err(NameError::Repository)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RepositoryName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A namespace of repository names, as pull-through cache rules and creation templates name
/// them: `ROOT` (every name), or a name prefix with an implied trailing `/` (`prod` and `prod/`
/// both cover `prod/app`, and neither covers `prod` itself nor `production/app`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RepositoryPrefix(String);

impl RepositoryPrefix {
    pub const ROOT: &'static str = "ROOT";

    /// `None` unless `prefix` is `ROOT` or fits the name grammar once a trailing `/` is dropped.
    /// (Lengths differ between rules and templates; the API checks them.)
    pub fn parse(prefix: &str) -> Option<Self> {
        if prefix == Self::ROOT {
            return Some(RepositoryPrefix(prefix.to_owned()));
        }
        let bare = prefix.strip_suffix('/').unwrap_or(prefix);
        REPOSITORY_NAME
            .is_match(bare)
            .then(|| RepositoryPrefix(bare.to_owned()))
    }

    /// What tells prefixes apart: `ROOT`, or the prefix without its trailing `/`.
    pub fn key(&self) -> &str {
        &self.0
    }

    pub fn is_root(&self) -> bool {
        self.0 == Self::ROOT
    }

    /// Whether `name` is in this namespace.
    pub fn covers(&self, name: &str) -> bool {
        self.is_root()
            || name
                .strip_prefix(self.0.as_str())
                .is_some_and(|rest| rest.starts_with('/'))
    }

    /// Of several prefixes covering a name, the most specific wins: the longest, `ROOT` last.
    pub fn specificity(&self) -> usize {
        if self.is_root() {
            0
        } else {
            self.0.len()
        }
    }
}

static ROLE_ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^arn:aws(?:-[a-z]+)*:iam::([0-9]{12}):role/[\w+=,.@-]+(?:/[\w+=,.@-]+)*$")
        .expect("static regex")
});

/// The account of an IAM role ARN (`arn:aws:iam::<account>:role/<path/name>`), if `arn` is one.
pub fn role_arn_account(arn: &str) -> Option<&str> {
    ROLE_ARN
        .captures(arn)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}

static TAG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$").expect("static regex"));

/// A validated tag: the OCI tag grammar, which is also within ECR's `[a-zA-Z0-9-_.]+`, 1–300.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(tag: &str) -> Result<Self, NameError> {
        if TAG.is_match(tag) {
            Ok(Tag(tag.to_owned()))
        } else {
            Err(NameError::Tag)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

static DIGEST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$").expect("static regex")
});

/// A content digest. Only `sha256` is produced and accepted for content; any other well-formed
/// algorithm is [`NameError::DigestAlgorithm`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if !DIGEST.is_match(s) {
            return Err(NameError::Digest);
        }
        let Some(hex) = s.strip_prefix("sha256:") else {
            return Err(NameError::DigestAlgorithm);
        };
        if hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            Ok(Digest(s.to_owned()))
        } else {
            Err(NameError::Digest)
        }
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self::from_sha256(sha2::Sha256::digest(bytes).as_slice())
    }

    pub fn from_sha256(raw: &[u8]) -> Self {
        Digest(format!("sha256:{}", hex::encode(raw)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part, used as the blob's file name.
    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }

    /// Whether a string looks like a digest at all (`alg:encoded`), as opposed to a tag.
    pub fn looks_like_digest(s: &str) -> bool {
        s.contains(':')
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A manifest reference in a URL: a tag or a digest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn parse(s: &str) -> Result<Self, NameError> {
        if Digest::looks_like_digest(s) {
            Digest::parse(s).map(Reference::Digest)
        } else {
            Tag::parse(s).map(Reference::Tag)
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reference::Tag(t) => t.fmt(f),
            Reference::Digest(d) => d.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repository_names_follow_the_oci_grammar() {
        for ok in ["ab", "team/app", "a.b_c__d---e/f", "x/y/z/w/v/u/t/s"] {
            assert!(RepositoryName::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "a",
            "A/b",
            "a//b",
            "a/../b",
            "..",
            "-a",
            "a-",
            "a/",
            "/a",
            "a___b",
            &"a".repeat(257),
        ] {
            assert!(RepositoryName::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn prefixes_are_namespaces_with_an_implied_slash() {
        let prod = RepositoryPrefix::parse("prod/").unwrap();
        assert_eq!(prod, RepositoryPrefix::parse("prod").unwrap());
        assert_eq!(prod.key(), "prod");
        assert!(prod.covers("prod/app"));
        assert!(prod.covers("prod/team/app"));
        assert!(!prod.covers("prod"));
        assert!(!prod.covers("production/app"));
        let root = RepositoryPrefix::parse("ROOT").unwrap();
        assert!(root.is_root() && root.covers("anything") && root.covers("prod/app"));
        assert!(root.specificity() < prod.specificity());
        assert!(RepositoryPrefix::parse("a").is_some());
        for bad in ["", "/", "Prod", "prod//", "a//b", "ROOT/", "-a"] {
            assert!(RepositoryPrefix::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn role_arns() {
        assert_eq!(
            role_arn_account("arn:aws:iam::123456789012:role/path/ecr-ptc"),
            Some("123456789012")
        );
        assert_eq!(
            role_arn_account("arn:aws-cn:iam::123456789012:role/r"),
            Some("123456789012")
        );
        for bad in [
            "arn:aws:iam::123456789012:user/someone",
            "arn:aws:iam::1234:role/r",
            "arn:aws:s3:::bucket",
            "role/r",
        ] {
            assert_eq!(role_arn_account(bad), None, "{bad}");
        }
    }

    #[test]
    fn tags_and_digests() {
        assert!(Tag::parse("v1.0_rc-1").is_ok());
        assert!(Tag::parse(".hidden").is_err());
        assert!(Tag::parse(&"a".repeat(129)).is_err());
        let d = Digest::of(b"");
        assert_eq!(
            d.as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(Digest::parse("sha256:abc"), Err(NameError::Digest));
        assert_eq!(
            Digest::parse(&d.as_str().to_uppercase()),
            Err(NameError::Digest)
        );
        assert_eq!(
            Digest::parse("sha512:abcd"),
            Err(NameError::DigestAlgorithm)
        );
        assert_eq!(Digest::parse("nocolon"), Err(NameError::Digest));
    }
}
