"""Lifecycle policies through the aws CLI and boto3: put/get, validation, previews with the waiter,
and a run after moving ecrd's clock forward (ecrd's /_ecrd/ hooks stand in for ECR's 24 hours)."""

import json

import requests

import compat
from ocilayout import build_image

DAY = 24 * 3600

EXPIRE_AFTER_14_DAYS = json.dumps(
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "expire images pushed more than two weeks ago",
                "selection": {"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 14},
                "action": {"type": "expire"},
            }
        ]
    }
)


def advance_clock(seconds: int) -> None:
    r = requests.post(f"{compat.ENDPOINT}/_ecrd/clock", json={"advanceSeconds": seconds}, timeout=10)
    assert r.status_code == 200, r.text


def run_lifecycle() -> dict:
    r = requests.post(f"{compat.ENDPOINT}/_ecrd/lifecycle/run", timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def test_put_get_delete_and_invalid_policies(repo, tmp_path):
    policy_file = tmp_path / "policy.json"
    policy_file.write_text(EXPIRE_AFTER_14_DAYS)
    compat.aws_error("LifecyclePolicyNotFoundException", "get-lifecycle-policy", "--repository-name", repo)
    put = compat.aws("put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", f"file://{policy_file}")
    assert json.loads(put["lifecyclePolicyText"]) == json.loads(EXPIRE_AFTER_14_DAYS)
    got = compat.aws("get-lifecycle-policy", "--repository-name", repo)
    assert got["repositoryName"] == repo
    assert json.loads(got["lifecyclePolicyText"]) == json.loads(EXPIRE_AFTER_14_DAYS)

    bad = json.loads(EXPIRE_AFTER_14_DAYS)
    bad["rules"][0]["selection"]["tagStatus"] = "sometimes"
    bad_file = tmp_path / "bad.json"
    bad_file.write_text(json.dumps(bad))
    stderr = compat.aws_error(
        "InvalidParameterException", "put-lifecycle-policy", "--repository-name", repo,
        "--lifecycle-policy-text", f"file://{bad_file}",
    )
    assert "Lifecycle policy validation failure" in stderr
    # The refused policy did not replace the stored one.
    got = compat.aws("get-lifecycle-policy", "--repository-name", repo)
    assert json.loads(got["lifecyclePolicyText"]) == json.loads(EXPIRE_AFTER_14_DAYS)
    compat.aws("delete-lifecycle-policy", "--repository-name", repo)
    compat.aws_error("LifecyclePolicyNotFoundException", "delete-lifecycle-policy", "--repository-name", repo)


def test_preview_with_the_waiter_then_a_run_after_two_weeks(repo, registry, ecr, tmp_path):
    old = registry.push_image(repo, build_image(f"{repo}-old", layers=1), tag="old")
    advance_clock(20 * DAY)
    try:
        # Registry passwords expire by ecrd's clock too: a fresh one after the jump.
        fresh_registry = compat.Registry()
        fresh = fresh_registry.push_image(repo, build_image(f"{repo}-fresh", layers=1), tag="fresh")

        policy_file = tmp_path / "policy.json"
        policy_file.write_text(EXPIRE_AFTER_14_DAYS)
        started = compat.aws(
            "start-lifecycle-policy-preview", "--repository-name", repo, "--lifecycle-policy-text", f"file://{policy_file}"
        )
        assert started["status"] == "IN_PROGRESS"
        compat.aws("wait", "lifecycle-policy-preview-complete", "--repository-name", repo)
        preview = compat.aws("get-lifecycle-policy-preview", "--repository-name", repo)
        assert preview["status"] == "COMPLETE"
        assert [r["imageDigest"] for r in preview["previewResults"]] == [old]
        assert preview["previewResults"][0]["action"] == {"type": "EXPIRE"}
        assert preview["summary"]["expiringImageTotalCount"] == 1

        # boto3's waiter agrees.
        ecr.start_lifecycle_policy_preview(repositoryName=repo, lifecyclePolicyText=EXPIRE_AFTER_14_DAYS)
        ecr.get_waiter("lifecycle_policy_preview_complete").wait(
            repositoryName=repo, WaiterConfig={"Delay": 1, "MaxAttempts": 10}
        )

        # Nothing changed yet; a run does what the preview said.
        assert {d["imageDigest"] for d in ecr.describe_images(repositoryName=repo)["imageDetails"]} == {old, fresh}
        compat.aws("put-lifecycle-policy", "--repository-name", repo, "--lifecycle-policy-text", f"file://{policy_file}")
        report = run_lifecycle()
        assert old in report["expired"]
        left = compat.aws("describe-images", "--repository-name", repo)["imageDetails"]
        assert [d["imageDigest"] for d in left] == [fresh]
        assert "lastEvaluatedAt" in compat.aws("get-lifecycle-policy", "--repository-name", repo)
    finally:
        # Other tests hold passwords issued before the jump.
        advance_clock(-20 * DAY)
