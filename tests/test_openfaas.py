"""End to end on a real OpenFaaS CE gateway (faas-swarm provider, one Docker node, a local
registry: ../shared/openfaas, see harness/openfaas.py): the README's offline `faas-cli up`, every
protocol through /function/device-price, a cold start timed two ways, an update and a rollback
under load, the layers a model or code change touches, and the bearer-token secret.

Skipped when the stack cannot start (its folder missing, or OPENFAAS_BIN not naming a folder with
the gateway, faas-swarm and faas-cli: no package registry has them, so CI has no such stack),
unless REQUIRE_OPENFAAS=1, a switch for machines that have the binaries. The stack is
always taken down (down.sh) when the module ends, also when a test or the setup fails, and at
exit if pytest itself is interrupted. It holds the Docker engine in swarm mode meanwhile and uses
127.0.0.1:31112 and :5000. No wall-clock bounds: every wait has a timeout that fails with what it
saw, and the cold-start check compares two timings of the same run with each other.
"""

from __future__ import annotations

import atexit
import json
import os
import secrets
import shutil
import statistics
import time

import pytest
import requests
import yaml

from fn.api import v2
from fn.record.fields import EXAMPLE
from harness import gateway, launch, openfaas, registry, stats, swarm
from scripts import coldstart
from tests.helpers import ROOT, build_image, inventory, skip_or_fail

TAG = "e2e-a"  # the repository as it is
NEXT = "e2e-b"  # another model version (model/ changed)
CODE = "e2e-c"  # a code change (fn/ changed)
OWN_BUILD = "device-price-fn:openfaas-e2e"  # not :latest, which other tests and users hold


def image(tag: str) -> str:
    return f"{openfaas.REGISTRY}/local/device-price:{tag}"


@pytest.fixture(scope="module")
def stack(docker, tmp_path_factory):
    """The running stack, logged in; down.sh afterwards whatever happened. First the README's
    `make image-fn` (under a tag of its own): it makes the Debian base and fills the wheelhouse
    that the offline `faas-cli up` builds from."""
    folder = openfaas.stack_dir()
    if folder is None:
        skip_or_fail("REQUIRE_OPENFAAS", openfaas.missing())
    build_image("fn", OWN_BUILD)
    os.environ["OPENFAAS_CONFIG"] = str(tmp_path_factory.mktemp("faas-cli"))  # not the user's faas-cli login
    s = openfaas.Stack(folder)
    atexit.register(s.down)
    try:
        s.down()  # a clean slate: no function or secret left by an interrupted run
        s.up()
        yield s
    finally:
        s.down()
        atexit.unregister(s.down)
        for ref in (OWN_BUILD, *(image(tag) for tag in (TAG, NEXT, CODE))):
            launch.docker("rmi", "-f", ref, check=False)  # ours; a stopping task may still hold it


def wait_status(url: str, status: int, headers: dict[str, str] | None = None, timeout: float = 120) -> None:
    """Until a prediction through the gateway answers `status` (a deploy is asynchronous)."""
    deadline = time.monotonic() + timeout
    seen = None
    while time.monotonic() < deadline:
        try:
            seen = requests.post(url, data=launch.EXAMPLE_BODY, headers=headers, timeout=5).status_code
        except requests.RequestException as e:
            seen = repr(e)
        if seen == status:
            return
        time.sleep(0.1)
    pytest.fail(f"{url}: no {status} within {timeout:g} s (last: {seen}); replicas: {openfaas.replica_images()}")


@pytest.fixture(scope="module")
def deployed(stack) -> str:
    """The README's offline step, `faas-cli up` to the local registry; the served model version."""
    stack.faas_cli("up", "-f", "stack.yml", env=openfaas.build_env(TAG))
    openfaas.wait_only(image(TAG))
    wait_status(stack.function_url(), 200)
    return requests.get(stack.function_url("/metadata"), timeout=10).json()["model_version"]


