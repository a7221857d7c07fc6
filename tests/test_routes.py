"""Unknown paths are refused: a 404 in the API's problem shape naming the paths that exist, for
GET, POST and HEAD, on the function and the server alike; the paths OpenFaaS passes after
stripping /function/<name> (`/` and the declared sub-paths) still answer."""

from __future__ import annotations

import json

import jsonschema
import pytest
import requests

from fn.api import openapi, v2
from fn.api.body import Limits
from fn.api.errors import NotFound, render
from fn.api.messages import Request
from fn.api.operations import OPERATIONS
from fn.api.routes import Routes
from fn.record.features import EXAMPLE

# What a faas-cli, a script or a typo sends to the function by mistake.
UNKNOWN = ("/system/functions", "/nonexistent", "/anything", "/function/device-price/predict", "/predict/")
METHODS = ("GET", "POST", "HEAD")


def _schema(plane, name: str) -> dict:
    intervals = plane.model.intervals
    document = openapi.document(Limits(), intervals.levels, intervals.default)
    return {**document["components"]["schemas"][name], "components": document["components"]}


@pytest.mark.parametrize("path", UNKNOWN)
@pytest.mark.parametrize("method", METHODS)
def test_an_unknown_path_is_a_404_naming_the_paths_that_exist(plane, method, path):
    routes = Routes(plane)
    body = json.dumps(EXAMPLE).encode() if method == "POST" else b""
    with pytest.raises(NotFound) as refused:
        routes(Request(method, path, body))
    answer = render(refused.value, path)
    assert answer.status == 404
    problem = json.loads(answer.body)
    jsonschema.validate(problem, _schema(plane, "Error"))
    message = problem["error"]["message"]
    assert f"'{path}'" in message
    for served in ("GET /metadata", "POST /predict", "GET /openapi.json", f"/v2/models/{v2.NAME}"):
        assert served in message
    assert problem["error"]["details"] == [{"row": None, "field": "path", "reason": f"is not served: '{path}'"}]


def test_an_unknown_protocol_path_is_a_404_in_the_protocols_shape(plane):
    path = f"/v2/models/{v2.NAME}/explain"
    with pytest.raises(NotFound) as refused:
        Routes(plane)(Request("POST", path, b"{}"))
    problem = json.loads(render(refused.value, path).body)
    jsonschema.validate(problem, _schema(plane, "ProtocolError"))
    assert "/v2/models/{model_name}/infer" in problem["error"] and "POST /predict" not in problem["error"]


def test_the_openapi_document_says_unknown_paths_are_refused(plane):
    intervals = plane.model.intervals
    description = openapi.document(Limits(), intervals.levels, intervals.default)["info"]["description"]
    assert "Any path not listed here answers 404" in description
    assert "predicts on a POST to any other path" not in description


@pytest.mark.parametrize("url_fixture", ["fn_url", "baseline_url", "fn_container"])
def test_the_processes_and_the_image_refuse_unknown_paths_over_http(request, url_fixture):
    url = request.getfixturevalue(url_fixture)
    for method in METHODS:
        for path in UNKNOWN:
            answer = requests.request(method, url + path, json=EXAMPLE if method == "POST" else None, timeout=10)
            assert answer.status_code == 404, (method, path)
            assert answer.headers["Content-Type"].startswith("application/json")
            if method == "HEAD":
                assert answer.content == b""
            else:
                assert "POST /predict" in answer.json()["error"]["message"]


def test_every_path_openfaas_passes_after_stripping_still_answers(fn_url):
    """The gateway strips /function/device-price: the function sees `/` (no sub-path) or a declared path."""
    assert requests.post(fn_url + "/", json=EXAMPLE, timeout=10).status_code == 200
    for op in OPERATIONS:
        if op.method == "GET" and "{" not in op.path:
            assert requests.get(fn_url + op.path, timeout=10).status_code == 200, op.path
    assert requests.post(fn_url + "/predict", json=EXAMPLE, timeout=10).status_code == 200
    assert requests.post(fn_url + f"/v1/models/{v2.NAME}:predict", json={"instances": [EXAMPLE]},
                         timeout=10).status_code == 200
