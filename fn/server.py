"""Serve a route over HTTP with Waitress: the platform side of the function and of the baseline.

What it adds to Waitress, every part of it a platform concern:
- health and readiness that turn 200 only once the model is loaded (it is loaded before
  the socket listens) and 503 as soon as SIGTERM arrives;
- max_inflight: requests queued or running past it get 429 with Retry-After at once,
  answered by the event loop itself instead of waiting for a worker thread;
- a graceful drain: keep serving for drain_delay while the platform stops routing, then
  close the listener, let accepted requests finish within write_timeout, exit 0;
- workers: several processes accepting on one listening socket;
- one access-log line per request on stdout;
- the two settings that stop Waitress spinning under concurrency (see README "Serving").
Configuration comes from the environment, with OpenFaaS's names.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from . import api

Route = Callable[[str, str, bytes], api.Response]  # (method, path, body) -> response
HEALTH_PATHS = ("/_/health", "/_/ready")


class ConfigError(ValueError):
    pass


def duration(text: str, name: str) -> float:
    """An OpenFaaS/Go duration ("10s", "500ms", "1m30s") or plain seconds, as seconds."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
    if not parts or "".join(a + b for a, b in parts) != text:
        raise ConfigError(f"{name}={text!r} is not a duration such as 10s, 500ms or 1m30s")
    return sum(float(a) * units[b] for a, b in parts)


@dataclass(frozen=True)
class Config:
    host: str = "0.0.0.0"
    port: int = 8080
    workers: int = 1  # one process is the fastest start
    threads: int = 1  # measured fastest for this CPU-bound model: README "Serving"
    max_inflight: int = 0  # 0: no limit
    read_timeout: float = 10.0  # an idle or stalled connection is closed after this
    write_timeout: float = 10.0  # the longest a request may take to finish during a drain
    drain_delay: float = 3.0  # keep serving after SIGTERM while the platform stops routing
    connection_limit: int = 1000  # Waitress's 100 lets idle sockets lock everyone out
    access_log: bool = True
    # Off only to measure what the two Waitress settings below buy (scripts/bench_concurrency.py).
    waitress_tuning: bool = True

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None, **defaults: Any) -> Config:
        env = dict(os.environ if env is None else env)
        config = replace(cls(), **defaults)
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name not in env or env[f.name] == "":
                continue
            text = env[f.name]
            if f.name in ("read_timeout", "write_timeout", "drain_delay"):
                values[f.name] = duration(text, f.name)
            elif f.name in ("access_log", "waitress_tuning"):
                values[f.name] = text.lower() not in ("0", "false", "no", "off")
            elif f.name == "host":
                values[f.name] = text
            else:
                try:
                    values[f.name] = int(text)
                except ValueError:
                    raise ConfigError(f"{f.name}={text!r} is not a whole number") from None
        return replace(config, **values).checked()

    def checked(self) -> Config:
        if not 0 < self.port < 65536:
            raise ConfigError(f"port={self.port} is not a TCP port")
        for name in ("workers", "threads"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}={getattr(self, name)} must be at least 1")
        for name in ("max_inflight", "read_timeout", "write_timeout", "drain_delay"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name} must not be negative")
        return self


class App:
    """The WSGI application: health, admission (max_inflight), the route, the access log."""

    def __init__(self, route: Route, config: Config, health_paths: tuple[str, ...] = HEALTH_PATHS):
        self.route = route
        self.health_paths = health_paths
        self.config = config
        self.draining = False
        self._log_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> list[bytes]:
        started = time.perf_counter()
        method = environ["REQUEST_METHOD"]
        path = environ.get("PATH_INFO") or "/"
        if path in self.health_paths:
            response = self.health(method)
        else:
            response = self.admit(method, path, environ)
        headers = response.headers + [("Content-Length", str(len(response.body)))]
        start_response(f"{response.status} {_REASONS.get(response.status, '')}", headers)
        if self.config.access_log:
            ms = (time.perf_counter() - started) * 1000
            line = f"{environ.get('REMOTE_ADDR', '-')} {method} {path} {response.status} {len(response.body)} {ms:.2f}ms\n"
            with self._log_lock:
                sys.stdout.write(line)
                sys.stdout.flush()
        return [response.body]

    def health(self, method: str) -> api.Response:
        if method not in ("GET", "HEAD"):
            return api.method_not_allowed(method, "GET")
        if self.draining:
            return api.json_response(503, {"status": "draining"})
        return api.json_response(200, {"status": "ok"})

    def admit(self, method: str, path: str, environ: dict[str, Any]) -> api.Response:
        if _over_limit.active:
            return api.error(429, f"more than {self.config.max_inflight} requests in flight; retry shortly",
                             headers=[("Retry-After", "1")])
        try:
            body = _read_body(environ)
            return self.route(method, path, body)
        except Exception:  # a bug, never bad input: that is mapped in api
            logging.getLogger("device-price").exception("request failed: %s %s", method, path)
            return api.error(500, "internal error")


