"""Docker's own swarm mode, the orchestrator OpenFaaS's faas-swarm provider drives, in CI: the
function deployed as faas-swarm deploys it from stack.yml's own values (harness/swarm.py), with
no health check and its port bound first, a start-first update under load, and a scale from zero woken by one request.

The gateway is harness/gateway_standin.py: CI has no OpenFaaS binaries (no registry has them). It
does what the CE gateway 0.27.14 (scale_from_zero=true) and faas-swarm do in what these tests hold:
it counts a task as available once swarm reports it running, wakes a service scaled to 0 by
setting 1, polls every 100 ms, and proxies to tasks.NAME:8080 with /function/NAME stripped.
tests/test_openfaas.py holds the same through the real gateway where OPENFAAS_BIN has it.

The engine is put in swarm mode for this module only if it was not already, and left afterwards.
"""

from __future__ import annotations

import json

import pytest
import requests

from fn.record.fields import EXAMPLE
from harness import launch, openfaas, stats, swarm

NAME = "device-price-swarm-test"  # not the stack's device-price: a real stack may hold that name


@pytest.fixture(scope="module")
def engine(docker):
    with swarm.Swarm() as s:
        yield s


@pytest.fixture(scope="module")
def gateway(engine, fn_image):
    with swarm.StandIn(fn_image) as g:
        yield g


@pytest.fixture(scope="module")
def function(engine, fn_image):
    swarm.remove(NAME)
    swarm.deploy(NAME, fn_image, swarm.stack_function())
    try:
        swarm.wait_running(NAME)
        yield NAME
    finally:
        swarm.remove(NAME)


def inspect(container: str) -> dict:
    return json.loads(launch.docker("inspect", container))[0]


def test_the_replica_runs_as_stack_yml_says_with_no_check_listening_first(function, fn_image):
    spec = swarm.stack_function()
    (container,) = launch.function_containers(function)
    seen = inspect(container)
    env = dict(e.split("=", 1) for e in seen["Config"]["Env"])
    assert {k: env.get(k) for k in spec["environment"]} == {k: str(v) for k, v in spec["environment"].items()}
    assert seen["HostConfig"]["ReadonlyRootfs"] is True
    assert any(m["Type"] == "tmpfs" and m["Target"] == "/tmp" for m in seen["HostConfig"]["Mounts"])
    assert seen["HostConfig"]["Memory"] == int(swarm._bytes(spec["limits"]["memory"]))
    assert seen["Config"]["Labels"][launch.FUNCTION_LABEL] == function
    # No check to wait for (Dockerfile.fn): swarm routes once the task runs, and the entrypoint has
    # bound the port before Python starts (launcher/listen_first.c).
    assert seen["Config"]["Healthcheck"] == inspect(fn_image)["Config"]["Healthcheck"] == {"Test": ["NONE"]}
    assert "Health" not in seen["State"]
    assert [seen["Path"], *seen["Args"][:3]] == ["/usr/local/bin/listen-first", "/usr/bin/python3", "-m", "fn"]


def test_every_path_through_the_gateway_answers_as_the_function_does(gateway, function, fn_url):
    base = f"{gateway.url}/function/{function}"
    one = requests.post(base, json=EXAMPLE, timeout=30)
    assert one.status_code == 200 and one.json() == requests.post(fn_url, json=EXAMPLE, timeout=10).json()
    card = requests.get(base + "/model", timeout=30)
    assert card.status_code == 200 and card.json() == requests.get(fn_url + "/model", timeout=10).json()
    kserve = requests.post(base + "/v1/models/device-price:predict", json={"instances": [EXAMPLE]}, timeout=30)
    assert kserve.status_code == 200
    assert kserve.json()["predictions"][0]["used_price"] == one.json()["used_price"]
    assert requests.get(base + "/nonexistent", timeout=30).status_code == 404
    # HEAD is refused by the provider's proxy (405), as on the real gateway (tests/test_openfaas.py).
    assert requests.head(base + "/nonexistent", timeout=30).status_code == 405


def test_a_start_first_update_under_load_fails_no_request(gateway, function):
    """A new task (another environment: swarm replaces the task) while 4 clients call through the
    gateway: swarm starts it, routes to it once it runs (its port listens from the start, and a
    request waits there while the model loads), then stops the old one, which drains; no request fails."""
    (old,) = launch.function_containers(function)
    with openfaas.Load(f"{gateway.url}/function/{function}") as load:
        launch.docker("service", "update", "--detach", "--env-add", "update_marker=1", function)
        swarm.wait(lambda: (now := launch.function_containers(function)) not in ([], [old]) and old not in now,
                   "the old replica replaced", 120)
        swarm.wait_running(function)
    statuses = [a.status for a in load.answers]
    assert len(statuses) > 100 and set(statuses) == {200}, {s: statuses.count(s) for s in set(statuses)}


def test_a_function_scaled_to_zero_is_woken_by_one_request(gateway, function):
    """The idler's step (scale to 0), then one call: the gateway scales to 1, waits for the replica,
    and answers 200; each step of the start is seen in Docker's events, in order."""
    run = swarm.wake(gateway.url, function, gateway.logs)
    assert f"function={function} 0 => 1 requested" in gateway.logs()
    # no "healthy": the image has no check (Dockerfile.fn)
    steps = [run["breakdown_s"][k] for k in stats.BREAKDOWN if k != "healthy"]
    assert None not in steps and run["breakdown_s"]["healthy"] is None, run
    assert steps == sorted(steps) and 0 < steps[0] and steps[-1] == run["seconds"], run
    assert len(launch.function_containers(function)) == 1
