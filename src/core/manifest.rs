//! Parsing and validating pushed manifests (the checks that need only the bytes).
//!
//! The result says what the manifest refers to (config, layers, children, subject) so the core
//! can check those against the repository inside the same transaction that stores it.

use serde_json::{Map, Value};

use crate::core::error::{CoreError, CoreResult};
use crate::core::names::Digest;

pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub const DOCKER_V1: &str = "application/vnd.docker.distribution.manifest.v1+json";
pub const DOCKER_V1_SIGNED: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub const ORAS_ARTIFACT: &str = "application/vnd.cncf.oras.artifact.manifest.v1+json";
pub const OCI_EMPTY_CONFIG: &str = "application/vnd.oci.empty.v1+json";

/// The largest manifest ECR stores (`imageManifest` max length).
pub const MAX_MANIFEST_BYTES: usize = 4 * 1024 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    /// OCI image manifest or Docker schema 2 manifest: config + layers.
    Image,
    /// OCI image index or Docker manifest list: child manifests.
    Index,
    /// Stored and served as pushed, with no references checked (schema 1, ORAS artifacts).
    Opaque,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: i64,
    /// Foreign / non-distributable layers live elsewhere and need not be pushed.
    pub foreign: bool,
}

/// A manifest that parsed and is internally valid.
#[derive(Clone, Debug)]
pub struct ParsedManifest {
    pub media_type: String,
    pub kind: ManifestKind,
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub children: Vec<Descriptor>,
    pub subject: Option<Digest>,
    /// `artifactType` as the referrers API reports it: the manifest's own, else (for images) the
    /// config media type; none for an index without one.
    pub artifact_type: Option<String>,
    /// Top-level annotations as JSON text, if any.
    pub annotations: Option<String>,
}

impl ParsedManifest {
    /// Blobs that must be in the repository before this manifest is accepted.
    pub fn required_blobs(&self) -> Vec<Digest> {
        let mut digests: Vec<Digest> = self
            .config
            .iter()
            .chain(self.layers.iter())
            .filter(|d| !d.foreign)
            .map(|d| d.digest.clone())
            .collect();
        digests.sort();
        digests.dedup();
        digests
    }

    /// Size ECR reports for an image: the sum of its layers (checked when parsed not to overflow).
    pub fn layers_size(&self) -> i64 {
        self.layers
            .iter()
            .map(|l| l.size)
            .fold(0, i64::saturating_add)
    }
}

fn base_media_type(content_type: &str) -> &str {
    content_type.split(';').next().unwrap_or("").trim()
}

/// Parses `body`, pushed with `content_type`, into what it refers to.
pub fn parse(body: &[u8], content_type: Option<&str>) -> CoreResult<ParsedManifest> {
    if body.len() > MAX_MANIFEST_BYTES {
        return Err(CoreError::ManifestTooLarge);
    }
    let doc: Map<String, Value> = match serde_json::from_slice(body) {
        Ok(Value::Object(map)) => map,
        _ => return Err(CoreError::ManifestUnsupported("Invalid JSON syntax".into())),
    };
    let declared = match doc.get("mediaType") {
        None => None,
        Some(Value::String(s)) => Some(s.as_str()),
        Some(_) => return Err(invalid("mediaType must be a string")),
    };
    let header = content_type.map(base_media_type).filter(|s| !s.is_empty());
    let media_type = match (declared, header) {
        (Some(d), Some(h)) if d != h && !is_generic_json(h) => {
            return Err(invalid(&format!(
                "mediaType '{d}' does not match Content-Type '{h}'"
            )));
        }
        (Some(d), _) => d.to_owned(),
        (None, Some(h)) if !is_generic_json(h) => h.to_owned(),
        (None, _) => infer_media_type(&doc)?,
    };

    match media_type.as_str() {
        OCI_MANIFEST | DOCKER_MANIFEST => parse_image(&doc, media_type),
        OCI_INDEX | DOCKER_LIST => parse_index(&doc, media_type),
        DOCKER_V1 | DOCKER_V1_SIGNED | ORAS_ARTIFACT => Ok(ParsedManifest {
            media_type,
            kind: ManifestKind::Opaque,
            config: None,
            layers: Vec::new(),
            children: Vec::new(),
            subject: None,
            artifact_type: doc
                .get("artifactType")
                .and_then(Value::as_str)
                .map(str::to_owned),
            annotations: annotations(&doc)?,
        }),
        other => Err(CoreError::ManifestUnsupported(format!(
            "Unsupported manifest media type '{other}'"
        ))),
    }
}

