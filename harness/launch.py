"""What is measured and how it starts: the three targets (process module, image, port, paths); a
target as a process or a hardened container, waiting until it answers (and how long `docker run`
of an image takes to its first prediction), stopping it; one HTTP request, and clients calling
from threads until stopped; the Docker calls every command and test shares, a function's
containers by faas-swarm's label among them. Standard library only, so the cold-start command's
docker, pull and openfaas modes run under a bare python3 on a host that only has Docker."""

from __future__ import annotations

import http.client as http_client
import json
import os
import secrets
import socket
import subprocess
import sys
import threading
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
PROCESS_TARGETS = ("function", "tensorflow")  # whose process cold starts are compared: TFLite against TensorFlow


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


class Clients:
    """Subclasses write `client()`, one request at a time until `self.stop` is set, and may keep
    results under `self.lock`; `finished()` runs once every thread has joined."""

    join_seconds = 60.0

    def __init__(self, n: int):
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.client, daemon=True) for _ in range(n)]

    def client(self) -> None:
        raise NotImplementedError

    def finished(self) -> None:
        """After the threads have stopped."""

    def __enter__(self) -> Clients:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(self.join_seconds)
        self.finished()


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


def docker_run_pinned(target_name: str, name: str, cpu: int, env: dict[str, str] | None = None,
                      image: str | None = None, command: tuple[str, ...] = ()) -> tuple[str, str]:
    """A target's image (or `image`, a build of it), hardened, on the host network (no docker-proxy
    in the path) pinned to `cpu` (stats.REPLICA_CPU), access log off unless `env` says otherwise,
    `command` (a program and its arguments) run instead of its entrypoint; waits until it is ready."""
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
    docker(*args, *(["--entrypoint", command[0]] if command else []), image or target.image, *command[1:])
    url = f"http://127.0.0.1:{port}"
    wait_until_ok(url + "/_/ready", timeout=180)
    return name, url


def stop_container(name: str) -> None:
    docker("rm", "-f", name, check=False)


def time_docker(image: str) -> dict[str, float]:
    """`docker run` of an image as users run it -> its first prediction, in seconds: the floor every
    platform's cold start is measured against."""
    path = image_target(image).predict_path  # asked before the clock starts
    started = time.perf_counter()
    name, url = docker_run(image, own_name("device-price-coldstart"))
    try:
        return {"seconds": wait_for_prediction(url + path, 120, started)}
    finally:
        stop_container(name)


FUNCTION_LABEL = "com.openfaas.function"  # faas-swarm's label on a function's service and containers


def scale_service(name: str, replicas: int) -> None:  # a swarm service (faas-swarm's function); no wait
    docker("service", "scale", "--detach", f"{name}={replicas}")


def function_containers(function: str, stopped: bool = False, field: str = "{{.ID}}") -> list[str]:
    """`field` of each container of a function (faas-swarm labels them): the running ones, or with
    `stopped` every one that exists (swarm keeps the stopped containers of a service's earlier
    tasks until the service is removed, and a draining replica runs until it exits)."""
    out = docker("ps", *(["-a"] if stopped else []), "--no-trunc", "--filter", f"label={FUNCTION_LABEL}={function}",
                 "--format", field, check=False)
    return out.split()
