"""AWS Lambda: the function image under AWS's real Lambda Runtime Interface Emulator (from the
aws-sam-cli wheel, harness/lambda_rie.py), sent Function URL (payload 2.0) and REST API (payload
1.0) events for every path and the contract's bad inputs, each answer compared with the HTTP
function container's answer to the same request; the event mapping in process; the SAM template
checked by cfn-lint."""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
from typing import Any

import pytest

from fn.api import v2
from fn.api.routes import Routes
from fn.record.features import EXAMPLE
from fn.server import lambda_events, start
from fn.server.auth import BearerToken
from fn.server.settings import defaults
from harness import lambda_rie, launch
from tests.cases import CASES
from tests.helpers import CSV, GOOD_ROW, ROOT, body, build_image, csv_body

EVENTS = {"function_url": lambda_rie.function_url_event, "rest": lambda_rie.rest_event}
JSON = {"Content-Type": "application/json"}
# What differs between two answers to one request by nature: the server's own framing.
FRAMING = {"content-length", "date", "server", "connection"}
MODEL = "/v2/models/device-price"
# (method, path, body, headers, query): every path of the API, as a client sends it.
PATHS = [
    ("POST", "/", body(EXAMPLE), JSON, ""),
    ("POST", "/predict", body({"instances": [EXAMPLE, EXAMPLE | {"ram": 8.0}]}), JSON, ""),
    ("POST", "/", body(EXAMPLE), JSON, "explain=true&level=0.8"),
    ("POST", "/v1/models/device-price:predict", body({"instances": [EXAMPLE]}), JSON, ""),
    ("POST", MODEL + "/infer", body({"id": "oip-1", "inputs": v2.tensors([EXAMPLE, EXAMPLE])}), JSON, ""),
    ("POST", "/", csv_body(GOOD_ROW, GOOD_ROW.replace("A1", "A2")), CSV, ""),
    ("GET", "/", b"", {"Accept": "text/html"}, ""),
    ("GET", "/", b"", {}, ""),
    ("GET", "/model", b"", {}, ""),
    ("GET", "/metadata", b"", {}, ""),
    ("HEAD", "/metadata", b"", {}, ""),
    ("GET", "/openapi.json", b"", {}, ""),
    ("GET", "/v2", b"", {}, ""),
    ("GET", MODEL, b"", {}, ""),
    ("GET", MODEL + "/ready", b"", {}, ""),
    ("GET", "/v1/models/device-price", b"", {}, ""),
    ("GET", "/_/health", b"", {}, ""),
    ("GET", "/v2/models/resnet", b"", {}, ""),  # a refusal of the protocols' shape
]


@pytest.fixture(scope="module")
def lambda_image(docker) -> str:
    return build_image("lambda")


@pytest.fixture(scope="module")
def lambda_url(lambda_image):
    """The image under the emulator, its access log on; (invoke URL, container name)."""
    name, url = lambda_rie.start(lambda_image, launch.own_name("device-price-lambda-test"), {"access_log": "1"})
    try:
        lambda_rie.wait_until_answered(url, timeout=120)
    except TimeoutError:
        pytest.fail("no answer under the emulator:\n" + launch.docker("logs", name, check=False))
    yield url, name
    launch.stop_container(name)


def over_http(url: str, method: str, path: str, data: bytes, headers: dict[str, str], query: str):
    status, got, answer = launch.exchange(method, url + path + (f"?{query}" if query else ""), data or None,
                                          {"Content-Type": "", **headers})
    return status, {k: v for k, v in got.items() if k not in FRAMING}, answer


def over_lambda(url: str, kind: str, method: str, path: str, data: bytes, headers: dict[str, str], query: str,
                base64_body: bool = False) -> tuple[int, dict[str, str], bytes]:
    status, answer = lambda_rie.invoke(url, EVENTS[kind](method, path, data, headers, query, base64_body))
    assert status == 200 and set(answer) == {"statusCode", "headers", "body", "isBase64Encoded"}, answer
    text = answer["body"]
    content = base64.b64decode(text) if answer["isBase64Encoded"] else text.encode()
    return answer["statusCode"], {k.lower(): v for k, v in answer["headers"].items() if k.lower() not in FRAMING}, \
        content


def same(expected: bytes, got: bytes, content_type: str) -> None:
    if content_type.startswith("application/json") and expected:
        assert json.loads(got) == json.loads(expected)
    else:
        assert got == expected


# -- one image, every engine -------------------------------------------------------------

