"""The optional bearer token: absent, wrong, right, rotated and empty, on the function and the
server, as processes and as containers (the secret mounted read-only where OpenFaaS mounts it);
an unreadable token file stops the start-up in one line."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from fn.record.features import EXAMPLE
from fn.server.auth import BearerToken
from harness import launch
from tests.helpers import ROOT, free_port, start_process, stop_process, wait_healthy

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
    write(target.secret, "")  # an empty secret: nobody, not everybody
    assert post(target).status_code == 401
    assert post(target, "").status_code == 401 and post(target, "second-token-5678").status_code == 401
    logs = target.logs()
    assert "token-1234" not in logs and "token-5678" not in logs and "not-the-token" not in logs


# Root reads any file through its capabilities: as root, the program runs without the two that
# override file modes (dropping to another uid would not reach this machine's Python under /root).
WITHOUT_OVERRIDE = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search"]


@pytest.mark.parametrize("module", ["fn", "baseline"])
def test_an_unreadable_token_file_stops_the_start_in_one_line(module, tmp_path):
    """What a secret mounted with a mode the container's uid cannot read did: a PermissionError
    traceback."""
    secret = tmp_path / TOKEN_NAME
    secret.write_text("a-token\n")
    os.chmod(secret, 0o000)
    prefix = WITHOUT_OVERRIDE if os.getuid() == 0 else []
    proc = subprocess.run([*prefix, sys.executable, "-m", module, "--token-file", str(secret), "--port",
                           str(free_port()), "--metrics-port", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "Traceback" not in out and "PermissionError" not in out, out
    # TFLite's own line about its delegate may come first, from the model's load
    assert out.strip().splitlines()[-1].endswith(
        f"cannot start: cannot read the token file {secret} (permission denied, as uid {os.getuid()})"), out


def test_a_token_file_unreadable_since_the_start_lets_nobody_in(tmp_path):
    secret = tmp_path / TOKEN_NAME
    token = BearerToken(secret)
    assert token.allows(None)  # no file: anyone
    write(secret, "a-token")
    assert token.allows("Bearer a-token") and not token.allows(None)
    secret.unlink()
    secret.mkdir()  # unreadable even for root: a directory where the file was
    assert not token.allows("Bearer a-token") and not token.allows(None)
    secret.rmdir()
    write(secret, "a-token")  # readable again: in force again
    assert token.allows("Bearer a-token")
