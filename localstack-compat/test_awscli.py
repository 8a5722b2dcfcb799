"""The aws CLI (v1, `python -m awscli`) and skopeo against ecrd: the workflow a user types."""

import json

from compat import HOST, aws, aws_error, aws_run, aws_text, describe, skopeo, skopeo_raw_manifest, skopeo_run, unique
from conftest import skopeo_login
from ocilayout import (
    EMPTY_JSON,
    OCI_EMPTY,
    OCI_INDEX,
    OCI_MANIFEST,
    build_image,
    build_index,
    canonical,
    descriptor,
    read_layout,
    sha256,
    write_image_layout,
    write_index_layout,
)


def create_repo(prefix: str, *extra: str) -> str:
    name = unique(prefix)
    aws("create-repository", "--repository-name", name, *extra)
    return name


def skopeo_push(src_dir, tag: str, repo: str, authfile, *extra: str):
    return skopeo(
        "copy", "--dest-tls-verify=false", "--preserve-digests", *extra,
        f"oci:{src_dir}:{tag}", f"docker://{HOST}/{repo}:{tag}", authfile=authfile,
    )


def push_image_with_skopeo(tmp_path, repo: str, tag: str, authfile, seed: str | None = None):
    image = build_image(seed or repo + tag, layers=3)
    src = tmp_path / f"src-{tag}"
    write_image_layout(src, tag, image)
    skopeo_push(src, tag, repo, authfile)
    return image


# ---------------------------------------------------------------- repositories and login


def test_create_and_describe_repository():
    name = unique("cli-repo")
    out = aws("create-repository", "--repository-name", name, "--image-tag-mutability", "MUTABLE")
    repo = out["repository"]
    assert repo["repositoryName"] == name
    assert repo["repositoryUri"] == f"{HOST}/{name}"
    assert repo["repositoryArn"] == f"arn:aws:ecr:us-east-1:{repo['registryId']}:repository/{name}"
    assert repo["imageTagMutability"] == "MUTABLE"
    assert isinstance(repo["createdAt"], (int, float))

    described = aws("describe-repositories", "--repository-names", name)["repositories"]
    assert described == [repo]
    everything = aws("describe-repositories")["repositories"]
    assert name in [r["repositoryName"] for r in everything]

    aws_error("RepositoryAlreadyExistsException", "create-repository", "--repository-name", name)
    aws_error("RepositoryNotFoundException", "describe-repositories", "--repository-names", name + "-missing")


def test_get_login_password_and_skopeo_login(tmp_path):
    password = aws_text("get-login-password")
    assert password.endswith("\n") and ":" not in password.strip() and len(password.strip()) > 20

    ok = skopeo_login(tmp_path / "auth.json")
    assert ok.returncode == 0 and "Login Succeeded" in ok.stdout, describe(ok)

    bad = skopeo_run(
        "login", "--authfile", tmp_path / "bad.json", "--tls-verify=false",
        "--username", "AWS", "--password-stdin", HOST, stdin="not-a-valid-token\n",
    )
    assert bad.returncode != 0, describe(bad)


def test_get_login_prints_docker_login(tmp_path):
    """`aws ecr get-login` (CLI v1, deprecated) prints a docker login command with proxyEndpoint."""
    line = aws_text("get-login", "--no-include-email").strip()
    words = line.split()
    assert len(words) == 7 and words[:5] == ["docker", "login", "-u", "AWS", "-p"], line
    assert words[6] == f"http://{HOST}", line
    # The printed password is a working registry password.
    skopeo("login", "--authfile", tmp_path / "auth.json", "--tls-verify=false", "--username", "AWS",
           "--password-stdin", HOST, stdin=words[5] + "\n")


def test_registry_requires_login(tmp_path):
    repo = create_repo("needs-login")
    empty = tmp_path / "empty-auth.json"
    empty.write_text('{"auths":{}}')
    proc = skopeo_run("inspect", "--raw", "--tls-verify=false", f"docker://{HOST}/{repo}:latest", authfile=empty)
    assert proc.returncode != 0, describe(proc)
    assert "unauthorized" in proc.stderr.lower() or "authentication required" in proc.stderr.lower(), describe(proc)


# ---------------------------------------------------------------- skopeo copy in and out


