//! Routing for `/v2/...`: a pure function from a path to an [`Endpoint`].
//!
//! Repository names contain `/`, so the path is read from the right: the last segments say what
//! is addressed (`manifests/<ref>`, `blobs/<digest>`, `blobs/uploads/<id>`, `tags/list`,
//! `referrers/<digest>`), everything before them is the name.

use percent_encoding::percent_decode_str;

use crate::core::names::{NameError, RepositoryName};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v2/`
    Base,
    /// `/v2/_catalog`
    Catalog,
    /// `/v2/<name>/tags/list`
    Tags { name: RepositoryName },
    /// `/v2/<name>/manifests/<reference>`
    Manifest {
        name: RepositoryName,
        reference: String,
    },
    /// `/v2/<name>/blobs/<digest>`
    Blob {
        name: RepositoryName,
        digest: String,
    },
    /// `/v2/<name>/blobs/uploads/`
    Uploads { name: RepositoryName },
    /// `/v2/<name>/blobs/uploads/<id>`
    Upload { name: RepositoryName, id: String },
    /// `/v2/<name>/referrers/<digest>`
    Referrers {
        name: RepositoryName,
        digest: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteError {
    /// No endpoint has this shape.
    NotFound,
    /// The shape is right but the name is not a repository name.
    InvalidName,
}

impl From<NameError> for RouteError {
    fn from(_: NameError) -> Self {
        RouteError::InvalidName
    }
}

/// Parses a raw (still percent-encoded) request path.
pub fn parse(path: &str) -> Result<Endpoint, RouteError> {
    let rest = match path.strip_prefix("/v2") {
        Some("") | Some("/") => return Ok(Endpoint::Base),
        Some(rest) => rest.strip_prefix('/').ok_or(RouteError::NotFound)?,
        None => return Err(RouteError::NotFound),
    };
    if rest == "_catalog" {
        return Ok(Endpoint::Catalog);
    }
    let segments: Vec<String> = rest
        .split('/')
        .map(|s| percent_decode_str(s).decode_utf8().map(|c| c.into_owned()))
        .collect::<Result<_, _>>()
        .map_err(|_| RouteError::InvalidName)?;
    let n = segments.len();
    let seg = |i: usize| segments[i].as_str();
    let name = |upto: usize| -> Result<RepositoryName, RouteError> {
        if upto == 0 {
            return Err(RouteError::NotFound);
        }
        Ok(RepositoryName::parse(&segments[..upto].join("/"))?)
    };

    if n >= 3 && seg(n - 2) == "tags" && seg(n - 1) == "list" {
        return Ok(Endpoint::Tags { name: name(n - 2)? });
    }
    if n >= 4 && seg(n - 3) == "blobs" && seg(n - 2) == "uploads" {
        let id = seg(n - 1);
        return Ok(if id.is_empty() {
            Endpoint::Uploads { name: name(n - 3)? }
        } else {
            Endpoint::Upload {
                name: name(n - 3)?,
                id: id.to_owned(),
            }
        });
    }
    if n >= 3 && seg(n - 2) == "blobs" && seg(n - 1) == "uploads" {
        return Ok(Endpoint::Uploads { name: name(n - 2)? });
    }
    if n >= 3 && !seg(n - 1).is_empty() {
        let last = seg(n - 1).to_owned();
        match seg(n - 2) {
            "manifests" => {
                return Ok(Endpoint::Manifest {
                    name: name(n - 2)?,
                    reference: last,
                })
            }
            "blobs" => {
                return Ok(Endpoint::Blob {
                    name: name(n - 2)?,
                    digest: last,
                })
            }
            "referrers" => {
                return Ok(Endpoint::Referrers {
                    name: name(n - 2)?,
                    digest: last,
                })
            }
            _ => {}
        }
    }
    Err(RouteError::NotFound)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> RepositoryName {
        RepositoryName::parse(s).unwrap()
    }

    #[test]
    fn routes_from_the_right() {
        assert_eq!(parse("/v2/"), Ok(Endpoint::Base));
        assert_eq!(parse("/v2"), Ok(Endpoint::Base));
        assert_eq!(parse("/v2/_catalog"), Ok(Endpoint::Catalog));
        assert_eq!(
            parse("/v2/a/b/c/tags/list"),
            Ok(Endpoint::Tags {
                name: name("a/b/c")
            })
        );
        assert_eq!(
            parse("/v2/team/blobs/manifests/latest"),
            Ok(Endpoint::Manifest {
                name: name("team/blobs"),
                reference: "latest".into()
            })
        );
        assert_eq!(
            parse("/v2/ab/blobs/uploads/"),
            Ok(Endpoint::Uploads { name: name("ab") })
        );
        assert_eq!(
            parse("/v2/ab/blobs/uploads"),
            Ok(Endpoint::Uploads { name: name("ab") })
        );
        assert_eq!(
            parse("/v2/ab/blobs/uploads/123"),
            Ok(Endpoint::Upload {
                name: name("ab"),
                id: "123".into()
            })
        );
        assert_eq!(
            parse("/v2/ab/blobs/sha256:00"),
            Ok(Endpoint::Blob {
                name: name("ab"),
                digest: "sha256:00".into()
            })
        );
        assert_eq!(
            parse("/v2/ab/referrers/sha256:00"),
            Ok(Endpoint::Referrers {
                name: name("ab"),
                digest: "sha256:00".into()
            })
        );
    }

    #[test]
    fn path_tricks_are_invalid_names() {
        for path in [
            "/v2/../etc/manifests/x",
            "/v2/%2e%2e/manifests/x",
            "/v2/a//b/manifests/x",
            "/v2/AB/manifests/x",
            "/v2/a/%2E%2E/b/blobs/sha256:00",
            "/v2/a%ff/tags/list",
        ] {
            assert_eq!(parse(path), Err(RouteError::InvalidName), "{path}");
        }
        assert_eq!(parse("/v2/manifests/x"), Err(RouteError::NotFound));
        assert_eq!(parse("/v2/ab/unknown"), Err(RouteError::NotFound));
        assert_eq!(parse("/v3/ab/tags/list"), Err(RouteError::NotFound));
    }
}
