"""Prometheus metrics, named as OpenFaaS's of-watchdog names them (http_requests_total,
http_request_duration_seconds, http_requests_in_flight), so its dashboards and alerts work
unchanged, plus the model's own (device_price_*). Served on a port of their own (metrics_port:
8081, where the watchdog serves them; the server 8001), never counted themselves; health probes
are not counted either.

With several workers the counts must add up whichever worker answered: prometheus_client's
multiprocess mode, with its files in metrics_dir (/dev/shm: memory, writable under a read-only
root with no /tmp), set up before any metric exists; the parent serves the sum.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

# From a cached single record (about 0.1 ms) to a cold first request or a 1,000-row batch.
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Metrics:
    """Every metric, created once per process (after multiprocess mode is chosen)."""

    def __init__(self, fields: Iterable[str]):
        from prometheus_client import Counter, Gauge, Histogram

        self.fields = set(fields)
        self.requests = Counter("http_requests_total", "Requests answered, by status code and method",
                                ["code", "method"])
        self.duration = Histogram("http_request_duration_seconds", "Time to answer a request",
                                  ["code", "method"], buckets=BUCKETS)
        self.in_flight = Gauge("http_requests_in_flight", "Requests being answered", multiprocess_mode="livesum")
        self.inference = Histogram("device_price_inference_seconds", "Time to encode and predict one request's rows",
                                   buckets=BUCKETS)
        self.rows = Counter("device_price_rows_predicted_total", "Rows predicted, by request kind", ["kind"])
        self.rejected = Counter("device_price_requests_rejected_total", "Requests refused, by reason", ["reason"])
        self.invalid = Counter("device_price_validation_failures_total",
                               "Problems found in refused records, by field (the schema's names; other: unknown "
                               "fields and whole records)", ["field"])
        self.outside = Counter("device_price_inputs_outside_training_range_total",
                               "Accepted values outside the range of the training rows, by field", ["field"])
        self.load_seconds = Gauge("device_price_model_load_seconds", "Time to load and verify the model at start-up",
                                  multiprocess_mode="max")
        self.info = Gauge("device_price_model_info", "The model served (always 1)",
                          ["model_version", "runtime", "runtime_version"], multiprocess_mode="max")
        self.max_inflight = Gauge("device_price_max_inflight", "The max_inflight setting per worker (0: none)",
                                  multiprocess_mode="max")
        self.workers_replaced = Counter("device_price_workers_replaced_total",
                                        "Workers that exited or hung and were replaced")
        self._children: dict[Any, Any] = {}  # label children by their labels, looked up once

    def started(self, model_version: str, runtime: str, runtime_version: str, load_seconds: float,
                max_inflight: int) -> None:
        self.info.labels(model_version, runtime, runtime_version).set(1)
        self.load_seconds.set(load_seconds)
        self.max_inflight.set(max_inflight)

    def answered(self, method: str, status: int, seconds: float) -> None:
        key = (str(status), method)
        children = self._children.get(key)
        if children is None:  # labels() costs a lock and a lookup: once per (code, method)
            children = self._children[key] = (self.requests.labels(*key), self.duration.labels(*key))
        children[0].inc()
        children[1].observe(seconds)

    def predicted(self, rows: int, batch: bool, seconds: float, outside: Iterable[str]) -> None:
        kind = "batch" if batch else "single"
        child = self._children.get(kind)
        if child is None:
            child = self._children[kind] = self.rows.labels(kind)
        child.inc(rows)
        self.inference.observe(seconds)
        for field in outside:
            self.outside.labels(field).inc()

    def refused(self, reason: str) -> None:
        self.rejected.labels(reason).inc()

    def invalid_fields(self, fields: Iterable[str | None]) -> None:
        for field in fields:  # bounded label values: the schema's names, else "other"
            self.invalid.labels(field if field in self.fields else "other").inc()


def use_multiprocess(directory: Path) -> Path:
    """Choose multiprocess mode (before any metric exists): a fresh folder for this server's files."""
    path = directory / f"device-price-metrics-{os.getpid()}"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)
    return path


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:  # a scrape is not worth a log line
        pass


class Endpoint:
    """GET /metrics on a port of its own. Bound when made, so a taken port stops the start-up
    before any worker exists; served from a thread once started (in the parent, with workers,
    where it sums their files)."""

    def __init__(self, host: str, port: int, multiprocess_dir: Path | None):
        from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app, multiprocess

        registry = REGISTRY
        if multiprocess_dir is not None:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry, path=str(multiprocess_dir))
        self.server = make_server(host, port, make_wsgi_app(registry), handler_class=_Quiet)

    def start(self) -> None:
        threading.Thread(target=self.server.serve_forever, name="metrics", daemon=True).start()


def worker_gone(pid: int) -> None:
    """A worker has exited: its live gauges (requests in flight) stop counting."""
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(pid)
