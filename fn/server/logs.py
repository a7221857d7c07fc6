"""Log lines on stdout: one JSON object per line (log_format=json, for any log collector) or
plain text. Each line about a request carries its call id; a traceback is written for a 500
only, and only here, never to the client.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import re
import sys
import time
from collections import deque
from contextvars import ContextVar
from json.encoder import encode_basestring_ascii as _quote
from typing import Any, TextIO

log = logging.getLogger("device-price")
# The request being answered in this thread: its call id, and what the data plane adds (rows).
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("request", default=None)
# Accepted as a call id as sent (bounded, no spaces or quotes: safe in a header and a log line).
_CLEAN_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


# New ids: 16 random bytes drawn once, then a counter, so that an id costs no system call (a
# fork draws its own prefix: see _new_prefix).
_prefix = os.urandom(10).hex()
_counter = itertools.count()


def _new_prefix() -> None:
    global _prefix
    _prefix = os.urandom(10).hex()


os.register_at_fork(after_in_child=_new_prefix)


def call_id(headers: Any, platform_id: str | None = None) -> str:
    """The gateway's X-Call-Id, else X-Request-Id, else a W3C traceparent's trace id, else the
    platform's id for this call (AWS Lambda's request id), else a new id."""
    for name in ("x-call-id", "x-request-id"):
        value = headers.get(name)
        if value and _CLEAN_ID.fullmatch(value.strip()):
            return value.strip()
    parent = headers.get("traceparent")
    if parent:
        parts = parent.strip().split("-")
        if len(parts) == 4 and re.fullmatch(r"[0-9a-f]{32}", parts[1]) and parts[1] != "0" * 32:
            return parts[1]
    if platform_id:
        return platform_id
    return f"{_prefix}{next(_counter):012x}"


_second: tuple[int, str] = (-1, "")


def _stamp(now: float) -> str:
    """A time.time() as UTC RFC 3339 with milliseconds; the seconds part is formatted once a second."""
    global _second
    whole = int(now)
    if whole != _second[0]:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    return f"{_second[1]}.{int((now - whole) * 1000):03d}Z"


def _now() -> str:
    return _stamp(time.time())


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": _now(), "level": record.levelname.lower(), "message": record.getMessage()}
        entry.update(getattr(record, "fields", {}))
        request = REQUEST.get()
        if "call_id" not in entry and request:
            entry["call_id"] = request["call_id"]
        if record.exc_info:
            entry["traceback"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", {})
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        text = f"{record.name}: {record.getMessage()}" + (f" ({extra})" if extra else "")
        return text + ("\n" + self.formatException(record.exc_info) if record.exc_info else "")


def configure(fmt: str) -> None:
    """Every line of this process on stdout, in the format asked for."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JSONFormatter() if fmt == "json" else TextFormatter())
    log.handlers[:] = [handler]
    log.setLevel(logging.INFO)
    log.propagate = False


def event(message: str, **fields: Any) -> None:
    log.info(message, extra={"fields": fields})


class AccessLog:
    """One line per request. A request only appends what happened (a tuple) to a queue; the
    server's loop formats the queued lines together and writes them at once (fn/app.py
    App.flush): a request never waits for a write to stdout (a system call, and in a container a
    trip through the runtime's log driver on the same cores), and formatting a hundred lines in
    one loop costs the core less than one in each request, between the model's work. The line's
    shape is fixed, so it is formatted here; strings go through json's C escaper."""

    def __init__(self, fmt: str, model_version: str):
        self.line = self._json if fmt == "json" else self._text
        self.version = _quote(model_version)
        # appended by requests, taken by flush (both atomic: no lock)
        self.queue: deque[tuple[float, str, str, str, int, float, int | None, str | None]] = deque()

    def write(self, call: str, method: str, path: str, status: int, ms: float, rows: int | None,
              reason: str | None) -> None:
        self.queue.append((time.time(), call, method, path, status, ms, rows, reason))

    def flush(self, out: TextIO | None = None) -> None:
        """Format and write what is queued to stdout (or to `out`: the benchmark's /dev/null);
        requests queued meanwhile wait for the next flush."""
        queue, line = self.queue, self.line
        lines = [line(*queue.popleft()) for _ in range(len(queue))]
        if lines:
            out = out or sys.stdout
            out.write("".join(lines))
            out.flush()

    def _json(self, at: float, call: str, method: str, path: str, status: int, ms: float, rows: int | None,
              reason: str | None) -> str:
        return (f'{{"time":"{_stamp(at)}","level":"info","message":"request","call_id":{_quote(call)},'
                f'"method":{_quote(method)},"path":{_quote(path)},"status":{status},"duration_ms":{ms:.3f},'
                f'"rows":{"null" if rows is None else rows},"model_version":{self.version}'
                + (f',"reason":{_quote(reason)}' if reason else "") + "}\n")

    @staticmethod
    def _text(at: float, call: str, method: str, path: str, status: int, ms: float, rows: int | None,
              reason: str | None) -> str:
        return f"{call} {method} {path!r} {status} {ms:.2f}ms rows={rows}" + (f" {reason}" if reason else "") + "\n"
