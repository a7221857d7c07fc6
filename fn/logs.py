"""Log lines on stdout: one JSON object per line (log_format=json, for any log collector) or
plain text. Each line about a request carries its call id; a traceback is written for a 500
only, and only here, never to the client.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import uuid
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

log = logging.getLogger("device-price")
# The request being answered in this thread: its call id, and what the data plane adds (rows).
REQUEST: ContextVar[dict[str, Any] | None] = ContextVar("request", default=None)
# Accepted as a call id as sent (bounded, no spaces or quotes: safe in a header and a log line).
_CLEAN_ID = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")


def call_id(headers: Any) -> str:
    """The gateway's X-Call-Id, else X-Request-Id, else a W3C traceparent's trace id, else a new id."""
    for name in ("X-Call-Id", "X-Request-Id"):
        value = (headers.get(name) or "").strip()
        if _CLEAN_ID.fullmatch(value):
            return value
    parts = (headers.get("traceparent") or "").strip().split("-")
    if len(parts) == 4 and re.fullmatch(r"[0-9a-f]{32}", parts[1]) and parts[1] != "0" * 32:
        return parts[1]
    return uuid.uuid4().hex


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


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
    """One line per request, written straight to stdout: the hot path skips the logging machinery."""

    def __init__(self, fmt: str, model_version: str):
        self.json = fmt == "json"
        self.model_version = model_version
        self.lock = threading.Lock()

    def write(self, call: str, method: str, path: str, status: int, ms: float, rows: int | None,
              reason: str | None) -> None:
        if self.json:
            entry = {"time": _now(), "level": "info", "message": "request", "call_id": call, "method": method,
                     "path": path, "status": status, "duration_ms": round(ms, 3), "rows": rows,
                     "model_version": self.model_version}
            if reason:
                entry["reason"] = reason
            line = json.dumps(entry) + "\n"
        else:
            line = f"{call} {method} {path} {status} {ms:.2f}ms rows={rows}" + (f" {reason}" if reason else "") + "\n"
        with self.lock:
            sys.stdout.write(line)
            sys.stdout.flush()
