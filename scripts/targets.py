"""The three things this project measures, in one table: how each runs as a process and
as a container, and where to send its requests. Standard library only."""

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
