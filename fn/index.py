"""The function's own HTTP entry (no watchdog): python -m fn, on :8080 by default.

The platform glue, like the templates' index.py: it hands each Request to
handler.handle() as the event, and turns the handler's answer back into a Response.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fn import handler
from fn.api import dataplane
from fn.api.messages import Request, Response
from fn.model.tflite import ModelError, Predictor
from fn.server import serve, settings
from fn.server.app import Route

DESCRIPTION = "The device-price function: POST a device record (or {\"instances\": [...]}) to any path."


@dataclass
class Context:
    hostname: str = field(default_factory=socket.gethostname)


CONTEXT = Context()


def route(request: Request) -> Response:
    result = handler.handle(request, CONTEXT)
    return Response(result.get("statusCode", 200), result.get("body", "").encode(),
                    list(result.get("headers", {}).items()))


def serve_handler(plane: dataplane.DataPlane) -> Route:
    handler.use(plane)
    return route


def main(argv: list[str] | None = None, load: Callable[[Any], Any] = Predictor, program: str = "fn",
         name: str = "device-price") -> int:
    """Load the model (before the socket listens), then serve handler.handle over HTTP."""
    try:
        config = settings.load(program, DESCRIPTION, argv)  # a bad flag exits 2 with usage
        started = time.perf_counter()
        model = load(config.model_dir)
    except (settings.ConfigError, ModelError, ValueError, OSError) as e:
        serve.say(name, f"cannot start: {e}")
        return 1
    return serve.run(config, name, model, serve_handler, time.perf_counter() - started)
