"""Seeing inside: Prometheus metrics (exact counts, across workers, in the read-only image), call
ids, JSON log lines, the project's Prometheus files checked by promtool, and a real Prometheus
scraping the function container and the two-worker server container."""

from __future__ import annotations

import io
import json
import math
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import redirect_stdout
from dataclasses import dataclass

import pytest
import requests
import yaml

from fn.record.features import EXAMPLE
from fn.server.app import App
from harness import launch
from tests.helpers import ROOT, free_port, scrape, start_process, stop_process, value, wait_healthy, with_


@dataclass
class Served:
    url: str
    predict: str
    metrics: str
    log: object


@pytest.fixture(params=["function process", "server process", "server container"])
def served(request) -> Iterator[Served]:
    kind, how = request.param.split()
    predict = "/" if kind == "function" else "/predict"
    if how == "process":
        port, mport = free_port(), free_port()
        proc = start_process("fn" if kind == "function" else "baseline",
                             {"port": str(port), "metrics_port": str(mport), "workers": "1" if kind == "function"
                              else "2"})
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url, proc)
        yield Served(url, predict, f"http://127.0.0.1:{mport}/metrics", proc.log.read_text)
        stop_process(proc)
    else:  # read-only root, no /tmp: the workers' metric files live in /dev/shm
        mport = free_port()
        name, url = launch.docker_run(request.getfixturevalue("server_image"), "device-price-metrics-test",
                                      {"access_log": "1"}, tmpfs=False, extra=("-p", f"127.0.0.1:{mport}:8001"))
        try:
            wait_healthy(url)
            yield Served(url, predict, f"http://127.0.0.1:{mport}/metrics",
                         lambda: launch.docker("logs", name))
        finally:
            launch.stop_container(name)


def test_metrics_count_exactly_what_was_answered(served: Served):
    """Counts add up whichever worker answered each request and whichever serves the scrape; probes
    and scrapes are not counted."""
    before = scrape(served.metrics)
    for _ in range(25):  # a new connection each: spread over the workers
        r = requests.post(served.url + served.predict, json=EXAMPLE, timeout=5, headers={"Connection": "close"})
        assert r.status_code == 200
    unusual = requests.post(served.url + served.predict, json=with_(days_used=5000), timeout=5)  # trained on <= 1094
    assert unusual.status_code == 200
    bad = requests.post(served.url + served.predict, json=with_(ram=-1, os=...), timeout=5,
                        headers={"Connection": "close"})
    assert bad.status_code == 422
    assert requests.post(served.url + served.predict, data=b"{", timeout=5).status_code == 400
    batch = requests.post(served.url + served.predict, json={"instances": [EXAMPLE] * 7}, timeout=5)
    assert batch.status_code == 200
    for _ in range(5):
        requests.get(served.url + "/_/health", timeout=5)
    scrape(served.metrics)  # a scrape between: not counted either
    answered = 29

    def counted() -> float:
        return sum(v for (name, _), v in after.items() if name == "http_requests_total") - \
            sum(v for (name, _), v in before.items() if name == "http_requests_total")

    for _ in range(100):  # with workers, each adds its tally to the shared files every App.FLUSH_SECONDS
        after = scrape(served.metrics)
        if counted() >= answered:
            break
        time.sleep(App.FLUSH_SECONDS)
    assert counted() == answered

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("http_requests_total", code="200", method="POST") == 27
    assert delta("http_requests_total", code="422", method="POST") == 1
    assert delta("http_requests_total", code="400", method="POST") == 1
    assert not any(k[0] == "http_requests_total" and ("method", "GET") in k[1] for k in after)
    assert delta("http_request_duration_seconds_count", code="200", method="POST") == 27
    assert delta("device_price_rows_predicted_total", kind="single") == 26
    assert delta("device_price_inputs_outside_training_range_total", field="days_used") == 1
    assert delta("device_price_inputs_outside_training_range_total", field="ram") == 0
    assert delta("device_price_rows_predicted_total", kind="batch") == 7
    assert delta("device_price_validation_failures_total", field="ram") == 1
    assert delta("device_price_validation_failures_total", field="os") == 1
    assert delta("device_price_requests_rejected_total", reason="validation") == 1
    assert delta("device_price_requests_rejected_total", reason="bad_request") == 1
    assert value(after, "http_requests_in_flight") == 0
    info = [k for k in after if k[0] == "device_price_model_info"]
    pinned = re.search(r"^tflite-runtime==(\S+)", (ROOT / "requirements/serve.txt").read_text(), re.M).group(1)
    assert info and dict(info[0][1])["runtime"] == "tflite_runtime" and dict(info[0][1])["runtime_version"] == pinned
    assert value(after, "device_price_model_load_seconds") > 0


