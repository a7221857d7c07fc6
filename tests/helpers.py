"""What several test modules share: the repository's root, starting and stopping a target, a
record with changes, bodies (JSON, CSV), faas-cli's variable expansion, a Prometheus scrape, a
server's workers, waiting for a condition, and the images' C programs compiled as their Dockerfile
compiles them. Fixtures are in conftest.py; the HTTP contract's cases in cases.py. No test module
imports another: what two need lives here."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from fn.model.tflite import MODEL_DIR
from fn.record import features
from fn.record.features import EXAMPLE
from harness import launch
from harness.launch import by_module, free_port

ROOT = Path(__file__).resolve().parent.parent
# The targets that answer HTTP, as fixtures: two processes and two containers.
HTTP = ["fn_url", "baseline_url", "fn_container", "server_container"]
# The levels the committed price ranges were fitted at (model/intervals.json)
LEVELS = sorted(float(level) for level in json.loads((MODEL_DIR / "intervals.json").read_text())["levels"])
__all__ = ["free_port"]


def skip_or_fail(variable: str, reason: str) -> None:
    """Skip, or fail where `variable` is 1 (REQUIRE_DOCKER, REQUIRE_DATA: CI must run the test)."""
    if os.environ.get(variable) == "1":
        pytest.fail(f"{reason} ({variable}=1)")
    pytest.skip(reason)


# -- the images' C programs ----------------------------------------------------------------

def compile_c(source: Path, binary: str, out_dir: Path) -> Path:
    """`source` compiled as Dockerfile.fn's build stage compiles it into /build/`binary`, with its flags."""
    build = re.search(rf"RUN (gcc .*) -o /build/{re.escape(binary)} /build/{re.escape(source.name)}",
                      (ROOT / "Dockerfile.fn").read_text())
    assert build, f"Dockerfile.fn compiles {source.relative_to(ROOT)}"
    if not shutil.which("gcc"):
        pytest.fail(f"gcc is needed to build {source.relative_to(ROOT)} (apt-get install gcc)")
    out = out_dir / binary
    subprocess.run([*build[1].split(), "-o", str(out), str(source)], check=True, capture_output=True, text=True)
    return out


# -- a target as a process ------------------------------------------------------------------

def start_process(module: str, env: dict[str, str] | None = None, flags: list[str] | tuple[str, ...] = ()):
    """python -m MODULE [FLAGS] with no drain delay unless `env` says so; its output in proc.log."""
    log = Path(tempfile.mkstemp(prefix="device-price-server-", suffix=".log")[1])
    return launch.start_process(by_module(module), None, {"drain_delay": "0", **(env or {})}, log, flags)


def wait_healthy(url: str, proc: subprocess.Popen | None = None, timeout: float = 30.0) -> None:
    alive = (lambda: proc.poll() is None) if proc is not None else None
    try:
        launch.wait_until_ok(url + "/_/health", timeout=timeout, alive=alive)
    except RuntimeError as e:
        raise RuntimeError(f"{e}: {proc.log.read_text()[-3000:]}") from None


def stop_process(proc: subprocess.Popen) -> None:
    launch.stop_process(proc, timeout=10)
    proc.log.unlink(missing_ok=True)


def build_image(kind: str, tag: str | None = None) -> str:
    """Build an image the way `make image-<kind>` does (offline-capable); its tag."""
    tag = tag or f"device-price-{kind}:latest"
    proc = subprocess.run(["scripts/build_image.sh", kind, tag], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return tag


def workers(parent: int) -> list[int]:
    """The pids of a server's workers (its parent's children)."""
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout
    return sorted(int(pid) for pid in out.split())


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout:g} s: {what}"
        time.sleep(0.02)


# -- what is sent ---------------------------------------------------------------------------

def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def with_(**changes: Any) -> dict[str, Any]:
    record = dict(EXAMPLE)
    for key, value in changes.items():
        if value is ...:
            record.pop(key)
        else:
            record[key] = value
    return record


CSV = {"Content-Type": "text/csv"}
CSV_HEADER = "sku,device_brand,os,screen_size,4g,5g,battery,release_year,days_used,new_price\n"


def csv_body(*rows: str) -> bytes:
    return (CSV_HEADER + "".join(row + "\n" for row in rows)).encode()


GOOD_ROW = "A1,Samsung,Android,15.34,yes,no,4000,2019,300,200"


def inventory(rows: int) -> str:
    """A CSV inventory of `rows` devices as a person keeps one (new price in money, some RAM missing)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    names = [n for n in features.FIELDS if n != "normalized_new_price"] + ["new_price"]
    writer.writerow(names)
    for i in range(rows):
        record = with_(days_used=100 + i, ram=None if i % 3 == 0 else 4.0)
        record["new_price"] = round(math.exp(record.pop("normalized_new_price")), 2)
        writer.writerow(["" if record.get(n) is None else record[n] for n in names])
    return out.getvalue()


# -- what is read back ----------------------------------------------------------------------

def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """(sample name, sorted labels) -> value, parsed as Prometheus parses the exposition format."""
    text = requests.get(url, timeout=10).text
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def expand(text: str, env: dict[str, str]) -> str:
    """faas-cli's ${VAR} and ${VAR:-default}."""
    return re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: env.get(m.group(1)) or (m.group(2) or ""), text)