fn is_generic_json(content_type: &str) -> bool {
    matches!(
        content_type,
        "application/json" | "application/octet-stream"
    )
}

/// A manifest without `mediaType` and without a telling Content-Type: OCI allows omitting it.
fn infer_media_type(doc: &Map<String, Value>) -> CoreResult<String> {
    if doc.get("schemaVersion").and_then(Value::as_i64) == Some(1) {
        return Ok(DOCKER_V1.to_owned());
    }
    if doc.contains_key("manifests") {
        Ok(OCI_INDEX.to_owned())
    } else if doc.contains_key("config") {
        Ok(OCI_MANIFEST.to_owned())
    } else {
        Err(CoreError::ManifestUnsupported("Invalid JSON syntax".into()))
    }
}

fn invalid(msg: &str) -> CoreError {
    CoreError::ManifestInvalid(format!("manifest invalid: {msg}"))
}

fn check_schema_version(doc: &Map<String, Value>) -> CoreResult<()> {
    match doc.get("schemaVersion").and_then(Value::as_i64) {
        Some(2) => Ok(()),
        _ => Err(invalid("schemaVersion must be 2")),
    }
}

fn parse_image(doc: &Map<String, Value>, media_type: String) -> CoreResult<ParsedManifest> {
    check_schema_version(doc)?;
    let config = descriptor(
        doc.get("config")
            .ok_or_else(|| invalid("config is required"))?,
        "config",
    )?;
    let layers = descriptors(doc.get("layers"), "layers")?;
    if layers
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.size))
        .is_none()
    {
        return Err(invalid(
            "the layers' sizes add up to more than a 64-bit size",
        ));
    }
    let own_artifact_type = artifact_type(doc)?;
    if media_type == DOCKER_MANIFEST
        && layers
            .iter()
            .any(|l| l.foreign && l.media_type.contains("oci"))
    {
        return Err(invalid(
            "a Docker manifest cannot carry OCI non-distributable layers",
        ));
    }
    let artifact_type = own_artifact_type.or_else(|| Some(config.media_type.clone()));
    Ok(ParsedManifest {
        media_type,
        kind: ManifestKind::Image,
        config: Some(config),
        layers,
        children: Vec::new(),
        subject: subject(doc)?,
        artifact_type,
        annotations: annotations(doc)?,
    })
}

fn parse_index(doc: &Map<String, Value>, media_type: String) -> CoreResult<ParsedManifest> {
    check_schema_version(doc)?;
    let children = descriptors(doc.get("manifests"), "manifests")?;
    Ok(ParsedManifest {
        media_type,
        kind: ManifestKind::Index,
        config: None,
        layers: Vec::new(),
        children,
        subject: subject(doc)?,
        artifact_type: artifact_type(doc)?,
        annotations: annotations(doc)?,
    })
}

fn descriptors(value: Option<&Value>, field: &str) -> CoreResult<Vec<Descriptor>> {
    match value {
        Some(Value::Array(items)) => items.iter().map(|item| descriptor(item, field)).collect(),
        Some(_) => Err(invalid(&format!("{field} must be an array"))),
        None => Err(invalid(&format!("{field} is required"))),
    }
}

fn descriptor(value: &Value, field: &str) -> CoreResult<Descriptor> {
    let Value::Object(obj) = value else {
        return Err(invalid(&format!("{field} must hold descriptors")));
    };
    let media_type = obj
        .get("mediaType")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{field}: descriptor mediaType is required")))?;
    let digest = obj
        .get("digest")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(&format!("{field}: descriptor digest is required")))?;
    let digest = Digest::parse(digest)
        .map_err(|_| invalid(&format!("{field}: invalid digest '{digest}'")))?;
    let size = obj
        .get("size")
        .and_then(Value::as_i64)
        .filter(|s| *s >= 0)
        .ok_or_else(|| {
            invalid(&format!(
                "{field}: descriptor size must be a non-negative integer"
            ))
        })?;
    let has_urls = obj
        .get("urls")
        .and_then(Value::as_array)
        .is_some_and(|u| !u.is_empty());
    let foreign = media_type == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
        || (media_type.starts_with("application/vnd.oci.image.layer.nondistributable") && has_urls);
    Ok(Descriptor {
        media_type: media_type.to_owned(),
        digest,
        size,
        foreign,
    })
}

