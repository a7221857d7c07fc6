"""The images themselves: each answers as users run it, size bounds, least privilege, and
shutdown in a container."""

from __future__ import annotations

import json
import math
import subprocess
import threading
import time

import pytest
import requests

from fn.record import encoding
from fn.record.features import EXAMPLE
from harness import launch
from harness.launch import TARGETS
from scripts.report import image_sizes
from tests.helpers import wait_healthy


def inspect(image: str, fmt: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "-f", fmt, image], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_function_image_size_bounds(fn_image):
    uncompressed, gzipped = image_sizes(fn_image)
    assert uncompressed <= 60, f"{uncompressed:.1f} MB uncompressed"
    assert gzipped <= 22, f"{gzipped:.1f} MB gzipped"


def in_image(image: str, code: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", "run", "--rm", "--read-only", "--entrypoint", "/usr/bin/python3", image, "-c",
                           code], capture_output=True, text=True, timeout=60)


def test_numpy_in_the_image_has_no_blas_and_still_works(fn_image):
    """Built from source without BLAS: no OpenBLAS or gfortran, no test-only modules; numpy's
    own import and its bundled linear-algebra fallback work."""
    listing = in_image(fn_image, "import os, numpy; site = os.path.dirname(os.path.dirname(numpy.__file__)); "
                                 "print('\\n'.join(os.path.join(r, f) for r, _, fs in os.walk(site) for f in fs))")
    assert listing.returncode == 0, listing.stderr
    names = listing.stdout.lower()
    assert "openblas" not in names and "gfortran" not in names and "numpy.libs" not in names
    assert "_simd." not in names and "_umath_tests" not in names
    check = in_image(fn_image, "import json, numpy as np, numpy.__config__ as c; a = np.array([[2.0, 1.0], [1.0, 3.0]]); "
                               "print(json.dumps({'blas': c.CONFIG['Build Dependencies']['blas']['name'], "
                               "'identity': np.allclose(np.linalg.inv(a) @ a, np.eye(2))}))")
    assert check.returncode == 0, check.stderr
    assert json.loads(check.stdout) == {"blas": "none", "identity": True}


def test_the_image_predicts_what_keras_does(fn_container, dataset):
    """The parity the conversion checks, again inside the built image: every test row through the
    function container against Keras in this process, within 1e-5."""
    import keras
    import numpy as np

    from convert import data, network, train
    from fn.model.tflite import MODEL_DIR
    from fn.record import features
    from tests.helpers import body

    records, _ = data.load(dataset)
    _, test_idx = train.split(len(records))
    rows = [data.as_sent(records[i]) for i in test_idx]
    answer = requests.post(fn_container, data=body({"instances": rows}), timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    served = np.array([p["normalized_used_price"] for p in answer.json()["predictions"]])
    spec = json.loads((MODEL_DIR / "feature_spec.json").read_text())
    x, _ = encoding.encode(spec, features.check_records(rows))
    # one column per fold member: the served price is their mean
    expected = np.asarray(keras.models.load_model(MODEL_DIR / "model.keras").predict_on_batch(x)).mean(axis=1)
    assert len(served) == len(rows) == math.ceil(len(records) * network.TEST_SIZE)
    assert np.max(np.abs(served - expected)) <= 1e-5


CONTAINERS = {"function": "fn_container", "server": "server_container", "tensorflow": "tf_container"}


@pytest.mark.parametrize("target", CONTAINERS)
def test_every_image_answers_a_prediction(target, request, plane, predictor):
    """The three images, built as `make image-*` builds them and run as users run them, each
    price the example device as the committed model does in this process (the TensorFlow
    reference through Keras: within the conversion's parity)."""
    url = request.getfixturevalue(CONTAINERS[target]) + TARGETS[target].predict_path
    answer = requests.post(url, json=EXAMPLE, timeout=60)
    assert answer.status_code == 200, answer.text[:300]
    expected = plane.predictions([EXAMPLE], batch=False)[0]
    assert abs(answer.json()["normalized_used_price"] - expected["normalized_used_price"]) <= 1e-5
    assert answer.json()["model_version"] == predictor.version


def test_runs_as_numeric_non_root_with_nothing_but_python(fn_image):
    user = inspect(fn_image, "{{.Config.User}}")
    assert user.split(":")[0].isdigit() and user.split(":")[0] != "0"
    for tool in ("/bin/sh", "/usr/bin/pip", "/usr/bin/apt-get"):
        proc = subprocess.run(["docker", "run", "--rm", "--entrypoint", tool, fn_image], capture_output=True)
        assert proc.returncode != 0, f"{tool} exists in the image"
    listing = subprocess.run(["docker", "run", "--rm", "--entrypoint", "/usr/bin/python3", fn_image, "-c",
                              "import tensorflow"], capture_output=True, text=True)
    assert "No module named 'tensorflow'" in listing.stderr


def test_docker_stop_drains_in_flight_batches(fn_image):
    name, url = launch.docker_run(fn_image, "device-price-fn-drain", {"drain_delay": "1s", "write_timeout": "10s"},
                                  tmpfs=False)
    try:
        wait_healthy(url)
        payload = json.dumps({"instances": [dict(EXAMPLE, days_used=90 + i) for i in range(1000)]}).encode()
        statuses: list[int] = []
        done = threading.Event()

        def client() -> None:
            with requests.Session() as s:
                while not done.is_set():
                    try:
                        statuses.append(s.post(url, data=payload, timeout=15).status_code)
                    except requests.ConnectionError:
                        return

        threads = [threading.Thread(target=client) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        started = time.monotonic()
        stop = subprocess.Popen(["docker", "stop", "-t", "20", name])
        time.sleep(0.3)
        assert requests.get(url + "/_/health", timeout=2).status_code == 503
        done.set()
        for t in threads:
            t.join(20)
        assert stop.wait(30) == 0
        assert time.monotonic() - started <= 1 + 10 + 2
        assert inspect_container(name, "{{.State.ExitCode}}") == "0"
        assert statuses and set(statuses) == {200}
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)


def inspect_container(name: str, fmt: str) -> str:
    return subprocess.run(["docker", "inspect", "-f", fmt, name], capture_output=True, text=True).stdout.strip()


def test_server_image_is_as_slim(server_image):
    uncompressed, gzipped = image_sizes(server_image)
    assert uncompressed <= 60 and gzipped <= 22
    assert inspect(server_image, "{{.Config.User}}").split(":")[0] == "10001"
