"""What is measured and how it starts: the three targets (process module, image, port, paths)
and the server configurations the benchmarks compare; a target as a process or a hardened
container, waiting until it answers, stopping it; one HTTP request; the Docker calls every
command and test shares. Standard library only, so the cold-start command's docker, pull and
openfaas modes run under a bare python3 on a host that only has Docker."""

from __future__ import annotations

import http.client as http_client
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from fn.record.fields import EXAMPLE
from fn.server.settings import BY_NAME
from harness import ROOT

# -- what is measured ------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    name: str
    module: str  # python -m MODULE starts it as a process
    build: str  # scripts/build_image.sh BUILD makes its image
    image: str
    port: int  # where it listens, as a process and in its container
    predict_path: str
    metadata_path: str


def _port(program: str) -> int:
    return BY_NAME["port"].default_for(program)


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("function", "fn", "fn", "device-price-fn:latest", _port("fn"), "/", "/"),
    Target("server", "baseline", "server", "device-price-server:latest", _port("baseline"), "/predict", "/metadata"),
    Target("tensorflow", "reference", "tf", "device-price-tf:latest", _port("reference"), "/", "/"),
)}


# Each target's image by the target's name (make image-fn, image-server, image-tf build them).
IMAGES = {name: target.image for name, target in TARGETS.items()}


def by_module(module: str) -> Target:
    for target in TARGETS.values():
        if target.module == module:
            return target
    raise KeyError(f"no target runs python -m {module}")


# What no server can beat, measured beside the targets' cold starts under this name (a bare
# interpreter importing numpy and tflite-runtime; a `docker run` that exits at once).
FLOOR = "floor"


# configuration -> (target, settings); "shipped" ones are the defaults users get: metrics on
# and one JSON access-log line per request (to /dev/null here; its cost in a container's log
# driver is apart, see docs/benchmarks.md). "observability off" measures what those two cost.
CONFIGURATIONS: dict[str, tuple[str, dict[str, str]]] = {
    "function (shipped: 1 worker, 1 thread)": ("function", {}),
    "server (shipped: 2 workers, 1 thread each)": ("server", {}),
    "function, observability off (no metrics, no access log)": ("function", {"metrics_port": "0", "access_log": "0"}),
    "server, observability off (no metrics, no access log)": ("server", {"metrics_port": "0", "access_log": "0"}),
    "function, 4 threads": ("function", {"threads": "4"}),
    "function, stock Waitress settings, 4 threads": ("function", {"threads": "4", "waitress_tuning": "0"}),
    "server, 2 workers, 2 threads each": ("server", {"threads": "2"}),
}
# The shipped configuration of each target against the same with observability off.
PAIRS = {"function": ("function (shipped: 1 worker, 1 thread)",
                      "function, observability off (no metrics, no access log)"),
         "server": ("server (shipped: 2 workers, 1 thread each)",
                    "server, observability off (no metrics, no access log)")}


# -- starting them ---------------------------------------------------------------------------

EXAMPLE_BODY = json.dumps(EXAMPLE).encode()
# What every measurement turns off unless it says otherwise: no drain wait when stopped,
# no access log (its cost is measured on its own).
QUIET = {"drain_delay": "0", "access_log": "0"}
# How users run every image: read-only root, no capabilities, no new privileges.
HARDENED = ("--read-only", "--cap-drop", "ALL", "--security-opt", "no-new-privileges")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def exchange(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
             timeout: float = 30.0) -> tuple[int, dict[str, str], bytes]:
    """One request: (status, response headers by lower-case name, body), whatever the status;
    OSError if nothing answered."""
    request = urllib.request.Request(url, data=body, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def http(method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None,
         timeout: float = 30.0) -> tuple[int, bytes]:
    """One request: (status, body), whatever the status; OSError if nothing answered."""
    code, _, answer = exchange(method, url, body, headers, timeout)
    return code, answer


def status(url: str, body: bytes | None = None, timeout: float = 5.0) -> int | None:
    """The HTTP status of one request (POST when there is a body); None if nothing answered."""
    try:
        return http("POST" if body is not None else "GET", url, body, timeout=timeout)[0]
    except (OSError, http_client.HTTPException):  # urllib's URLError is an OSError
        return None


def wait_until_ok(url: str, body: bytes | None = None, timeout: float = 60.0, started: float | None = None,
                  alive: Callable[[], bool] | None = None, what: str = "the target") -> float:
    """Poll until a request answers 200 (a prediction, with `body`); seconds since `started`."""
    started = time.perf_counter() if started is None else started
    while True:
        if status(url, body) == 200:
            return time.perf_counter() - started
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{url}: no 200 within {timeout:g} s")
        if alive is not None and not alive():
            raise RuntimeError(f"{url}: {what} exited before answering")
        time.sleep(0.005)


def wait_for_prediction(url: str, timeout: float = 60.0, started: float | None = None,
                        alive: Callable[[], bool] | None = None) -> float:
    return wait_until_ok(url, EXAMPLE_BODY, timeout, started, alive)


# -- processes ---------------------------------------------------------------------------

def start_process(target: Target, port: int | None, env: dict[str, str] | None = None,
                  log: Path | None = None, flags: list[str] | tuple[str, ...] = ()) -> subprocess.Popen:
    """python -m MODULE [FLAGS] on `port` (None: as the flags or `env` say); output to `log` (a
    pipe nobody reads would fill up with access-log lines and block the server), else discarded."""
    # Its metrics on a free port too, so that several can run side by side.
    full = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "metrics_port": str(free_port()),
            **({"port": str(port)} if port else {}), **(env or {})}
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 (closed below; the child keeps its copy)
    try:
        proc = subprocess.Popen([sys.executable, "-m", target.module, *flags], cwd=ROOT, env=full, stdout=out,
                                stderr=subprocess.STDOUT)
    finally:
        if log:
            out.close()
    proc.log = log  # type: ignore[attr-defined]
    return proc


