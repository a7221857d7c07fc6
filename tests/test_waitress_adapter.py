"""Every Waitress internal fn/waitress_adapter.py relies on, checked one by one, so that a Waitress
upgrade fails here, naming the assumption it broke, instead of somewhere in the drain or the 429."""

from __future__ import annotations

import inspect
import re
import socket
import threading
import time
from importlib import metadata

import pytest
import requests
import waitress
from waitress import channel, task, wasyncore
from waitress.adjustments import Adjustments
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask

from fn.server import waitress_adapter
from harness.launch import free_port
from tests.helpers import ROOT, start_process, stop_process, wait_healthy


def test_waitress_is_the_pinned_version():
    pinned = re.search(r"^waitress==(\S+)", (ROOT / "requirements/common.txt").read_text(), re.M).group(1)
    assert metadata.version("waitress") == pinned, "the adapter was checked against the pinned Waitress only"


def test_create_server_still_takes_a_dispatcher():
    assert "_dispatcher" in inspect.signature(waitress.create_server).parameters, \
        "waitress.create_server lost its _dispatcher seam: max_inflight cannot count queued requests"


def test_send_bytes_is_still_an_adjustment():
    assert "send_bytes" in dict(Adjustments._params), \
        "Waitress dropped send_bytes: responses are sent piecemeal again and the loop spins under concurrency"


def test_task_dispatcher_interface():
    params = inspect.signature(task.ThreadedTaskDispatcher.shutdown).parameters
    assert {"cancel_pending", "timeout"} <= set(params), "ThreadedTaskDispatcher.shutdown changed its arguments"
    assert list(inspect.signature(task.ThreadedTaskDispatcher.add_task).parameters) == ["self", "task"], \
        "ThreadedTaskDispatcher.add_task changed its arguments"
    ours = {"limit", "exempt", "inflight", "count_lock", "trigger"}
    clash = ours & set(vars(task.ThreadedTaskDispatcher())) | ours & set(dir(task.ThreadedTaskDispatcher))
    assert not clash, f"ThreadedTaskDispatcher now has attributes named like the adapter's: {clash}"


def test_channel_interface():
    for name in ("service", "cancel", "total_outbufs_len", "will_close"):
        assert hasattr(channel.HTTPChannel, name), f"HTTPChannel.{name} is gone: the drain or the 429 needs it"
    source = inspect.getsource(channel.HTTPChannel.__init__)
    assert "self.requests = []" in source, "HTTPChannel no longer keeps its parsed requests in .requests"


def test_parser_and_error_task_interface():
    assert channel.HTTPChannel.parser_class is HTTPRequestParser and channel.HTTPChannel.error_task_class is ErrorTask, \
        "HTTPChannel no longer names its parser_class and error_task_class: the 413 cannot be JSON"
    from waitress.server import BaseWSGIServer

    assert BaseWSGIServer.channel_class is channel.HTTPChannel, "the server no longer makes channels from channel_class"
    for name in ("completed", "chunked", "headers_finished", "content_length", "body_bytes_received", "body_rcv",
                 "error"):
        assert hasattr(HTTPRequestParser, name), f"HTTPRequestParser.{name} is gone: the oversized-body reader needs it"
    parser_source = inspect.getsource(HTTPRequestParser)
    assert "br.received(data)" in parser_source and ".getfile()" in parser_source and ".getbuf()" in parser_source, \
        "the parser's body receiver interface changed (received, getfile, getbuf)"
    for name in ("set_close_on_finish", "write", "response_headers", "content_length", "status"):
        assert hasattr(ErrorTask, name) or name in inspect.getsource(ErrorTask.__mro__[1]), \
            f"ErrorTask.{name} is gone: the JSON error task needs it"


def test_loop_takes_a_map_and_a_count():
    assert {"timeout", "use_poll", "map", "count"} <= set(inspect.signature(wasyncore.loop).parameters), \
        "wasyncore.loop changed: the adapter runs the loop one pass at a time"


