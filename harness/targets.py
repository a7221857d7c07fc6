"""The three things this project measures, in one table: how each runs as a process and
as a container, and where to send its requests; and the server configurations the benchmarks
compare. Standard library only."""

from __future__ import annotations

from dataclasses import dataclass

from fn.server.settings import BY_NAME


@dataclass(frozen=True)
class Target:
    name: str
    module: str  # python -m MODULE starts it as a process
    build: str  # scripts/build_image.sh BUILD makes its image
    image: str
    port: int  # where it listens, as a process and in its container
    predict_path: str
    metadata_path: str


def _port(program: str) -> int:
    return BY_NAME["port"].default_for(program)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("function", "fn", "fn", "device-price-fn:latest", _port("fn"), "/", "/"),
    Target("server", "baseline", "server", "device-price-server:latest", _port("baseline"), "/predict", "/metadata"),
    Target("tensorflow", "reference", "tf", "device-price-tf:latest", _port("reference"), "/", "/"),
)}


def by_module(module: str) -> Target:
    for target in TARGETS.values():
        if target.module == module:
            return target
    raise KeyError(f"no target runs python -m {module}")


# configuration -> (target, settings); "shipped" ones are the defaults users get: metrics on
# and one JSON access-log line per request (to /dev/null here; its cost in a container's log
# driver is apart, see docs/benchmarks.md). "observability off" measures what those two cost.
CONFIGURATIONS: dict[str, tuple[str, dict[str, str]]] = {
    "function (shipped: 1 worker, 1 thread)": ("function", {}),
    "server (shipped: 2 workers, 1 thread each)": ("server", {}),
    "function, observability off (no metrics, no access log)": ("function", {"metrics_port": "0", "access_log": "0"}),
    "server, observability off (no metrics, no access log)": ("server", {"metrics_port": "0", "access_log": "0"}),
    "function, 4 threads": ("function", {"threads": "4"}),
    "function, stock Waitress settings, 4 threads": ("function", {"threads": "4", "waitress_tuning": "0"}),
    "server, 2 workers, 2 threads each": ("server", {"threads": "2"}),
}
# The shipped configuration of each target against the same with observability off.
PAIRS = {"function": ("function (shipped: 1 worker, 1 thread)",
                      "function, observability off (no metrics, no access log)"),
         "server": ("server (shipped: 2 workers, 1 thread each)",
                    "server, observability off (no metrics, no access log)")}
