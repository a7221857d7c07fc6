"""Every use of a Waitress internal, in one place.

Waitress is pinned (requirements/serve.txt) and tests/test_waitress_adapter.py checks each
assumption below, naming the one a new release breaks. What is used, and why:
- create_server's `_dispatcher` (a seam Waitress labels for tests): our dispatcher counts the
  requests queued or running, and answers those past max_inflight from the event loop at
  once, instead of letting them queue behind the work that made the server busy;
- a channel's `requests`, `service()`, `total_outbufs_len` and `will_close`, the server's
  `_map`, `accepting`, `del_channel()` and `trigger`: a graceful drain (Waitress's close()
  drops queued work) and the rejection above;
- `send_bytes` (deprecated, still honoured): a worker thread then sends a response in one
  piece; with the default the main loop spins against the channel's lock under concurrency;
- `wasyncore.loop`: the loop is run here, one pass at a time, so a drain can end it;
- the channel's `parser_class` and `error_task_class`: a body over the limit is read and
  discarded (up to DISCARD_BOUND) rather than refused mid-upload, so a client that writes the
  whole body before reading (Python's urllib, for one) reads the 413 instead of a reset
  connection; and what Waitress still refuses itself is answered in the contract's JSON.
"""

from __future__ import annotations

import io
import logging
import socket
import threading
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from waitress import wasyncore
from waitress.channel import HTTPChannel
from waitress.parser import HTTPRequestParser
from waitress.task import ErrorTask, ThreadedTaskDispatcher
from waitress.utilities import RequestEntityTooLarge

WSGIApp = Callable[[dict[str, Any], Callable], Iterable[bytes]]
# (status, message) -> the contract's JSON error body.
ErrorBody = Callable[[int, str], bytes]
# A declared body up to this size is read and thrown away before the 413; past it the
# connection is refused at once (a client still sending then sees a reset).
DISCARD_BOUND = 256 << 20
# The longest between two of Waitress's idle-channel sweeps: an idle connection is closed
# within read_timeout plus this (plus one loop pass), not read_timeout plus 30 s.
SWEEP_SECONDS = 1.0


def sweep_interval(read_timeout: float) -> float:
    """Seconds between idle sweeps: at most SWEEP_SECONDS, and a quarter of a short read_timeout."""
    return min(SWEEP_SECONDS, max(read_timeout / 4, 0.05))


class _Rejecting(threading.local):
    active = False


# Set while the loop's thread serves a request that is over max_inflight.
_rejecting = _Rejecting()


class AdmissionDispatcher(ThreadedTaskDispatcher):
    """Counts channels queued or running; past `limit` (0: none) the loop answers the next
    request itself with the `overloaded` app. Requests to `exempt` paths are always admitted."""

    def __init__(self, limit: int, exempt: tuple[str, ...]):
        super().__init__()
        self.limit, self.exempt = limit, exempt
        self.inflight = 0
        self.count_lock = threading.Lock()  # not "lock": the base class has its own
        self.trigger: Any = None  # the server's, set once it exists

    def add_task(self, channel: Any) -> None:
        # A channel adds its next pipelined request itself while holding its lock (in a worker
        # thread, or in the loop during a rejection): that one queues, since answering it
        # here would deadlock.
        path = channel.requests[0].path if channel.requests else ""
        in_loop = threading.current_thread() is threading.main_thread() and not _rejecting.active
        with self.count_lock:
            reject = bool(self.limit) and in_loop and self.inflight >= self.limit and path not in self.exempt
            if not reject:
                self.inflight += 1
        if reject:
            # Waitress calls add_task holding the channel's lock, which service() takes too:
            # answer on the loop's next turn, still without a worker thread.
            self.trigger.pull_trigger(lambda: _reject(channel))
            return
        super().add_task(_Counted(channel, self))


def _reject(channel: Any) -> None:
    _rejecting.active = True
    try:
        channel.service()  # a tiny 429
    finally:
        _rejecting.active = False


class _Counted:
    """A queued channel that leaves the in-flight count once served."""

    def __init__(self, channel: Any, dispatcher: AdmissionDispatcher):
        self.channel, self.dispatcher = channel, dispatcher

    def service(self) -> None:
        try:
            self.channel.service()
        finally:
            with self.dispatcher.count_lock:
                self.dispatcher.inflight -= 1

    def cancel(self) -> None:
        self.channel.cancel()


