"""Which path answers what, for the function and the server alike: the router over the one
table of operations (fn/api/operations.py), which also makes the OpenAPI document.

Three protocols on one port, all over the one data plane (fn/api/dataplane.py): the native
API, KServe v1 / TensorFlow Serving and the Open Inference Protocol v2 (fn/api/v2.py); plus the
OpenAPI document, the model card and, for a browser, the page. The function and the server route
alike: a path not in the table is a 404 naming the paths that are (a client pointed at the wrong
URL gets a clear failure, never the metadata as if it had asked). Behind OpenFaaS the gateway
strips /function/<name> and passes `/` or one of these paths. Probes are answered here too, but
the HTTP layer (fn/server/app.py) lets them skip the token and the metrics.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

from fn import __version__
from fn.api import errors, openapi, page, v2
from fn.api.body import read_options
from fn.api.dataplane import DataPlane
from fn.api.errors import BadRequest, MethodNotAllowed, NotFound
from fn.api.messages import Request, Response, json_response
from fn.api.operations import OPERATIONS, Operation
from fn.model import card
from fn.record.fields import OPTIONS
from fn.record.problems import detail, quote


def _pattern(path: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", path)  # literal, name, literal, ...
    return re.compile("".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>[^/:]+)" for i, p in enumerate(parts)))


def _by_path() -> dict[str, tuple[re.Pattern[str], dict[str, Operation]]]:
    """Each declared path once, with its pattern and its operations by method."""
    paths: dict[str, tuple[re.Pattern[str], dict[str, Operation]]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, (_pattern(op.path), {}))[1][op.method] = op
    return paths


PATHS = _by_path()


def match(path: str) -> tuple[dict[str, Operation], dict[str, str]] | None:
    """The operations declared at `path` by method, and the path's parameters; None if none is."""
    for pattern, methods in PATHS.values():
        found = pattern.fullmatch(path)
        if found:
            return methods, found.groupdict()
    return None


def not_found(path: str) -> NotFound:
    """The answer to a path no operation is declared at: it names the paths that are (under /v1/ and
    /v2 the protocols' own; elsewhere the native API's, then where the protocols start)."""
    if errors.is_protocol(path):
        known = [p for p in PATHS if errors.is_protocol(p)]
    else:
        known = [f"{op.method} {op.path}" for op in OPERATIONS if not op.probe and not op.protocol]
        known += [f"/v1/models/{v2.NAME}", f"/v2/models/{v2.NAME}"]
    return NotFound(f"no route {quote(path)}; the paths are " + ", ".join(known),
                    [detail("path", f"is not served: {quote(path)}")])


class Routes:
    """A route (Request -> Response) over one data plane."""

    def __init__(self, plane: DataPlane):
        self.plane = plane
        self._page: bytes | None = None

    def __call__(self, request: Request) -> Response:
        found = match(request.path)
        if found is None:
            raise not_found(request.path)
        methods, params = found
        method = "GET" if request.method == "HEAD" else request.method
        if method not in methods:
            raise MethodNotAllowed(request.method, ", ".join(methods))
        return getattr(self, methods[method].answer)(request, params)

    # -- the native API ------------------------------------------------------------------------

    def root(self, request: Request, params: dict[str, str]) -> Response:
        """A browser asks for text/html first; curl (*/*) and API clients get the metadata."""
        if "text/html" in (request.headers.get("Accept") or ""):
            return Response(200, self.page(), [("Content-Type", "text/html; charset=utf-8")])
        return self.metadata(request, params)

    def page(self) -> bytes:
        """The page for a person (fn/api/page.py), rendered on the first visit."""
        if self._page is None:
            model = self.plane.model
            self._page = page.render(model.spec, model.version).encode()
        return self._page

    def predict(self, request: Request, params: dict[str, str]) -> Response:
        return self.plane.predict(request)

    def metadata(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, self.plane.metadata())

    def model_card(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, card.card(self.plane.model))

    def openapi(self, request: Request, params: dict[str, str]) -> Response:
        intervals = self.plane.model.intervals
        return json_response(200, openapi.document(self.plane.limits, intervals.levels, intervals.default))

    # -- probes ----------------------------------------------------------------------------------

    def health(self, request: Request, params: dict[str, str]) -> Response:
        ready = self.plane.ready
        return json_response(200 if ready else 503, {"status": "ok" if ready else "draining"})

    def live(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, {"live": True})

    def ready(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200 if self.plane.ready else 503, {"ready": self.plane.ready})

    # -- the Open Inference Protocol v2 ----------------------------------------------------------

    def v2_server(self, request: Request, params: dict[str, str]) -> Response:
        return json_response(200, {"name": v2.NAME, "version": __version__, "extensions": []})

    def v2_model(self, request: Request, params: dict[str, str]) -> Response:
        self._check_model(params)
        return json_response(200, v2.metadata(self.plane.model.version))

    def v2_ready(self, request: Request, params: dict[str, str]) -> Response:
        self._check_model(params)
        return json_response(200 if self.plane.ready else 503, {"name": v2.NAME, "ready": self.plane.ready})

    def infer(self, request: Request, params: dict[str, str]) -> Response:
        """Input tensors (one per column) -> output tensors."""
        self._check_model(params)
        if any(name in request.query for name in OPTIONS):  # refused, not dropped
            raise BadRequest("v2 takes its options in the request's parameters (\"parameters\": {\"level\": 0.8})",
                             [detail(name, "goes in parameters, not the query") for name in OPTIONS
                              if name in request.query])
        body = self.plane.read_json(request.body, "an inference request {\"inputs\": [...]}")
        records, sent_id, outputs, asked = v2.records(body, self.plane.limits.max_batch_rows)
        options = read_options(asked, {}, self.plane.model.intervals.levels)
        answers = self.plane.predictions(records, True, options)
        return json_response(200, v2.response(answers, self.plane.model.version,
                                              sent_id or request.call_id or uuid.uuid4().hex, outputs))

    # -- KServe v1 / TensorFlow Serving ------------------------------------------------------------

    def v1_status(self, request: Request, params: dict[str, str]) -> Response:
        """KServe v1's {"name", "ready"} and TensorFlow Serving's model_version_status, in one."""
        self._check_model(params)
        ready = self.plane.ready
        return json_response(200 if ready else 503, {"name": v2.NAME, "ready": ready, "model_version_status": [{
            "version": self.plane.model.version, "state": "AVAILABLE" if ready else "UNAVAILABLE",
            "status": {"error_code": "OK", "error_message": ""}}]})

    def v1_predict(self, request: Request, params: dict[str, str]) -> Response:
        """{"instances": [records]} -> {"predictions": [answers]}."""
        self._check_model(params)
        records, batch, options = self.plane.parse(request.body, request.query)
        if not batch:
            raise BadRequest("a v1 request is {\"instances\": [record, ...]}", [detail("instances", "is required")])
        return json_response(200, {"predictions": self.plane.batch(records, options)})

    def _check_model(self, params: dict[str, str]) -> None:
        if params["model_name"] != v2.NAME:
            raise NotFound(f"no model {quote(params['model_name'])}; this service serves {v2.NAME!r}",
                           [detail("model", "unknown model")])
        version = params.get("model_version")
        if version is not None and version != self.plane.model.version:
            raise NotFound(f"{v2.NAME} has no version {quote(version)}; it serves version {self.plane.model.version}",
                           [detail("version", "unknown version")])


def server_route(plane: DataPlane) -> Callable[[Request], Response]:
    return Routes(plane)
