"""Shared fixtures. REQUIRE_DOCKER=1 / REQUIRE_DATA=1 turn the skips for a missing Docker
engine or dataset into failures, so a green CI run is one that ran them."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

# tflite_runtime cannot create an Interpreter once TensorFlow is imported in the same
# process, unless it was imported first: tests that load Keras rely on this line.
import tflite_runtime.interpreter  # noqa: F401, I001

from convert import data
from convert.data import DataError
from fn.inference import Predictor

ROOT = Path(__file__).resolve().parent.parent


def _skip_or_fail(variable: str, reason: str) -> None:
    if os.environ.get(variable) == "1":
        pytest.fail(f"{reason} ({variable}=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def dataset() -> Path:
    path = data.find_data()
    try:
        data.load(path)
    except DataError as e:
        _skip_or_fail("REQUIRE_DATA", f"dataset not found: {e}")
    return path


@pytest.fixture(scope="session")
def docker() -> str:
    exe = shutil.which("docker")
    if not exe or subprocess.run([exe, "info"], capture_output=True).returncode != 0:
        _skip_or_fail("REQUIRE_DOCKER", "no running Docker engine")
    return exe


@pytest.fixture(scope="session")
def predictor() -> Predictor:
    return Predictor()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: "
                               f"{proc.log.read_text()[-3000:] if hasattr(proc, 'log') else ''}")
        try:
            if requests.get(url + "/_/health", timeout=1).status_code == 200:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} not healthy within {timeout}s")


def start_process(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start a server; its output goes to a file (a pipe nobody reads fills up with access-log
    lines and then blocks the server)."""
    full_env = {**os.environ, "drain_delay": "0", **(env or {})}
    log = Path(tempfile.mkstemp(prefix="device-price-server-", suffix=".log")[1])
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, *args], cwd=ROOT, env=full_env, stdout=out, stderr=subprocess.STDOUT)
    proc.log = log  # type: ignore[attr-defined]
    return proc


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if hasattr(proc, "log"):
        proc.log.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def fn_url():
    port = free_port()
    proc = start_process(["-m", "fn"], {"port": str(port)})
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    yield url
    stop_process(proc)


@pytest.fixture(scope="session")
def baseline_url():
    port = free_port()
    proc = start_process(["-m", "baseline", "--port", str(port), "--workers", "2"])
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc)
    yield url
    stop_process(proc)


def build_image(kind: str) -> str:
    """Build an image the way `make image-<kind>` does (offline-capable)."""
    proc = subprocess.run(["scripts/build_image.sh", kind], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return f"device-price-{kind}:latest"


@pytest.fixture(scope="session")
def fn_image(docker) -> str:
    return build_image("fn")


@pytest.fixture(scope="session")
def server_image(docker) -> str:
    return build_image("server")


def run_container(image: str, port: int, name: str, env: dict[str, str] | None = None,
                  container_port: int = 8080) -> None:
    """As faas-cli local-run would, and then some: read-only, no tmpfs, non-root, no capabilities."""
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)
    args = ["docker", "run", "-d", "--name", name, "--read-only", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "-p", f"127.0.0.1:{port}:{container_port}"]
    for key, value in (env or {}).items():
        args += ["-e", f"{key}={value}"]
    proc = subprocess.run(args + [image], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def serve_container(image: str, name: str, container_port: int):
    """Run an image as run_container does until the session ends; yields its URL once healthy."""
    port = free_port()
    run_container(image, port, name, {"drain_delay": "0"}, container_port)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url)
    except TimeoutError:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        pytest.fail(f"container never healthy:\n{logs.stdout}{logs.stderr}")
    yield url
    subprocess.run(["docker", "rm", "-f", name], capture_output=True)


@pytest.fixture(scope="session")
def fn_container(fn_image):
    yield from serve_container(fn_image, "device-price-fn-test", 8080)


@pytest.fixture(scope="session")
def server_container(server_image):
    yield from serve_container(server_image, "device-price-server-test", 8000)
