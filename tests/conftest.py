"""Shared fixtures (the helpers they and the tests use are in helpers.py). REQUIRE_DOCKER=1 /
REQUIRE_DATA=1 turn the skips for a missing Docker engine or dataset into failures, so a green
CI run is one that ran them."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

# tflite_runtime cannot create an Interpreter once TensorFlow is imported in the same
# process, unless it was imported first: tests that load Keras rely on this line.
import tflite_runtime.interpreter  # noqa: F401, I001

from convert import data
from convert.data import DataError
from fn.api.dataplane import DataPlane
from fn.model.tflite import Predictor
from harness import launch
from harness.launch import TARGETS, free_port
from tests.helpers import build_image, skip_or_fail, start_process, stop_process, wait_healthy


@pytest.fixture(scope="session")
def dataset() -> Path:
    path = data.find_data()
    try:
        data.load(path)
    except DataError as e:
        skip_or_fail("REQUIRE_DATA", f"dataset not found: {e}")
    return path


@pytest.fixture(scope="session")
def docker() -> str:
    exe = shutil.which("docker")
    if not exe or subprocess.run([exe, "info"], capture_output=True).returncode != 0:
        skip_or_fail("REQUIRE_DOCKER", "no running Docker engine")
    return exe


@pytest.fixture(scope="session")
def predictor() -> Predictor:
    return Predictor()


@pytest.fixture(scope="session")
def plane(predictor) -> DataPlane:
    """The data plane over the committed model, with the shipped limits."""
    return DataPlane(predictor)


def serve(target: str, env: dict[str, str] | None = None, flags: tuple[str, ...] = ()):
    """A target's process on a free port until the session ends; yields its URL once healthy."""
    port = free_port()
    proc = start_process(TARGETS[target].module, {"port": str(port), **(env or {})}, flags)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, proc, timeout=120)
    yield url
    stop_process(proc)


@pytest.fixture(scope="session")
def fn_url():
    yield from serve("function")


@pytest.fixture(scope="session")
def baseline_url():
    yield from serve("server", flags=("--workers", "2"))


@pytest.fixture(scope="session")
def reference_url():
    yield from serve("tensorflow")


@pytest.fixture(scope="session")
def fn_image(docker) -> str:
    return build_image("fn")


@pytest.fixture(scope="session")
def server_image(docker) -> str:
    return build_image("server")


def serve_container(image: str, name: str, tmpfs: bool = False, timeout: float = 30.0):
    """Run an image as users run it (read-only, no /tmp unless `tmpfs`, no capabilities, its
    access log on) until the session ends; yields its URL once healthy."""
    name, url = launch.docker_run(image, name, {"access_log": "1"}, tmpfs=tmpfs)
    try:
        wait_healthy(url, timeout=timeout)
    except TimeoutError:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        pytest.fail(f"container never healthy:\n{logs.stdout}{logs.stderr}")
    yield url
    launch.stop_container(name)


@pytest.fixture(scope="session")
def tf_image(docker) -> str:
    return build_image("tf")


@pytest.fixture(scope="session")
def fn_container(fn_image):
    yield from serve_container(fn_image, "device-price-fn-test")


@pytest.fixture(scope="session")
def server_container(server_image):
    yield from serve_container(server_image, "device-price-server-test")


@pytest.fixture(scope="session")
def tf_container(tf_image):
    """The TensorFlow reference as the README runs it: TensorFlow needs a writable /tmp, and
    importing it takes seconds (more on a busy machine)."""
    yield from serve_container(tf_image, "device-price-tf-test", tmpfs=True, timeout=180)