@pytest.mark.docker
def test_the_lambda_image_is_the_function_image(lambda_image, fn_image):
    """`make image-lambda` tags the function image: not one layer differs."""
    ids = [launch.docker("image", "inspect", "-f", "{{.Id}}", tag) for tag in (lambda_image, fn_image)]
    assert ids[0] == ids[1]


@pytest.mark.docker
@pytest.mark.parametrize("kind", EVENTS)
def test_every_path_answers_under_the_emulator_as_over_http(lambda_url, fn_container, kind):
    url, _ = lambda_url
    for method, path, data, headers, query in PATHS:
        call = {"X-Call-Id": f"{kind}-{method}-{len(path)}"}
        want = over_http(fn_container, method, path, data, {**headers, **call}, query)
        got = over_lambda(url, kind, method, path, data, {**headers, **call}, query)
        assert got[0] == want[0], (method, path, got[2][:300])
        assert got[1] == want[1], (method, path)
        same(want[2], got[2], want[1].get("content-type", ""))
        assert got[1]["x-call-id"] == call["X-Call-Id"]


@pytest.mark.docker
@pytest.mark.parametrize("kind", EVENTS)
def test_the_contract_cases_answer_as_over_http_base64_or_not(lambda_url, fn_container, kind):
    """Every bad input of tests/cases.py: the same 4xx, in statusCode, with the same problem
    body; the body over the limit adds Lambda's own limit. Bodies go in base64 as well as text."""
    url, _ = lambda_url
    for case in CASES:
        headers = {**case.headers, "X-Call-Id": "case"}
        want = over_http(fn_container, case.method, "/", case.data, headers, "")
        for encoded in (False, True):
            got = over_lambda(url, kind, case.method, "/", case.data, headers, "", base64_body=encoded)
            assert got[0] == want[0] == case.status, (case.name, encoded, got[2][:300])
            assert got[1] == want[1], case.name
            if case.status == 413 and b"bytes; the limit is" in want[2]:
                message = json.loads(got[2])["error"]["message"]
                assert message.startswith(json.loads(want[2])["error"]["message"])
                assert "6 MB" in message and "python -m fn.batch" in message
            else:
                same(want[2], got[2], want[1].get("content-type", ""))


@pytest.mark.docker
def test_call_id_is_the_lambda_request_id_and_each_request_logs_one_json_line(lambda_url):
    url, name = lambda_url
    event = lambda_rie.function_url_event("POST", "/", body(EXAMPLE), JSON)
    status, answer = lambda_rie.invoke(url, event)
    call = answer["headers"]["X-Call-Id"]
    assert status == 200 and answer["statusCode"] == 200
    assert len(call) == 36 and call.count("-") == 4  # the emulator's request id, a UUID
    lines = [json.loads(line) for line in launch.docker("logs", name).splitlines() if line.startswith("{")]
    mine = [entry for entry in lines if entry.get("call_id") == call]
    assert len(mine) == 1 and mine[0]["message"] == "request" and mine[0]["status"] == 200 and mine[0]["rows"] == 1
    emulator = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    assert f"INVOKE START(requestId: {call})" in emulator.stdout + emulator.stderr
    found = lambda_rie.reports(emulator.stdout + emulator.stderr)
    assert len(found["init_ms"]) == 1 and found["init_ms"][0] > 0  # one sandbox, one INIT
    assert len(found["duration_ms"]) >= 2 and all(ms > 0 for ms in found["duration_ms"])


@pytest.mark.docker
def test_events_that_are_no_http_request_get_the_native_400_never_a_function_error(lambda_url):
    url, _ = lambda_url
    for event in ({"device_brand": "Samsung"}, [1, 2], "text",
                  lambda_rie.function_url_event("POST", "/", b"x") | {"body": "%%%", "isBase64Encoded": True}):
        status, answer = lambda_rie.invoke(url, event)
        assert status == 200 and answer["statusCode"] == 400, answer
        assert json.loads(answer["body"])["error"]["message"]