def test_every_protocol_through_the_gateway_answers_as_the_function_does(stack, deployed, fn_url):
    gw = stack.function_url()
    one = requests.post(gw, json=EXAMPLE, timeout=10)
    assert one.status_code == 200 and one.headers["X-Served-By"].startswith("openfaas-ce/")
    assert one.json() == requests.post(fn_url, json=EXAMPLE, timeout=10).json()
    assert one.json()["model_version"] == deployed

    kserve = requests.post(gw + "/v1/models/device-price:predict", json={"instances": [EXAMPLE]}, timeout=10)
    assert kserve.status_code == 200
    assert kserve.json()["predictions"][0]["used_price"] == one.json()["used_price"]

    assert requests.get(gw + "/v2/health/ready", timeout=10).status_code == 200
    oip = requests.post(gw + "/v2/models/device-price/infer", json={"id": "e2e", "inputs": v2.tensors([EXAMPLE])},
                        timeout=10)
    assert oip.status_code == 200 and oip.json()["id"] == "e2e" and oip.json()["model_version"] == deployed
    price = next(o["data"][0] for o in oip.json()["outputs"] if o["name"] == "used_price")
    assert price == one.json()["used_price"]

    sent = inventory(3).encode()
    table = requests.post(gw, data=sent, headers={"Content-Type": "text/csv"}, timeout=10)
    assert table.status_code == 200 and table.headers["Content-Type"].startswith("text/csv")
    assert table.text == requests.post(fn_url, data=sent, headers={"Content-Type": "text/csv"}, timeout=10).text

    page = requests.get(gw + "/", headers={"Accept": "text/html"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html") and "<form" in page.text

    card = requests.get(gw + "/model", timeout=10)
    assert card.status_code == 200 and card.json() == requests.get(fn_url + "/model", timeout=10).json()

    for method in ("GET", "POST"):  # the gateway strips /function/device-price; the rest is refused
        unknown = requests.request(method, gw + "/nonexistent", timeout=10)
        assert unknown.status_code == 404, method
    # HEAD never reaches the function: faas-provider's proxy passes GET, POST, PUT, PATCH and DELETE only.
    assert requests.head(gw + "/nonexistent", timeout=10).status_code == 405
    assert requests.head(fn_url + "/nonexistent", timeout=10).status_code == 404
    assert "POST /predict" in requests.get(gw + "/nonexistent", timeout=10).json()["error"]["message"]


def test_coldstart_openfaas_mode_agrees_with_an_independent_timing(stack, deployed, tmp_path, monkeypatch):
    """Interleaved: the tool's runs (scale from zero, deploy, docker run; it redeploys the function as
    faas-cli made it), then a scale from zero timed here with one request; the medians within 25%.
    Each of the tool's breakdowns is in order, and the real gateway logged its wake-up."""
    monkeypatch.setenv("OPENFAAS_PASSWORD", stack.password)
    made = gateway.swarm_fields(openfaas.FUNCTION)
    tool, here = [], []
    for i in range(3):
        out = tmp_path / f"run{i}.json"
        assert coldstart.main(["--mode", "openfaas", "--gateway", stack.url, "--runs", "1", "--quiet",
                               "--json", str(out)]) == 0
        result = json.loads(out.read_text())
        for way in ("scale_from_zero", "deploy"):
            # no "healthy": the image has no check (Dockerfile.fn)
            steps = [result[way]["breakdown_median_s"][k] for k in stats.BREAKDOWN if k != "healthy"]
            assert None not in steps and steps == sorted(steps), (way, result[way])
            assert result[way]["breakdown_median_s"]["healthy"] is None, (way, result[way])
        assert result["docker_run"]["median_s"] < result["scale_from_zero"]["median_s"]
        tool.append(result["scale_from_zero"]["median_s"])
        assert gateway.swarm_fields(openfaas.FUNCTION) == made
        launch.scale_service(openfaas.FUNCTION, 0)
        swarm.wait(lambda: not launch.function_containers(openfaas.FUNCTION), "scaled to zero")
        started = time.perf_counter()
        assert requests.post(stack.function_url(), data=launch.EXAMPLE_BODY, timeout=60).status_code == 200
        here.append(time.perf_counter() - started)
    assert "0 => 1 requested" in stats.container_logs("openfaas-gateway")
    assert abs(statistics.median(tool) - statistics.median(here)) <= 0.25 * statistics.median(here), (tool, here)


def test_update_and_rollback_under_load_fail_no_request(stack, deployed, tmp_path):
    """faas-cli up with a new tag (another model version) while 4 clients call, then a rollback to
    the previous tag: no request fails, and once the old replica is gone only the new version answers."""
    new_version = f"{deployed}-next"
    tree = openfaas.variant(tmp_path / "next", model_version=new_version)
    for command, cwd, tag, version in (("up", tree, NEXT, new_version), ("deploy", ROOT, TAG, deployed)):
        with openfaas.Load(stack.function_url()) as load:
            time.sleep(1)
            started = time.monotonic()
            stack.faas_cli(command, "-f", "stack.yml", env=openfaas.build_env(tag), cwd=cwd)
            openfaas.wait_only(image(tag))
            settled = time.monotonic()
            time.sleep(1.5)
        seen = openfaas.switch(load.answers, started, version, settled)
        assert seen["failed"] == 0, seen
        assert seen["after_settled"] > 0 and seen["old_after_settled"] == 0, seen
        assert seen["first_new_s"] is not None, seen


def test_a_model_update_moves_kilobytes_and_a_code_change_only_the_top_layers(stack, deployed, tmp_path):
    """Built as faas-cli builds them: a model change touches only the top layer (what a node holding
    the previous tag pulls: at most 300 KB compressed, from the registry's blob sizes), a code change
    only the two top ones."""
    builds = {NEXT: openfaas.variant(tmp_path / "model", model_version=f"{deployed}-next"),
              CODE: openfaas.variant(tmp_path / "code", code_note="a code change")}
    # The model's tree also carries bytecode a checkout's own runs leave in fn/ (deploy/openfaas/
    # .dockerignore keeps it out of the context, or the app layer would be rebuilt and pulled).
    fn_copy = builds[NEXT] / "fn"
    fn_copy.unlink()
    shutil.copytree(ROOT / "fn", fn_copy, symlinks=False, ignore=shutil.ignore_patterns("__pycache__"))
    (fn_copy / "model" / "__pycache__").mkdir()
    (fn_copy / "model" / "__pycache__" / "stray.cpython-311.pyc").write_bytes(os.urandom(64))
    for tag, tree in builds.items():
        stack.faas_cli("up", "--skip-deploy", "-f", "stack.yml", env=openfaas.build_env(tag), cwd=tree)
    base, model, code = (registry.layers(image(t)) for t in (TAG, NEXT, CODE))
    assert len(base) == len(model) == len(code) == 3
    assert model[:-1] == base[:-1] and model[-1] != base[-1]
    assert code[0] == base[0] and code[1] != base[1]
    assert registry.pulled_bytes(openfaas.REGISTRY, openfaas.REPOSITORY, TAG, NEXT) <= 300_000


def test_the_token_secret_turns_on_bearer_auth(stack, deployed, tmp_path):
    """faas-cli secret create, `secrets:` in a stack file, faas-cli up: 401 without the token, 200 with
    it (faas-swarm mounts it at /var/openfaas/secrets/device-price-token, where the function looks).
    Last in this module: the function keeps requiring the token afterwards."""
    token = secrets.token_hex(32)
    stack.faas_cli("secret", "create", "device-price-token", "--from-literal", token)
    spec = yaml.safe_load((ROOT / "stack.yml").read_text())  # ${VAR}s kept for faas-cli to fill
    spec["functions"]["device-price"]["secrets"] = ["device-price-token"]
    with_secret = tmp_path / "stack-with-secret.yml"
    with_secret.write_text(yaml.safe_dump(spec, sort_keys=False))
    stack.faas_cli("up", "-f", str(with_secret), env=openfaas.build_env(TAG))
    wait_status(stack.function_url(), 401)
    openfaas.wait_only(image(TAG))  # the replica without the secret has exited
    refused = requests.post(stack.function_url(), json=EXAMPLE, timeout=10)
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = requests.post(stack.function_url(), json=EXAMPLE, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert wrong.status_code == 401
    ok = requests.post(stack.function_url(), json=EXAMPLE, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert ok.status_code == 200 and ok.json()["model_version"] == deployed
