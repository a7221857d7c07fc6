"""fn.health, the images' HEALTHCHECK: exit 0 only while the service on its port is ready."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from fn import health
from fn.server import settings
from harness.launch import free_port
from tests.helpers import ROOT


def check(env: dict[str, str], default: str = "") -> subprocess.CompletedProcess:
    """As the image's HEALTHCHECK runs it (python3 -S -c ...), with these variables."""
    env = {**{k: v for k, v in os.environ.items() if k not in health.PORT_VARIABLES}, "PYTHONPATH": str(ROOT), **env}
    return subprocess.run([sys.executable, "-S", "-c", f"import fn.health as h; h.main({default})"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=30)


def test_a_ready_service_passes_and_a_closed_port_fails(fn_url):
    port = str(urlsplit(fn_url).port)
    assert check({"port": port}).returncode == 0
    assert check({"PORT": port}).returncode == 0
    assert check({"port": str(free_port())}).returncode == 1
    assert check({}, default=port).returncode == 0  # the server image passes its own default


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


def test_a_bad_port_is_named():
    proc = check({"port": "eighty"})
    assert proc.returncode == 1 and "port='eighty'" in proc.stderr and "Traceback" not in proc.stderr


def test_it_reads_the_port_as_the_service_does():
    """Its own small reading of the port (it skips fn.server.settings to stay cheap) is the settings' one."""
    port = settings.BY_NAME["port"]
    assert health.PORT_VARIABLES == (port.name, *port.aliases)
    assert inspect.signature(health.main).parameters["default_port"].default == port.default_for("fn")
    assert port.default_for("baseline") == 8000  # what Dockerfile.server passes (tests/test_k8s.py)
