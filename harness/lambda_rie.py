"""The function image under AWS's Lambda Runtime Interface Emulator (RIE), as Lambda runs it.

The emulator is a static binary inside PyPI's aws-sam-cli wheel: `binary()` downloads that wheel
once (pip download --no-deps, checked against requirements/lambda-rie.txt's hash) into
build/lambda-rie/ and takes out that one file; LAMBDA_RIE=PATH uses a binary already at hand.
`start()` runs the image with the emulator bind-mounted as its entrypoint, which starts the
image's own entrypoint (listen-first, then `python -m fn`) with AWS_LAMBDA_RUNTIME_API set and
takes invocations on port 8080.
The events are those a Function URL (payload 2.0) and a REST API (payload 1.0) send.
`cold_starts` is the cold-start command's lambda mode. Standard library only, as harness/launch.py.
"""

from __future__ import annotations

import base64
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from harness import launch, stats

ROOT = Path(__file__).resolve().parent.parent
PINS = ROOT / "requirements" / "lambda-rie.txt"
CACHE = ROOT / "build" / "lambda-rie"
INVOKE = "/2015-03-31/functions/function/invocations"
# Lambda gives a function one vCPU at 1,769 MB of memory, and CPU in proportion below it
# (docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html).
LAMBDA_VCPU_MB = 1769
_NUMBER = r"([0-9.]+)"