def test_skopeo_copy_image_roundtrip(tmp_path, skopeo_auth):
    repo = create_repo("skopeo-image")
    image = push_image_with_skopeo(tmp_path, repo, "v1", skopeo_auth)

    # The registry serves exactly the bytes that were pushed.
    assert skopeo_raw_manifest(f"{repo}:v1", skopeo_auth) == image.manifest
    assert skopeo_raw_manifest(f"{repo}@{image.digest}", skopeo_auth) == image.manifest
    inspected = json.loads(skopeo("inspect", "--tls-verify=false", f"docker://{HOST}/{repo}:v1", authfile=skopeo_auth).stdout)
    assert inspected["Digest"] == image.digest
    assert inspected["Layers"] == image.layer_digests

    # And out again into a fresh OCI layout: same manifest digest, same blobs.
    out = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", "--preserve-digests",
           f"docker://{HOST}/{repo}:v1", f"oci:{out}:v1", authfile=skopeo_auth)
    index, blobs = read_layout(out)
    assert [m["digest"] for m in index["manifests"]] == [image.digest]
    assert blobs[image.digest] == image.manifest
    for digest, data in image.blobs.items():
        assert blobs[digest] == data, digest

    # The ECR API sees the image.
    details = aws("describe-images", "--repository-name", repo, "--image-ids", "imageTag=v1")["imageDetails"]
    assert len(details) == 1
    d = details[0]
    assert d["imageDigest"] == image.digest
    assert d["imageTags"] == ["v1"]
    assert d["imageManifestMediaType"] == OCI_MANIFEST
    assert d["artifactMediaType"] == "application/vnd.oci.image.config.v1+json"
    assert d["imageSizeInBytes"] >= image.layer_sizes
    assert isinstance(d["imagePushedAt"], (int, float))

    avail = aws("batch-check-layer-availability", "--repository-name", repo, "--layer-digests", *image.layer_digests)
    assert avail["failures"] == []
    assert {l["layerDigest"]: l["layerAvailability"] for l in avail["layers"]} == {
        dg: "AVAILABLE" for dg in image.layer_digests
    }
    # Pulling the manifest (skopeo copy out) counts as a pull.
    assert isinstance(d.get("lastRecordedPullTime"), (int, float)), d

    url = aws("get-download-url-for-layer", "--repository-name", repo, "--layer-digest", image.layer_digests[0])
    assert url["layerDigest"] == image.layer_digests[0] and url["downloadUrl"]