class _Flag(threading.local):
    active = False


# Set while the event loop answers a request that is over max_inflight (see Admission).
_over_limit = _Flag()


class Admission:
    """Wraps Waitress's task dispatcher: counts requests queued or running, and answers the
    ones past max_inflight at once in the event loop's thread, so they never queue behind
    the work that made the server busy. Health probes are always admitted."""

    def __init__(self, limit: int, health_paths: tuple[str, ...]):
        from waitress.task import ThreadedTaskDispatcher

        self.limit = limit
        self.health_paths = health_paths
        self.inflight = 0
        self.lock = threading.Lock()
        self.trigger: Any = None  # the server's, set once it exists
        self.dispatcher = ThreadedTaskDispatcher()
        self._add_task = self.dispatcher.add_task
        self.dispatcher.add_task = self.add_task

    def add_task(self, task: Any) -> None:
        # task is a Waitress channel with its next request first. The channel adds its next
        # pipelined request itself while holding its lock (in a worker thread, or in the
        # loop during a rejection): that one queues, since answering it here would deadlock.
        path = task.requests[0].path if task.requests else ""
        in_loop = threading.current_thread() is threading.main_thread() and not _over_limit.active
        with self.lock:
            reject = (bool(self.limit) and in_loop and self.inflight >= self.limit
                      and path not in self.health_paths)
            if not reject:
                self.inflight += 1
        if reject:
            # Waitress calls add_task holding the channel's lock, which service() takes
            # too: answer from the loop's next turn, still without a worker thread.
            self.trigger.pull_trigger(lambda: self._reject(task))
            return
        self._add_task(_Counted(task, self))

    def _reject(self, channel: Any) -> None:
        _over_limit.active = True
        try:
            channel.service()  # a tiny 429
        finally:
            _over_limit.active = False


class _Counted:
    """A queued channel that leaves the in-flight count when it has been served."""

    def __init__(self, channel: Any, admission: Admission):
        self.channel, self.admission = channel, admission

    def service(self) -> None:
        try:
            self.channel.service()
        finally:
            with self.admission.lock:
                self.admission.inflight -= 1

    def cancel(self) -> None:
        self.channel.cancel()


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    # Waitress has already buffered the whole body (chunked bodies get their length set).
    return environ["wsgi.input"].read(length) if length > 0 else b""


_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 413: "Payload Too Large",
            422: "Unprocessable Entity", 429: "Too Many Requests", 500: "Internal Server Error",
            503: "Service Unavailable"}


def listen(config: Config) -> socket.socket:
    sock = socket.create_server((config.host, config.port), backlog=2048, reuse_port=False)
    sock.set_inheritable(True)
    return sock


def _waitress_server(app: App, sock: socket.socket, admission: Admission) -> Any:
    import waitress

    config = app.config
    tuning = {}
    if config.waitress_tuning:
        # Waitress logs a line for every request that waits in its queue: costly, and
        # queueing is normal here.
        logging.getLogger("waitress.queue").setLevel(logging.ERROR)
        # A worker thread then sends a response in one piece; with the default the main
        # loop spins against the channel lock under concurrency (README "Serving").
        tuning["send_bytes"] = 65536
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return waitress.create_server(
            app,
            sockets=[sock],
            _dispatcher=admission.dispatcher,
            **tuning,
            channel_timeout=max(1, int(config.read_timeout)),
            connection_limit=config.connection_limit,
            asyncore_use_poll=True,  # select() stops at 1,024 descriptors
            max_request_body_size=api.MAX_BODY_BYTES,
            # Bodies and responses stay in memory: no temporary files under a read-only root.
            inbuf_overflow=api.MAX_BODY_BYTES + (1 << 16),
            outbuf_overflow=64 << 20,
            expose_tracebacks=False,
            ident="device-price",
        )


