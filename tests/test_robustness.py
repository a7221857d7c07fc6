"""Hard to break: random bodies, idle and slow connections.

FUZZ_CASES sets the number of hypothesis cases per target (default 200); the long run,
whose counts the report shows, is
`FUZZ_CASES=10000 FUZZ_REPORT=docs/bench/fuzz.json .venv/bin/python -m pytest tests/test_robustness.py -k fuzz`.
"""

from __future__ import annotations

import itertools
import json
import os
import select
import socket
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fn.record.features import EXAMPLE, FIELDS

CASES = int(os.environ.get("FUZZ_CASES", 200))
TARGETS = {"fn_url": "/", "baseline_url": "/predict"}

# Leaves include what broke the service before: integers too large for a float, very long
# strings, and any Unicode (surrogates too). Integers past Python's 4,300-digit conversion
# limit, which json.dumps refuses too, come as raw digits in `bodies`.
huge_integers = st.integers(min_value=10**300, max_value=10**4000) | st.integers(min_value=-(10**4000), max_value=-(10**300))
odd_text = st.text(st.characters(codec=None, categories=None), max_size=20) | st.text(min_size=1000, max_size=20_000)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | huge_integers | st.floats(allow_nan=False) | st.text(max_size=20)
    | odd_text,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
# Records near the valid ones: real field names with random values, sometimes missing.
near_records = st.fixed_dictionaries({}, optional={name: json_values for name in FIELDS})
bodies = st.one_of(
    st.binary(max_size=300),
    st.binary(max_size=300).map(lambda b: b"\xef\xbb\xbf" + b),  # a byte order mark first
    st.integers(min_value=1, max_value=6000).map(lambda n: b'{"ram": 1' + b"0" * n + b"}"),
    json_values.map(lambda v: json.dumps(v).encode()),
    near_records.map(lambda r: json.dumps(r).encode()),
    st.lists(near_records, max_size=4).map(lambda rs: json.dumps({"instances": rs}).encode()),
)


@pytest.fixture(params=list(TARGETS), scope="module")
def target(request):
    return request.getfixturevalue(request.param) + TARGETS[request.param]


def test_fuzz_never_5xx(target, request):
    session = requests.Session()
    statuses: Counter[int] = Counter()

    @settings(max_examples=CASES, deadline=None, suppress_health_check=list(HealthCheck))
    @given(body=bodies)
    def one(body: bytes) -> None:
        r = session.post(target, data=body, timeout=10)
        statuses[r.status_code] += 1
        assert r.status_code < 500, (body[:300], r.status_code, r.text[:300])
        assert len(r.content) < 16_384, (body[:300], r.text[:300])  # nothing the client sent is echoed whole
        if r.status_code != 200:
            error = r.json()["error"]
            assert error["message"] and "Traceback" not in r.text

    started = time.monotonic()
    one()
    r = session.post(target, json=EXAMPLE, timeout=5)
    assert r.status_code == 200  # still answering
    if os.environ.get("FUZZ_REPORT"):
        record(Path(os.environ["FUZZ_REPORT"]), request.node.callspec.params["target"], statuses,
               time.monotonic() - started)


def record(path: Path, target: str, statuses: Counter, seconds: float) -> None:
    """Add one target's counts to the fuzz report (read by harness/results.py)."""
    report = json.loads(path.read_text()) if path.exists() else {}
    report[target] = {"cases": sum(statuses.values()), "statuses": {str(k): v for k, v in sorted(statuses.items())},
                      "server_errors": sum(v for k, v in statuses.items() if k >= 500), "seconds": round(seconds, 1),
                      "date": datetime.now(UTC).isoformat(timespec="seconds")}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=1) + "\n")


def test_idle_and_slow_connections_do_not_block_others(target):
    """150 connections that send nothing or a byte at a time (more than Waitress's default
    connection_limit of 100): valid requests get their answers while the slow ones are still
    sending, unanswered."""
    host, port = target.split("//")[1].split("/")[0].split(":")
    idle, slow = [], []
    try:
        for i in range(150):
            s = socket.create_connection((host, int(port)), timeout=5)
            (idle if i % 2 else slow).append(s)
        stop = threading.Event()

        def dribble() -> None:
            start = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nX-Pad: "
            for byte_at in itertools.count():
                if stop.is_set():
                    return
                for s in slow:
                    try:
                        s.send(start[byte_at:byte_at + 1] or b"a")  # headers that never end
                    except OSError:
                        pass
                time.sleep(0.2)

        thread = threading.Thread(target=dribble, daemon=True)
        thread.start()
        time.sleep(0.5)
        for _ in range(5):
            r = requests.post(target, json=EXAMPLE, timeout=10)  # the timeout: a safety net only
            assert r.status_code == 200
        # nothing to read on a slow connection: neither an answer nor a close
        assert select.select(slow, [], [], 0)[0] == [], "a slow connection was answered or closed"
        assert thread.is_alive()
        stop.set()
        thread.join(5)
    finally:
        for s in idle + slow:
            s.close()
