"""The function's own HTTP entry (no watchdog): python -m fn, on :8080 by default.

The platform glue, like the templates' index.py: it hands each Request to the handler as the
event (fn/handler.py) and takes its answer back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fn import handler
from fn.api.dataplane import DataPlane
from fn.model.tflite import Predictor
from fn.server import start
from fn.server.app import Route

DESCRIPTION = "The device-price function: POST a device record (or {\"instances\": [...]}) to / or /predict."


def serve_handler(plane: DataPlane) -> Route:
    handler.use(plane)
    return handler.respond


def main(argv: list[str] | None = None, load: Callable[[Any], Any] = Predictor, program: str = "fn",
         name: str = "device-price") -> int:
    """Load the model (before the socket listens), then serve the handler over HTTP."""
    return start.main(program, DESCRIPTION, load, serve_handler, name, argv)
