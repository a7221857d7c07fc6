"""A process's life as a server: listen, serve in one process or forked workers, drain.

- The socket listens only once the model is loaded (the caller loads it first), so
  readiness is simply "the port answers".
- SIGTERM or Ctrl-C: health turns 503 at once; serving goes on for drain_delay while the
  platform stops routing here; then the listener closes, accepted requests finish within
  write_timeout, and the process exits 0.
- workers > 1: processes forked after the model is loaded share the socket; the parent
  (Supervisor) forwards signals, replaces a worker that dies or hangs, and stops with exit 1
  on a crash loop, so that the platform's restart policy takes over.
"""

from __future__ import annotations

import mmap
import os
import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from fn.api import dataplane
from fn.api.body import Limits
from fn.api.operations import PROBES
from fn.model.interface import Model
from fn.record.fields import FIELDS
from fn.server import logs, metrics
from fn.server.app import App, Route
from fn.server.auth import BearerToken, TokenFileError
from fn.server.settings import Config
from fn.server.waitress_adapter import Server

# Set by a SIGTERM/SIGINT that arrives before serve_socket has installed its own handlers
# (in a worker just forked, say): serve_socket then starts draining at once.
_stop_requested = threading.Event()


def _note_stop(*_: Any) -> None:
    _stop_requested.set()


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

    def predicted(self, records: list[dict[str, Any]], batch: bool, seconds: float,
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


def listen(host: str, port: int) -> socket.socket:
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
    if _stop_requested.is_set():
        begin_drain()
    if parent is not None:  # a worker drains when its parent is gone
        def watch_parent() -> None:
            while not drain_started.is_set():
                if os.getppid() != parent:
                    begin_drain()
                time.sleep(0.5)
        threading.Thread(target=watch_parent, name="watch-parent", daemon=True).start()

    flush_at = 0.0
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


def run(config: Config, name: str, model: Model, make_route: Callable[[dataplane.DataPlane], Route],
        load_seconds: float) -> int:
    """Listen, then serve `model` in this process (workers=1) or in forked workers sharing the socket."""
    try:
        token = BearerToken(config.token_file)  # read once now: an unreadable secret stops here
        sock = listen(config.host, config.port)
    except (StartError, TokenFileError) as e:
        say(name, f"cannot start: {e}")
        return 1
    logs.configure(config.log_format)
    multiprocess_dir = None
    measured = endpoint = None
    if config.metrics_port:
        try:
            if config.workers > 1:  # before any metric exists
                multiprocess_dir = metrics.use_multiprocess(config.metrics_dir)
        except OSError as e:
            say(name, f"cannot start: metrics_dir={config.metrics_dir} is not writable ({e.strerror or e})")
            return 1
        try:
            endpoint = metrics.Endpoint(config.host, config.metrics_port, multiprocess_dir)
        except OSError as e:
            say(name, f"cannot start: metrics: {cannot_listen(config.host, config.metrics_port, e)}")
            return 1
        measured = metrics.Metrics(FIELDS)
        measured.started(model.version, model.runtime, _version_of(model.runtime), load_seconds, config.max_inflight)
    plane = dataplane.DataPlane(model, Limits(config.max_batch_rows, config.max_body_bytes), Observer(measured))
    app = App(make_route(plane), access=logs.AccessLog(config.log_format, model.version) if config.access_log else None,
              metrics=measured, max_inflight=config.max_inflight, max_body_bytes=config.max_body_bytes,
              token=token, plane=plane)
    logs.event(f"{name} listening on http://{config.host}:{config.port}", model_version=model.version,
               model_load_seconds=round(load_seconds, 4), auth="bearer token" if app.token.current() is not None
               else "none", metrics=f"http://{config.host}:{config.metrics_port}/metrics" if measured else "off",
               settings={k: str(v) for k, v in vars(config).items()})
    if config.workers == 1:
        if endpoint:
            endpoint.start(measured)
        serve_socket(app, sock, config, name)
        logs.event("drained; exiting")
        return 0
    return Supervisor(app, sock, config, name, multiprocess_dir, endpoint).run()


def _version_of(runtime: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(runtime.split()[0].replace("_", "-"))
    except (metadata.PackageNotFoundError, ValueError):
        return "unknown"


# A crash loop: this many unexpected worker exits within the window stop the server (exit 1),
# so that the platform's restart policy takes over.
CRASH_LOOP = (5, 60.0)


class Supervisor:
    """The parent of the workers. It holds the loaded model and the listening socket, so a
    worker that dies (an OOM kill, say) is replaced by a fork in about a millisecond, and one
    whose loop stops turning (no heartbeat for worker_timeout) is killed and replaced."""

    def __init__(self, app: App, sock: socket.socket, config: Any, name: str, multiprocess_dir: Any = None,
                 endpoint: metrics.Endpoint | None = None):
        self.app, self.sock, self.config, self.name = app, sock, config, name
        self.multiprocess_dir = multiprocess_dir  # the workers' metric files, when there are metrics
        self.endpoint = endpoint
        self.parent = os.getpid()
        self.workers: dict[int, int] = {}  # pid -> slot
        # One heartbeat per slot, in memory shared with the forked workers, written only by the
        # slot's worker: its CLOCK_MONOTONIC (the same clock in every process) in ns, an aligned
        # 8-byte integer stored in one go. (struct.pack_into zeroes its field before it writes
        # the value, so a reader in another process could see 0 in between, and the parent
        # once killed a busy worker for a silence the length of the machine's uptime: issue 25.)
        self.beats = memoryview(mmap.mmap(-1, 8 * config.workers)).cast("q")
        # What the parent last read of each slot and when, on its own clock, that worker was last
        # known to be alive: only a value that moves is taken as a sign of life, so no value
        # read, however odd, can make a beating worker look silent.
        self.seen: dict[int, tuple[int, float]] = {}
        self.stopping = False
        self.deaths: list[float] = []
        self.replaced = 0

    def beat(self, slot: int) -> None:
        """The worker's turn of its loop."""
        self.beats[slot] = time.monotonic_ns()

    def alive_since(self, slot: int, now: float) -> tuple[int, float]:
        """The heartbeat read now and when (the parent's clock) the slot's worker was last
        alive: the time it wrote, when that lies between the last time known and now; now,
        for any other value that moved; unchanged, for a value that did not."""
        value = self.beats[slot]
        last, since = self.seen[slot]
        if value != last:
            wrote = value / 1e9
            since = wrote if since < wrote <= now else now
            self.seen[slot] = (value, since)
        return value, since

    def spawn(self, slot: int) -> int:
        self.seen[slot] = (self.beats[slot], time.monotonic())  # a new worker starts with a fresh heartbeat
        # Signals wait until the child has its own handlers (the parent's would forward them).
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGTERM, _note_stop)
            signal.signal(signal.SIGINT, _note_stop)
            if self.endpoint is not None:  # the parent's to serve
                self.endpoint.server.server_close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
            code = 1
            try:
                serve_socket(self.app, self.sock, self.config, self.name, self.parent, lambda: self.beat(slot))
                code = 0
            finally:
                sys.stdout.flush()
                os._exit(code)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
        self.workers[pid] = slot
        return pid

    def stop(self, signum: int = 0, _: Any = None) -> None:
        if not self.stopping and signum in (signal.SIGTERM, signal.SIGINT):
            logs.event(f"draining {len(self.workers)} workers: serving {self.config.drain_delay:g} s more, "
                       f"then finishing what is in flight (at most {self.config.write_timeout:g} s)")
        self.stopping = True
        self.stop_by = time.monotonic() + self.config.drain_delay + self.config.write_timeout + 5
        for pid in self.workers:
            _signal(pid, signal.SIGTERM)

    def run(self) -> int:
        """Forward SIGTERM/SIGINT to every worker; exit 0 only if they all drained cleanly."""
        signal.signal(signal.SIGTERM, self.stop)
        signal.signal(signal.SIGINT, self.stop)
        for slot in range(self.config.workers):
            self.spawn(slot)
        if self.endpoint is not None:  # the sum of every worker's metrics, served here
            self.endpoint.start()
        if _stop_requested.is_set():
            self.stop(signal.SIGTERM)
        status = 0
        while self.workers:
            pid, code = os.waitpid(-1, os.WNOHANG)
            if pid:
                status |= self.reap(pid, os.waitstatus_to_exitcode(code))
                continue
            if self.stopping:
                if time.monotonic() > self.stop_by:  # a worker that cannot drain (stopped, say)
                    for pid in self.workers:
                        _signal(pid, signal.SIGKILL)
            else:
                self.check_heartbeats()
            time.sleep(0.05)
        self.sock.close()
        if self.multiprocess_dir is not None:
            shutil.rmtree(self.multiprocess_dir, ignore_errors=True)
        logs.event("drained; exiting" if status == 0 else "stopped; exiting 1")
        return status

    def reap(self, pid: int, code: int) -> int:
        """A worker exited: while stopping, note how; otherwise replace it (1 on a crash loop)."""
        slot = self.workers.pop(pid)
        if self.multiprocess_dir is not None:
            metrics.worker_gone(pid)
        if self.stopping:
            return int(code != 0)
        now = time.monotonic()
        self.deaths = [t for t in self.deaths if now - t < CRASH_LOOP[1]] + [now]
        if len(self.deaths) >= CRASH_LOOP[0]:
            logs.log.error(f"worker {pid} exited with {code}: {len(self.deaths)} worker exits within "
                           f"{CRASH_LOOP[1]:g} s; stopping")
            self.stop()
            return 1
        new = self.spawn(slot)
        self.replaced += 1
        if self.app.metrics:
            self.app.metrics.workers_replaced.inc()
        logs.log.warning(f"worker {pid} (slot {slot}) exited with {code}; replaced by worker {new} "
                         f"({self.replaced} replaced since start)",
                         extra={"fields": {"check": "exit", "pid": pid, "slot": slot, "code": code, "new_pid": new}})
        return 0

    def check_heartbeats(self) -> None:
        """Kill a worker whose heartbeat has not moved for worker_timeout. The line says what was
        read (the raw value, its age as a time) beside the silence the parent timed, so that a
        real hang (an age close to the silence) can be told from a misread (an age that is not)."""
        now = time.monotonic()
        for pid, slot in list(self.workers.items()):
            value, since = self.alive_since(slot, now)
            silent = now - since
            if silent > self.config.worker_timeout:
                age = now - value / 1e9
                logs.log.warning(f"worker {pid} (slot {slot}) has not answered for {silent:.1f} s "
                                 f"(worker_timeout {self.config.worker_timeout:g} s): heartbeat check, its value "
                                 f"{value} unchanged, written {age:.1f} s ago; killing it",
                                 extra={"fields": {"check": "heartbeat", "pid": pid, "slot": slot,
                                                   "silent_s": round(silent, 3), "heartbeat": value,
                                                   "heartbeat_age_s": round(age, 3)}})
                _signal(pid, signal.SIGKILL)
                self.seen[slot] = (value, now)  # not again before it is reaped


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
