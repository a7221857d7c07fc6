"""The OpenFaaS function: handle(event, context) as in the python3-http templates.

Prediction, validation and error mapping come from the shared modules; this file only
routes. The same folder works under python3-http-debian (PYTHON_VERSION=3.11), whose
index.py imports this module and calls handle().
"""

from __future__ import annotations

from typing import Any

from . import api
from .inference import Predictor

_predictor: Any = None


def predictor() -> Predictor:
    """The process's one Predictor, loaded on first use (the entry loads it before listening)."""
    global _predictor
    if _predictor is None:
        _predictor = Predictor()
    return _predictor


def use(loaded: Any) -> Any:
    """Serve this predictor (the entry loads it before listening; the TensorFlow reference
    passes its Keras one, which has the same interface)."""
    global _predictor
    _predictor = loaded
    return loaded


def handle(event: Any, context: Any) -> dict[str, Any]:
    """POST on any path predicts; GET returns the model's metadata and input schema."""
    method = (getattr(event, "method", None) or "GET").upper()
    if method == "POST":
        response = api.predict(predictor(), event.body or b"")
    elif method in ("GET", "HEAD"):
        response = api.metadata(predictor())
    else:
        response = api.method_not_allowed(method, "GET, POST")
    return {"statusCode": response.status, "body": response.body.decode(), "headers": dict(response.headers)}