def test_a_replaced_worker_is_counted_for_the_alert():
    """device_price_workers_replaced_total, which DevicePriceWorkersReplaced watches, counts each
    worker the supervisor replaced, in the sum the parent serves."""
    from tests.helpers import wait_for, workers

    port, mport = free_port(), free_port()
    proc = start_process("baseline", {"port": str(port), "metrics_port": str(mport), "workers": "2",
                                      "access_log": "0"})
    metrics = f"http://127.0.0.1:{mport}/metrics"
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        assert value(scrape(metrics), "device_price_workers_replaced_total") == 0
        for replaced in (1, 2):
            killed = workers(proc.pid)[0]
            subprocess.run(["kill", "-9", str(killed)], check=True)
            wait_for(lambda k=killed: k not in workers(proc.pid) and len(workers(proc.pid)) == 2, 10,
                     "a replacement worker")
            wait_for(lambda n=replaced: value(scrape(metrics), "device_price_workers_replaced_total") >= n, 10,
                     f"{replaced} replaced worker(s) counted")
            assert value(scrape(metrics), "device_price_workers_replaced_total") == replaced
    finally:
        stop_process(proc)


def test_call_ids_are_taken_returned_and_logged(served: Served):
    given = {"X-Call-Id": "gateway-call-1", "X-Request-Id": "request-2",
             "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"}
    expected = {"X-Call-Id": "gateway-call-1", "X-Request-Id": "request-2",
                "traceparent": "4bf92f3577b34da6a3ce929d0e0e4736"}
    for header, sent in given.items():
        r = requests.post(served.url + served.predict, json=EXAMPLE, headers={header: sent}, timeout=5)
        assert r.headers["X-Call-Id"] == expected[header]
    fresh = requests.post(served.url + served.predict, json=with_(ram=-1), timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", fresh.headers["X-Call-Id"])
    hostile = requests.post(served.url + served.predict, json=EXAMPLE, headers={"X-Call-Id": 'x" injected'}, timeout=5)
    assert re.fullmatch(r"[0-9a-f]{32}", hostile.headers["X-Call-Id"])  # not taken as sent
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # each worker writes its lines within App.FLUSH_SECONDS
        lines = [json.loads(line) for line in served.log().splitlines() if line.startswith("{")]
        requests_logged = {entry.get("call_id"): entry for entry in lines if entry["message"] == "request"}
        if set(expected.values()) | {fresh.headers["X-Call-Id"]} <= set(requests_logged):
            break
        time.sleep(0.1)
    for call in list(expected.values()) + [fresh.headers["X-Call-Id"]]:
        assert call in requests_logged, call
    refused = requests_logged[fresh.headers["X-Call-Id"]]
    assert refused["status"] == 422 and refused["reason"] == "the record is invalid" and refused["rows"] is None
    ok = requests_logged["gateway-call-1"]
    assert ok["status"] == 200 and ok["rows"] == 1 and ok["model_version"] and ok["duration_ms"] > 0
    assert {"time", "level", "method", "path"} <= set(ok)
    assert any("listening on" in entry["message"] and "settings" in entry for entry in lines)


def test_a_bug_is_a_500_with_its_traceback_in_the_log_only():
    from fn.server import logs
    from fn.server.app import App

    def broken(_request):
        raise ZeroDivisionError("a bug")

    out = io.StringIO()
    with redirect_stdout(out):
        logs.configure("json")
        app = App(broken, access=logs.AccessLog("json", "v"))
        environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/", "wsgi.input": io.BytesIO(b"{}"), "CONTENT_LENGTH": "2",
                   "HTTP_X_CALL_ID": "bug-1"}
        statuses = []
        body = b"".join(app(environ, lambda status, headers: statuses.append(status)))
        app.access.flush()
    assert statuses == ["500 Internal Server Error"]
    assert b"Traceback" not in body and b"ZeroDivisionError" not in body
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    (failure,) = [e for e in entries if e["level"] == "error"]
    assert failure["call_id"] == "bug-1" and "ZeroDivisionError: a bug" in failure["traceback"]
    assert [e["status"] for e in entries if e["message"] == "request"] == [500]


