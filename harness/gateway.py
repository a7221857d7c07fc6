"""The OpenFaaS gateway's REST API as faas-cli uses it (status, deploy, remove, scale), and one
cold start of a function through it: CE removes and redeploys it, Pro scales it to zero; the
clock starts once the old replica's container is gone. Standard library only (the cold-start
command runs under a bare python3)."""

from __future__ import annotations

import base64
import json
import subprocess
import time
from collections.abc import Callable
from typing import Any

from harness import launch, openfaas

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


def replicas_gone(function: str, engine: str) -> bool:
    """No container (docker) or pod (kubernetes) of the function is left, running or stopping."""
    if engine == "docker":
        return not openfaas.replica_images(function, running=False)
    proc = subprocess.run(["kubectl", "get", "pods", "--all-namespaces", "-l", f"faas_function={function}",
                           "-o", "name"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl get pods: {proc.stderr.strip()[-300:]}")
    return not proc.stdout.strip()


def time_openfaas(gateway: Gateway, spec: dict[str, Any], edition: str, engine: str) -> dict[str, Any]:
    """One cold start; the clock starts only once the old replica's container is gone."""
    gone = lambda: replicas_gone(gateway.function, engine)  # noqa: E731
    if edition == "pro":
        gateway.scale_to_zero()
        # No call may check that it is down: on Pro a call is what wakes a function up.
        gateway.wait(lambda: (gateway.status() or {}).get("availableReplicas", 1) == 0, "0 available replicas")
        gateway.wait(gone, "the old replica's container gone")
        started = time.perf_counter()
    else:
        if gateway.status() is not None:
            gateway.api("DELETE", "/system/functions", {"functionName": gateway.function})
            gateway.wait(lambda: gateway.status() is None, "the function removed")
        gateway.wait(gone, "the old replica's container gone")
        started = time.perf_counter()
        code, body = gateway.api("POST", "/system/functions", spec)
        if code >= 300:
            raise RuntimeError(f"deploy refused: {code} {body[:300].decode(errors='replace')}")
    return {"seconds": launch.wait_for_prediction(gateway.invoke_url(), 300, started), "edition": edition}


def detect_edition(gateway: Gateway) -> str:
    edition = gateway.edition()
    if edition is None:
        raise RuntimeError("the gateway does not say which edition it is (no X-Served-By or X-OpenFaaS-EULA "
                           "header): pass --edition ce or --edition pro")
    return edition
