"""oras-py (`oras.provider.Registry`) against ecrd: OCI 1.1 artifacts with a subject, the referrers API."""

import json
import os
import urllib.request
from dataclasses import asdict
from urllib.parse import quote

import boto3
import oras.defaults
import oras.oci
import oras.provider
import pytest

from compat import HOST, aws, registry_password
from ocilayout import EMPTY_JSON, OCI_EMPTY, OCI_INDEX, OCI_MANIFEST, build_image, sha256

SPDX = "application/spdx+json"
SIGNATURE = "application/vnd.cncf.notary.signature"
CYCLONEDX = "application/vnd.cyclonedx+json"


@pytest.fixture
def oras_client(tmp_path):
    """oras-py over plain HTTP, logged in as AWS with the password from GetAuthorizationToken."""
    client = oras.provider.Registry(hostname=HOST, insecure=True, auth_backend="basic")
    result = client.login(
        username="AWS", password=registry_password(), hostname=HOST,
        config_path=str(tmp_path / "docker-config.json"),
    )
    assert "Login Succeeded" in json.dumps(result), result
    return client


@pytest.fixture
def subject(repo, registry):
    """An image (the subject of the artifacts), pushed over plain HTTP as <repo>:v1."""
    image = build_image(repo, layers=2)
    registry.push_image(repo, image, tag="v1")
    return image


def subject_of(image) -> oras.oci.Subject:
    return oras.oci.Subject(mediaType=OCI_MANIFEST, digest=image.digest, size=len(image.manifest))


def referrers(client, repo: str, digest: str, artifact_type: str | None = None):
    url = f"http://{HOST}/v2/{repo}/referrers/{digest}"
    if artifact_type:
        url += "?artifactType=" + quote(artifact_type, safe="")  # '+' must be %2B in a query
    r = client.do_request(url, "GET")
    assert r.status_code == 200, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith(OCI_INDEX)
    index = r.json()
    assert index["schemaVersion"] == 2 and index["mediaType"] == OCI_INDEX
    return r, index["manifests"]


def cli_referrers(repo: str, digest: str):
    return aws("list-image-referrers", "--repository-name", repo, "--subject-id", f"imageDigest={digest}")["referrers"]