def test_an_access_line_is_formatted_at_flush_with_the_time_of_its_request(monkeypatch):
    from fn.server import logs

    access = logs.AccessLog("json", "v1")
    monkeypatch.setattr(logs.time, "time", lambda: 1_700_000_000.25)
    access.write("id-1", "POST", '/a "quoted"\\path\n', 422, 1.23456, None, 'bad "x"')
    monkeypatch.setattr(logs.time, "time", lambda: 1_700_000_009.0)
    access.write("id-2", "GET", "/", 200, 0.5, 3, None)
    out = io.StringIO()
    access.flush(out)
    first, second = (json.loads(line) for line in out.getvalue().splitlines())
    assert first == {"time": "2023-11-14T22:13:20.250Z", "level": "info", "message": "request", "call_id": "id-1",
                     "method": "POST", "path": '/a "quoted"\\path\n', "status": 422, "duration_ms": 1.235,
                     "rows": None, "model_version": "v1", "reason": 'bad "x"'}
    assert second["time"] == "2023-11-14T22:13:29.000Z" and second["rows"] == 3 and "reason" not in second
    access.flush(out)  # nothing queued: nothing written
    assert len(out.getvalue().splitlines()) == 2


PROMETHEUS_FILES = ROOT / "deploy" / "prometheus"


def promtool() -> str:
    exe = shutil.which("promtool")
    if not exe:
        pytest.fail("promtool not found: apt-get install -y prometheus (.ci/run does)")
    return exe


