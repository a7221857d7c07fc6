"""launcher/listen_first.c, the function image's entrypoint: the port listens before Python starts,
so a connection made while the model loads waits and is answered instead of refused. Compiled here
with the flags the image's build stage uses (Dockerfile.fn); the service runs from this checkout."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fn.server import settings
from harness.launch import free_port
from tests.helpers import ROOT, compile_c, wait_healthy

SOURCE = ROOT / "launcher" / "listen_first.c"
# The service as the image starts it, after a pause that stands for a slow model load.
SLOW_START = "import sys, time; time.sleep({pause}); from fn.index import main; sys.exit(main(sys.argv[1:]))"
PORT_NAMES = (settings.BY_NAME["port"].name, *settings.BY_NAME["port"].aliases, settings.BY_NAME["host"].name,
              "LISTEN_FDS", "LISTEN_PID", "AWS_LAMBDA_RUNTIME_API")


@pytest.fixture(scope="module")
def launcher(tmp_path_factory) -> Path:
    return compile_c(SOURCE, "listen-first", tmp_path_factory.mktemp("launcher"))


def environment(**values: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if k not in PORT_NAMES}, "access_log": "0",
            "metrics_port": "0", "drain_delay": "0", **values}


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def stop_process(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def early_request(port: int) -> str:
    """GET /_/ready sent as soon as the process is started: the status line, or why there is none."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
            s.sendall(b"GET /_/ready HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return s.recv(64).decode().split("\r\n")[0]
    except ConnectionRefusedError:
        return "refused"


def test_a_request_sent_before_python_listens_waits_and_is_answered(launcher):
    port = free_port()
    proc = start([str(launcher), sys.executable, "-c", SLOW_START.format(pause=1.5)], environment(port=str(port)))
    try:
        time.sleep(0.2)  # the launcher has long bound; Python is still "loading"
        started = time.monotonic()
        assert early_request(port) == "HTTP/1.0 200 OK"
        assert time.monotonic() - started > 0.8  # it waited in the backlog for the service
    finally:
        stop_process(proc)


def test_without_it_the_same_request_is_refused(launcher):
    """What the launcher is for: the same start, run as python alone."""
    port = free_port()
    proc = start([sys.executable, "-c", SLOW_START.format(pause=1.5)], environment(port=str(port)))
    try:
        time.sleep(0.2)
        assert early_request(port) == "refused"
    finally:
        stop_process(proc)


def test_a_port_flag_moves_the_service_and_frees_the_launchers_port(launcher):
    bound, wanted = free_port(), free_port()
    proc = start([str(launcher), sys.executable, "-c", SLOW_START.format(pause=0), "--port", str(wanted)],
                 environment(port=str(bound)))
    try:
        wait_healthy(f"http://127.0.0.1:{wanted}", proc)
        assert early_request(bound) == "refused"  # closed by the service, not left accepting
    finally:
        stop_process(proc)


def test_nothing_is_bound_under_lambda_and_the_service_sees_no_socket(launcher):
    show = "import os, stat; print(os.environ.get('LISTEN_FDS'), os.path.exists('/proc/self/fd/3'))"
    env = environment(port=str(free_port()))
    out = subprocess.run([str(launcher), sys.executable, "-c", show], env=env, capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["1", "True"]
    out = subprocess.run([str(launcher), sys.executable, "-c", show], env={**env, "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9"},
                         capture_output=True, text=True, timeout=30)
    assert out.stdout.split() == ["None", "False"]


def test_a_taken_port_is_reported_by_the_service_itself(launcher):
    with socket.create_server(("0.0.0.0", 0)) as taken:
        port = taken.getsockname()[1]
        out = subprocess.run([str(launcher), sys.executable, "-m", "fn"], cwd=ROOT, env=environment(port=str(port)),
                             capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    said = out.stderr.splitlines()[-1]  # after tflite-runtime's own INFO line, where it prints one
    assert said == f"device-price: cannot start: cannot listen on 0.0.0.0:{port} (Address already in use)"


def test_a_missing_command_is_a_usage_error(launcher):
    out = subprocess.run([str(launcher)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 2 and out.stderr.startswith("usage: listen-first COMMAND")


def test_it_reads_the_address_as_the_service_does():
    """The variables it reads, in order, and their defaults are the settings' (fn/server/settings.py)."""
    source = SOURCE.read_text()
    for setting, array in ((settings.BY_NAME["host"], "HOST"), (settings.BY_NAME["port"], "PORT")):
        names = re.search(rf"\b{array}\[\] = \{{(.*?), NULL\}}", source)[1]
        assert [n.strip().strip('"') for n in names.split(",")] == [setting.name, *setting.aliases]
        assert f'setting({array}, "{setting.default}")' in source
