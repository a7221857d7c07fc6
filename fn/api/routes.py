"""Which path answers what: one table for the function and the server alike.

Three protocols on one port, all over the one data plane (fn/api.py): the native API, KServe
v1 / TensorFlow Serving (/v1/models/device-price[:predict]) and the Open Inference Protocol v2
(/v2/..., fn/v2.py); plus GET /openapi.json, the model card (GET /model) and, for a browser,
the page at GET / (fn/page.py). The function and the server differ only in what
an unlisted path does: the function, like any OpenFaaS function, predicts on a POST to any
other path and describes itself on a GET; the server answers 404. Health probes are the HTTP
layer's (fn/app.py), so that they skip the token and are not counted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

from fn import __version__
from fn.api import dataplane, openapi, page, v2
from fn.api.messages import Request, Response, json_response
from fn.model import card
from fn.record import features
from fn.server import logs

NATIVE_PREDICT = ("/", "/predict")
NATIVE_METADATA = ("/", "/metadata")
OPENAPI = "/openapi.json"
MODEL_CARD = "/model"
# /v2/models/device-price[/versions/V][/ready | /infer]; the model name is matched loosely so
# that another name gets a 404 naming the one served.
_V2_MODEL = re.compile(r"/v2/models/(?P<model>[^/]+)(?:/versions/(?P<version>[^/]+))?(?P<what>/ready|/infer)?")
_V1_MODEL = re.compile(r"/v1/models/(?P<model>[^/:]+)(?P<what>:predict)?")


def _allow(request: Request, *methods: str) -> None:
    allowed = methods + (("HEAD",) if "GET" in methods else ())
    if request.method not in allowed:
        raise dataplane.MethodNotAllowed(request.method, ", ".join(methods))


class Routes:
    """A route (Request -> Response) over one data plane; `function` picks the unlisted paths' answer."""

    def __init__(self, plane: dataplane.DataPlane, function: bool):
        self.plane = plane
        self.function = function
        self._page: bytes | None = None

    def page(self) -> bytes:
        """The page for a person (fn/page.py), rendered on the first visit."""
        if self._page is None:
            model = self.plane.model
            days = model.spec["training_range"]["days_used"]
            self._page = page.render(model.spec["brands"], model.spec["os"], (days[0], days[1]), model.version).encode()
        return self._page

    def __call__(self, request: Request) -> Response:
        path = request.path
        if path.startswith(dataplane.PROTOCOL_PATHS):
            return self.protocol(request)
        if path == OPENAPI:
            _allow(request, "GET")
            return json_response(200, openapi.document())
        if path == MODEL_CARD:
            _allow(request, "GET")
            return json_response(200, card.card(self.plane.model))
        if path == "/" and request.method in ("GET", "HEAD") and _wants_html(request):
            return Response(200, self.page(), [("Content-Type", "text/html; charset=utf-8")])
        if self.function:  # an OpenFaaS function answers on any path
            if request.method == "POST":
                return self.plane.predict(request)
            _allow(request, "GET", "POST")
            return json_response(200, self.plane.metadata())
        if path in NATIVE_PREDICT and request.method == "POST":
            return self.plane.predict(request)
        if path in NATIVE_METADATA:
            _allow(request, *(("GET", "POST") if path == "/" else ("GET",)))
            return json_response(200, self.plane.metadata())
        if path == "/predict":
            _allow(request, "POST")
        raise dataplane.NotFound(f"no route {path[:100]}; use POST /predict, GET /metadata, GET {OPENAPI}, "
                                 f"GET {MODEL_CARD}, /v1/models/device-price or /v2/models/device-price")

    def protocol(self, request: Request) -> Response:
        path = request.path
        if path == "/v2" or path == "/v2/":
            _allow(request, "GET")
            return json_response(200, {"name": v2.NAME, "version": __version__, "extensions": []})
        found = _V2_MODEL.fullmatch(path)
        if found:
            self._check_model(found["model"], found["version"])
            what = found["what"]
            if what == "/infer":
                _allow(request, "POST")
                return self.infer(request)
            _allow(request, "GET")
            if what == "/ready":
                return json_response(200 if self.plane.ready else 503, {"name": v2.NAME, "ready": self.plane.ready})
            return json_response(200, v2.metadata(self.plane.model.version))
        found = _V1_MODEL.fullmatch(path)
        if found:
            self._check_model(found["model"], None)
            if found["what"]:
                _allow(request, "POST")
                return self.predict_v1(request)
            _allow(request, "GET")
            return json_response(200 if self.plane.ready else 503, self.status_v1())
        raise dataplane.NotFound(f"no route {path[:100]}; the protocols' paths are /v2, /v2/health/live, "
                           f"/v2/health/ready, /v2/models/{v2.NAME}[/versions/{{version}}][/ready|/infer], "
                           f"/v1/models/{v2.NAME}[:predict]")

    def _check_model(self, model: str, version: str | None) -> None:
        if model != v2.NAME:
            raise dataplane.NotFound(f"no model {features.quote(model)}; this service serves {v2.NAME!r}",
                               [{"row": None, "field": "model", "reason": "unknown model"}])
        if version is not None and version != self.plane.model.version:
            raise dataplane.NotFound(f"{v2.NAME} has no version {features.quote(version)}; it serves version "
                               f"{self.plane.model.version}",
                               [{"row": None, "field": "version", "reason": "unknown version"}])

    def infer(self, request: Request) -> Response:
        """Open Inference Protocol: input tensors (one per column) -> output tensors."""
        body = self.plane.read_json(request.body, "an inference request {\"inputs\": [...]}")
        records, sent_id, outputs = v2.records(body, self.plane.limits.max_batch_rows)
        answers = self.plane.predictions(records, True)
        return json_response(200, v2.response(answers, self.plane.model.version, sent_id or _call_id(), outputs))

    def predict_v1(self, request: Request) -> Response:
        """KServe v1 / TensorFlow Serving: {"instances": [records]} -> {"predictions": [answers]}."""
        records, batch, options = self.plane.parse(request.body, request.query)
        if not batch:
            raise dataplane.BadRequest("a v1 request is {\"instances\": [record, ...]}",
                                 [{"row": None, "field": "instances", "reason": "is required"}])
        return json_response(200, {"predictions": self.plane.batch(records, options)})

    def status_v1(self) -> dict[str, Any]:
        """KServe v1's {"name", "ready"} and TensorFlow Serving's model_version_status, in one."""
        ready = self.plane.ready
        return {"name": v2.NAME, "ready": ready, "model_version_status": [{
            "version": self.plane.model.version, "state": "AVAILABLE" if ready else "UNAVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]}


def _wants_html(request: Request) -> bool:
    """A browser asks for text/html first; curl (*/*) and API clients get the metadata."""
    return "text/html" in (request.headers.get("Accept") or "")


def _call_id() -> str:
    """This request's call id (returned as X-Call-Id), the id of a v2 answer the client gave none."""
    request = logs.REQUEST.get()
    return request["call_id"] if request else uuid.uuid4().hex


def server_route(plane: dataplane.DataPlane) -> Callable[[Request], Response]:
    return Routes(plane, function=False)
