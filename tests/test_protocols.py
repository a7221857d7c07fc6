"""The standard protocols beside the native API, on the function and the server (processes and
containers): Open Inference Protocol v2, KServe v1 / TensorFlow Serving, the OpenAPI document,
and schemathesis's checks of every documented operation."""

from __future__ import annotations

import io
import json
import tomllib

import pytest
import requests

from fn.api import dataplane, v2
from fn.api.operations import OPERATIONS
from fn.api.routes import Routes
from fn.record import features
from fn.record.features import EXAMPLE, FIELDS
from fn.server.app import App
from tests.helpers import ROOT, with_

TARGETS = ("fn_url", "baseline_url", "fn_container", "server_container")
MODEL = "/v2/models/device-price"


@pytest.fixture(params=TARGETS, scope="module")
def url(request) -> str:
    return request.getfixturevalue(request.param)


def infer(url: str, body: object, path: str = MODEL + "/infer") -> requests.Response:
    return requests.post(url + path, json=body, timeout=30)


def native(url: str, records: list[dict]) -> list[dict]:
    r = requests.post(url + "/predict", json={"instances": records}, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["predictions"]


RECORDS = [EXAMPLE, with_(ram=8.0, **{"5g": True}), with_(device_brand="Apple", os="iOS", weight=...)]


def test_v2_infer_answers_what_the_native_api_answers(url):
    r = infer(url, {"id": "abc-1", "inputs": v2.tensors(RECORDS)})
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["model_name"] == "device-price" and out["id"] == "abc-1"
    assert out["model_version"] == requests.get(url + "/metadata", timeout=5).json()["model_version"]
    assert [o["name"] for o in out["outputs"]] == list(v2.OUTPUTS)
    expected = native(url, RECORDS)
    for o in out["outputs"]:
        assert o["datatype"] == "FP64" and o["shape"] == [3, 1]
        assert o["data"] == pytest.approx([v2.PICK[o["name"]](e) for e in expected], rel=1e-12)
    low = next(o["data"] for o in out["outputs"] if o["name"] == "used_price_low")
    assert low == [e["used_price_range"]["low"] for e in expected]


def test_v2_takes_every_tabular_form_the_spec_allows(url):
    """Shape [N] or [N, 1], data flat or nested, 4g/5g as BOOL or BYTES, strings with content_type
    str, numbers as any number type, null for a missing optional number, request-level pd."""
    expected = native(url, [with_(weight=...)])[0]["used_price"]
    forms = []
    for shape, nest, flag, number in (([1], False, "BOOL", "FP32"), ([1, 1], True, "BYTES", "INT64"),
                                      ([1, 1], False, "BOOL", "UINT16")):
        inputs = []
        for name in FIELDS:
            value = None if name == "weight" else EXAMPLE[name]
            datatype = v2.ACCEPTS[name][0]
            if name in features.FLAGS:
                datatype = flag
                value = (value == "yes") if flag == "BOOL" else value
            elif datatype == "FP16":
                datatype = "FP64" if name in ("screen_size", "normalized_new_price") else number
            tensor = {"name": name, "shape": shape, "datatype": datatype, "data": [[value]] if nest else [value]}
            if datatype == "BYTES":
                tensor["parameters"] = {"content_type": "str"}
            inputs.append(tensor)
        forms.append({"parameters": {"content_type": "pd"}, "inputs": inputs})
    for body in forms:
        r = infer(url, body)
        assert r.status_code == 200, r.text
        used = next(o for o in r.json()["outputs"] if o["name"] == "used_price")
        assert used["data"] == pytest.approx([expected], rel=1e-12)
        assert r.json()["id"] == r.headers["X-Call-Id"]  # no id sent: the call id


def test_v2_outputs_select_and_versions_route(url):
    version = requests.get(url + MODEL, timeout=5).json()["versions"][0]
    r = infer(url, {"inputs": v2.tensors([EXAMPLE]), "outputs": [{"name": "retained_fraction"}]},
              f"{MODEL}/versions/{version}/infer")
    assert r.status_code == 200 and [o["name"] for o in r.json()["outputs"]] == ["retained_fraction"]
    wrong = infer(url, {"inputs": v2.tensors([EXAMPLE])}, f"{MODEL}/versions/nope/infer")
    assert wrong.status_code == 404 and "nope" in wrong.json()["error"] and version in wrong.json()["error"]
    other = infer(url, {"inputs": v2.tensors([EXAMPLE])}, "/v2/models/resnet/infer")
    assert other.status_code == 404 and isinstance(other.json()["error"], str)


@pytest.mark.parametrize("change, status, field, words", [
    (lambda b: b["inputs"].append({"name": "colour", "shape": [1], "datatype": "BYTES", "data": ["red"]}),
     400, "colour", "is not a known field"),
    (lambda b: b["inputs"][2].update(datatype="BYTES", data=["6.1"]), 400, "screen_size", "FP16"),
    (lambda b: b["inputs"][2].update(shape=[2, 1]), 400, "screen_size", "shape"),
    (lambda b: b["inputs"][2].update(data=[-3.0]), 400, "screen_size", "must be greater than 0"),
    (lambda b: b["inputs"].pop(0), 400, "device_brand", "is required"),
    (lambda b: b["inputs"][-1].update(datatype="INT8", data=[300]), 400, "normalized_new_price", "INT8"),
    (lambda b: b.update(parameters={"content_type": "np"}), 400, "parameters", "'np'"),
    (lambda b: b.update(outputs=[{"name": "price"}]), 400, "outputs", "'price'"),
    (lambda b: b.update(extra=1), 400, "extra", "extra"),
])
def test_v2_refuses_bad_input_with_400_naming_the_field(fn_url, change, status, field, words):
    body = {"inputs": v2.tensors([EXAMPLE])}
    change(body)
    r = infer(fn_url, body)
    assert r.status_code == status, r.text
    error = r.json()
    assert isinstance(error["error"], str) and words in error["error"] + json.dumps(error["details"])
    assert field in {d["field"] for d in error["details"]}


def test_v2_validation_is_the_native_validation_all_or_nothing(fn_url):
    records = [EXAMPLE, with_(ram=-1), EXAMPLE, with_(days_used=99999, os=" ")]
    r = infer(fn_url, {"inputs": v2.tensors(records)})
    n = requests.post(fn_url, json={"instances": records}, timeout=10)
    assert (r.status_code, n.status_code) == (400, 422)
    assert r.json()["details"] == n.json()["error"]["details"]
    assert r.json()["error"] == n.json()["error"]["message"] == "2 of 4 rows are invalid"
    too_many = infer(fn_url, {"inputs": v2.tensors([EXAMPLE] * (dataplane.Limits().max_batch_rows + 1))})
    assert too_many.status_code == 413 and isinstance(too_many.json()["error"], str)


def test_v2_server_metadata_health_and_model_metadata(url, predictor):
    package = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert requests.get(url + "/v2", timeout=5).json() == {"name": v2.NAME, "version": package["version"],
                                                           "extensions": []}
    assert requests.get(url + "/v2/health/live", timeout=5).json() == {"live": True}
    assert requests.get(url + "/v2/health/ready", timeout=5).json() == {"ready": True}
    assert requests.get(url + MODEL + "/ready", timeout=5).json() == {"name": "device-price", "ready": True}
    meta = requests.get(url + MODEL, timeout=5).json()
    assert meta["versions"] == [predictor.version] and meta["platform"] == "tflite"
    assert [t["name"] for t in meta["inputs"]] == list(FIELDS)
    assert {t["name"]: t["datatype"] for t in meta["inputs"]}["release_year"] == "INT64"
    assert [t["name"] for t in meta["outputs"]] == list(v2.OUTPUTS)


def test_kserve_v1_status_and_predict(url):
    status = requests.get(url + "/v1/models/device-price", timeout=5)
    assert status.status_code == 200 and status.json()["ready"] is True
    assert status.json()["model_version_status"][0]["state"] == "AVAILABLE"
    r = requests.post(url + "/v1/models/device-price:predict", json={"instances": RECORDS}, timeout=10)
    assert r.status_code == 200
    assert [p["used_price"] for p in r.json()["predictions"]] == pytest.approx(
        [p["used_price"] for p in native(url, RECORDS)], rel=1e-12)
    one = requests.post(url + "/v1/models/device-price:predict", json=EXAMPLE, timeout=10)
    assert one.status_code == 400 and "instances" in one.json()["error"]
    bad = requests.post(url + "/v1/models/device-price:predict", json={"instances": [with_(ram=-1)]}, timeout=10)
    assert bad.status_code == 400 and bad.json()["details"][0]["field"] == "ram"


def test_neither_program_answers_on_a_path_it_does_not_serve(fn_url, baseline_url):
    for url in (fn_url, baseline_url):
        assert requests.post(url + "/anything/at/all", json=EXAMPLE, timeout=10).status_code == 404
        unknown = requests.post(url + "/v2/models", json=EXAMPLE, timeout=10)
        assert unknown.status_code == 404 and isinstance(unknown.json()["error"], str)
        assert requests.get(url + MODEL + "/infer", timeout=10).status_code == 405


def test_draining_turns_readiness_503_but_not_liveness(plane):
    own = dataplane.DataPlane(plane.model)
    app = App(Routes(own), plane=own)

    def get(path: str) -> tuple[str, dict]:
        answer: list[str] = []
        body = app({"REQUEST_METHOD": "GET", "PATH_INFO": path, "wsgi.input": io.BytesIO()},
                   lambda status, headers: answer.append(status))
        return answer[0], json.loads(b"".join(body))

    assert get("/v2/health/ready")[0].startswith("200")
    app.draining = True
    assert get("/v2/health/ready") == ("503 Service Unavailable", {"ready": False})
    assert get(MODEL + "/ready") == ("503 Service Unavailable", {"name": "device-price", "ready": False})
    assert get("/v1/models/device-price")[0].startswith("503")
    assert get("/v2/health/live") == ("200 OK", {"live": True})


def test_the_openapi_document_is_served_committed_current_and_valid(fn_url, baseline_url):
    from jsonschema import Draft202012Validator

    from scripts.openapi import OUT, text

    assert OUT.read_text() == text(), "docs/openapi.json is stale: run python -m scripts.openapi"
    document = json.loads(text())
    for url in (fn_url, baseline_url):
        assert requests.get(url + "/openapi.json", timeout=5).json() == document
    assert document["openapi"] == "3.1.0"
    schemas = document["components"]["schemas"]
    for schema in schemas.values():
        Draft202012Validator.check_schema(schema)
    record = schemas["Record"]
    assert set(record["properties"]) == set(FIELDS) | {"new_price"}
    assert set(record["required"]) | {"normalized_new_price"} == set(features.REQUIRED)
    validator = Draft202012Validator(record)
    assert validator.is_valid(EXAMPLE)
    new_price = {k: v for k, v in EXAMPLE.items() if k != "normalized_new_price"} | {"new_price": 200.0}
    assert validator.is_valid(new_price) and not validator.is_valid(new_price | EXAMPLE)
    days = features.NUMERIC_BY_NAME["days_used"]
    assert record["properties"]["days_used"]["maximum"] == days.high and "days" in record["properties"][
        "days_used"]["description"]


def test_schemathesis_finds_nothing(fn_url, baseline_url):
    """schemathesis's standard checks over every documented operation, a bounded number of
    examples each (`make contract` runs many more, against the containers)."""
    from scripts.contract import run_schemathesis

    for url in (fn_url, baseline_url):
        passed, report = run_schemathesis(url, max_examples=15)
        assert passed, report[-6000:]
        n = len(OPERATIONS)
        assert f"{n} selected / {n} total" in report  # every declared operation was documented and tried


def test_v2_takes_level_and_new_price_as_the_native_api_does(plane):
    """parameters.level is the native option (one of the model's levels, else refused); new_price is
    taken as v1 takes it; an option v2 does not offer, or sent where it is not read, is refused."""
    from fn.api.errors import BadRequest
    from fn.api.messages import Request
    from fn.record.problems import ValidationError

    routes = Routes(plane)
    levels = plane.model.intervals.levels

    def call(body: dict, query: dict | None = None) -> dict:
        return json.loads(routes(Request("POST", MODEL + "/infer", json.dumps(body).encode(), query=query or {})).body)

    def low(answer: dict) -> float:
        return next(o for o in answer["outputs"] if o["name"] == "used_price_low")["data"][0]

    narrow = call({"inputs": v2.tensors([EXAMPLE]), "parameters": {"level": levels[0]}})
    wide = call({"inputs": v2.tensors([EXAMPLE]), "parameters": {"level": levels[-1]}})
    expected = plane.predictions([EXAMPLE], True, dataplane.Options(level=levels[0]))[0]["used_price_range"]["low"]
    assert low(narrow) == expected and low(narrow) > low(wide)
    with pytest.raises(ValidationError) as e:
        call({"inputs": v2.tensors([EXAMPLE]), "parameters": {"level": 0.95}})
    assert e.value.details[0]["field"] == "level"
    money = with_(normalized_new_price=..., new_price=200.0)
    priced = call({"inputs": v2.tensors([money])})
    assert next(o for o in priced["outputs"] if o["name"] == "used_price")["data"] == [
        native_answer["used_price"] for native_answer in plane.predictions([money])]
    with pytest.raises(BadRequest) as e:
        call({"inputs": v2.tensors([EXAMPLE]), "parameters": {"explain": True}})
    assert e.value.details[0]["field"] == "explain"
    with pytest.raises(BadRequest) as e:
        call({"inputs": v2.tensors([EXAMPLE])}, {"level": "0.8"})
    assert e.value.details[0]["field"] == "level" and "parameters" in e.value.message