def serve_socket(app: App, sock: socket.socket, parent: int | None = None) -> None:
    """Serve on an already listening socket until SIGTERM/SIGINT has drained it."""
    from waitress import wasyncore

    admission = Admission(app.config.max_inflight, app.health_paths)
    admission.dispatcher.set_thread_count(app.config.threads)
    server = _waitress_server(app, sock, admission)
    admission.trigger = server.trigger
    stopped = threading.Event()
    drain_started = threading.Event()

    def drain() -> None:
        config = app.config
        time.sleep(config.drain_delay)
        closed = threading.Event()

        def close_listener() -> None:  # runs in the loop's thread
            server.accepting = False
            server.del_channel()
            sock.close()
            closed.set()

        def close_idle() -> None:  # keep-alive connections with nothing in progress
            for channel in list(server._map.values()):
                if hasattr(channel, "requests") and not channel.requests and not channel.total_outbufs_len:
                    channel.will_close = True

        server.trigger.pull_trigger(close_listener)
        closed.wait(2)
        deadline = time.monotonic() + config.write_timeout
        while time.monotonic() < deadline and _busy(server, admission):
            server.trigger.pull_trigger(close_idle)
            time.sleep(0.01)
        stopped.set()
        server.trigger.pull_trigger(close_idle)

    def begin_drain(*_: Any) -> None:
        app.draining = True
        if not drain_started.is_set():
            drain_started.set()
            threading.Thread(target=drain, name="drain", daemon=True).start()

    signal.signal(signal.SIGTERM, begin_drain)
    signal.signal(signal.SIGINT, begin_drain)
    if parent is not None:  # a worker drains when its parent is gone
        def watch_parent() -> None:
            while not drain_started.is_set():
                if os.getppid() != parent:
                    begin_drain()
                time.sleep(0.5)
        threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()

    while not stopped.is_set():
        wasyncore.loop(timeout=1.0, map=server._map, use_poll=True, count=1)
    server.task_dispatcher.shutdown(cancel_pending=False, timeout=1)


def _busy(server: Any, admission: Admission) -> bool:
    if admission.inflight:
        return True
    for channel in list(server._map.values()):
        if getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0):
            return True
    return False


def run(route: Route, config: Config, banner: str = "", health_paths: tuple[str, ...] = HEALTH_PATHS) -> int:
    """Listen, then serve in this process (workers=1) or in forked workers sharing the socket."""
    app = App(route, config, health_paths)
    sock = listen(config)
    print(f"{banner}listening on http://{config.host}:{config.port} "
          f"(workers={config.workers}, threads={config.threads}, max_inflight={config.max_inflight or 'none'})",
          flush=True)
    if config.workers == 1:
        serve_socket(app, sock)
        return 0
    parent = os.getpid()
    children = []
    for _ in range(config.workers):
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                serve_socket(app, sock, parent)
                code = 0
            finally:
                sys.stdout.flush()
                os._exit(code)
        children.append(pid)
    sock.close()
    return _supervise(children)


def _supervise(children: list[int]) -> int:
    """Forward SIGTERM/SIGINT to every worker; exit 0 only if they all drained cleanly."""
    stopping = False

    def forward(signum: int, _: Any) -> None:
        nonlocal stopping
        stopping = True
        for pid in children:
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    remaining = set(children)
    while remaining:
        pid, code = os.wait()
        remaining.discard(pid)
        if os.waitstatus_to_exitcode(code) != 0:
            status = 1
        if not stopping:  # a worker died on its own: stop the rest, let the platform restart us
            print(f"worker {pid} exited with {os.waitstatus_to_exitcode(code)}; stopping", file=sys.stderr, flush=True)
            status = 1
            forward(signal.SIGTERM, None)
    return status