def stop_process(proc: subprocess.Popen, timeout: float = 30) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_process(target: Target, env: dict[str, str] | None = None, timeout: float = 120,
                  log: Path | None = None) -> tuple[subprocess.Popen, str]:
    """Start a process and wait until its health answers; (process, base URL)."""
    port = free_port()
    proc = start_process(target, port, env, log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_ok(url + "/_/health", timeout=timeout, alive=lambda: proc.poll() is None,
                      what=f"python -m {target.module}")
    except (TimeoutError, RuntimeError) as e:
        stop_process(proc)
        tail = log.read_text()[-3000:] if log and log.exists() else ""
        raise RuntimeError(f"{e}\n{tail}") from None
    return proc, url


# -- containers --------------------------------------------------------------------------

def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def entrypoint(image: str) -> tuple[str, ...]:
    """The command an image starts with (its ENTRYPOINT), asked of the image itself."""
    return tuple(json.loads(docker("image", "inspect", "-f", "{{json .Config.Entrypoint}}", image) or "null") or ())


def image_target(image: str) -> Target:
    """The target an image runs: its entrypoint's python -m MODULE."""
    command = entrypoint(image)
    return by_module(command[command.index("-m") + 1] if "-m" in command else "")


def own_name(prefix: str) -> str:
    """A container or tag name of this run only: never one a user or another run has."""
    return f"{prefix}-{secrets.token_hex(4)}"


def docker_run(image: str, name: str, env: dict[str, str] | None = None, tmpfs: bool = True,
               extra: tuple[str, ...] = (), command: tuple[str, ...] = ()) -> tuple[str, str]:
    """Start a container as users run it, hardened: read-only root, no capabilities, no new
    privileges (tmpfs: a /tmp, which TensorFlow needs and the slim images do not). The
    QUIET settings unless `env` says otherwise; `extra`: more `docker run` arguments (a volume,
    say); `command`: the image's command. Returns (name, base URL)."""
    docker("rm", "-f", name, check=False)
    port = free_port()
    args = ["run", "-d", "--name", name, *HARDENED, "-p", f"127.0.0.1:{port}:{image_target(image).port}"]
    if tmpfs:
        args += ["--tmpfs", "/tmp"]
    for key, value in {**QUIET, **(env or {})}.items():
        args += ["-e", f"{key}={value}"]
    docker(*args, *extra, image, *command)
    return name, f"http://127.0.0.1:{port}"


def docker_run_metrics(image: str, name: str, env: dict[str, str]) -> tuple[str, str, str]:
    """docker_run with the image's metrics port published too: (name, base URL, metrics URL)."""
    port = free_port()
    inside = BY_NAME["metrics_port"].default_for(image_target(image).module)
    name, url = docker_run(image, name, env, extra=("-p", f"127.0.0.1:{port}:{inside}"))
    return name, url, f"http://127.0.0.1:{port}/metrics"


def docker_run_pinned(target_name: str, name: str, cpu: int, env: dict[str, str] | None = None,
                      image: str | None = None) -> tuple[str, str]:
    """A target's image (or `image`, a build of it), hardened, on the host network (no docker-proxy
    in the path) pinned to `cpu` (stats.REPLICA_CPU), access log off unless `env` says otherwise;
    waits until it is ready. (container, base URL)."""
    target = TARGETS[target_name]
    port = free_port()
    docker("rm", "-f", name, check=False)
    settings = {"port": str(port), "metrics_port": str(free_port()), "access_log": "0", "drain_delay": "0",
                **(env or {})}
    args = ["run", "-d", "--name", name, "--network", "host", "--cpuset-cpus", str(cpu), *HARDENED]
    for key, value in settings.items():
        args += ["-e", f"{key}={value}"]
    if target_name == "tensorflow":
        args += ["--tmpfs", "/tmp"]
    docker(*args, image or target.image)
    url = f"http://127.0.0.1:{port}"
    wait_until_ok(url + "/_/ready", timeout=180)
    return name, url


def stop_container(name: str) -> None:
    docker("rm", "-f", name, check=False)


def image_sizes(image: str) -> tuple[float, float] | None:
    """(uncompressed, gzipped) in MB, as `docker image inspect` and `docker save | gzip` give them."""
    inspect = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True, text=True)
    if inspect.returncode != 0:
        return None
    with tempfile.TemporaryFile() as gz:
        save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
        subprocess.run(["gzip", "-c"], stdin=save.stdout, stdout=gz, check=True)
        save.wait()
        return int(inspect.stdout) / 1e6, gz.tell() / 1e6
