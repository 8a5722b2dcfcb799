"""Helpers shared by the client-compatibility tests: the endpoint, the aws CLI, skopeo, plain HTTP.

The suite talks to one running ecrd whose base URL is in ECRD_ENDPOINT (set by ./run).
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlparse

import boto3
import requests
from botocore.config import Config

from ocilayout import sha256

ENDPOINT = os.environ.get("ECRD_ENDPOINT", "")
HOST = urlparse(ENDPOINT).netloc  # host:port, the registry name skopeo/oras use
REGION = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
CLI_TIMEOUT = 60


def unique(prefix: str) -> str:
    """A repository name no other test uses (tests never share repositories)."""
    return f"compat/{prefix}-{uuid.uuid4().hex[:10]}"


def client_env() -> dict:
    """Environment for client subprocesses: dummy credentials, no user config."""
    env = dict(os.environ)
    env.update(
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION=REGION,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_PAGER="",
    )
    env.pop("AWS_PROFILE", None)
    env.pop("AWS_SESSION_TOKEN", None)
    return env


def describe(proc: subprocess.CompletedProcess) -> str:
    args = proc.args if isinstance(proc.args, str) else " ".join(map(str, proc.args))
    return f"$ {args}\n[exit {proc.returncode}]\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


# ---------------------------------------------------------------- aws CLI


def aws_run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """Runs `python -m awscli ecr <args> --endpoint-url <ecrd> --output json` (env: overrides)."""
    cmd = [sys.executable, "-m", "awscli", "ecr", *map(str, args), "--endpoint-url", ENDPOINT, "--output", "json"]
    return subprocess.run(
        cmd, capture_output=True, text=True, env={**client_env(), **(env or {})}, timeout=CLI_TIMEOUT
    )


def aws(*args: str, env: dict | None = None) -> dict:
    """Runs an `aws ecr` command that must succeed and returns its JSON output ({} if none)."""
    proc = aws_run(*args, env=env)
    assert proc.returncode == 0, describe(proc)
    return json.loads(proc.stdout) if proc.stdout.strip() else {}


def aws_error(code: str, *args: str) -> str:
    """Runs an `aws ecr` command that must fail with the exception `code`; returns stderr."""
    proc = aws_run(*args)
    assert proc.returncode != 0, f"expected {code}\n" + describe(proc)
    assert f"({code})" in proc.stderr, f"expected {code}\n" + describe(proc)
    return proc.stderr


def aws_text(*args: str, env: dict | None = None) -> str:
    """Runs an `aws ecr` command that prints text (get-login-password)."""
    proc = aws_run(*args, env=env)
    assert proc.returncode == 0, describe(proc)
    return proc.stdout


# ---------------------------------------------------------------- skopeo


def skopeo_run(*args: str, authfile: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = client_env()
    if authfile is not None:
        env["REGISTRY_AUTH_FILE"] = str(authfile)
    return subprocess.run(
        ["skopeo", "--insecure-policy", *map(str, args)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def skopeo(*args: str, authfile: Path | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    proc = skopeo_run(*args, authfile=authfile, stdin=stdin)
    assert proc.returncode == 0, describe(proc)
    return proc


def skopeo_raw_manifest(ref: str, authfile: Path) -> bytes:
    """`skopeo inspect --raw docker://HOST/<ref>` as bytes."""
    env = client_env()
    env["REGISTRY_AUTH_FILE"] = str(authfile)
    proc = subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{HOST}/{ref}"],
        capture_output=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc.stdout


# ---------------------------------------------------------------- boto3 and plain HTTP


def ecr_client():
    return boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    ).client(
        "ecr",
        endpoint_url=ENDPOINT,
        config=Config(retries={"max_attempts": 1, "mode": "standard"}),
    )


def registry_password() -> str:
    token = ecr_client().get_authorization_token()["authorizationData"][0]["authorizationToken"]
    user, password = base64.b64decode(token).decode().split(":")
    assert user == "AWS"
    return password


class Registry:
    """Minimal OCI distribution client over `requests` with the ECR Basic credential."""

    def __init__(self, password: str | None = None):
        self.session = requests.Session()
        self.session.auth = ("AWS", password or registry_password())
        self.base = f"{ENDPOINT}/v2"

    def push_blob(self, repo: str, data: bytes) -> str:
        """Monolithic upload: POST then PUT ?digest= with the whole body."""
        digest = sha256(data)
        r = self.session.post(f"{self.base}/{repo}/blobs/uploads/")
        assert r.status_code == 202, (r.status_code, r.headers, r.text)
        location = r.headers["Location"]
        if location.startswith("/"):
            location = ENDPOINT + location
        sep = "&" if "?" in location else "?"
        r = self.session.put(
            f"{location}{sep}digest={digest}",
            data=data,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert r.status_code == 201, (r.status_code, r.headers, r.text)
        return digest

    def put_manifest(self, repo: str, ref: str, manifest: bytes, media_type: str) -> requests.Response:
        r = self.session.put(
            f"{self.base}/{repo}/manifests/{ref}", data=manifest, headers={"Content-Type": media_type}
        )
        assert r.status_code == 201, (r.status_code, r.headers, r.text)
        assert r.headers.get("Docker-Content-Digest") == sha256(manifest), r.headers
        return r

    def push_image(self, repo: str, image, tag: str | None = None) -> str:
        """Pushes every blob of an ocilayout.Image, then its manifest (by tag, or by digest)."""
        for data in image.blobs.values():
            self.push_blob(repo, data)
        self.put_manifest(repo, tag or image.digest, image.manifest, json.loads(image.manifest)["mediaType"])
        return image.digest

    def get(self, path: str, **kw) -> requests.Response:
        return self.session.get(f"{self.base}/{path}", **kw)
