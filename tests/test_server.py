"""The platform side: configuration, handler, max_inflight, drain on SIGTERM."""

from __future__ import annotations

import json
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest
import requests

from fn import handler, server
from fn.features import EXAMPLE
from tests.conftest import free_port, start_process, wait_healthy


@pytest.mark.parametrize("text, seconds", [("10s", 10), ("500ms", 0.5), ("1m30s", 90), ("2", 2), ("0", 0)])
def test_durations(text, seconds):
    assert server.duration(text, "x") == pytest.approx(seconds)


@pytest.mark.parametrize("env, message", [
    ({"read_timeout": "soon"}, "read_timeout='soon' is not a duration"),
    ({"workers": "two"}, "workers='two' is not a whole number"),
    ({"workers": "0"}, "workers=0 must be at least 1"),
    ({"port": "70000"}, "not a TCP port"),
])
def test_bad_configuration_is_named(env, message):
    with pytest.raises(server.ConfigError, match=message):
        server.Config.from_env(env)


def test_configuration_from_environment():
    config = server.Config.from_env({"port": "9000", "write_timeout": "2s", "max_inflight": "3"}, workers=2)
    assert (config.port, config.write_timeout, config.max_inflight, config.workers) == (9000, 2.0, 3, 2)


def event(method: str, body: bytes = b"") -> SimpleNamespace:
    return SimpleNamespace(method=method, body=body, headers={}, query={}, path="/")


def test_handler_predicts_on_post(predictor):
    result = handler.handle(event("POST", json.dumps(EXAMPLE).encode()), SimpleNamespace(hostname="h"))
    assert result["statusCode"] == 200 and result["headers"]["Content-Type"] == "application/json"
    value = json.loads(result["body"])
    assert value["normalized_used_price"] == pytest.approx(predictor.predict([EXAMPLE])[0]["normalized_used_price"])


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
    once, the process exits 0 within drain_delay + write_timeout."""
    port = free_port()
    proc = start_process(["-m", "fn"], {"port": str(port), "drain_delay": "1s", "write_timeout": "10s",
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
            sent = time.monotonic()
            time.sleep(0.1)
            assert requests.get(url + "/_/health", timeout=2).status_code == 503
            assert requests.get(url + "/_/ready", timeout=2).status_code == 503
            stop.set()
            for f in futures:
                f.result()
        assert proc.wait(15) == 0
        assert time.monotonic() - sent <= 1 + 10
        assert statuses and set(statuses) == {200}
    finally:
        if proc.poll() is None:
            proc.kill()


def test_max_inflight_answers_429_with_retry_after():
    port = free_port()
    proc = start_process(["-m", "fn"], {"port": str(port), "max_inflight": "1", "threads": "2", "access_log": "0"})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc)
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
    finally:
        proc.terminate()
        proc.wait(10)
