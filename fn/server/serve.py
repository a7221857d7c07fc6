"""A process's life as a server: listen, serve on the socket, drain.

- Python listens only once the model is loaded (the caller loads it first), so readiness is
  simply "the port answers"; in the function image the launcher (launcher/listen_first.c) bound
  the port before Python started, and a connection made meanwhile waits in its backlog.
- SIGTERM or Ctrl-C: health turns 503 at once; serving goes on for drain_delay while the
  platform stops routing here; then the listener closes, accepted requests finish within
  write_timeout, and the process exits 0.
- workers > 1: processes forked after the model is loaded share the socket, each serving it
  here; their parent is fn/server/supervisor.py, the start-up fn/server/start.py.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Sized
from typing import Any

from fn.api.operations import PROBES
from fn.server import logs, metrics
from fn.server.app import App
from fn.server.settings import Config
from fn.server.waitress_adapter import Server

# Set by a SIGTERM/SIGINT that arrives before serve_socket has installed its own handlers
# (in a worker just forked, say): serve_socket then starts draining at once.
stop_requested = threading.Event()


def note_stop(*_: Any) -> None:
    stop_requested.set()


class StartError(Exception):
    """The server cannot start (for instance, its port is taken)."""


def say(name: str, message: str) -> None:
    """A line before logging is set up (a setting that does not parse, a port in use)."""
    print(f"{name}: {message}", file=sys.stderr, flush=True)


class Observer:
    """What the data plane reports of each request: its rows (for the access log line) and the
    model's metrics (the warnings' values outside the training range are counted when tallied)."""

    def __init__(self, metrics: metrics.Metrics | None):
        self.metrics = metrics

    def predicted(self, records: Sized, batch: bool, seconds: float,
                  warnings: list[list[dict[str, str]]]) -> None:
        request = logs.REQUEST.get()
        if request is not None:
            request["rows"] = len(records)
        if self.metrics:
            self.metrics.predicted(len(records), batch, seconds, warnings)

    def invalid(self, fields: list[str | None]) -> None:
        if self.metrics:
            self.metrics.invalid_fields(fields)


def cannot_listen(host: str, port: int, e: OSError) -> str:
    return f"cannot listen on {host}:{port} ({os.strerror(e.errno) if e.errno else e})"


# Where the image's launcher (launcher/listen_first.c) leaves the socket it bound before Python
# started, by systemd's convention: LISTEN_FDS sockets from fd 3, for the process LISTEN_PID.
INHERITED_FD = 3


def inherited(host: str, port: int) -> socket.socket | None:
    """The listening socket the launcher passed, if it is bound to the address asked for; one that
    is not (a --port flag moved the service) is closed, so the port it held is free again."""
    fds, pid = os.environ.pop("LISTEN_FDS", None), os.environ.pop("LISTEN_PID", None)  # not for workers
    if fds != "1" or pid != str(os.getpid()):
        return None
    try:
        sock = socket.socket(fileno=INHERITED_FD)
    except OSError:  # not a socket after all: bind as without the launcher
        return None
    try:
        wanted = {a[4][:2] for a in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)}
    except OSError:
        wanted = set()
    if sock.getsockname()[:2] in wanted:
        return sock
    sock.close()
    return None


def listen(host: str, port: int) -> socket.socket:
    """The launcher's socket when it holds host:port, else a new one listening there."""
    sock = inherited(host, port)
    if sock is None:
        try:
            sock = socket.create_server((host, port), backlog=2048, reuse_port=False)
        except OSError as e:
            raise StartError(cannot_listen(host, port, e)) from None
    sock.set_inheritable(True)
    return sock


def serve_socket(app: App, sock: socket.socket, config: Config, name: str, parent: int | None = None,
                 heartbeat: Callable[[], None] | None = None) -> None:
    """Serve on an already listening socket until SIGTERM/SIGINT has drained it; `heartbeat`
    is called after every turn of the loop, and the metrics and the access log are flushed from
    it every App.FLUSH_SECONDS (the loop turns at least that often)."""
    server = Server(app, app.overloaded, app.error_body, sock, threads=config.threads, max_inflight=config.max_inflight,
                    exempt=PROBES, read_timeout=config.read_timeout,
                    connection_limit=config.connection_limit, max_body_bytes=config.max_body_bytes,
                    tuned=config.waitress_tuning)
    stopped = threading.Event()
    drain_started = threading.Event()

    def drain() -> None:
        time.sleep(config.drain_delay)
        closed = threading.Event()

        def close_listener() -> None:
            server.close_listener()
            closed.set()

        server.call_in_loop(close_listener)
        closed.wait(2)
        deadline = time.monotonic() + config.write_timeout
        while time.monotonic() < deadline and server.busy():
            server.call_in_loop(server.close_idle)
            time.sleep(0.01)
        stopped.set()
        server.call_in_loop(server.close_idle)

    def begin_drain(*_: Any) -> None:
        app.draining = True
        if not drain_started.is_set():
            drain_started.set()
            if parent is None:
                logs.event(f"draining: serving {config.drain_delay:g} s more, then finishing what is in "
                           f"flight (at most {config.write_timeout:g} s)")
            threading.Thread(target=drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, begin_drain)
    signal.signal(signal.SIGINT, begin_drain)
    if stop_requested.is_set():
        begin_drain()
    if parent is not None:  # a worker drains when its parent is gone
        def watch_parent() -> None:
            while not drain_started.is_set():
                if os.getppid() != parent:
                    begin_drain()
                time.sleep(0.5)
        threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()

    flush_at = 0.0
    if heartbeat is not None:  # alive from the start: a worker stopped before its first turn has a time to show
        heartbeat()
    while not stopped.is_set():
        server.run_once(timeout=app.FLUSH_SECONDS)
        now = time.monotonic()
        if now >= flush_at:
            app.flush()
            flush_at = now + app.FLUSH_SECONDS
        if heartbeat is not None:
            heartbeat()
    server.shutdown()
    app.flush()  # the last counts and lines, before the process exits