fn subject(doc: &Map<String, Value>) -> CoreResult<Option<Digest>> {
    doc.get("subject")
        .map(|s| descriptor(s, "subject").map(|d| d.digest))
        .transpose()
}

fn artifact_type(doc: &Map<String, Value>) -> CoreResult<Option<String>> {
    match doc.get("artifactType") {
        None => Ok(None),
        Some(Value::String(s)) if !s.is_empty() => Ok(Some(s.clone())),
        Some(_) => Err(invalid("artifactType must be a non-empty string")),
    }
}

fn annotations(doc: &Map<String, Value>) -> CoreResult<Option<String>> {
    match doc.get("annotations") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) if map.values().all(Value::is_string) => {
            Ok((!map.is_empty()).then(|| Value::Object(map.clone()).to_string()))
        }
        Some(_) => Err(invalid("annotations must map strings to strings")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(n: u8) -> String {
        Digest::of(&[n]).to_string()
    }

    #[test]
    fn image_manifest_with_subject_and_artifact_type() {
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": "application/spdx+json",
            "config": {"mediaType": OCI_EMPTY_CONFIG, "digest": d(0), "size": 2},
            "layers": [{"mediaType": "application/spdx+json", "digest": d(1), "size": 10}],
            "subject": {"mediaType": OCI_MANIFEST, "digest": d(2), "size": 100},
            "annotations": {"a": "b"}
        })
        .to_string();
        let m = parse(body.as_bytes(), Some(OCI_MANIFEST)).unwrap();
        assert_eq!(m.kind, ManifestKind::Image);
        assert_eq!(m.artifact_type.as_deref(), Some("application/spdx+json"));
        assert_eq!(m.subject.as_ref().map(|s| s.to_string()), Some(d(2)));
        assert_eq!(m.required_blobs().len(), 2);
        assert_eq!(m.layers_size(), 10);
    }

    #[test]
    fn config_media_type_is_the_default_artifact_type() {
        let body = serde_json::json!({
            "schemaVersion": 2, "mediaType": DOCKER_MANIFEST,
            "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "digest": d(0), "size": 2},
            "layers": []
        })
        .to_string();
        let m = parse(body.as_bytes(), None).unwrap();
        assert_eq!(
            m.artifact_type.as_deref(),
            Some("application/vnd.docker.container.image.v1+json")
        );
    }

    #[test]
    fn bad_manifests() {
        assert!(matches!(
            parse(b"not json", None),
            Err(CoreError::ManifestUnsupported(_))
        ));
        assert!(matches!(
            parse(b"[]", None),
            Err(CoreError::ManifestUnsupported(_))
        ));
        let mismatch =
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []})
                .to_string();
        assert!(matches!(
            parse(mismatch.as_bytes(), Some(OCI_MANIFEST)),
            Err(CoreError::ManifestInvalid(_))
        ));
        let no_config =
            serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "layers": []})
                .to_string();
        assert!(matches!(
            parse(no_config.as_bytes(), None),
            Err(CoreError::ManifestInvalid(_))
        ));
        let bad_digest = serde_json::json!({"schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "x", "digest": "sha256:zz", "size": 1}, "layers": []})
        .to_string();
        assert!(matches!(
            parse(bad_digest.as_bytes(), None),
            Err(CoreError::ManifestInvalid(_))
        ));
        let withdrawn =
            serde_json::json!({"mediaType": "application/vnd.oci.artifact.manifest.v1+json"})
                .to_string();
        assert!(matches!(
            parse(withdrawn.as_bytes(), None),
            Err(CoreError::ManifestUnsupported(_))
        ));
        let huge = vec![b' '; MAX_MANIFEST_BYTES + 1];
        assert!(matches!(
            parse(&huge, None),
            Err(CoreError::ManifestTooLarge)
        ));
    }
}