class _Discarded:
    """A body receiver that counts the declared bytes and keeps none of them."""

    error = None

    def __init__(self, length: int):
        self.remaining = length
        self.completed = length == 0

    def received(self, data: bytes) -> int:
        taken = min(len(data), self.remaining)
        self.remaining -= taken
        self.completed = self.remaining == 0
        return taken

    def getfile(self) -> io.BytesIO:
        return io.BytesIO(b"")

    def getbuf(self) -> io.BytesIO:  # the parser only closes it
        return io.BytesIO(b"")

    def __len__(self) -> int:
        return 0


def _channel_class(max_body_bytes: int, error_body: ErrorBody) -> type:
    class Parser(HTTPRequestParser):
        def received(self, data: bytes) -> int:
            consumed = super().received(data)
            if self.completed:
                return consumed
            if self.chunked:  # no declared length to read to: refuse once past the limit
                if self.body_bytes_received > max_body_bytes:
                    self.error = RequestEntityTooLarge(f"the body is over the limit of {max_body_bytes} bytes")
                    self.completed = True
            elif self.headers_finished and self.content_length > max_body_bytes \
                    and not isinstance(self.body_rcv, _Discarded):
                # The application sees CONTENT_LENGTH over its limit and an empty body.
                self.body_rcv = _Discarded(self.content_length)
            return consumed

    class JSONErrorTask(ErrorTask):
        def execute(self) -> None:
            e = self.request.error
            body = error_body(e.code, e.body)
            self.status = f"{e.code} {e.reason}"
            self.response_headers.append(("Content-Type", "application/json"))
            self.set_close_on_finish()
            self.content_length = len(body)
            self.write(body)

    class Channel(HTTPChannel):
        parser_class = Parser
        error_task_class = JSONErrorTask

    return Channel


class Server:
    """A Waitress server on a listening socket, run one loop pass at a time."""

    def __init__(self, app: WSGIApp, overloaded: WSGIApp, error_body: ErrorBody, sock: socket.socket, *,
                 threads: int, max_inflight: int, exempt: tuple[str, ...], read_timeout: float,
                 connection_limit: int, max_body_bytes: int, tuned: bool = True):
        self.sock = sock
        self.dispatcher = AdmissionDispatcher(max_inflight, exempt)
        self.dispatcher.set_thread_count(threads)

        def dispatch(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
            return (overloaded if _rejecting.active else app)(environ, start_response)

        tuning = {}
        if tuned:
            # Waitress logs a line for every request that waits in its queue: costly, and
            # queueing is normal here.
            logging.getLogger("waitress.queue").setLevel(logging.ERROR)
            tuning["send_bytes"] = 65536
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # send_bytes
            self.server = waitress.create_server(
                dispatch,
                sockets=[sock],
                _dispatcher=self.dispatcher,
                **tuning,
                channel_timeout=max(1, int(read_timeout)),
                connection_limit=connection_limit,
                asyncore_use_poll=True,  # select() stops at 1,024 descriptors
                max_request_body_size=DISCARD_BOUND,
                # Bodies and responses stay in memory: no temporary files under a read-only root.
                inbuf_overflow=max_body_bytes + (1 << 16),
                outbuf_overflow=64 << 20,
                expose_tracebacks=False,
                ident="device-price",
            )
        # What Waitress's maintenance() reads, each loop pass once cleanup_interval has passed;
        # set here as floats (its create_server casts them to int), see the module's docstring.
        self.server.adj.channel_timeout = read_timeout
        self.server.adj.cleanup_interval = sweep_interval(read_timeout)
        self.dispatcher.trigger = self.server.trigger
        self.server.channel_class = _channel_class(max_body_bytes, error_body)

    def run_once(self, timeout: float = 1.0) -> None:
        wasyncore.loop(timeout=timeout, map=self.server._map, use_poll=True, count=1)

    def call_in_loop(self, fn: Callable[[], None]) -> None:
        """Run fn in the loop's thread on its next pass (channels are not thread-safe)."""
        self.server.trigger.pull_trigger(fn)

    def close_listener(self) -> None:
        """Stop accepting (call in the loop's thread); accepted connections carry on."""
        self.server.accepting = False
        self.server.del_channel()
        self.sock.close()

    def close_idle(self) -> None:
        """Close keep-alive connections with nothing in progress (call in the loop's thread)."""
        for channel in list(self.server._map.values()):
            if hasattr(channel, "requests") and not channel.requests and not channel.total_outbufs_len:
                channel.will_close = True

    def busy(self) -> bool:
        """A request is queued, running, or still being sent."""
        if self.dispatcher.inflight:
            return True
        return any(getattr(c, "requests", None) or getattr(c, "total_outbufs_len", 0)
                   for c in list(self.server._map.values()))

    def shutdown(self) -> None:
        self.server.task_dispatcher.shutdown(cancel_pending=False, timeout=1)