def test_promtool_checks_the_scrape_config_and_the_rules():
    for args in (["check", "config", str(PROMETHEUS_FILES / "prometheus.yml")],
                 ["check", "rules", str(PROMETHEUS_FILES / "rules.yml")]):
        proc = subprocess.run([promtool(), *args], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_rules_name_only_metrics_the_service_exports():
    from fn.api.errors import REFUSALS

    source = (ROOT / "fn" / "server" / "metrics.py").read_text()
    exported = set(re.findall(r'"((?:http|device_price)_[a-z_]+)"', source))
    rules = yaml.safe_load((PROMETHEUS_FILES / "rules.yml").read_text())
    used = set()
    for rule in rules["groups"][0]["rules"]:
        for name in re.findall(r"\b((?:http|device_price)_[a-z_]+)", rule["expr"]):
            base = re.sub(r"_(bucket|count|sum)$", "", name)
            assert base in exported, f"{rule['alert']} uses {name}, which nothing exports"
            used.add(base)
        for reason in re.findall(r'reason="([a-z_]+)"', rule["expr"]):
            assert reason in {kind.reason for kind in REFUSALS}, f"{rule['alert']}: no refusal is labelled {reason}"
    assert {"http_requests_total", "http_request_duration_seconds"} <= used  # errors and latency are watched


def test_a_real_prometheus_sees_what_was_sent(fn_image, server_image, tmp_path):
    """Debian's prometheus on loopback with the project's scrape configuration, pointed at the
    function container and the two-worker server container: its query API must report exactly
    the requests sent, by code, and the failures by field."""
    exe = shutil.which("prometheus")
    if not exe:
        pytest.fail("prometheus not found: apt-get install -y prometheus (.ci/run does)")
    containers = {}
    try:
        for job, image, port in (("device-price-fn", fn_image, 8081), ("device-price-server", server_image, 8001)):
            mport = free_port()
            name, url = launch.docker_run(image, f"{job}-prometheus-test", {"access_log": "0"}, tmpfs=False,
                                          extra=("-p", f"127.0.0.1:{mport}:{port}"))
            containers[job] = (name, url, mport)
        for _, url, _ in containers.values():
            wait_healthy(url)
        config = yaml.safe_load((PROMETHEUS_FILES / "prometheus.yml").read_text())
        config["global"]["scrape_interval"] = "1s"
        for job in config["scrape_configs"]:
            job["static_configs"][0]["targets"] = [f"127.0.0.1:{containers[job['job_name']][2]}"]
        shutil.copy(PROMETHEUS_FILES / "rules.yml", tmp_path / "rules.yml")
        (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
        web = free_port()
        prom = subprocess.Popen([exe, f"--config.file={tmp_path / 'prometheus.yml'}",
                                 f"--storage.tsdb.path={tempfile.mkdtemp(dir=tmp_path)}",
                                 f"--web.listen-address=127.0.0.1:{web}"], stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / "prometheus.log", "w"))
        try:
            api = f"http://127.0.0.1:{web}/api/v1/query"

            def query(expr: str) -> list[dict]:
                r = requests.get(api + "?" + urllib.parse.urlencode({"query": expr}), timeout=10)
                return r.json()["data"]["result"] if r.status_code == 200 else []

            def wait(expr: str, predicate, what: str, timeout: float = 60) -> list[dict]:
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline:
                    try:
                        result = query(expr)
                    except requests.RequestException:
                        result = []
                    if predicate(result):
                        return result
                    time.sleep(0.5)
                raise AssertionError(f"{what}: {query(expr)}\n{(tmp_path / 'prometheus.log').read_text()[-2000:]}")

            wait('up{job=~"device-price.*"}', lambda r: len(r) == 2 and all(x["value"][1] == "1" for x in r),
                 "both targets up")
            sent = {"device-price-fn": (12, 3), "device-price-server": (20, 5)}  # (valid, invalid: ram and os)
            for job, (good, bad) in sent.items():
                _, url, _ = containers[job]
                path = "/" if job == "device-price-fn" else "/predict"
                for _ in range(good):
                    assert requests.post(url + path, json=EXAMPLE, timeout=5,
                                         headers={"Connection": "close"}).status_code == 200
                for _ in range(bad):
                    assert requests.post(url + path, json=with_(ram=-1, os=...), timeout=5,
                                         headers={"Connection": "close"}).status_code == 422
            for job, (good, bad) in sent.items():
                by_code = wait(f'sum by (code) (http_requests_total{{job="{job}"}})',
                               lambda r, g=good, b=bad: {x["metric"]["code"]: float(x["value"][1]) for x in r}
                               == {"200": g, "422": b}, f"{job}: requests by code")
                assert by_code
                wait(f'sum by (field) (device_price_validation_failures_total{{job="{job}"}})',
                     lambda r, b=bad: {x["metric"]["field"]: float(x["value"][1]) for x in r} == {"ram": b, "os": b},
                     f"{job}: validation failures by field")
                p99 = wait(f'histogram_quantile(0.99, sum by (le) (http_request_duration_seconds_bucket{{job="{job}"}}))',
                           lambda r: len(r) == 1, f"{job}: p99")
                assert math.isfinite(float(p99[0]["value"][1])) and float(p99[0]["value"][1]) > 0
        finally:
            prom.terminate()
            prom.wait(10)
    finally:
        for name, _, _ in containers.values():
            launch.stop_container(name)


def test_the_deploy_files_carry_the_scrape_annotations():
    from tests.helpers import expand

    stack = yaml.safe_load(expand((ROOT / "stack.yml").read_text(), {}))
    annotations = stack["functions"]["device-price"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "prometheus.io/port": "8081", "prometheus.io/path": "/metrics"}
    for doc in yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text()):
        if doc and doc["kind"] == "Deployment":
            pod = doc["spec"]["template"]
            assert pod["metadata"]["annotations"]["prometheus.io/port"] == "8001"
            assert {"name": "metrics", "containerPort": 8001} in pod["spec"]["containers"][0]["ports"]
