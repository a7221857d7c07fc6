"""A process's life as a server: listen, serve in one process or forked workers, drain.

- The socket listens only once the model is loaded (the caller loads it first), so
  readiness is simply "the port answers".
- SIGTERM or Ctrl-C: health turns 503 at once; serving goes on for drain_delay while the
  platform stops routing here; then the listener closes, accepted requests finish within
  write_timeout, and the process exits 0.
- workers > 1: processes forked after the model is loaded share the socket; the parent
  forwards signals, and a worker that dies on its own stops the rest (exit 1), so the
  platform's restart policy takes over.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from typing import Any

from .app import HEALTH_PATHS, App, Route
from .waitress_adapter import Server

# Set by a SIGTERM/SIGINT that arrives before serve_socket has installed its own handlers
# (in a worker just forked, say): serve_socket then starts draining at once.
_stop_requested = threading.Event()


def _note_stop(*_: Any) -> None:
    _stop_requested.set()


class StartError(Exception):
    """The server cannot start (for instance, its port is taken)."""


def say(name: str, message: str) -> None:
    print(f"{name}: {message}", file=sys.stderr, flush=True)


def listen(host: str, port: int) -> socket.socket:
    try:
        sock = socket.create_server((host, port), backlog=2048, reuse_port=False)
    except OSError as e:
        raise StartError(f"cannot listen on {host}:{port} ({os.strerror(e.errno) if e.errno else e})") from None
    sock.set_inheritable(True)
    return sock


def serve_socket(app: App, sock: socket.socket, config: Any, name: str, parent: int | None = None) -> None:
    """Serve on an already listening socket until SIGTERM/SIGINT has drained it."""
    server = Server(app, app.overloaded, sock, threads=config.threads, max_inflight=config.max_inflight,
                    exempt=app.health_paths, read_timeout=config.read_timeout,
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
                say(name, f"draining: serving {config.drain_delay:g} s more, then finishing what is in "
                          f"flight (at most {config.write_timeout:g} s)")
            threading.Thread(target=drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, begin_drain)
    signal.signal(signal.SIGINT, begin_drain)
    if _stop_requested.is_set():
        begin_drain()
    if parent is not None:  # a worker drains when its parent is gone
        def watch_parent() -> None:
            while not drain_started.is_set():
                if os.getppid() != parent:
                    begin_drain()
                time.sleep(0.5)
        threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()

    while not stopped.is_set():
        server.run_once()
    server.shutdown()


def run(route: Route, config: Any, name: str, banner: str = "", health_paths: tuple[str, ...] = HEALTH_PATHS) -> int:
    """Listen, then serve in this process (workers=1) or in forked workers sharing the socket."""
    app = App(route, access_log=config.access_log, max_inflight=config.max_inflight, health_paths=health_paths)
    try:
        sock = listen(config.host, config.port)
    except StartError as e:
        say(name, f"cannot start: {e}")
        return 1
    print(f"{banner}listening on http://{config.host}:{config.port} "
          f"(workers={config.workers}, threads={config.threads}, max_inflight={config.max_inflight or 'none'})",
          flush=True)
    if config.workers == 1:
        serve_socket(app, sock, config, name)
        say(name, "drained; exiting")
        return 0
    parent = os.getpid()
    signal.signal(signal.SIGTERM, _note_stop)  # inherited by each worker until it is ready
    signal.signal(signal.SIGINT, _note_stop)
    children = []
    for _ in range(config.workers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                serve_socket(app, sock, config, name, parent)
                code = 0
            finally:
                sys.stdout.flush()
                os._exit(code)
        children.append(pid)
    sock.close()
    return _supervise(children, name, config)


def _supervise(children: list[int], name: str, config: Any) -> int:
    """Forward SIGTERM/SIGINT to every worker; exit 0 only if they all drained cleanly."""
    stopping = False

    def forward(signum: int, _: Any) -> None:
        nonlocal stopping
        if not stopping and signum in (signal.SIGTERM, signal.SIGINT):
            say(name, f"draining {len(children)} workers: serving {config.drain_delay:g} s more, then finishing "
                      f"what is in flight (at most {config.write_timeout:g} s)")
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    if _stop_requested.is_set():  # it came while the workers were being forked
        forward(signal.SIGTERM, None)
    status = 0
    remaining = set(children)
    while remaining:
        pid, code = os.wait()
        remaining.discard(pid)
        if os.waitstatus_to_exitcode(code) != 0:
            status = 1
        if not stopping:  # a worker died on its own: stop the rest, let the platform restart us
            say(name, f"worker {pid} exited with {os.waitstatus_to_exitcode(code)}; stopping")
            status = 1
            forward(0, None)
    say(name, "drained; exiting" if status == 0 else "stopped; exiting 1")
    return status