def test_oras_push_with_subject(oras_client, repo, subject, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # oras-py only pushes files below the working directory
    sbom = b'{"spdxVersion":"SPDX-2.3","name":"oras-push"}'
    (tmp_path / "sbom.spdx.json").write_bytes(sbom)

    # oras-py's push() has no artifactType; the artifact type is the config media type
    # (the ORAS 1.0 convention), which the referrers API reports as artifactType.
    response = oras_client.push(
        target=f"{HOST}/{repo}:sbom",
        files=[f"sbom.spdx.json:{SPDX}"],
        manifest_config=f"no-config-file.json:{SPDX}",
        manifest_annotations={"org.example.tool": "oras-py"},
        subject=subject_of(subject),
        quiet=True,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    assert response.headers.get("OCI-Subject") == subject.digest, dict(response.headers)
    artifact_digest = response.headers["Docker-Content-Digest"]

    r, found = referrers(oras_client, repo, subject.digest)
    assert [m["digest"] for m in found] == [artifact_digest]
    assert found[0]["artifactType"] == SPDX
    assert found[0]["mediaType"] == OCI_MANIFEST
    assert found[0]["annotations"] == {"org.example.tool": "oras-py"}

    listed = cli_referrers(repo, subject.digest)
    assert [(x["digest"], x["artifactType"]) for x in listed] == [(artifact_digest, SPDX)]

    # The artifact pulls back with oras-py, file for file.
    out = tmp_path / "pulled"
    files = oras_client.pull(target=f"{HOST}/{repo}@{artifact_digest}", outdir=str(out))
    assert [open(f, "rb").read() for f in files] == [sbom]


def test_oras_lower_level_oci11_artifact_type(oras_client, repo, subject, tmp_path):
    """Manifests with `artifactType` + empty config + `subject`, pushed with upload_blob/upload_manifest."""
    empty = tmp_path / "empty.json"
    empty.write_bytes(EMPTY_JSON)
    config = {"mediaType": OCI_EMPTY, "digest": sha256(EMPTY_JSON), "size": 2}
    pushed = {}
    for artifact_type, name, body in [
        (SPDX, "sbom.spdx.json", b'{"spdxVersion":"SPDX-2.3"}'),
        (CYCLONEDX, "bom.cdx.json", b'{"bomFormat":"CycloneDX"}'),
    ]:
        path = tmp_path / name
        path.write_bytes(body)
        layer = oras.oci.NewLayer(str(path), media_type=artifact_type)
        layer["annotations"] = {oras.defaults.annotation_title: name}
        container = oras_client.get_container(f"{HOST}/{repo}")
        for blob, desc in ((str(path), layer), (str(empty), config)):
            r = oras_client.upload_blob(blob, container, desc)
            assert r.status_code in (200, 201), (r.status_code, r.text)

        manifest = oras.oci.NewManifest()
        manifest.update(
            artifactType=artifact_type,
            config=config,
            layers=[layer],
            subject=asdict(subject_of(subject)),
            annotations={"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
        )
        # upload_manifest sends requests' json= serialisation: that exact text is the digest.
        digest = sha256(json.dumps(manifest).encode())
        r = oras_client.upload_manifest(manifest, oras_client.get_container(f"{HOST}/{repo}@{digest}"))
        assert r.status_code == 201, (r.status_code, r.text)
        assert r.headers.get("Docker-Content-Digest") == digest
        assert r.headers.get("OCI-Subject") == subject.digest, dict(r.headers)
        pushed[digest] = artifact_type

    r, found = referrers(oras_client, repo, subject.digest)
    assert {m["digest"]: m["artifactType"] for m in found} == pushed
    assert all(m["annotations"] == {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"} for m in found)

    r, only_spdx = referrers(oras_client, repo, subject.digest, artifact_type=SPDX)
    assert [m["artifactType"] for m in only_spdx] == [SPDX]
    assert r.headers.get("OCI-Filters-Applied") == "artifactType"

    listed = cli_referrers(repo, subject.digest)
    assert {x["digest"]: x["artifactType"] for x in listed} == pushed
    assert all(x["mediaType"] == OCI_MANIFEST and x["size"] > 0 for x in listed)

    # Referrers are untagged images; the subject keeps its tag.
    ids = aws("list-images", "--repository-name", repo)["imageIds"]
    assert {i["imageDigest"]: i.get("imageTag") for i in ids} == {subject.digest: "v1", **{d: None for d in pushed}}

    # An unknown subject has no referrers (200 and an empty index, never 404).
    r, none = referrers(oras_client, repo, sha256(b"unknown subject"))
    assert none == []


def test_oras_artifact_pushed_before_its_subject(oras_client, repo, registry, tmp_path, monkeypatch):
    """OCI 1.1: a referrer may be pushed before its subject exists."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sig.json").write_bytes(b'{"sig":1}')
    later = build_image(repo + "later", layers=1)
    response = oras_client.push(
        target=f"{HOST}/{repo}:early-sig",
        files=["sig.json:application/vnd.example.signature+json"],
        manifest_config="none.json:application/vnd.example.signature+json",
        subject=subject_of(later),
        quiet=True,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    _, found = referrers(oras_client, repo, later.digest)
    assert [m["artifactType"] for m in found] == ["application/vnd.example.signature+json"]
    registry.push_image(repo, later, tag="later")
    _, found_after = referrers(oras_client, repo, later.digest)
    assert found_after == found


def test_oras_chunked_push_and_pull(oras_client, repo, tmp_path, monkeypatch):
    """oras-py's chunked upload: POST, PATCH with Content-Range per chunk, PUT ?digest=."""
    monkeypatch.chdir(tmp_path)
    payload = bytes(range(256)) * 1000 + b"end"  # 256,003 bytes: 4 chunks of 64 KiB
    (tmp_path / "model.bin").write_bytes(payload)
    response = oras_client.push(
        target=f"{HOST}/{repo}:chunked",
        files=["model.bin:application/octet-stream"],
        do_chunked=True,
        chunk_size=64 * 1024,
        quiet=True,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    files = oras_client.pull(target=f"{HOST}/{repo}:chunked", outdir=str(tmp_path / "out"))
    assert [open(f, "rb").read() for f in files] == [payload]
    assert oras_client.get_tags(f"{HOST}/{repo}") == ["chunked"]


def test_oras_tags_and_link_pagination(oras_client, repo, registry, ecr):
    """tags/list: oras-py's get_tags, and its Link-header paging (`?n=`), over 7 tags."""
    image = build_image(repo, layers=1)
    registry.push_image(repo, image, tag="t0")
    for i in range(1, 7):
        ecr.put_image(repositoryName=repo, imageManifest=image.manifest.decode(), imageTag=f"t{i}")
    expected = [f"t{i}" for i in range(7)]
    assert oras_client.get_tags(f"{HOST}/{repo}") == expected
    assert oras_client.get_tags(f"{HOST}/{repo}", N=2) == expected[:2]

    pages = []

    def collect(response):
        assert response.status_code == 200
        pages.append(response.json()["tags"])
        return True

    oras_client._do_paginated_request(f"http://{HOST}/v2/{repo}/tags/list?n=3", callable=collect)
    assert pages == [expected[:3], expected[3:6], expected[6:]]


def ecrd_events(detail_type: str) -> list[dict]:
    """Every event of one detail-type ecrd recorded so far (GET /_ecrd/events, page by page)."""
    found, after = [], 0
    while True:
        url = f"http://{HOST}/_ecrd/events?after={after}&detailType={quote(detail_type)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            page = json.load(r)
        if not page["events"]:
            return found
        found += page["events"]
        after = page["lastSequence"]


def test_oras_referrer_push_and_cleanup_emit_referrer_events(oras_client, repo, subject, tmp_path, monkeypatch):
    """The launch post's workflow: a referrer push is an `ECR Referrer Action`, and so is its
    removal by lifecycle after its subject is deleted."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sig.json").write_bytes(b'{"signature":"oras"}')
    response = oras_client.push(
        target=f"{HOST}/{repo}:sig",
        files=[f"sig.json:{SPDX}"],
        manifest_config=f"no-config-file.json:{SPDX}",
        subject=subject_of(subject),
        quiet=True,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    artifact = response.headers["Docker-Content-Digest"]
    mine = lambda: [e for e in ecrd_events("ECR Referrer Action") if e["detail"]["repository-name"] == repo]
    pushed = mine()
    assert [(e["detail"]["action-type"], e["detail"]["image-digest"], e["detail"]["image-tag"]) for e in pushed] == [
        ("PUSH", artifact, "sig")
    ]
    assert pushed[0]["source"] == "aws.ecr" and pushed[0]["detail"]["artifact-media-type"] == SPDX

    aws("batch-delete-image", "--repository-name", repo, "--image-ids", f"imageDigest={subject.digest}")
    urllib.request.urlopen(urllib.request.Request(f"http://{HOST}/_ecrd/lifecycle/run", method="POST"), timeout=30)
    deleted = [e for e in mine() if e["detail"]["action-type"] == "DELETE"]
    assert [(e["detail"]["image-digest"], e["detail"]["image-tag"]) for e in deleted] == [(artifact, "sig")]


def test_an_eventbridge_rule_on_referrer_pushes_gets_the_signature(oras_client, repo, subject, tmp_path, monkeypatch):
    """The launch post's event-driven workflow: an EventBridge rule on `ECR Referrer Action` for one
    repository, targeting an SQS queue, receives the event of a signature pushed with oras. The bus
    and the queue are moto's, which ecrd sends its events to (--events-endpoint)."""
    if not os.environ.get("EVENTS_BUS_ENDPOINT"):
        pytest.fail("EVENTS_BUS_ENDPOINT is not set: run localstack-compat/run, which starts the bus")
    bus = dict(endpoint_url=os.environ["EVENTS_BUS_ENDPOINT"], region_name="us-east-1")
    sqs, events = boto3.client("sqs", **bus), boto3.client("events", **bus)
    name = repo.replace("/", "-")
    queue = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    pattern = {"source": ["aws.ecr"], "detail-type": ["ECR Referrer Action"], "detail": {"repository-name": [repo]}}
    events.put_rule(Name=name, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": queue_arn}])

    monkeypatch.chdir(tmp_path)
    (tmp_path / "sig.json").write_bytes(b'{"signature":"for the rule"}')
    response = oras_client.push(
        target=f"{HOST}/{repo}:signature",
        files=[f"sig.json:{SIGNATURE}"],
        manifest_config=f"no-config-file.json:{SIGNATURE}",
        subject=subject_of(subject),
        quiet=True,
    )
    assert response.status_code == 201, (response.status_code, response.text)
    artifact = response.headers["Docker-Content-Digest"]

    received = []
    for _ in range(20):
        received += sqs.receive_message(QueueUrl=queue, WaitTimeSeconds=1, MaxNumberOfMessages=10).get("Messages", [])
        if received:
            break
    bodies = [json.loads(m["Body"]) for m in received]
    # Only the referrer: the subject's own push (an Image Action) does not match the rule.
    assert [(b["detail-type"], b["detail"]["action-type"], b["detail"]["image-digest"]) for b in bodies] == [
        ("ECR Referrer Action", "PUSH", artifact)
    ], bodies
    assert bodies[0]["source"] == "aws.ecr"
    assert bodies[0]["detail"]["artifact-media-type"] == SIGNATURE
    assert bodies[0]["detail"]["image-tag"] == "signature"

