"""boto3 against ecrd: paginators over several pages, the layer-upload API, modelled errors."""

import base64
import datetime
import json

import pytest
from botocore.exceptions import ClientError

from compat import HOST, unique
from ocilayout import OCI_CONFIG, OCI_MANIFEST, canonical, descriptor, sha256

CONFIG = canonical({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": []}})


def small_manifest(i: int) -> bytes:
    """Distinct image manifests that all reference one config blob and no layers."""
    return canonical({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_CONFIG, CONFIG),
        "layers": [],
        "annotations": {"compat.index": str(i)},
    })


def error_code(excinfo) -> str:
    return excinfo.value.response["Error"]["Code"]


def test_paginate_describe_repositories(ecr):
    prefix = unique("paginate-repos")
    names = [f"{prefix}/r{i}" for i in range(5)]
    for name in names:
        ecr.create_repository(repositoryName=name)

    pages = list(ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 2}))
    assert len(pages) >= 3
    assert all(len(p["repositories"]) <= 2 for p in pages)
    assert all("nextToken" in p for p in pages[:-1]) and "nextToken" not in pages[-1]
    seen = [r["repositoryName"] for p in pages for r in p["repositories"]]
    assert len(seen) == len(set(seen)), "a repository was listed twice"
    assert set(names) <= set(seen)

    # MaxItems is the paginator's own limit; it hands back a resumable NextToken.
    first = ecr.get_paginator("describe_repositories").paginate(
        PaginationConfig={"PageSize": 2, "MaxItems": 3}
    ).build_full_result()
    assert len(first["repositories"]) == 3 and first["NextToken"]
    rest = ecr.get_paginator("describe_repositories").paginate(
        PaginationConfig={"PageSize": 2, "StartingToken": first["NextToken"]}
    ).build_full_result()
    assert [r["repositoryName"] for r in first["repositories"] + rest["repositories"]] == seen


def test_paginate_images(ecr, repo, registry):
    registry.push_blob(repo, CONFIG)  # plain HTTP upload of the one shared blob
    digests = {}
    for i in range(23):
        kw = {"imageTag": f"t{i:02d}"} if i < 9 else {}
        out = ecr.put_image(repositoryName=repo, imageManifest=small_manifest(i).decode(), **kw)
        digests[out["image"]["imageId"]["imageDigest"]] = kw.get("imageTag")
        assert out["image"]["imageId"]["imageDigest"] == sha256(small_manifest(i))

    pages = list(ecr.get_paginator("describe_images").paginate(repositoryName=repo, PaginationConfig={"PageSize": 5}))
    assert [len(p["imageDetails"]) for p in pages] == [5, 5, 5, 5, 3]
    details = [d for p in pages for d in p["imageDetails"]]
    assert sorted(d["imageDigest"] for d in details) == sorted(digests)
    for d in details:
        assert d["repositoryName"] == repo
        assert isinstance(d["imagePushedAt"], datetime.datetime)
        assert d.get("imageTags", [None])[0] == digests[d["imageDigest"]]

    tagged = ecr.get_paginator("describe_images").paginate(
        repositoryName=repo, filter={"tagStatus": "TAGGED"}, PaginationConfig={"PageSize": 4}
    ).build_full_result()["imageDetails"]
    assert sorted(t for d in tagged for t in d["imageTags"]) == [f"t{i:02d}" for i in range(9)]

    pages = list(ecr.get_paginator("list_images").paginate(repositoryName=repo, PaginationConfig={"PageSize": 6}))
    assert len(pages) == 4
    ids = [i for p in pages for i in p["imageIds"]]
    assert len(ids) == 23
    assert {i["imageDigest"]: i.get("imageTag") for i in ids} == digests
    untagged = ecr.get_paginator("list_images").paginate(
        repositoryName=repo, filter={"tagStatus": "UNTAGGED"}, PaginationConfig={"PageSize": 4}
    ).build_full_result()["imageIds"]
    assert len(untagged) == 14 and all("imageTag" not in i for i in untagged)


