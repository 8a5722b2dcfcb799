"""Builds small, reproducible OCI images and OCI image layouts with the standard library only.

An OCI image layout is a directory with `oci-layout`, `index.json` and `blobs/sha256/<hex>`; skopeo
reads and writes it as `oci:<dir>:<tag>`. Layers are real gzip'd tars (made with tarfile + gzip,
mtime 0) so that the bytes, and hence every digest, only depend on the `seed` passed in.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
EMPTY_JSON = b"{}"
REF_NAME = "org.opencontainers.image.ref.name"


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(obj) -> bytes:
    """The exact manifest bytes we push (digests are computed over these bytes)."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def descriptor(media_type: str, data: bytes, **extra) -> dict:
    return {"mediaType": media_type, "digest": sha256(data), "size": len(data), **extra}


def make_layer(files: dict[str, bytes]) -> tuple[bytes, str]:
    """A gzip'd tar of `files`; returns (compressed bytes, diff_id of the uncompressed tar)."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, content in sorted(files.items()):
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = 0o644
            info.mtime = 0
            tar.addfile(info, io.BytesIO(content))
    tar_bytes = raw.getvalue()
    gz = gzip.compress(tar_bytes, compresslevel=6, mtime=0)
    return gz, sha256(tar_bytes)


@dataclass
class Image:
    """An image manifest plus every blob it needs (config and layers), all as bytes."""

    manifest: bytes
    blobs: dict[str, bytes] = field(default_factory=dict)  # digest -> bytes
    config_digest: str = ""
    layer_digests: list[str] = field(default_factory=list)
    platform: dict | None = None

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def descriptor(self) -> dict:
        d = descriptor(OCI_MANIFEST, self.manifest)
        if self.platform:
            d["platform"] = self.platform
        return d

    @property
    def layer_sizes(self) -> int:
        return sum(len(self.blobs[d]) for d in self.layer_digests)


def build_image(seed: str, arch: str = "amd64", layers: int = 3, annotations: dict | None = None) -> Image:
    """A linux/<arch> OCI image with `layers` gzip'd tar layers whose content derives from `seed`."""
    blobs: dict[str, bytes] = {}
    layer_descs, diff_ids = [], []
    for i in range(layers):
        gz, diff_id = make_layer(
            {
                f"layer{i}/hello.txt": f"hello from {seed} layer {i} ({arch})\n".encode(),
                f"layer{i}/data.bin": hashlib.sha256(f"{seed}/{arch}/{i}".encode()).digest() * 64,
            }
        )
        blobs[sha256(gz)] = gz
        layer_descs.append(descriptor(OCI_LAYER_GZIP, gz))
        diff_ids.append(diff_id)
    config = canonical(
        {
            "architecture": arch,
            "os": "linux",
            "created": "2026-01-01T00:00:00Z",
            "config": {"Cmd": ["/bin/true"], "Labels": {"seed": seed}},
            "rootfs": {"type": "layers", "diff_ids": diff_ids},
            "history": [{"created": "2026-01-01T00:00:00Z", "created_by": f"layer {i}"} for i in range(layers)],
        }
    )
    blobs[sha256(config)] = config
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, config),
        "layers": layer_descs,
    }
    if annotations:
        manifest["annotations"] = annotations
    return Image(
        manifest=canonical(manifest),
        blobs=blobs,
        config_digest=sha256(config),
        layer_digests=[d["digest"] for d in layer_descs],
        platform={"architecture": arch, "os": "linux"},
    )


def build_index(seed: str, archs=("amd64", "arm64")) -> tuple[bytes, list[Image]]:
    """A multi-platform OCI image index over one image per architecture."""
    children = [build_image(seed, arch=a, layers=2) for a in archs]
    index = canonical(
        {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [c.descriptor for c in children]}
    )
    return index, children


def _write_blob(root: Path, data: bytes) -> None:
    digest = sha256(data)
    path = root / "blobs" / "sha256" / digest.split(":", 1)[1]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_layout(root: Path, top: dict, tag: str, blobs: list[bytes]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    (root / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    for data in blobs:
        _write_blob(root, data)
    top = dict(top, annotations={REF_NAME: tag})
    (root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [top]})
    )


def write_image_layout(root: Path, tag: str, image: Image) -> None:
    """Writes `image` as an OCI image layout at `root` under the reference name `tag`."""
    top = descriptor(OCI_MANIFEST, image.manifest)
    _write_layout(root, top, tag, [image.manifest, *image.blobs.values()])


def write_index_layout(root: Path, tag: str, index: bytes, children: list[Image]) -> None:
    """Writes a multi-platform index (and its children) as an OCI image layout."""
    blobs = [index]
    for child in children:
        blobs += [child.manifest, *child.blobs.values()]
    _write_layout(root, descriptor(OCI_INDEX, index), tag, blobs)


def read_layout(root: Path) -> tuple[dict, dict]:
    """(index.json, {digest: blob bytes}) of an OCI image layout."""
    index = json.loads((root / "index.json").read_text())
    blobs = {
        "sha256:" + p.name: p.read_bytes() for p in (root / "blobs" / "sha256").iterdir() if p.is_file()
    }
    return index, blobs