def test_skopeo_copy_multiplatform_index_roundtrip(tmp_path, skopeo_auth):
    repo = create_repo("skopeo-index")
    index, children = build_index(repo)
    src = tmp_path / "src"
    write_index_layout(src, "multi", index, children)
    skopeo_push(src, "multi", repo, skopeo_auth, "--all")

    index_digest = sha256(index)
    assert skopeo_raw_manifest(f"{repo}:multi", skopeo_auth) == index
    for child in children:
        assert skopeo_raw_manifest(f"{repo}@{child.digest}", skopeo_auth) == child.manifest

    out = tmp_path / "out"
    skopeo("copy", "--all", "--src-tls-verify=false", "--preserve-digests",
           f"docker://{HOST}/{repo}:multi", f"oci:{out}:multi", authfile=skopeo_auth)
    out_index, blobs = read_layout(out)
    assert [m["digest"] for m in out_index["manifests"]] == [index_digest]
    assert blobs[index_digest] == index
    for child in children:
        assert blobs[child.digest] == child.manifest
        for digest, data in child.blobs.items():
            assert blobs[digest] == data

    # describe-images: the index is TAGGED, its two platform images UNTAGGED.
    every = aws("describe-images", "--repository-name", repo)["imageDetails"]
    assert {d["imageDigest"] for d in every} == {index_digest, *(c.digest for c in children)}
    tagged = aws("describe-images", "--repository-name", repo, "--filter", "tagStatus=TAGGED")["imageDetails"]
    assert [(d["imageDigest"], d["imageTags"]) for d in tagged] == [(index_digest, ["multi"])]
    assert tagged[0]["imageManifestMediaType"] == OCI_INDEX
    sizes = {d["imageDigest"]: d["imageSizeInBytes"] for d in every}
    assert sizes[index_digest] == max(sizes[c.digest] for c in children)  # ECR: the largest platform image
    untagged = aws("describe-images", "--repository-name", repo, "--filter", "tagStatus=UNTAGGED")["imageDetails"]
    assert {d["imageDigest"] for d in untagged} == {c.digest for c in children}
    assert all("imageTags" not in d for d in untagged)

    # CLI pagination: --max-items returns a NextToken, --starting-token resumes.
    seen, token, pages = [], None, 0
    while True:
        args = ["describe-images", "--repository-name", repo, "--max-items", "1"]
        if token:
            args += ["--starting-token", token]
        page = aws(*args)
        pages += 1
        assert len(page["imageDetails"]) == 1
        seen += [d["imageDigest"] for d in page["imageDetails"]]
        token = page.get("NextToken")
        if not token:
            break
        assert pages < 10
    assert pages == 3 and sorted(seen) == sorted(d["imageDigest"] for d in every)
    # --page-size 1: the CLI makes one call per image and merges them.
    paged = aws("describe-images", "--repository-name", repo, "--page-size", "1")["imageDetails"]
    assert sorted(d["imageDigest"] for d in paged) == sorted(seen)

    # list-images: one entry per tag plus the untagged digests.
    ids = aws("list-images", "--repository-name", repo)["imageIds"]
    assert sorted(ids, key=lambda i: i["imageDigest"]) == sorted(
        [{"imageDigest": index_digest, "imageTag": "multi"}] + [{"imageDigest": c.digest} for c in children],
        key=lambda i: i["imageDigest"],
    )
    first = aws("list-images", "--repository-name", repo, "--max-items", "2")
    assert len(first["imageIds"]) == 2 and first["NextToken"]
    rest = aws("list-images", "--repository-name", repo, "--max-items", "2", "--starting-token", first["NextToken"])
    assert len(rest["imageIds"]) == 1 and "NextToken" not in rest
    assert aws("list-images", "--repository-name", repo, "--filter", "tagStatus=TAGGED")["imageIds"] == [
        {"imageDigest": index_digest, "imageTag": "multi"}
    ]

    # batch-get-image: by tag, by digest, and a failure entry for a missing tag.
    got = aws("batch-get-image", "--repository-name", repo,
              "--image-ids", "imageTag=multi", f"imageDigest={children[0].digest}", "imageTag=missing")
    by_digest = {i["imageId"]["imageDigest"]: i for i in got["images"]}
    assert by_digest[index_digest]["imageManifest"] == index.decode()
    assert by_digest[index_digest]["imageManifestMediaType"] == OCI_INDEX
    assert by_digest[index_digest]["imageId"]["imageTag"] == "multi"
    assert by_digest[children[0].digest]["imageManifest"] == children[0].manifest.decode()
    assert got["failures"] == [
        {"imageId": {"imageTag": "missing"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
    ]

    # A platform image still referenced by the index cannot be deleted on its own.
    refused = aws("batch-delete-image", "--repository-name", repo, "--image-ids", f"imageDigest={children[1].digest}")
    assert refused["imageIds"] == []
    assert [f["failureCode"] for f in refused["failures"]] == ["ImageReferencedByManifestList"]


def test_skopeo_copy_between_repositories(tmp_path, skopeo_auth):
    """registry -> registry on one host (promotion): skopeo offers cross-repository blob mounts."""
    source = create_repo("promote-from")
    target = create_repo("promote-to")
    index, children = build_index(source)
    src = tmp_path / "src"
    write_index_layout(src, "rc", index, children)
    skopeo_push(src, "rc", source, skopeo_auth, "--all")

    skopeo("copy", "--all", "--preserve-digests", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{HOST}/{source}:rc", f"docker://{HOST}/{target}:release", authfile=skopeo_auth)
    assert skopeo_raw_manifest(f"{target}:release", skopeo_auth) == index
    for child in children:
        assert skopeo_raw_manifest(f"{target}@{child.digest}", skopeo_auth) == child.manifest
        avail = aws("batch-check-layer-availability", "--repository-name", target,
                    "--layer-digests", *child.layer_digests, child.config_digest)
        assert avail["failures"] == [] and len(avail["layers"]) == len(child.layer_digests) + 1

    # And once more converted to a Docker manifest list (new digests, same platforms).
    skopeo("copy", "--all", "--format", "v2s2", "--src-tls-verify=false", "--dest-tls-verify=false",
           f"docker://{HOST}/{source}:rc", f"docker://{HOST}/{target}:docker", authfile=skopeo_auth)
    docker_list = json.loads(skopeo_raw_manifest(f"{target}:docker", skopeo_auth))
    assert docker_list["mediaType"] == "application/vnd.docker.distribution.manifest.list.v2+json"
    assert sorted(m["platform"]["architecture"] for m in docker_list["manifests"]) == ["amd64", "arm64"]
    tagged = aws("describe-images", "--repository-name", target, "--filter", "tagStatus=TAGGED")["imageDetails"]
    assert sorted(d["imageManifestMediaType"] for d in tagged) == [
        "application/vnd.docker.distribution.manifest.list.v2+json", OCI_INDEX,
    ]


def test_skopeo_docker_schema2_tags_and_delete(tmp_path, skopeo_auth):
    """skopeo converting to Docker schema 2 on the way in; list-tags; skopeo delete."""
    repo = create_repo("skopeo-v2s2")
    image = build_image(repo, layers=2)
    src = tmp_path / "src"
    write_image_layout(src, "v1", image)
    for tag in ("v1", "v2", "v3"):
        skopeo("copy", "--dest-tls-verify=false", "--format", "v2s2",
               f"oci:{src}:v1", f"docker://{HOST}/{repo}:{tag}", authfile=skopeo_auth)

    raw = skopeo_raw_manifest(f"{repo}:v1", skopeo_auth)
    manifest = json.loads(raw)
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["mediaType"] == "application/vnd.docker.container.image.v1+json"
    detail = aws("describe-images", "--repository-name", repo)["imageDetails"]
    assert len(detail) == 1 and sorted(detail[0]["imageTags"]) == ["v1", "v2", "v3"]
    assert detail[0]["imageDigest"] == sha256(raw)
    assert detail[0]["imageManifestMediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert detail[0]["artifactMediaType"] == "application/vnd.docker.container.image.v1+json"

    tags = json.loads(skopeo("list-tags", "--tls-verify=false", f"docker://{HOST}/{repo}", authfile=skopeo_auth).stdout)
    assert tags["Tags"] == ["v1", "v2", "v3"]

    # skopeo delete resolves the tag and deletes the manifest by digest: the image and all its tags.
    skopeo("delete", "--tls-verify=false", f"docker://{HOST}/{repo}:v2", authfile=skopeo_auth)
    assert aws("list-images", "--repository-name", repo)["imageIds"] == []
    gone = skopeo_run("inspect", "--raw", "--tls-verify=false", f"docker://{HOST}/{repo}:v1", authfile=skopeo_auth)
    assert gone.returncode != 0 and "manifest unknown" in gone.stderr.lower(), describe(gone)


def test_account_from_access_key_id(tmp_path, skopeo_auth):
    """LocalStack convention: a 12-digit access key id selects that account, for the API and the registry."""
    account = "123456789012"
    name = unique("other-account")
    env = {"AWS_ACCESS_KEY_ID": account}
    out = aws("create-repository", "--repository-name", name, env=env)["repository"]
    assert out["registryId"] == account
    assert out["repositoryArn"] == f"arn:aws:ecr:us-east-1:{account}:repository/{name}"
    # Invisible to the default account ...
    aws_error("RepositoryNotFoundException", "describe-repositories", "--repository-names", name)
    # ... and pushable with that account's registry password.
    authfile = tmp_path / "auth.json"
    password = aws_text("get-login-password", env=env)
    skopeo("login", "--authfile", authfile, "--tls-verify=false", "--username", "AWS",
           "--password-stdin", HOST, stdin=password)
    image = build_image(name, layers=1)
    src = tmp_path / "src"
    write_image_layout(src, "v1", image)
    skopeo_push(src, "v1", name, authfile)
    ids = aws("list-images", "--repository-name", name, env=env)["imageIds"]
    assert ids == [{"imageDigest": image.digest, "imageTag": "v1"}]
    assert skopeo_raw_manifest(f"{name}:v1", authfile) == image.manifest
    # The default account's password does not reach it.
    other = skopeo_run("inspect", "--raw", "--tls-verify=false", f"docker://{HOST}/{name}:v1", authfile=skopeo_auth)
    assert other.returncode != 0, describe(other)


# ---------------------------------------------------------------- put-image and batch-delete-image


def test_put_image_and_batch_delete_image(tmp_path, skopeo_auth):
    repo = create_repo("put-image")
    base = push_image_with_skopeo(tmp_path, repo, "v1", skopeo_auth)

    # A second manifest over the same (already uploaded) blobs, put with the CLI from a file.
    manifest = json.loads(base.manifest)
    manifest["annotations"] = {"org.opencontainers.image.version": "2"}
    body = canonical(manifest)
    path = tmp_path / "manifest.json"
    path.write_bytes(body)
    put = aws("put-image", "--repository-name", repo, "--image-tag", "v2", "--image-manifest", f"file://{path}")
    assert put["image"]["imageId"] == {"imageDigest": sha256(body), "imageTag": "v2"}
    assert put["image"]["imageManifest"] == body.decode()
    assert put["image"]["repositoryName"] == repo

    aws_error("ImageAlreadyExistsException",
              "put-image", "--repository-name", repo, "--image-tag", "v2", "--image-manifest", f"file://{path}")
    aws_error("ImageDigestDoesNotMatchException",
              "put-image", "--repository-name", repo, "--image-tag", "v3", "--image-manifest", f"file://{path}",
              "--image-digest", base.digest)
    missing = dict(manifest, layers=manifest["layers"] + [descriptor("application/vnd.oci.image.layer.v1.tar+gzip", b"nope")])
    path_missing = tmp_path / "missing.json"
    path_missing.write_bytes(canonical(missing))
    aws_error("LayersNotFoundException",
              "put-image", "--repository-name", repo, "--image-tag", "v4", "--image-manifest", f"file://{path_missing}")

    # Tag the same image a second time through put-image (same digest, new tag).
    aws("put-image", "--repository-name", repo, "--image-tag", "also-v1", "--image-manifest", f"file://{_write(tmp_path / 'base.json', base.manifest)}")
    tags = {d["imageDigest"]: sorted(d.get("imageTags", [])) for d in aws("describe-images", "--repository-name", repo)["imageDetails"]}
    assert tags == {base.digest: ["also-v1", "v1"], sha256(body): ["v2"]}

    # batch-delete-image: one tag of a two-tag image (image stays), a whole image by digest,
    # and a tag that does not exist (a failure entry, not an exception).
    deleted = aws("batch-delete-image", "--repository-name", repo, "--image-ids",
                  "imageTag=also-v1", f"imageDigest={sha256(body)}", "imageTag=nope")
    assert sorted(deleted["imageIds"], key=json.dumps) == sorted(
        [{"imageDigest": base.digest, "imageTag": "also-v1"}, {"imageDigest": sha256(body), "imageTag": "v2"}],
        key=json.dumps,
    )
    assert deleted["failures"] == [
        {"imageId": {"imageTag": "nope"}, "failureCode": "ImageNotFound", "failureReason": "Requested image not found"}
    ]
    assert aws("list-images", "--repository-name", repo)["imageIds"] == [{"imageDigest": base.digest, "imageTag": "v1"}]

    # The last tag goes, and the image with it.
    last = aws("batch-delete-image", "--repository-name", repo, "--image-ids", "imageTag=v1")
    assert last["imageIds"] == [{"imageDigest": base.digest, "imageTag": "v1"}] and last["failures"] == []
    assert aws("list-images", "--repository-name", repo)["imageIds"] == []
    aws_error("ImageNotFoundException", "describe-images", "--repository-name", repo, "--image-ids", f"imageDigest={base.digest}")


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


# ---------------------------------------------------------------- referrers


def test_list_image_referrers(tmp_path, skopeo_auth, registry):
    help_proc = aws_run("list-image-referrers", "help")
    assert help_proc.returncode == 0, "the pinned awscli must have `aws ecr list-image-referrers`\n" + describe(help_proc)

    repo = create_repo("cli-referrers")
    subject = push_image_with_skopeo(tmp_path, repo, "v1", skopeo_auth)
    registry.push_blob(repo, EMPTY_JSON)
    sbom = b'{"spdxVersion":"SPDX-2.3","name":"compat"}'
    registry.push_blob(repo, sbom)
    referrer = canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": "application/spdx+json",
        "config": descriptor(OCI_EMPTY, EMPTY_JSON),
        "layers": [descriptor("application/spdx+json", sbom)],
        "subject": descriptor(OCI_MANIFEST, subject.manifest),
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    })
    path = _write(tmp_path / "referrer.json", referrer)
    put = aws("put-image", "--repository-name", repo, "--image-manifest", f"file://{path}")
    assert put["image"]["imageId"]["imageDigest"] == sha256(referrer)

    out = aws("list-image-referrers", "--repository-name", repo, "--subject-id", f"imageDigest={subject.digest}")
    assert len(out["referrers"]) == 1
    ref = out["referrers"][0]
    assert ref["digest"] == sha256(referrer)
    assert ref["mediaType"] == OCI_MANIFEST
    assert ref["artifactType"] == "application/spdx+json"
    assert ref["size"] == len(referrer)
    assert ref["annotations"] == {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"}

    filtered = aws("list-image-referrers", "--repository-name", repo, "--subject-id", f"imageDigest={subject.digest}",
                   "--filter", "artifactTypes=application/vnd.cncf.notary.signature")
    assert filtered["referrers"] == []
    assert aws("list-image-referrers", "--repository-name", repo,
               "--subject-id", f"imageDigest={sha256(b'no such subject')}")["referrers"] == []

    # The referrer is an untagged image whose subjectManifestDigest names the subject.
    detail = aws("describe-images", "--repository-name", repo, "--image-ids", f"imageDigest={sha256(referrer)}")["imageDetails"][0]
    assert detail["subjectManifestDigest"] == subject.digest
    assert detail["artifactMediaType"] == "application/spdx+json"


# ---------------------------------------------------------------- tag immutability


def test_immutable_tags_refuse_repush(tmp_path, skopeo_auth):
    repo = create_repo("immutable")
    first = push_image_with_skopeo(tmp_path, repo, "v1", skopeo_auth, seed=repo + "first")

    out = aws("put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "IMMUTABLE")
    assert out["imageTagMutability"] == "IMMUTABLE" and out["repositoryName"] == repo
    assert aws("describe-repositories", "--repository-names", repo)["repositories"][0]["imageTagMutability"] == "IMMUTABLE"

    # put-image of another manifest onto the existing tag is refused ...
    other = json.loads(first.manifest)
    other["annotations"] = {"org.opencontainers.image.version": "other"}
    path = _write(tmp_path / "other.json", canonical(other))
    aws_error("ImageTagAlreadyExistsException",
              "put-image", "--repository-name", repo, "--image-tag", "v1", "--image-manifest", f"file://{path}")

    # ... and so is a skopeo copy of a different image onto that tag.
    second = build_image(repo + "second", layers=2)
    src = tmp_path / "second"
    write_image_layout(src, "v1", second)
    proc = skopeo_run("copy", "--dest-tls-verify=false", "--preserve-digests",
                      f"oci:{src}:v1", f"docker://{HOST}/{repo}:v1", authfile=skopeo_auth)
    assert proc.returncode != 0, describe(proc)
    assert "tag invalid" in proc.stderr.lower() or "TAG_INVALID" in proc.stderr, describe(proc)

    # The tag still names the first image; a new tag is fine.
    assert skopeo_raw_manifest(f"{repo}:v1", skopeo_auth) == first.manifest
    aws("put-image", "--repository-name", repo, "--image-tag", "v2", "--image-manifest", f"file://{path}")

    # Back to MUTABLE: the same skopeo copy now moves the tag.
    back = aws("put-image-tag-mutability", "--repository-name", repo, "--image-tag-mutability", "MUTABLE")
    assert back["imageTagMutability"] == "MUTABLE"
    skopeo_push(src, "v1", repo, skopeo_auth)
    assert skopeo_raw_manifest(f"{repo}:v1", skopeo_auth) == second.manifest
