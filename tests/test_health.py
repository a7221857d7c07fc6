"""fn.health, the images' HEALTHCHECK: exit 0 only while the service on its port is ready."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from fn import health
from scripts.launch import free_port
from tests.conftest import ROOT


def check(port: int, *args: str) -> int:
    """As Docker runs it: python3 -S -m fn.health, the port from the environment."""
    env = {**os.environ, "port": str(port), "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-S", "-m", "fn.health", *args], cwd=ROOT, env=env,
                          capture_output=True, timeout=30).returncode


def test_ready_function_passes_and_a_closed_port_fails(fn_url):
    assert check(urlsplit(fn_url).port) == 0
    assert check(free_port()) == 1


def test_not_ready_fails():
    class Draining(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503 if self.path == "/_/ready" else 200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Draining)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert health.ready(server.server_address[1]) is False
    finally:
        server.shutdown()


def test_a_bad_port_setting_is_named():
    env = {**os.environ, "port": "eighty", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-S", "-m", "fn.health"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 1 and "port" in proc.stderr and "Traceback" not in proc.stderr
