"""The OpenFaaS function: handle(event, context) as in the python3-http templates.

It only routes; answers and refusals come from the data plane (fn/api/). The same folder
works under python3-http-debian (PYTHON_VERSION=3.11), whose index.py builds the event from
Flask's request and calls handle(); ours (fn/index.py) passes its Request, which has the
event's fields (body, headers, method, query, path), and takes respond()'s Response, which
keeps what the metrics and the log need of a refusal.
"""

from __future__ import annotations

from typing import Any

from fn.api import errors, routes
from fn.api.body import Limits
from fn.api.dataplane import DataPlane
from fn.api.messages import Response
from fn.record.problems import ClientError

_plane: DataPlane | None = None
_route: routes.Routes | None = None


def use(plane: DataPlane) -> DataPlane:
    """Serve through this data plane (the entry makes it once the model is loaded)."""
    global _plane, _route
    _plane, _route = plane, routes.Routes(plane)
    return _plane


def plane() -> DataPlane:
    """The process's one data plane; under another platform's index.py, loaded on first use."""
    if _plane is None:
        from fn.model.tflite import Predictor
        from fn.server import settings

        config = settings.from_env()
        use(DataPlane(Predictor(config.model_dir), Limits(config.max_batch_rows, config.max_body_bytes)))
    assert _plane is not None
    return _plane


def respond(event: Any) -> Response:
    """The paths of fn/api/operations.py; any other is a 404 naming them (fn/api/routes.py)."""
    plane()
    assert _route is not None
    try:
        return _route(event)
    except ClientError as e:
        return errors.render(e, getattr(event, "path", None) or "/")


def handle(event: Any, context: Any) -> dict[str, Any]:
    response = respond(event)
    return {"statusCode": response.status, "body": response.body.decode(), "headers": dict(response.headers)}
