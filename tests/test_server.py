"""The platform side: handler, max_inflight (and its metric), drain on SIGTERM, start-up
failures, HEAD requests."""

from __future__ import annotations

import http.client
import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests

from fn import handler
from fn.record.features import EXAMPLE
from tests.helpers import free_port, scrape, start_process, stop_process, value, wait_healthy


def event(method: str, body: bytes = b"") -> SimpleNamespace:
    return SimpleNamespace(method=method, body=body, headers={}, query={}, path="/")


def test_handler_predicts_on_post(plane):
    result = handler.handle(event("POST", json.dumps(EXAMPLE).encode()), SimpleNamespace(hostname="h"))
    assert result["statusCode"] == 200 and result["headers"]["Content-Type"] == "application/json"
    value = json.loads(result["body"])
    assert value["normalized_used_price"] == pytest.approx(plane.predictions([EXAMPLE])[0]["normalized_used_price"])


def test_handler_errors_and_metadata():
    bad = handler.handle(event("POST", b"{"), None)
    assert bad["statusCode"] == 400 and "error" in json.loads(bad["body"])
    assert handler.handle(event("DELETE"), None)["statusCode"] == 405
    meta = json.loads(handler.handle(event("GET"), None)["body"])
    assert meta["input"]["example"] == EXAMPLE


def big_batch(rows: int = 1000) -> dict:
    return {"instances": [dict(EXAMPLE, days_used=90 + i % 900) for i in range(rows)]}


@pytest.mark.parametrize("workers", [1, 2])
def test_sigterm_drains_without_losing_requests(workers):
    """Large batches in flight when SIGTERM arrives: all answered 200, health turns 503 at
    once, the process drains and exits 0."""
    port = free_port()
    # drain_delay: how long the listener stays open after SIGTERM; the probes below must fit in it
    proc = start_process("fn", {"port": str(port), "drain_delay": "3s", "write_timeout": "10s",
                                        "workers": str(workers), "access_log": "0"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
        payload = json.dumps(big_batch()).encode()
        stop = threading.Event()
        statuses: list[int] = []

        def client() -> None:
            with requests.Session() as s:
                while not stop.is_set():
                    try:
                        r = s.post(url, data=payload, timeout=15)
                    except requests.ConnectionError:
                        return  # the listener has closed: nothing accepted was lost
                    statuses.append(r.status_code)

        with ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(client) for _ in range(4)]
            time.sleep(0.5)
            proc.send_signal(signal.SIGTERM)
            time.sleep(0.1)
            assert requests.get(url + "/_/health", timeout=2).status_code == 503
            assert requests.get(url + "/_/ready", timeout=2).status_code == 503
            stop.set()
            for f in futures:
                f.result()
        assert proc.wait(15) == 0  # drain_delay + write_timeout, and time to spare: a safety net
        assert "drained; exiting" in proc.log.read_text()
        assert statuses and set(statuses) == {200}
    finally:
        if proc.poll() is None:
            proc.kill()


def test_max_inflight_answers_429_with_retry_after_and_counts_it():
    """Each 429 counted under the reason the DevicePriceSaturated alert watches."""
    port, mport = free_port(), free_port()
    proc = start_process("fn", {"port": str(port), "metrics_port": str(mport), "max_inflight": "1", "threads": "2",
                                "access_log": "0"})
    url, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{mport}/metrics"
    try:
        wait_healthy(url, proc)
        before = scrape(metrics)
        payload = json.dumps(big_batch()).encode()

        def post(_: int) -> requests.Response:
            return requests.post(url, data=payload, timeout=30)

        with ThreadPoolExecutor(8) as pool:
            responses = list(pool.map(post, range(24)))
        codes = {r.status_code for r in responses}
        assert codes <= {200, 429} and 200 in codes and 429 in codes
        limited = next(r for r in responses if r.status_code == 429)
        assert limited.headers["Retry-After"] == "1" and "in flight" in limited.json()["error"]["message"]
        assert requests.get(url + "/_/health", timeout=2).status_code == 200
        after = scrape(metrics)  # one worker: the scrape adds this process's tally first
        refused = sum(r.status_code == 429 for r in responses)
        for name, labels in (("device_price_requests_rejected_total", {"reason": "over_max_inflight"}),
                             ("http_requests_total", {"code": "429", "method": "POST"})):
            assert value(after, name, **labels) - value(before, name, **labels) == refused, name
    finally:
        proc.terminate()
        proc.wait(10)


def test_port_in_use_is_one_line():
    """A taken port: one `cannot start:` line naming it, exit 1, no traceback."""
    import socket
    import subprocess
    import sys

    from tests.helpers import ROOT

    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        proc = subprocess.run([sys.executable, "-m", "fn", "--host", "127.0.0.1", "--port", str(port)], cwd=ROOT,
                              capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1 and "Traceback" not in proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("device-price:")]
    assert ours == [f"device-price: cannot start: cannot listen on 127.0.0.1:{port} (Address already in use)"]


@pytest.mark.parametrize("module, workers", [("fn", "1"), ("baseline", "2")])
def test_sigterm_logs_the_drain_and_the_exit(module, workers):
    port = free_port()
    proc = start_process(module, flags=["--port", str(port), "--workers", workers, "--drain-delay", "0.2s"])
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
        log = proc.log.read_text()
        assert "draining" in log and "drained; exiting" in log
        assert "Traceback" not in log
    finally:
        stop_process(proc)


def test_an_oversized_body_is_discarded_not_buffered():
    """50 MB declared and sent: the function's peak memory barely moves (nothing is kept)."""
    import urllib.error
    import urllib.request

    port = free_port()
    proc = start_process("fn", {"port": str(port), "access_log": "0"})
    url = f"http://127.0.0.1:{port}"

    def peak_mb() -> float:
        status = open(f"/proc/{proc.pid}/status").read()
        return int(status.split("VmHWM:")[1].split()[0]) / 1024

    try:
        wait_healthy(url, proc)
        requests.post(url, json=EXAMPLE, timeout=5)
        before = peak_mb()
        request = urllib.request.Request(url, data=b"x" * (50 << 20), method="POST")
        with pytest.raises(urllib.error.HTTPError) as answer:
            urllib.request.urlopen(request, timeout=60)
        assert answer.value.code == 413
        assert peak_mb() - before < 10
    finally:
        stop_process(proc)


GET_PATHS = ["/", "/metadata", "/model", "/openapi.json", "/_/health", "/v2", "/v2/models/device-price",
             "/v1/models/device-price", "/no/such/path"]


@pytest.mark.parametrize("target", ["fn_url", "baseline_url"])
def test_head_answers_the_gets_status_and_headers_without_a_body(request, target):
    """On one kept-alive connection: a body after a HEAD's headers would be read as the next answer."""
    url = request.getfixturevalue(target)
    conn = http.client.HTTPConnection(*url.removeprefix("http://").split(":"), timeout=10)
    try:
        for path in GET_PATHS:
            for accept in ("application/json", "text/html"):  # "/" for a browser is the page
                conn.request("HEAD", path, headers={"Accept": accept})
                head = conn.getresponse()
                assert head.read() == b"", path
                conn.request("GET", path, headers={"Accept": accept})
                got = conn.getresponse()
                body = got.read()
                assert head.status == got.status, path
                ignore = {"Date", "X-Call-Id"}
                assert {k: v for k, v in head.getheaders() if k not in ignore} == \
                       {k: v for k, v in got.getheaders() if k not in ignore}, path
                assert int(head.headers["Content-Length"]) == len(body), path
    finally:
        conn.close()
