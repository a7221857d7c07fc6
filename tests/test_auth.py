"""The optional bearer token: absent, wrong, right and rotated, on the function and the server,
as processes and as containers (the secret mounted read-only where OpenFaaS mounts it)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from fn.record.features import EXAMPLE
from scripts import launch
from tests.conftest import free_port, start_process, stop_process, wait_healthy

SECRET_DIR = "/var/openfaas/secrets"
TOKEN_NAME = "device-price-token"


@dataclass
class Target:
    url: str
    predict: str
    secret: Path  # the token file as the host writes it
    logs: object


@pytest.fixture(params=["function process", "server process", "function container", "server container"])
def target(request, tmp_path) -> Iterator[Target]:
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    os.chmod(secrets, 0o755)  # the containers run as uid 10001
    secret = secrets / TOKEN_NAME
    kind, how = request.param.split()
    predict = "/" if kind == "function" else "/predict"
    if how == "process":
        port = free_port()
        proc = start_process("fn" if kind == "function" else "baseline",
                             {"port": str(port), "token_file": str(secret), "access_log": "1"})
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        yield Target(url, predict, secret, proc.log.read_text)
        stop_process(proc)
    else:
        image = request.getfixturevalue("fn_image" if kind == "function" else "server_image")
        name, url = launch.docker_run(image, f"device-price-auth-{kind}", {"access_log": "1"}, tmpfs=False,
                                      extra=("-v", f"{secrets}:{SECRET_DIR}:ro"))
        try:
            wait_healthy(url)
            yield Target(url, predict, secret, lambda: launch.docker("logs", name))
        finally:
            launch.stop_container(name)


def write(secret: Path, token: str) -> None:
    secret.write_text(token + "\n")
    os.chmod(secret, 0o644)


def post(target: Target, token: str | None = None) -> requests.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return requests.post(target.url + target.predict, json=EXAMPLE, headers=headers, timeout=10)


def test_absent_wrong_right_and_rotated(target: Target):
    assert post(target).status_code == 200  # no secret file: anyone may call
    write(target.secret, "first-token-1234")
    missing = post(target)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    assert missing.json()["error"]["message"]
    wrong = post(target, "not-the-token")
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    assert "not-the-token" not in wrong.text and "first-token" not in wrong.text
    assert post(target, "first-token-1234").status_code == 200
    for path in ("/_/health", "/_/ready"):  # probes never need it
        assert requests.get(target.url + path, timeout=5).status_code == 200
    write(target.secret, "second-token-5678")  # rotated: no restart
    assert post(target, "first-token-1234").status_code == 401
    assert post(target, "second-token-5678").status_code == 200
    logs = target.logs()
    assert "token-1234" not in logs and "token-5678" not in logs and "not-the-token" not in logs