def upload_parts(ecr, repo: str, parts: list[bytes]) -> str:
    upload = ecr.initiate_layer_upload(repositoryName=repo)
    assert upload["uploadId"] and upload["partSize"] > 0
    first = 0
    for part in parts:
        out = ecr.upload_layer_part(repositoryName=repo, uploadId=upload["uploadId"], partFirstByte=first,
                                    partLastByte=first + len(part) - 1, layerPartBlob=part)
        first += len(part)
        assert out["lastByteReceived"] == first - 1 and out["uploadId"] == upload["uploadId"]
    return upload["uploadId"]


def test_layer_upload_api(ecr, repo, registry):
    # ECR wants every part but the last to be >= 5 MiB; two parts: 5 MiB + a small tail.
    blob = bytes(range(256)) * (5 * 1024 * 4) + b"tail" * 1000
    head, tail = blob[: 5 * 1024 * 1024], blob[5 * 1024 * 1024 :]
    digest = sha256(blob)
    missing = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert missing["layers"] == [] and missing["failures"][0]["failureCode"] == "MissingLayerDigest"

    small = upload_parts(ecr, repo, [tail[:1000], tail[1000:]])
    with pytest.raises(ClientError) as e:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=small, layerDigests=[sha256(tail)])
    assert error_code(e) == "LayerPartTooSmallException"

    upload_id = upload_parts(ecr, repo, [head, tail])
    done = ecr.complete_layer_upload(repositoryName=repo, uploadId=upload_id, layerDigests=[digest])
    assert done["layerDigest"] == digest
    again = upload_parts(ecr, repo, [head, tail])
    with pytest.raises(ClientError) as e:
        ecr.complete_layer_upload(repositoryName=repo, uploadId=again, layerDigests=[digest])
    assert error_code(e) == "LayerAlreadyExistsException"

    avail = ecr.batch_check_layer_availability(repositoryName=repo, layerDigests=[digest])
    assert avail["layers"][0]["layerAvailability"] == "AVAILABLE" and avail["layers"][0]["layerSize"] == len(blob)
    # The registry serves the blob uploaded through the API.
    r = registry.get(f"{repo}/blobs/{digest}")
    assert r.status_code == 200 and r.content == blob

    # And put_image accepts a manifest over it.
    registry.push_blob(repo, CONFIG)
    manifest = canonical({"schemaVersion": 2, "mediaType": OCI_MANIFEST, "config": descriptor(OCI_CONFIG, CONFIG),
                          "layers": [descriptor("application/vnd.oci.image.layer.v1.tar", blob)]})
    ecr.put_image(repositoryName=repo, imageManifest=manifest.decode(), imageTag="api")
    assert ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "api"}])["imageDetails"][0][
        "imageDigest"
    ] == sha256(manifest)


def test_get_authorization_token(ecr):
    data = ecr.get_authorization_token()["authorizationData"]
    assert len(data) == 1
    user, password = base64.b64decode(data[0]["authorizationToken"]).decode().split(":")
    assert user == "AWS" and password
    assert data[0]["proxyEndpoint"].endswith(HOST)
    assert data[0]["expiresAt"] > datetime.datetime.now(datetime.timezone.utc)


