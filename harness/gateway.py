"""The OpenFaaS gateway's REST API as faas-cli uses it (status, deploy, remove, scale), and the two
cold starts of a function through it, each one call with a caller's patience and its steps
(harness/stats.py's breakdown): scaled to zero and woken by the call, and deploy -> first call (the
clock starts once the old replica's container is gone); `cold_starts`, the cold-start command's
openfaas mode, interleaves them with `docker run` of the same image in harness/stats.py's rounds.
Standard library only (the cold-start command runs under a bare python3)."""

from __future__ import annotations

import base64
import json
import os
import statistics
import time
from collections.abc import Callable
from typing import Any

from harness import launch, stats

# What a deploy request (POST /system/functions) takes from a function's status.
DEPLOY_FIELDS = ("image", "envProcess", "envVars", "labels", "annotations", "constraints", "secrets", "limits",
                 "requests", "readOnlyRootFilesystem", "namespace")


class Gateway:
    """The OpenFaaS REST API, as faas-cli uses it."""

    def __init__(self, url: str, username: str, password: str | None, function: str):
        self.url = url.rstrip("/")
        self.headers = {}
        if password:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self.function = function

    def api(self, method: str, path: str, value: Any = None) -> tuple[int, bytes]:
        body = json.dumps(value).encode() if value is not None else None
        return launch.http(method, self.url + path, body, self.headers)

    def status(self) -> dict[str, Any] | None:
        code, body = self.api("GET", f"/system/function/{self.function}")
        return json.loads(body) if code == 200 else None

    def wait(self, done: Callable[[], bool], what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway: {what} within {timeout:g} s")
            time.sleep(0.05)

    def scale_to_zero(self) -> None:
        code, body = self.api("POST", f"/system/scale-function/{self.function}",
                              {"serviceName": self.function, "replicas": 0})
        if code >= 300:
            raise RuntimeError(f"scaling to zero refused: {code} {body[:200].decode(errors='replace')}")

    def invoke_url(self) -> str:
        return f"{self.url}/function/{self.function}"

    def edition(self) -> str | None:
        """"ce" or "pro" as the gateway's own headers say (on its info and on a call), else None."""
        for method, path in (("GET", "/system/info"), ("POST", f"/function/{self.function}")):
            try:
                _, headers, _ = launch.exchange(method, self.url + path, launch.EXAMPLE_BODY if method == "POST"
                                                else None, self.headers if path.startswith("/system") else None)
            except OSError:
                continue
            served = headers.get("x-served-by", "")
            if headers.get("x-openfaas-eula") == "openfaas-ce" or served.startswith("openfaas-ce/"):
                return "ce"
            if served.startswith("openfaas-"):  # openfaas-pro/..., openfaas-ee/...: a licensed gateway
                return "pro"
        return None


def deployment(status: dict[str, Any], function: str, engine_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """The deploy request that recreates a function as faas-cli up made it: its status, and what
    the engine shows that the status leaves out."""
    spec = {"service": function}
    spec.update({key: status[key] for key in DEPLOY_FIELDS if status.get(key) is not None})
    spec.update(engine_spec or {})
    return spec


def swarm_fields(function: str) -> dict[str, Any]:
    """The deploy fields faas-swarm's status omits (environment, memory, read-only root, secrets),
    read back from the swarm service it made; without them a redeploy would be another function."""
    spec = json.loads(launch.docker("service", "inspect", function, "--format", "{{json .Spec}}"))
    container, resources = spec["TaskTemplate"]["ContainerSpec"], spec["TaskTemplate"].get("Resources") or {}
    out: dict[str, Any] = {
        "envVars": dict(e.split("=", 1) for e in container.get("Env") or [] if not e.startswith("fprocess=")),
        "readOnlyRootFilesystem": bool(container.get("ReadOnly")),
        "secrets": [s["SecretName"] for s in container.get("Secrets") or []]}
    for key, field in (("limits", "Limits"), ("requests", "Reservations")):
        if (resources.get(field) or {}).get("MemoryBytes"):
            out[key] = {"memory": str(resources[field]["MemoryBytes"])}
    return out


def answered(gateway: Gateway, started: float, logs: Callable[[float], str]) -> dict[str, Any]:
    """One call as a caller makes it, timed from `started` (time.time()), with its breakdown."""
    code, body = launch.http("POST", gateway.invoke_url(), launch.EXAMPLE_BODY, {"Content-Type": "application/json"},
                             timeout=stats.CALL_TIMEOUT_S)
    done = time.time()
    if code != 200:
        raise RuntimeError(f"the first call answered {code}: {body[:200].decode(errors='replace')}")
    return {"seconds": round(done - started, 4),
            "breakdown_s": stats.breakdown(gateway.function, started, done, logs)}


def time_scale_from_zero(gateway: Gateway, edition: str, logs: Callable[[float], str]) -> dict[str, Any]:
    """The idler's step (CE has none: `docker service scale NAME=0`; Pro: its REST API), then one
    call that wakes the function."""
    if edition == "pro":
        gateway.scale_to_zero()
        # No call may check that it is down: on Pro a call is what wakes a function up.
        gateway.wait(lambda: (gateway.status() or {}).get("availableReplicas", 1) == 0, "0 available replicas")
    else:
        launch.scale_service(gateway.function, 0)
    gateway.wait(lambda: not launch.function_containers(gateway.function), "no replica running")
    return answered(gateway, time.time(), logs)


def time_deploy(gateway: Gateway, spec: dict[str, Any], logs: Callable[[float], str]) -> dict[str, Any]:
    """Remove, wait until the old replica's container is gone (it drains first), deploy, one call."""
    if gateway.status() is not None:
        gateway.api("DELETE", "/system/functions", {"functionName": gateway.function})
        gateway.wait(lambda: gateway.status() is None, "the function removed")
    gateway.wait(lambda: not launch.function_containers(gateway.function, stopped=True), "the old replica's container gone")
    started = time.time()
    code, body = gateway.api("POST", "/system/functions", spec)
    if code >= 300:
        raise RuntimeError(f"deploy refused: {code} {body[:300].decode(errors='replace')}")
    return answered(gateway, started, logs)


def summary(runs: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Per way of starting: the median, the median of each step of its breakdown (where it has
    one), the runs."""
    out = {}
    for way, rs in runs.items():
        out[way] = {"median_s": round(statistics.median(r["seconds"] for r in rs), 4)}
        if "breakdown_s" in rs[0]:
            steps = {k: [r["breakdown_s"][k] for r in rs if r["breakdown_s"].get(k) is not None] for k in stats.BREAKDOWN}
            out[way]["breakdown_median_s"] = {k: round(statistics.median(v), 4) if v else None for k, v in steps.items()}
        out[way]["runs"] = rs
    return out


def detect_edition(gateway: Gateway) -> str:
    edition = gateway.edition()
    if edition is None:
        raise RuntimeError("the gateway does not say which edition it is (no X-Served-By or X-OpenFaaS-EULA "
                           "header): pass --edition ce or --edition pro")
    return edition


def cold_starts(runs: int, url: str, function: str, edition: str, gateway_container: str,
                quiet: bool = False) -> dict[str, Any]:
    """The openfaas mode: `runs` rounds of scale from zero, deploy and `docker run` of the deployed
    image; credentials as faas-cli takes them (OPENFAAS_USERNAME, OPENFAAS_PASSWORD)."""
    api = Gateway(url, os.environ.get("OPENFAAS_USERNAME", "admin"), os.environ.get("OPENFAAS_PASSWORD"), function)
    status = api.status()
    if status is None:
        raise RuntimeError(f"{function} is not deployed on {url}: deploy it first (faas-cli up -f stack.yml)")
    spec = deployment(status, function, swarm_fields(function))
    edition = detect_edition(api) if edition == "auto" else edition
    logs = lambda since: stats.container_logs(gateway_container, since)  # noqa: E731
    ways = {"scale_from_zero": lambda: time_scale_from_zero(api, edition, logs),
            "deploy": lambda: time_deploy(api, spec, logs),
            "docker_run": lambda: launch.time_docker(status["image"])}
    found = stats.measure(stats.interleave(list(ways), runs), lambda way: ways[way](), quiet)
    # each way keeps its own runs, beside its median and breakdown
    return stats.result("openfaas", found, {"gateway": url, "edition": edition, "image": status["image"],
                                                **summary(found)}, keep_runs=False)
