"""The parent of forked workers: it holds the loaded model and the listening socket, forwards
SIGTERM/SIGINT, replaces a worker that dies (in about a millisecond: a fork) or hangs (no
heartbeat for worker_timeout), and stops with exit 1 on a crash loop so that the platform's
restart policy takes over.
"""

from __future__ import annotations

import mmap
import os
import shutil
import signal
import socket
import sys
import time
from typing import Any

from fn.server import logs, metrics, serve
from fn.server.app import App

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
            signal.signal(signal.SIGTERM, serve.note_stop)
            signal.signal(signal.SIGINT, serve.note_stop)
            if self.endpoint is not None:  # the parent's to serve
                self.endpoint.server.server_close()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGINT})
            code = 1
            try:
                serve.serve_socket(self.app, self.sock, self.config, self.name, self.parent, lambda: self.beat(slot))
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
        if serve.stop_requested.is_set():
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
                # 0 is the slot's initial value: the worker never beat (it hung before its first
                # turn), so there is no write to give an age for.
                age = now - value / 1e9 if value else None
                read = f"written {age:.1f} s ago" if age is not None else "never written"
                logs.log.warning(f"worker {pid} (slot {slot}) has not answered for {silent:.1f} s "
                                 f"(worker_timeout {self.config.worker_timeout:g} s): heartbeat check, its value "
                                 f"{value} unchanged, {read}; killing it",
                                 extra={"fields": {"check": "heartbeat", "pid": pid, "slot": slot,
                                                   "silent_s": round(silent, 3), "heartbeat": value,
                                                   "heartbeat_age_s": round(age, 3) if age is not None else None}})
                _signal(pid, signal.SIGKILL)
                self.seen[slot] = (value, now)  # not again before it is reaped


def _signal(pid: int, signum: int) -> None:
    try:
        os.kill(pid, signum)
    except ProcessLookupError:
        pass
