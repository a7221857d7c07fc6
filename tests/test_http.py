"""The HTTP contract against every target: the function's process and container, the baseline's
process and container, and the TensorFlow reference (the same contract over Keras)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from fn.record.features import EXAMPLE
from tests.cases import CASES, Case, check
from tests.helpers import with_

TARGETS = {
    # fixture: (prediction path, metadata path)
    "fn_url": ("/", "/"),
    "fn_container": ("/predict", "/"),
    "baseline_url": ("/predict", "/metadata"),
    "server_container": ("/predict", "/metadata"),
    "reference_url": ("/", "/"),
}


@pytest.fixture(params=list(TARGETS), scope="module")
def target(request):
    return request.getfixturevalue(request.param), *TARGETS[request.param]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_contract(target, case: Case, predictor, plane):
    url, predict_path, _ = target
    response = requests.request(case.method, url + predict_path, data=case.data, headers=case.headers, timeout=30)
    value = check(case, response.status_code, response.headers, response.text)
    if case.name == "valid record":
        expected = plane.predictions([EXAMPLE], batch=False)[0]
        assert abs(value["normalized_used_price"] - expected["normalized_used_price"]) <= 1e-6
        assert value["model_version"] == predictor.version
    if case.name == "valid batch":
        assert [p["normalized_used_price"] for p in value["predictions"]] == pytest.approx(
            [p["normalized_used_price"] for p in plane.predictions([EXAMPLE, with_(ram=8.0),
                                                                     with_(device_brand="Apple", os="iOS")])],
            abs=1e-6)
    if case.name == "unknown brand":  # named only where the brand can move the price (the model may drop it)
        named = any("Fairphone" in w["message"] and w["code"] == "unknown_value" for w in value["warnings"])
        assert named == (predictor.spec["brand_encoding"] == "one_hot")


def test_health_and_metadata(target, predictor):
    url, _, metadata_path = target
    for path in ("/_/health", "/_/ready"):
        r = requests.get(url + path, timeout=5)
        assert r.status_code == 200 and r.json() == {"status": "ok"}
    meta = requests.get(url + metadata_path, timeout=5).json()
    assert meta["model_version"] == predictor.version
    assert set(meta["input"]["fields"]) >= set(EXAMPLE)
    assert "Samsung" in meta["brands"]


def test_threads_get_in_process_answers(target, plane):
    """8 threads x 25 requests on keep-alive sessions: no errors, every answer the in-process one."""
    url, predict_path, _ = target
    records = [with_(days_used=100 + 37 * i, ram=[1.0, 2.0, 4.0, 8.0][i % 4]) for i in range(200)]
    expected = [p["normalized_used_price"] for p in plane.predictions(records)]

    def worker(chunk: range) -> list[tuple[int, float]]:
        with requests.Session() as s:
            out = []
            for i in chunk:
                r = s.post(url + predict_path, json=records[i], timeout=10)
                assert r.status_code == 200, r.text
                out.append((i, r.json()["normalized_used_price"]))
            return out

    with ThreadPoolExecutor(8) as pool:
        results = [x for part in pool.map(worker, [range(k, 200, 8) for k in range(8)]) for x in part]
    assert len(results) == 200
    for i, value in results:
        assert abs(value - expected[i]) <= 1e-6


def test_reference_answers_what_the_function_answers(fn_url, reference_url):
    """The API builds every body: only the runtime differs between the two."""
    fn_meta, tf_meta = (requests.get(url, timeout=10).json() for url in (fn_url, reference_url))
    assert fn_meta.pop("runtime") != tf_meta.pop("runtime")
    assert fn_meta == tf_meta
    fn_answer, tf_answer = (requests.post(url, json=EXAMPLE, timeout=30).json() for url in (fn_url, reference_url))
    assert set(fn_answer) == set(tf_answer)
    assert abs(fn_answer["normalized_used_price"] - tf_answer["normalized_used_price"]) <= 1e-5


@pytest.mark.parametrize("what", ["5 MB body", "100,000-row batch"])
def test_oversized_bodies_get_the_json_413_not_a_reset(target, what):
    """urllib writes the whole body before it reads: the server must read (and discard) it and
    answer, not close mid-upload."""
    url, predict_path, _ = target
    data = (b'{"device_brand": "' + b"x" * 5_000_000 + b'"}' if what == "5 MB body"
            else json.dumps({"instances": [EXAMPLE] * 100_000}).encode())
    request = urllib.request.Request(url + predict_path, data=data, method="POST",
                                     headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as answer:
        urllib.request.urlopen(request, timeout=60)
    assert answer.value.code == 413
    assert answer.value.headers["Content-Type"] == "application/json"
    error = json.loads(answer.value.read())["error"]
    assert f"the body is {len(data)} bytes" in error["message"]