@pytest.mark.docker
def test_a_csv_past_lambdas_6_mb_is_refused_naming_the_limit_and_fn_batch(lambda_url):
    """Under 6 MB, the function's 413 names both limits and the command for large files; over it,
    Lambda refuses the event itself, and the emulator, which passes it on cut at 6 MB, gets the
    same 413 from the function."""
    url, _ = lambda_url
    rows = (GOOD_ROW + "\n").encode() * 60_000  # 2.9 MB: over max_body_bytes, under 6 MB
    status, answer = lambda_rie.invoke(url, lambda_rie.function_url_event("POST", "/", csv_body() + rows, CSV))
    message = json.loads(answer["body"])["error"]["message"]
    assert status == 200 and answer["statusCode"] == 413
    assert "6 MB" in message and "python -m fn.batch" in message and "the limit is 1048576" in message
    huge = csv_body() + rows * 3  # 8.6 MB: AWS answers 413 itself; the emulator cuts the event at 6 MB
    status, answer = lambda_rie.invoke(url, lambda_rie.function_url_event("POST", "/", huge, CSV))
    message = json.loads(answer["body"])["error"]["message"]
    assert status == 200 and answer["statusCode"] == 413
    assert "6 MB (6291456 bytes)" in message and "python -m fn.batch" in message


@pytest.mark.docker
def test_coldstart_lambda_mode_writes_its_figures(lambda_image, tmp_path):
    """The command runs (its figures are published from a quiet machine, not from here)."""
    from scripts import coldstart

    out = tmp_path / "coldstart-lambda.json"
    assert coldstart.main(["--mode", "lambda", "--image", lambda_image, "--runs", "1", "--quiet", "--json",
                           str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["lambda"]["median_s"] > 0 and len(result["lambda"]["runs"]) == 1
    assert result["lambda"]["init_ms_median"] > 0 and result["function"]["median_s"] > 0
    assert result["invocation"]["duration_ms_median"] > 0
    assert result["invocation"]["max_memory_mb"] is None or 10 < result["invocation"]["max_memory_mb"] < 512


# -- the event mapping, in process -----------------------------------------------------

@pytest.fixture(scope="module")
def app(predictor):
    config = defaults()
    return start.make_app(config, predictor, lambda plane: Routes(plane), BearerToken(config.token_file),
                          too_large_hint=lambda_events.TOO_LARGE_HINT)


@pytest.mark.parametrize("kind", EVENTS)
def test_query_headers_and_method_reach_the_route(app, kind):
    event = EVENTS[kind]("POST", "/", body(EXAMPLE), {"Content-Type": "application/json", "X-Request-Id": "r-1"},
                         "explain=true")
    answer = lambda_events.invoke(app, json.dumps(event).encode(), "lambda-id")
    assert answer["statusCode"] == 200 and answer["headers"]["X-Call-Id"] == "r-1"
    assert "explanation" in json.loads(answer["body"]) and "Content-Length" not in answer["headers"]
    metadata = json.dumps(EVENTS[kind]("GET", "/metadata")).encode()
    assert lambda_events.invoke(app, metadata, "lambda-id")["headers"]["X-Call-Id"] == "lambda-id"


def test_payload_2_cookies_and_encoded_paths_are_read_as_http_sends_them(app):
    event = lambda_rie.function_url_event("GET", "/v2/models/device%2Dprice")
    event["cookies"] = ["a=1", "b=2"]
    env = lambda_events.environ(event, "id")
    assert env["PATH_INFO"] == "/v2/models/device-price" and env["HTTP_COOKIE"] == "a=1; b=2"
    assert lambda_events.invoke(app, json.dumps(event).encode(), "id")["statusCode"] == 200


def test_an_answer_that_is_not_text_goes_back_in_base64():
    answer = lambda_events.answer("200 OK", [("Content-Type", "application/octet-stream"), ("X", "1"), ("X", "2")],
                                  b"\xff\x00")
    assert answer["isBase64Encoded"] and base64.b64decode(answer["body"]) == b"\xff\x00"
    assert answer["headers"]["X"] == "1, 2"


# -- deployable as users deploy Lambda ----------------------------------------------------

def test_the_sam_template_passes_cfn_lint():
    """PackageType Image, a Function URL, the memory and timeout of docs/deploy.md; cfn-lint
    (with the SAM transform, offline) finds nothing."""
    exe = shutil.which("cfn-lint") or str(ROOT / ".venv" / "bin" / "cfn-lint")
    template = ROOT / "deploy" / "lambda" / "template.yaml"
    proc = subprocess.run([exe, str(template)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: suffix)  # !Ref X: "Ref"
    function: dict[str, Any] = yaml.load(template.read_text(), Loader)["Resources"]["DevicePrice"]["Properties"]
    assert function["PackageType"] == "Image" and "AuthType" in function["FunctionUrlConfig"]
    assert function["MemorySize"] >= 128 and 1 <= function["Timeout"] <= 30