def binary() -> Path:
    """The emulator for this machine's architecture, downloaded once."""
    if os.environ.get("LAMBDA_RIE"):
        return Path(os.environ["LAMBDA_RIE"])
    arch = "arm64" if platform.machine() in ("aarch64", "arm64") else "x86_64"
    target = CACHE / f"aws-lambda-rie-{arch}"
    if not target.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps",
                        "--only-binary=:all:", "--require-hashes", "-d", str(CACHE), "-r", str(PINS)], check=True)
        wheel = max(CACHE.glob("aws_sam_cli-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            partial = target.with_suffix(".part")
            partial.write_bytes(z.read(f"samcli/local/rapid/aws-lambda-rie-{arch}"))
            partial.chmod(0o755)
            partial.rename(target)
    return target


def start(image: str, name: str, env: dict[str, str] | None = None, memory_mb: int | None = None,
          cpu_share: bool = False, command: tuple[str, ...] | None = None) -> tuple[str, str]:
    """The image under the emulator, hardened as launch.docker_run runs every image; (name, invoke
    URL). The emulator runs what Lambda would, the image's own entrypoint (`command`, when the
    caller has already asked the image for it). `memory_mb`: Lambda's memory size (the emulator
    reports it; the container gets it as its memory limit); `cpu_share`: the CPU Lambda gives that
    size too (one vCPU per LAMBDA_VCPU_MB)."""
    rie = binary()
    extra = ["-v", f"{rie}:/aws-lambda-rie:ro", "--entrypoint", "/aws-lambda-rie"]
    if memory_mb:
        env = {**(env or {}), "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory_mb)}
        extra += ["--memory", f"{memory_mb}m"]
        if cpu_share:
            extra += ["--cpus", f"{memory_mb / LAMBDA_VCPU_MB:.3f}"]
    name, url = launch.docker_run(image, name, env, tmpfs=False, command=command or launch.entrypoint(image),
                                  extra=tuple(extra))
    return name, url + INVOKE


def time_cold(image: str, memory_mb: int, cpu_share: bool = False, warm: int = 5) -> dict[str, Any]:
    """One cold start under the emulator: `docker run` -> the first answered invocation (seconds),
    then `warm` more invocations; the emulator's INIT duration, its REPORT durations of the warm
    ones (the first includes the init: the emulator starts the runtime on the first invocation),
    and the container's peak memory."""
    command = launch.entrypoint(image)  # asked before the clock starts: no part of a cold start
    started = time.perf_counter()
    name, url = start(image, launch.own_name("device-price-lambda-coldstart"), None, memory_mb, cpu_share, command)
    try:
        seconds = wait_until_answered(url, 120, started)
        event = function_url_event("POST", "/", launch.EXAMPLE_BODY, {"Content-Type": "application/json"})
        for _ in range(warm):
            invoke(url, event)
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        found = reports(logs.stdout + logs.stderr)
        return {"seconds": seconds, "init_ms": found["init_ms"][0] if found["init_ms"] else None,
                "duration_ms": found["duration_ms"][-warm:], "max_memory_mb": container_peak_mb(name)}
    finally:
        launch.stop_container(name)


def _body(body: bytes, base64_body: bool) -> tuple[str, bool]:
    """As the services send it: text as it is, anything not UTF-8 (or asked for) in base64."""
    try:
        if not base64_body:
            return body.decode("utf-8"), False
    except UnicodeDecodeError:
        pass
    return base64.b64encode(body).decode("ascii"), True


def function_url_event(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
                       query: str = "", base64_body: bool = False) -> dict[str, Any]:
    """A Function URL's (and an HTTP API's) payload format 2.0 event."""
    text, encoded = _body(body, base64_body)
    return {"version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
            "headers": {k.lower(): v for k, v in (headers or {}).items()},
            "requestContext": {"http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                                        "sourceIp": "127.0.0.1", "userAgent": "test"},
                               "requestId": str(uuid.uuid4()), "routeKey": "$default", "stage": "$default"},
            "body": text, "isBase64Encoded": encoded}


def rest_event(method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None,
               query: str = "", base64_body: bool = False) -> dict[str, Any]:
    """A REST API's payload format 1.0 event (a {proxy+} resource)."""
    text, encoded = _body(body, base64_body)
    params: dict[str, list[str]] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(key, []).append(value)
    headers = headers or {}
    return {"resource": "/{proxy+}", "path": path, "httpMethod": method,
            "headers": dict(headers), "multiValueHeaders": {k: [v] for k, v in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in params.items()} or None,
            "multiValueQueryStringParameters": params or None,
            "requestContext": {"httpMethod": method, "path": "/prod" + path, "stage": "prod",
                               "requestId": str(uuid.uuid4())},
            "body": text if body else None, "isBase64Encoded": encoded}


def invoke(url: str, event: Any, timeout: float = 30.0) -> tuple[int, Any]:
    """One invocation: (the emulator's HTTP status, the function's answer as JSON)."""
    status, answer = launch.http("POST", url, json.dumps(event).encode(), timeout=timeout)
    return status, json.loads(answer) if answer else None


def wait_until_answered(url: str, timeout: float = 60.0, started: float | None = None) -> float:
    """Poll with a prediction until the function answers 200 in statusCode; seconds since `started`."""
    started = time.perf_counter() if started is None else started
    event = function_url_event("POST", "/", launch.EXAMPLE_BODY, {"Content-Type": "application/json"})
    while True:
        try:
            status, answer = invoke(url, event, timeout=10)
            if status == 200 and isinstance(answer, dict) and answer.get("statusCode") == 200:
                return time.perf_counter() - started
        except (OSError, ValueError):  # not listening yet, or the connection dropped while starting
            pass
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{url}: no answered invocation within {timeout:g} s")
        time.sleep(0.005)


def reports(log: str) -> dict[str, list[float]]:
    """The emulator's figures in a container's log: init_ms from its `INIT REPORT(durationMs: N)`
    (one per sandbox start; the REPORT line's own "Init Duration" is a constant of the emulator),
    and duration_ms per invocation from its REPORT lines. Their "Max Memory Used" is not
    measured by the emulator (it repeats the memory size): see container_peak_mb."""
    return {"init_ms": [float(m) for m in re.findall(rf"INIT REPORT\(durationMs: {_NUMBER}\)", log)],
            "duration_ms": [float(m) for m in re.findall(rf"^REPORT RequestId: .*?\tDuration: {_NUMBER} ms", log,
                                                         re.MULTILINE)]}


def container_peak_mb(name: str) -> float | None:
    """The container's peak memory (what Lambda's "Max Memory Used" reports of the sandbox): its
    cgroup's high-water mark (v1 memory.max_usage_in_bytes, v2 memory.peak); None when neither is
    readable here."""
    full = launch.docker("inspect", "-f", "{{.Id}}", name)
    for path in (f"/sys/fs/cgroup/memory/docker/{full}/memory.max_usage_in_bytes",
                 f"/sys/fs/cgroup/system.slice/docker-{full}.scope/memory.peak"):
        try:
            return int(Path(path).read_text()) / 1e6
        except (OSError, ValueError):
            continue
    return None


def cold_starts(image: str, runs: int, memory_mb: int, cpu_share: bool, quiet: bool = False) -> dict[str, Any]:
    """The cold-start command's lambda mode: the image under the emulator beside its own HTTP cold
    start (`docker run` -> first 200), interleaved in harness/stats.py's rounds; the result adds
    the keys "lambda", "function" and "invocation"."""
    one = {"lambda": lambda: time_cold(image, memory_mb, cpu_share), "function": lambda: launch.time_docker(image)}
    measured = stats.measure(stats.interleave(["lambda", "function"], runs), lambda t: one[t](), quiet)
    cold, warm = measured["lambda"], [ms for r in measured["lambda"] for ms in r["duration_ms"]]
    inits = [r["init_ms"] for r in cold if r["init_ms"] is not None]
    peaks = [r["max_memory_mb"] for r in cold if r["max_memory_mb"] is not None]
    return stats.result("lambda", measured, {
        "image": image, "memory_mb": memory_mb, "cpu_share": cpu_share,
        "lambda": {"median_s": statistics.median([r["seconds"] for r in cold]), "runs": [r["seconds"] for r in cold],
                   "init_ms_median": statistics.median(inits) if inits else None},
        "function": {"median_s": statistics.median([r["seconds"] for r in measured["function"]])},
        "invocation": {"duration_ms_median": statistics.median(warm) if warm else None,
                       "max_memory_mb": max(peaks) if peaks else None}})
