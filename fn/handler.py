"""The OpenFaaS function: handle(event, context) as in the python3-http templates.

It only routes; answers and errors come from the data plane (fn/api.py). The same folder
works under python3-http-debian (PYTHON_VERSION=3.11), whose index.py builds the event from
Flask's request and calls handle(); ours (fn/index.py) passes its Request, which has the
event's fields (body, headers, method, query, path).
"""

from __future__ import annotations

from typing import Any

from fn.api import dataplane, routes
from fn.api.messages import Response

_plane: dataplane.DataPlane | None = None
_route: routes.Routes | None = None


def use(plane: dataplane.DataPlane) -> dataplane.DataPlane:
    """Serve through this data plane (the entry makes it once the model is loaded)."""
    global _plane, _route
    _plane, _route = plane, routes.Routes(plane, function=True)
    return _plane


def plane() -> dataplane.DataPlane:
    """The process's one data plane; under another platform's index.py, loaded on first use."""
    if _plane is None:
        from fn.model.tflite import Predictor
        from fn.server import settings

        config = settings.from_env()
        use(dataplane.DataPlane(Predictor(config.model_dir), dataplane.Limits(config.max_batch_rows, config.max_body_bytes)))
    assert _plane is not None
    return _plane


def route(event: Any) -> Response:
    """The protocols' paths (fn/routes.py); a POST on any other path predicts, a GET describes the model."""
    plane()
    assert _route is not None
    return _route(event)


def handle(event: Any, context: Any) -> dict[str, Any]:
    try:
        response = route(event)
    except dataplane.CLIENT_ERRORS as e:
        response = dataplane.failure(e, getattr(event, "path", None) or "/")
    return {"statusCode": response.status, "body": response.body.decode(), "headers": dict(response.headers)}
