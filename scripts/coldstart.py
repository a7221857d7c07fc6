"""Cold start: the time from starting a target to its first successful prediction.

    python -m scripts.coldstart --mode process [--target tflite --target tensorflow] [--runs 5]
    python -m scripts.coldstart --mode docker --image device-price-fn --image device-price-tf
    python -m scripts.coldstart --mode pull --image device-price-fn --image device-price-tf [--registry HOST:PORT]
    python -m scripts.coldstart --mode openfaas --gateway URL [--function device-price]

Targets are interleaved (A B A B ...) so the machine's drift spreads over all of them; the
table shows min, median, p90 and max, and --json PATH keeps every run.
- process: spawn the server process, poll until a prediction answers 200.
- docker: the image is present; `docker run` -> first prediction. Every image runs the same
  way: --read-only, --tmpfs /tmp (TensorFlow needs one; the slim images do not), no capabilities.
- pull: a fresh node. Each image is pushed to a local registry (Debian's docker-registry,
  started here on 127.0.0.1 unless --registry is given); before every run the image and every
  local image sharing a layer with it (its base included) are removed, so `docker pull` fetches
  everything; pull + run -> first prediction. Reports the compressed bytes pulled. Removed
  images are restored at the end.
- openfaas: OpenFaaS CE cannot scale to zero, so each run removes and redeploys the function
  (from stack.yml) and times the deploy -> first 200 through /function/NAME; on Pro it scales
  to zero through the REST API, waits for 0 available replicas and times the first call.
  Credentials as faas-cli takes them: OPENFAAS_URL, OPENFAAS_USERNAME (admin), OPENFAAS_PASSWORD.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from fn.features import EXAMPLE
from scripts.loadtest import percentile

ROOT = Path(__file__).resolve().parent.parent
PROCESS_TARGETS = {"tflite": "fn", "tensorflow": "reference"}
BODY = json.dumps(EXAMPLE).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_prediction(url: str, timeout: float = 60.0, started: float | None = None,
                        alive: Callable[[], bool] | None = None) -> float:
    """Poll with a prediction until one answers 200; seconds since `started` (default: now)."""
    started = time.perf_counter() if started is None else started
    session = requests.Session()
    while True:
        try:
            if session.post(url, data=BODY, timeout=5).status_code == 200:
                return time.perf_counter() - started
        except requests.RequestException:
            pass
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"{url}: no successful prediction within {timeout:g} s")
        if alive is not None and not alive():
            raise RuntimeError(f"{url}: the target exited before answering")
        time.sleep(0.005)


def stats(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "min": min(values), "median": statistics.median(values),
            "p90": percentile(values, 90), "max": max(values)}


def interleave(targets: list[str], runs: int) -> list[str]:
    """A B A B ...: each round runs every target once."""
    return [t for _ in range(runs) for t in targets]


# -- process ---------------------------------------------------------------------------

def time_process(target: str) -> dict[str, Any]:
    port = free_port()
    env = {**os.environ, "port": str(port), "drain_delay": "0", "access_log": "0", "TF_CPP_MIN_LOG_LEVEL": "2"}
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", PROCESS_TARGETS[target]], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        seconds = wait_for_prediction(f"http://127.0.0.1:{port}/", 120, started, lambda: proc.poll() is None)
    finally:
        proc.terminate()
        proc.wait(30)
    return {"seconds": seconds}


# -- docker ----------------------------------------------------------------------------

def docker(*args: str, check: bool = True) -> str:
    proc = subprocess.run(["docker", *args], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args)}: {proc.stderr.strip()}")
    return proc.stdout.strip()


def image_sizes(image: str) -> tuple[float, float] | None:
    """(uncompressed, gzipped) in MB, as `docker image inspect` and `docker save | gzip` give them."""
    inspect = subprocess.run(["docker", "image", "inspect", "-f", "{{.Size}}", image], capture_output=True,
                             text=True)
    if inspect.returncode != 0:
        return None
    save = subprocess.Popen(["docker", "save", image], stdout=subprocess.PIPE)
    gz = subprocess.run(["gzip", "-c"], stdin=save.stdout, capture_output=True, check=True)
    save.wait()
    return int(inspect.stdout) / 1e6, len(gz.stdout) / 1e6


def exposed_port(image: str) -> int:
    ports = json.loads(docker("image", "inspect", "-f", "{{json .Config.ExposedPorts}}", image) or "{}") or {}
    return int(next(iter(ports), "8080/tcp").split("/")[0])


def predict_path(image: str) -> str:
    return "/predict" if "server" in image else "/"


def docker_run(image: str, name: str, env: dict[str, str] | None = None,
               container_port: int | None = None) -> tuple[str, str]:
    """Start a container as every benchmark runs it; returns (name, base URL)."""
    docker("rm", "-f", name, check=False)
    port = free_port()
    args = ["run", "-d", "--name", name, "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", "-p", f"127.0.0.1:{port}:{container_port or exposed_port(image)}"]
    for key, value in {"drain_delay": "0", "access_log": "0", **(env or {})}.items():
        args += ["-e", f"{key}={value}"]
    docker(*args, image)
    return name, f"http://127.0.0.1:{port}"


def stop_container(name: str) -> None:
    docker("rm", "-f", name, check=False)


def time_docker(image: str) -> dict[str, Any]:
    container_port = exposed_port(image)  # asked before the clock starts
    started = time.perf_counter()
    name, url = docker_run(image, "device-price-coldstart", container_port=container_port)
    try:
        return {"seconds": wait_for_prediction(url + predict_path(image), 120, started)}
    finally:
        stop_container(name)


# -- pull ------------------------------------------------------------------------------

class Registry:
    """A local registry: Debian's docker-registry on 127.0.0.1, or the one given."""

    def __init__(self, address: str | None):
        self.proc = None
        self.dir = None
        if address:
            self.address = address
            return
        exe = shutil.which("docker-registry")
        if not exe:
            raise RuntimeError("docker-registry not found: apt-get install -y docker-registry, or pass --registry")
        self.address = f"127.0.0.1:{free_port()}"
        self.dir = tempfile.mkdtemp(prefix="coldstart-registry-")
        config = Path(self.dir) / "config.yml"
        config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                          f"http:\n  addr: {self.address}\n")
        self.proc = subprocess.Popen([exe, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://{self.address}/v2/", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("the local registry did not start")

    def name(self, image: str) -> str:
        return f"{self.address}/{image.split(':')[0].split('/')[-1]}:coldstart"

    def compressed_bytes(self, remote: str) -> int:
        repo, tag = remote.split("/", 1)[1].rsplit(":", 1)
        manifest = requests.get(f"http://{self.address}/v2/{repo}/manifests/{tag}", timeout=10, headers={
            "Accept": "application/vnd.docker.distribution.manifest.v2+json"}).json()
        return sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]

    def close(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def layers(image: str) -> set[str]:
    return set(json.loads(docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", image)) or [])


def sharing_images(image: str) -> list[str]:
    """Tagged local images that share a layer with `image` (its base, for one)."""
    mine = layers(image)
    out = []
    for ref in docker("images", "--format", "{{.Repository}}:{{.Tag}}").splitlines():
        if "<none>" in ref or ref == image:
            continue
        if layers(ref) & mine:
            out.append(ref)
    return out


class PullBench:
    """Push once, then before each run remove everything that could be cached."""

    def __init__(self, images: list[str], registry: Registry):
        self.registry = registry
        self.remote = {image: registry.name(image) for image in images}
        self.saved = Path(tempfile.mkdtemp(prefix="coldstart-saved-")) / "images.tar"
        shared = sorted({ref for image in images for ref in sharing_images(image)} - set(images))
        for image in images:
            docker("tag", image, self.remote[image])
            docker("push", self.remote[image])
        if shared:  # restored at the end: removing them is what makes the node fresh
            docker("save", "-o", str(self.saved), *shared)
        self.shared = shared
        self.bytes = {image: registry.compressed_bytes(self.remote[image]) for image in images}

    def forget(self) -> None:
        for ref in list(self.remote.values()) + list(self.remote) + self.shared:
            docker("rmi", "-f", ref, check=False)
        docker("image", "prune", "-f", check=False)

    def run(self, image: str) -> dict[str, Any]:
        self.forget()
        remote = self.remote[image]
        started = time.perf_counter()
        docker("pull", "-q", remote)
        pulled = time.perf_counter() - started
        name, url = docker_run(remote, "device-price-coldstart", container_port=exposed_port(remote))
        try:
            seconds = wait_for_prediction(url + predict_path(image), 300, started)
        finally:
            stop_container(name)
        return {"seconds": seconds, "pull_seconds": pulled, "compressed_bytes": self.bytes[image]}

    def restore(self) -> None:
        for image, remote in self.remote.items():
            if not docker("images", "-q", remote):
                docker("pull", "-q", remote)
            docker("tag", remote, image)
            docker("rmi", remote, check=False)
        if self.shared:
            docker("load", "-i", str(self.saved))
        shutil.rmtree(self.saved.parent, ignore_errors=True)


# -- openfaas --------------------------------------------------------------------------

class Gateway:
    """The OpenFaaS REST API, as faas-cli uses it."""

    def __init__(self, url: str, username: str, password: str | None, function: str):
        self.url = url.rstrip("/")
        self.auth = (username, password) if password else None
        self.function = function

    def api(self, method: str, path: str, **kw: Any) -> requests.Response:
        return requests.request(method, self.url + path, auth=self.auth, timeout=30, **kw)

    def status(self) -> dict[str, Any] | None:
        r = self.api("GET", f"/system/function/{self.function}")
        return r.json() if r.status_code == 200 else None

    def wait(self, done: Callable[[], bool], what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway: {what} within {timeout:g} s")
            time.sleep(0.05)

    def scale_to_zero(self) -> bool:
        """True on Pro; CE refuses replicas 0 with 400."""
        r = self.api("POST", f"/system/scale-function/{self.function}",
                     json={"serviceName": self.function, "replicas": 0})
        return r.status_code < 300

    def invoke_url(self) -> str:
        return f"{self.url}/function/{self.function}"


def deployment(stack_path: Path, function: str) -> dict[str, Any]:
    """The gateway's deploy request for a stack.yml function (image, env, labels, limits)."""
    import re

    import yaml

    text = re.sub(r"\$\{(\w+)(?::-([^}]*))?\}", lambda m: os.environ.get(m.group(1)) or (m.group(2) or ""),
                  stack_path.read_text())
    spec = yaml.safe_load(text)["functions"][function]
    return {"service": function, "image": spec["image"],
            "envVars": {k: str(v) for k, v in (spec.get("environment") or {}).items()},
            "labels": {k: str(v) for k, v in (spec.get("labels") or {}).items()},
            "limits": spec.get("limits"), "requests": spec.get("requests"),
            "readOnlyRootFilesystem": bool(spec.get("readonly_root_filesystem"))}


def time_openfaas(gateway: Gateway, spec: dict[str, Any], edition: str) -> dict[str, Any]:
    if edition == "pro":
        if not gateway.scale_to_zero():
            raise RuntimeError("the gateway refused to scale to zero (OpenFaaS CE?): use --edition ce")
        gateway.wait(lambda: (gateway.status() or {}).get("availableReplicas", 1) == 0, "0 available replicas")
        started = time.perf_counter()
    else:
        if gateway.status() is not None:
            gateway.api("DELETE", "/system/functions", json={"functionName": gateway.function})
            gateway.wait(lambda: gateway.status() is None, "the function removed")
        started = time.perf_counter()
        r = gateway.api("POST", "/system/functions", json=spec)
        if r.status_code >= 300:
            raise RuntimeError(f"deploy refused: {r.status_code} {r.text[:300]}")
    return {"seconds": wait_for_prediction(gateway.invoke_url(), 300, started), "edition": edition}


def detect_edition(gateway: Gateway) -> str:
    return "pro" if gateway.scale_to_zero() else "ce"


# -- the command -----------------------------------------------------------------------

def measure(order: list[str], one: Callable[[str], dict[str, Any]], quiet: bool = False) -> dict[str, list[dict]]:
    from tqdm import tqdm

    runs: dict[str, list[dict]] = {t: [] for t in dict.fromkeys(order)}
    for target in tqdm(order, desc="cold starts", unit="run", disable=quiet, file=sys.stderr):
        runs[target].append(one(target))
    return runs


def table(result: dict[str, Any]) -> str:
    lines = [f"mode {result['mode']}: seconds from start to the first successful prediction",
             f"{'target':<34}{'n':>3}{'min':>8}{'median':>8}{'p90':>8}{'max':>8}"]
    for target, s in result["stats"].items():
        lines.append(f"{target:<34}{s['n']:>3}{s['min']:>8.3f}{s['median']:>8.3f}{s['p90']:>8.3f}{s['max']:>8.3f}")
    for target, runs in result["runs"].items():
        if runs and "compressed_bytes" in runs[0]:
            lines.append(f"{target}: {runs[0]['compressed_bytes'] / 1e6:.1f} MB compressed pulled per run")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=("process", "docker", "pull", "openfaas"), required=True)
    parser.add_argument("--runs", type=int, default=5, help="per target")
    parser.add_argument("--target", action="append", choices=sorted(PROCESS_TARGETS), help="process mode")
    parser.add_argument("--image", action="append", help="docker and pull modes (repeat)")
    parser.add_argument("--registry", help="pull mode: HOST:PORT of a registry (default: start one)")
    parser.add_argument("--gateway", default=os.environ.get("OPENFAAS_URL", "http://127.0.0.1:8080"))
    parser.add_argument("--function", default="device-price")
    parser.add_argument("--edition", choices=("auto", "ce", "pro"), default="auto")
    parser.add_argument("--stack", type=Path, default=ROOT / "stack.yml")
    parser.add_argument("--json", type=Path, help="write every run and the statistics here")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    images = [i if ":" in i else f"{i}:latest" for i in (args.image or [])]
    if args.mode in ("docker", "pull"):
        if not images:
            parser.error(f"--mode {args.mode} needs --image (repeat it to compare)")
        missing = [i for i in images if not docker("images", "-q", i, check=False)]
        if missing:
            parser.error(f"not built: {', '.join(missing)} (make image-fn / image-server / image-tf)")
    extra: dict[str, Any] = {}
    try:
        if args.mode == "process":
            runs = measure(interleave(args.target or list(PROCESS_TARGETS), args.runs), time_process, args.quiet)
        elif args.mode == "docker":
            runs = measure(interleave(images, args.runs), time_docker, args.quiet)
        elif args.mode == "pull":
            registry = Registry(args.registry)
            bench = None
            try:
                bench = PullBench(images, registry)
                runs = measure(interleave(images, args.runs), bench.run, args.quiet)
            finally:
                if bench:
                    bench.restore()
                registry.close()
        else:
            gateway = Gateway(args.gateway, os.environ.get("OPENFAAS_USERNAME", "admin"),
                              os.environ.get("OPENFAAS_PASSWORD"), args.function)
            edition = detect_edition(gateway) if args.edition == "auto" else args.edition
            spec = deployment(args.stack, args.function)
            extra = {"gateway": args.gateway, "edition": edition}
            runs = measure([args.function] * args.runs, lambda _: time_openfaas(gateway, spec, edition), args.quiet)
    except (RuntimeError, TimeoutError, requests.RequestException) as e:
        print(f"coldstart: {e}", file=sys.stderr)
        return 1
    result = {"mode": args.mode, "date": datetime.now(UTC).isoformat(timespec="seconds"), **extra,
              "runs": runs, "stats": {t: stats([r["seconds"] for r in rs]) for t, rs in runs.items()}}
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
