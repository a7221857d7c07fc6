"""probe/health.c, the images' HEALTHCHECK: exit 0 only while the service on its port is ready.
Compiled here with the flags the images' build stage uses (Dockerfile.fn, Dockerfile.server)."""

from __future__ import annotations

import os
import re
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fn.server import settings
from harness.launch import free_port
from tests.helpers import ROOT, compile_c

SOURCE = ROOT / "probe" / "health.c"


@pytest.fixture(scope="module")
def probe(tmp_path_factory) -> Path:
    return compile_c(SOURCE, "health", tmp_path_factory.mktemp("probe"))


def check(probe: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """As the HEALTHCHECK runs it, with these variables (and none of the port's from this process)."""
    port_names = (settings.BY_NAME["port"].name, *settings.BY_NAME["port"].aliases)
    env = {**{k: v for k, v in os.environ.items() if k not in port_names}, **env}
    return subprocess.run([str(probe), *args], env=env, capture_output=True, text=True, timeout=30)


def test_a_ready_service_passes_and_a_closed_port_fails(probe, fn_url):
    port = str(urlsplit(fn_url).port)
    assert check(probe, {"port": port}).returncode == 0
    assert check(probe, {"PORT": port}).returncode == 0
    assert check(probe, {"port": str(free_port())}).returncode == 1
    assert check(probe, {}, port).returncode == 0  # the server image passes its own port


def test_not_ready_fails_and_so_does_a_server_that_never_answers(probe):
    class Draining(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(503 if self.path == "/_/ready" else 200)
            self.end_headers()

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Draining)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        assert check(probe, {"port": str(server.server_address[1])}).returncode == 1
    finally:
        server.shutdown()
    with __import__("socket").create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        proc = check(probe, {"port": str(silent.getsockname()[1])})
        assert proc.returncode == 1  # within its own 2 s timeout, before Docker's


def test_a_bad_port_is_named(probe):
    for env, named in (({"port": "eighty"}, "eighty (port)"), ({"PORT": "0"}, "0 (PORT)"), ({}, "99999 (argument 1)")):
        proc = check(probe, env, *([] if env else ["99999"]))
        assert proc.returncode == 1 and f"health: {named} is not a port" in proc.stderr


def test_it_reads_the_port_as_the_service_does():
    """The variables it reads, in order, and its default are the settings' (fn/server/settings.py)."""
    port = settings.BY_NAME["port"]
    source = SOURCE.read_text()
    names = re.search(r"PORT_VARIABLES\[\] = \{(.*?)\};", source)[1]
    assert tuple(re.findall(r'"(\w+)"', names)) == (port.name, *port.aliases)
    assert f'argc > 1 ? argv[1] : "{port.default_for("fn")}"' in source
    assert port.default_for("baseline") == 8000  # what Dockerfile.server passes (tests/test_k8s.py)
