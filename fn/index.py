"""The function's own HTTP entry (no watchdog): python -m fn, on :8080 by default.

The platform glue, like the templates' index.py: it turns an HTTP request into the
event and context that handler.handle() takes, and its answer back into HTTP.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import api, handler, server
from .inference import ModelError


@dataclass
class Event:
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    method: str = "GET"
    query: dict[str, str] = field(default_factory=dict)
    path: str = "/"


@dataclass
class Context:
    hostname: str = field(default_factory=socket.gethostname)


CONTEXT = Context()


def route(method: str, path: str, body: bytes) -> api.Response:
    result = handler.handle(Event(body=body, method=method, path=path), CONTEXT)
    headers = list(result.get("headers", {}).items())
    return api.Response(result.get("statusCode", 200), result.get("body", "").encode(), headers)


def main(load: Callable[[], Any] = handler.predictor, name: str = "device-price") -> int:
    """Load the model (before the socket listens), then serve handler.handle over HTTP."""
    try:
        config = server.Config.from_env()
        predictor = handler.use(load())
    except (server.ConfigError, ModelError, ValueError, OSError) as e:
        print(f"{name}: cannot start: {e}", file=sys.stderr, flush=True)
        return 1
    return server.run(route, config, banner=f"{name} model {predictor.version}: ")