def test_error_codes(ecr, repo):
    missing = unique("missing")
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories(repositoryNames=[missing])
    assert error_code(e) == "RepositoryNotFoundException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert e.value.response["ResponseMetadata"]["RequestId"]  # from x-amzn-RequestId
    assert e.value.response["Error"]["Message"] == (
        f"The repository with name '{missing}' does not exist in the registry with id '000000000000'"
    )

    with pytest.raises(ClientError) as e:
        ecr.list_images(repositoryName=missing)
    assert error_code(e) == "RepositoryNotFoundException"

    with pytest.raises(ClientError) as e:
        ecr.describe_images(repositoryName=repo, imageIds=[{"imageTag": "does-not-exist"}])
    assert error_code(e) == "ImageNotFoundException"
    with pytest.raises(ClientError) as e:
        ecr.describe_images(repositoryName=repo, imageIds=[{"imageDigest": sha256(b"nothing")}])
    assert error_code(e) == "ImageNotFoundException"

    for bad in ("Upper/Case", "double//slash", "-leading-dash", "trailing/"):
        with pytest.raises(ClientError) as e:
            ecr.create_repository(repositoryName=bad)
        assert error_code(e) == "InvalidParameterException", bad
        assert e.value.response["Error"]["Message"], bad

    with pytest.raises(ClientError) as e:
        ecr.create_repository(repositoryName=repo)
    assert error_code(e) == "RepositoryAlreadyExistsException"

    with pytest.raises(ClientError) as e:
        ecr.put_image(repositoryName=repo, imageManifest="{not json", imageTag="x")
    assert error_code(e) == "InvalidParameterException"

    # A modelled exception class is raised for the code, as SDK users catch it.
    with pytest.raises(ecr.exceptions.RepositoryNotFoundException):
        ecr.delete_repository(repositoryName=missing)


def test_batch_get_image_by_digest(ecr, repo, registry):
    registry.push_blob(repo, CONFIG)
    body = small_manifest(99)
    ecr.put_image(repositoryName=repo, imageManifest=body.decode(), imageTag="one")
    got = ecr.batch_get_image(repositoryName=repo, imageIds=[{"imageDigest": sha256(body)}],
                              acceptedMediaTypes=[OCI_MANIFEST])
    assert got["failures"] == []
    assert got["images"][0]["imageManifest"] == body.decode()
    assert json.loads(got["images"][0]["imageManifest"])["annotations"] == {"compat.index": "99"}


def test_list_image_referrers_pages(ecr, repo, registry):
    """ListImageReferrers has no paginator in botocore: nextToken/maxResults by hand (default 20)."""
    registry.push_blob(repo, CONFIG)
    subject = small_manifest(-1)
    ecr.put_image(repositoryName=repo, imageManifest=subject.decode(), imageTag="subject")
    referrers = set()
    for i in range(23):
        body = canonical({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST, "artifactType": f"application/vnd.example.{i % 3}",
            "config": descriptor(OCI_CONFIG, CONFIG), "layers": [],
            "subject": descriptor(OCI_MANIFEST, subject), "annotations": {"n": str(i)},
        })
        ecr.put_image(repositoryName=repo, imageManifest=body.decode())
        referrers.add(sha256(body))

    first = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": sha256(subject)})
    assert len(first["referrers"]) == 20 and first["nextToken"]
    seen, token, pages = [], None, 0
    while True:
        kw = {"nextToken": token} if token else {}
        page = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": sha256(subject)},
                                        maxResults=10, **kw)
        pages += 1
        seen += [r["digest"] for r in page["referrers"]]
        token = page.get("nextToken")
        if not token:
            break
    assert pages == 3 and len(seen) == len(set(seen)) and set(seen) == referrers

    only = ecr.list_image_referrers(repositoryName=repo, subjectId={"imageDigest": sha256(subject)},
                                    filter={"artifactTypes": ["application/vnd.example.0"]})
    assert len(only["referrers"]) == 8
    assert {r["artifactType"] for r in only["referrers"]} == {"application/vnd.example.0"}

    # The registry's referrers API lists all of them in one index.
    index = registry.get(f"{repo}/referrers/{sha256(subject)}").json()
    assert {m["digest"] for m in index["manifests"]} == referrers

    with pytest.raises(ClientError) as e:
        ecr.list_image_referrers(repositoryName=unique("missing"), subjectId={"imageDigest": sha256(subject)})
    assert error_code(e) == "RepositoryNotFoundException"
