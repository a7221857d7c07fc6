"""The AWS Lambda glue, beside fn/index.py's HTTP one: the same model, handler (fn/handler.py)
and WSGI application, fed by Lambda's Runtime API (fn/server/lambda_runtime.py) instead of a
listening socket. `python -m fn` chooses it when AWS_LAMBDA_RUNTIME_API is set, as Lambda and its
Runtime Interface Emulator set it: one image serves every engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fn import index
from fn.model.tflite import Predictor
from fn.server import lambda_runtime, start


def main(argv: list[str] | None = None, load: Callable[[Any], Any] = Predictor) -> int:
    """Load the model (Lambda's INIT phase), then answer invocations."""
    return start.main("fn", index.DESCRIPTION, load, index.serve_handler, "device-price", argv,
                      runner=lambda_runtime.run)
