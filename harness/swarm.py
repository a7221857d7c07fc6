"""Docker's own swarm mode, the orchestrator OpenFaaS's faas-swarm provider drives, and the cold start
the report is about: a function scaled to zero after idling, woken by the next request.

- Swarm: this engine in single-node swarm mode and an attachable overlay network for functions,
  both undone afterwards if this process made them.
- service_flags: `docker service create` flags for the service faas-swarm 0.9.1 makes from a
  stack.yml function (its handlers/deploy.go makeSpec and main.go, read in its source): labels on
  service and container, environment, memory limit and reservation (no CPU: faas-swarm sets none),
  a read-only root with a tmpfs /tmp, restart on any exit (5 tries, 5 s apart), Linux nodes, the
  minimum replicas; updates one task at a time, start-first, rolled back on failure.
- StandIn: harness/gateway_standin.py in a container on the network, for machines without the
  OpenFaaS binaries; it wakes a function as the real CE gateway does (scale_from_zero=true).
- wake: one scale-from-zero cold start, through a gateway (the real one or the stand-in), with the
  idler emulated as CE users must (it has none): `docker service scale NAME=0`, then, once the
  last replica's container has stopped, one request with a 60 s timeout, as a caller waits. The
  breakdown is harness/stats.py's: Docker's events (container created, started, healthy) and the
  gateway's log line `[Ready] function=NAME waited for`, each in seconds since the request was sent.
A function's containers are harness/launch.py's function_containers (faas-swarm's label).
Standard library only, like harness/launch.py, but for stack_function (PyYAML, the dev extra's).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness import launch, stats

NETWORK = "device-price-functions"
STANDIN = Path(__file__).with_name("gateway_standin.py")


class Swarm:
    """Single-node swarm mode and the functions' overlay network for the duration of a `with`."""

    def __init__(self, network: str = NETWORK):
        self.network = network
        self.joined = self.made_network = False

    def __enter__(self) -> Swarm:
        if launch.docker("info", "--format", "{{.Swarm.LocalNodeState}}") != "active":
            launch.docker("swarm", "init", "--advertise-addr", "127.0.0.1")
            self.joined = True
        if not launch.docker("network", "ls", "-q", "--filter", f"name=^{self.network}$"):
            launch.docker("network", "create", "--driver", "overlay", "--attachable", self.network)
            self.made_network = True
        return self

    def __exit__(self, *_: object) -> None:
        if self.made_network:
            launch.docker("network", "rm", self.network, check=False)
        if self.joined:
            launch.docker("swarm", "leave", "--force", check=False)


def stack_function(stack: Path = launch.ROOT / "stack.yml", function: str = "device-price") -> dict[str, Any]:
    """A stack.yml function with faas-cli's ${VAR:-default}s filled from their defaults."""
    import yaml

    text = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: m.group(2) or "", stack.read_text())
    return yaml.safe_load(text)["functions"][function]


def service_flags(name: str, image: str, function: dict[str, Any], network: str = NETWORK) -> list[str]:
    """`docker service create` arguments for the service faas-swarm makes from `function`, a
    stack.yml function with its variables filled in."""
    labels = {launch.FUNCTION_LABEL: name, **{k: str(v) for k, v in (function.get("labels") or {}).items()}}
    flags = ["--name", name, "--network", network, "--detach", "--restart-condition", "any",
             "--restart-max-attempts", "5", "--restart-delay", "5s", "--constraint", "node.platform.os == linux",
             "--update-parallelism", "1", "--update-order", "start-first", "--update-failure-action", "rollback",
             "--rollback-failure-action", "pause",
             "--replicas", str(labels.get("com.openfaas.scale.min", "1"))]
    for key, value in labels.items():
        flags += ["--label", f"{key}={value}", "--container-label", f"{key}={value}"]
    for key, value in (function.get("environment") or {}).items():
        flags += ["--env", f"{key}={value}"]
    for section, flag in (("limits", "--limit-memory"), ("requests", "--reserve-memory")):
        memory = (function.get(section) or {}).get("memory")
        if memory:
            flags += [flag, _bytes(str(memory))]
    if function.get("readonly_root_filesystem"):
        flags += ["--read-only", "--mount", "type=tmpfs,destination=/tmp"]
    return [*flags, image]


def _bytes(quantity: str) -> str:
    """A Kubernetes memory quantity (64Mi, 1G) as bytes, as faas-swarm parses it."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return str(int(float(quantity[: -len(suffix)]) * factor))
    return quantity


def deploy(name: str, image: str, function: dict[str, Any], network: str = NETWORK) -> None:
    launch.docker("service", "create", *service_flags(name, image, function, network))


def remove(name: str) -> None:
    launch.docker("service", "rm", name, check=False)


def wait(done: Any, what: str, timeout: float = 120) -> float:
    started = time.monotonic()
    while not done():
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} within {timeout:g} s")
        time.sleep(0.05)
    return time.monotonic() - started


def wait_running(name: str, count: int = 1, timeout: float = 120) -> float:
    """Until `count` containers of the function run and each is healthy (or has no check)."""
    def healthy() -> bool:
        ids = launch.function_containers(name)
        return len(ids) == count and all(launch.docker(
            "inspect", "-f", "{{if .State.Health}}{{.State.Health.Status}}{{else}}no check{{end}}", i, check=False)
            in ("healthy", "no check") for i in ids)
    return wait(healthy, f"{count} healthy replica(s) of {name}", timeout)


@dataclass
class StandIn:
    """The gateway stand-in in a container on the network, published on 127.0.0.1:port."""

    image: str
    network: str = NETWORK
    name: str = ""
    url: str = ""

    def __enter__(self) -> StandIn:
        port = launch.free_port()
        self.name = launch.own_name("device-price-gateway-standin")
        launch.docker("run", "-d", "--name", self.name, "--network", self.network, "--user", "0", "--read-only",
                      "-p", f"127.0.0.1:{port}:8080", "-v", "/var/run/docker.sock:/var/run/docker.sock",
                      "-v", f"{STANDIN}:/standin.py:ro", "--entrypoint", "/usr/bin/python3", self.image,
                      "/standin.py", "8080")
        self.url = f"http://127.0.0.1:{port}"
        wait(lambda: "listening" in self.logs(), "the gateway stand-in listening", 30)
        return self

    def logs(self, since: float | None = None) -> str:
        return stats.container_logs(self.name, since)

    def __exit__(self, *_: object) -> None:
        launch.docker("rm", "-f", self.name, check=False)


def wake(gateway: str, name: str, gateway_logs: Callable[[float], str], timeout: float = 180) -> dict[str, Any]:
    """One scale-from-zero cold start through `gateway` (its URL); `gateway_logs(since)` gives the
    gateway's log with timestamps. The idler's step first: scale to 0 and wait until no replica runs."""
    launch.scale_service(name, 0)
    wait(lambda: not launch.function_containers(name), f"{name} scaled to zero", timeout)
    path = launch.image_target(launch.docker("service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
                                             name).split("@")[0]).predict_path
    sent = time.time()
    status, body = launch.http("POST", f"{gateway}/function/{name}{path}", launch.EXAMPLE_BODY,
                               {"Content-Type": "application/json"}, timeout=stats.CALL_TIMEOUT_S)
    answered = time.time()
    if status != 200:
        raise RuntimeError(f"the waking call answered {status}: {body[:200].decode(errors='replace')}")
    steps = stats.breakdown(name, sent, answered, gateway_logs)
    return {"seconds": round(answered - sent, 4), "breakdown_s": steps,
            "date": datetime.now(UTC).isoformat(timespec="seconds")}