@pytest.fixture
def running_server():
    """A real adapter Server on loopback with max_inflight 1, its loop in a thread."""
    release = threading.Event()

    def slow(environ, start_response):
        if environ["PATH_INFO"] == "/slow":
            release.wait(10)
        start_response("200 OK", [("Content-Length", "2")])
        return [b"ok"]

    def overloaded(environ, start_response):
        start_response("429 Too Many Requests", [("Content-Length", "4")])
        return [b"busy"]

    sock = socket.create_server(("127.0.0.1", 0))
    # The loop must run in the main thread for the 429 (it tells the loop by its thread):
    # here the test's own thread runs it between requests.
    server = waitress_adapter.Server(slow, overloaded, lambda status, message: b"{}", sock, threads=2,
                                     max_inflight=1, exempt=("/_/health",), read_timeout=5, connection_limit=100,
                                     max_body_bytes=1 << 20)
    yield server, f"http://127.0.0.1:{sock.getsockname()[1]}", release
    release.set()
    server.shutdown()


def test_server_internals_used_by_the_drain(running_server):
    server, url, release = running_server
    for name in ("_map", "accepting", "trigger", "del_channel", "task_dispatcher"):
        assert hasattr(server.server, name), f"Waitress's server has no .{name}: the drain needs it"
    assert server.server.task_dispatcher is server.dispatcher, "the _dispatcher seam was ignored"
    answers: list[int] = []
    slow = threading.Thread(target=lambda: answers.append(requests.get(url + "/slow", timeout=10).status_code))
    slow.start()
    deadline = time.monotonic() + 5
    while not server.busy() and time.monotonic() < deadline:
        server.run_once(0.05)
    assert server.busy() and server.dispatcher.inflight == 1
    fast = threading.Thread(target=lambda: answers.append(requests.get(url + "/fast", timeout=10).status_code))
    fast.start()
    while len(answers) < 1 and time.monotonic() < deadline:
        server.run_once(0.05)
    assert answers == [429], "a request past max_inflight was not answered by the loop at once"
    release.set()
    while len(answers) < 2 and time.monotonic() < deadline:
        server.run_once(0.05)
    slow.join(5)
    fast.join(5)
    assert sorted(answers) == [200, 429]
    server.call_in_loop(server.close_listener)
    server.run_once(0.05)
    server.run_once(0.05)
    assert not server.server.accepting and server.sock.fileno() == -1
    while server.busy() and time.monotonic() < deadline:
        server.call_in_loop(server.close_idle)
        server.run_once(0.05)
    assert not server.busy()


def test_idle_sweep_reads_the_adjustments_the_adapter_sets():
    source = inspect.getsource(waitress.server.BaseWSGIServer)
    assert "self.adj.cleanup_interval" in source and "self.adj.channel_timeout" in source, \
        "Waitress's idle sweep no longer reads adj.cleanup_interval/channel_timeout: read_timeout is not in force"


@pytest.mark.parametrize("read_timeout", [1.0, 2.5])
def test_an_idle_connection_closes_within_read_timeout(read_timeout):
    """The documented read_timeout is the one in force: an idle connection is closed after it,
    within a sweep interval and a loop pass of slack (not after Waitress's 30 s sweep), and not before."""
    port = free_port()
    proc = start_process("fn", {"port": str(port), "read_timeout": f"{read_timeout:g}", "metrics_port": "0"})
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, timeout=120)
        slack = waitress_adapter.sweep_interval(read_timeout) + 0.5  # a sweep, a loop pass, a busy machine
        s = socket.create_connection(("127.0.0.1", port), timeout=read_timeout + slack + 5)
        opened = time.monotonic()
        assert s.recv(1) == b"", "the idle connection got bytes instead of a close"
        idle = time.monotonic() - opened
        s.close()
        assert read_timeout - 0.05 <= idle <= read_timeout + slack, f"closed after {idle:.2f} s"
    finally:
        stop_process(proc)
