import shlex
import subprocess
import sys

import pytest

import compat


def pytest_configure(config):
    if not compat.ENDPOINT:
        raise pytest.UsageError(
            "ECRD_ENDPOINT is not set: run localstack-compat/run, or start ecrd yourself and "
            "export ECRD_ENDPOINT=http://127.0.0.1:<port>"
        )


def skopeo_login(authfile) -> subprocess.CompletedProcess:
    """`aws ecr get-login-password | skopeo login --password-stdin`, exactly as a user types it."""
    pipeline = (
        f"{shlex.quote(sys.executable)} -m awscli ecr get-login-password --endpoint-url {compat.ENDPOINT}"
        f" | skopeo login --authfile {shlex.quote(str(authfile))} --tls-verify=false"
        f" --username AWS --password-stdin {compat.HOST}"
    )
    return subprocess.run(
        ["bash", "-o", "pipefail", "-c", pipeline],
        capture_output=True,
        text=True,
        env=compat.client_env(),
        timeout=60,
    )


@pytest.fixture(scope="session")
def skopeo_auth(tmp_path_factory):
    """An auth file holding the ECR password for ecrd, written by `skopeo login`."""
    authfile = tmp_path_factory.mktemp("skopeo") / "auth.json"
    proc = skopeo_login(authfile)
    assert proc.returncode == 0, compat.describe(proc)
    return authfile


@pytest.fixture(scope="session")
def ecr():
    return compat.ecr_client()


@pytest.fixture(scope="session")
def registry():
    return compat.Registry()


@pytest.fixture
def repo(ecr, request):
    """A fresh repository named after the test."""
    name = compat.unique(request.node.name.removeprefix("test_").replace("_", "-")[:40])
    ecr.create_repository(repositoryName=name)
    return name
