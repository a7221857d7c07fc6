"""The one error model: each refusal's class carries its status, its metric reason and its
status in the standard protocols; one function renders it; the metric and the log line take
them from the class, never from the answer's text."""

from __future__ import annotations

import io
import json

import pytest

from fn.api import errors, v2
from fn.api.messages import Request
from fn.api.operations import OPERATIONS
from fn.api.routes import Routes
from fn.record.features import EXAMPLE
from fn.record.problems import CLIP, ClientError, ValidationError, clip, detail, quote
from fn.server.app import App


def _instance(kind: type[ClientError]) -> ClientError:
    if kind is errors.Unauthorized:
        return kind(True)
    if kind is errors.MethodNotAllowed:
        return kind("PUT", "GET")
    if kind is errors.Overloaded:
        return kind(8)
    return kind("what went wrong", [detail("ram", "a reason")])


@pytest.mark.parametrize("kind", errors.REFUSALS, ids=lambda k: k.__name__)
def test_a_refusal_is_rendered_from_its_class_in_either_shape(kind):
    e = _instance(kind)
    native, protocol = errors.render(e, "/predict"), errors.render(e, f"/v2/models/{v2.NAME}/infer")
    assert native.status == kind.status and protocol.status == (kind.protocol_status or kind.status)
    assert json.loads(native.body)["error"]["message"] == e.message == json.loads(protocol.body)["error"]
    assert native.refusal == protocol.refusal == kind.reason and native.error == e.message
    assert dict(native.headers).items() >= dict(e.headers).items()


def test_reasons_and_statuses_are_one_each():
    assert len({k.reason for k in errors.REFUSALS}) == len(errors.REFUSALS)
    assert len({k.status for k in errors.REFUSALS}) == len(errors.REFUSALS)
    assert ValidationError.status == 422 and ValidationError.status_for(True) == 400


def test_a_clients_text_is_clipped_one_way():
    long = "x" * (CLIP + 10)
    assert clip(long) == "x" * CLIP + "…" and quote(long) == repr("x" * CLIP + "…")
    assert detail(long, "r")["field"] == clip(long) and clip("short") == "short"


class Tally:
    """Stands in for fn.server.metrics.Metrics in what App calls of it."""

    def __init__(self):
        self.refusals: list[str] = []

    def begin(self) -> None: ...
    def end(self) -> None: ...
    def answered(self, method: str, status: int, seconds: float) -> None: ...

    def refused(self, reason: str) -> None:
        self.refusals.append(reason)


def _wsgi(app: App, path: str, body: bytes) -> tuple[str, bytes]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": path, "CONTENT_LENGTH": str(len(body)),
               "CONTENT_TYPE": "application/json", "wsgi.input": io.BytesIO(body)}
    seen = {}
    out = app(environ, lambda status, headers: seen.setdefault("status", status))
    return seen["status"], b"".join(out)


def test_a_protocol_validation_failure_is_counted_as_validation(plane):
    """A wrong value answers 400 in v1 and v2 (their rule) but counts as validation, as in the native API."""
    tally = Tally()
    app = App(Routes(plane), metrics=tally)  # type: ignore[arg-type]
    bad = dict(EXAMPLE, ram=-1)
    status, _ = _wsgi(app, f"/v2/models/{v2.NAME}/infer", json.dumps({"inputs": v2.tensors([bad])}).encode())
    assert status.startswith("400 ")
    status, _ = _wsgi(app, f"/v1/models/{v2.NAME}:predict", json.dumps({"instances": [bad]}).encode())
    assert status.startswith("400 ")
    status, _ = _wsgi(app, "/predict", json.dumps(bad).encode())
    assert status.startswith("422 ")
    status, _ = _wsgi(app, "/predict", b"{")
    assert status.startswith("400 ")
    assert tally.refusals == ["validation", "validation", "validation", "bad_request"]


def test_every_operation_is_routed_to_an_answer(plane):
    routes = Routes(plane)
    for op in OPERATIONS:
        assert callable(getattr(routes, op.answer)), op
    probe = routes(Request("GET", "/healthz"))
    assert probe.status == 200 and json.loads(probe.body) == {"status": "ok"}
    assert routes(Request("HEAD", "/metadata")).status == 200
    with pytest.raises(errors.MethodNotAllowed):
        routes(Request("POST", "/metadata"))
