"""Cold start: the time from starting a target to its first successful prediction.

    python scripts/coldstart.py --mode process [--target function --target tensorflow] [--runs 5]
    python scripts/coldstart.py --mode docker --image device-price-fn --image device-price-tf
    python scripts/coldstart.py --mode pull --image device-price-fn --image device-price-tf [--registry HOST:PORT]
    python scripts/coldstart.py --mode openfaas --gateway URL [--function device-price]
    python scripts/coldstart.py --mode lambda [--image device-price-lambda] [--memory-mb 512] [--cpu-share]

(or python -m scripts.coldstart). The docker, pull and openfaas modes need only the
standard library: a bare python3 on a host with Docker runs them.

Targets are interleaved (A B A B ...) so the machine's drift spreads over all of them; the
table shows min, median, p90 and max, and --json PATH keeps every run. --floor adds, in the
same interleaving, what no server can beat: in process mode a bare interpreter that imports
numpy and tflite_runtime and exits; in docker mode `docker run` of a container that exits at
once (the first image's python3, -I -S -c pass).
- process: spawn the server process, poll until a prediction answers 200. --site DIR runs the
  function (and the floor) on the packages in DIR, as the image has them (scripts/slim_site.sh).
- docker: the image is present; `docker run` -> first prediction. Every image runs the same
  way: --read-only, --tmpfs /tmp (TensorFlow needs one; the slim images do not), no capabilities.
- pull: a fresh node. Each image is pushed to a local registry (Debian's docker-registry,
  started here on 127.0.0.1 unless --registry is given); before every run the image and every
  local image sharing a layer with it (its base included) are removed, so `docker pull` fetches
  everything; pull + run -> first prediction. Reports the compressed bytes pulled. Removed
  tagged images are restored at the end; untagged ones sharing a layer with the image (earlier
  builds of it, its build cache) are removed for good, and no other image is touched.
- openfaas: the gateway says which edition it is (a CE gateway marks its answers
  `X-Served-By: openfaas-ce/<version>` and `X-OpenFaaS-EULA: openfaas-ce`); when it does not,
  --edition is required. OpenFaaS CE cannot scale to zero (it raises replicas 0 to 1 and answers
  202), so each run removes the function, waits until the old replica's container is gone (a
  removed replica keeps serving for its drain_delay, and a deploy meanwhile waits for it: a clock
  started when it merely stops answering counts that wait), deploys it again as the gateway had
  it, and times the deploy -> first 200 through /function/NAME; on Pro it scales to zero through
  the REST API, waits for 0 available replicas and the container gone, and times the first call.
  --engine says where the containers are looked for: docker (faas-swarm, one node: the label
  com.openfaas.function=NAME) or kubernetes (kubectl, the label faas_function=NAME). Credentials
  as faas-cli takes them: OPENFAAS_URL, OPENFAAS_USERNAME (admin), OPENFAAS_PASSWORD.
- lambda: the image under AWS's Lambda Runtime Interface Emulator (scripts/lambda_rie.py), `docker
  run` -> first answered invocation, interleaved with the same image's `docker run` -> first 200
  as the HTTP function; the emulator's INIT duration, the warm invocations' REPORT durations and
  the container's peak memory. --memory-mb is Lambda's memory size (the container's limit);
  --cpu-share also gives the container the CPU Lambda gives that size. --json adds the keys
  "lambda", "function" and "invocation".
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from statistics import median
from typing import Any

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli, lambda_rie, launch, openfaas
from scripts.stats import spread
from scripts.targets import TARGETS

PROCESS_TARGETS = ("function", "tensorflow")
FLOOR = "floor"


def with_site(site: Path | None) -> dict[str, str]:
    """The environment that puts a package folder first on the path (the function's, the floor's)."""
    return {"PYTHONPATH": os.pathsep.join([str(site.resolve()), str(launch.ROOT)])} if site else {}


def time_exit(args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Seconds for a command that exits at once (a floor)."""
    started = time.perf_counter()
    proc = subprocess.run(args, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:4])}: {proc.stderr.strip()[-300:]}")
    return {"seconds": seconds}


def interleave(targets: list[str], runs: int) -> list[str]:
    """A B A B ...: each round runs every target once."""
    return [t for _ in range(runs) for t in targets]


def time_process(name: str, site: Path | None = None) -> dict[str, Any]:
    if name == FLOOR:
        return time_exit([sys.executable, "-c", "import numpy, tflite_runtime.interpreter"], with_site(site))
    target = TARGETS[name]
    port = launch.free_port()
    started = time.perf_counter()
    proc = launch.start_process(target, port, {**launch.QUIET, **(with_site(site) if name == "function" else {})})
    try:
        seconds = launch.wait_for_prediction(f"http://127.0.0.1:{port}{target.predict_path}", 120, started,
                                             lambda: proc.poll() is None)
    finally:
        launch.stop_process(proc)
    return {"seconds": seconds}


def time_docker(image: str, floor_image: str | None = None) -> dict[str, Any]:
    if image == FLOOR:
        return time_exit(["docker", "run", "--rm", "--read-only", "--entrypoint", "/usr/bin/python3", floor_image,
                          "-I", "-S", "-c", "pass"])
    path = launch.image_target(image).predict_path  # asked before the clock starts
    started = time.perf_counter()
    name, url = launch.docker_run(image, launch.own_name("device-price-coldstart"))
    try:
        return {"seconds": launch.wait_for_prediction(url + path, 120, started)}
    finally:
        launch.stop_container(name)


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
        self.address = f"127.0.0.1:{launch.free_port()}"
        self.dir = tempfile.mkdtemp(prefix="coldstart-registry-")
        config = Path(self.dir) / "config.yml"
        config.write_text(f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {self.dir}/data\n"
                          f"http:\n  addr: {self.address}\n")
        self.proc = subprocess.Popen([exe, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            launch.wait_until_ok(f"http://{self.address}/v2/", timeout=20, what="the local registry",
                                 alive=lambda: self.proc.poll() is None)
        except (TimeoutError, RuntimeError) as e:
            self.close()
            raise RuntimeError(f"the local registry did not start: {e}") from None

    def name(self, image: str) -> str:
        return f"{self.address}/{image.split(':')[0].split('/')[-1]}:coldstart"

    def compressed_bytes(self, remote: str) -> int:
        repo, tag = remote.split("/", 1)[1].rsplit(":", 1)
        _, body = launch.http("GET", f"http://{self.address}/v2/{repo}/manifests/{tag}",
                              headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"})
        manifest = json.loads(body)
        return sum(layer["size"] for layer in manifest["layers"]) + manifest["config"]["size"]

    def close(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(10)
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


def layers(image: str) -> set[str]:
    return set(json.loads(launch.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", image)) or [])


def sharing_images(image: str) -> tuple[list[str], list[str]]:
    """Other local images that share a layer with `image`, whose layers would make a pull skip
    that layer: (tagged ones by name, its base for one; untagged ones by id: earlier builds of
    it and its build cache)."""
    mine = layers(image)
    own = launch.docker("image", "inspect", "-f", "{{.Id}}", image)
    tagged, untagged = [], []
    for line in launch.docker("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").splitlines():
        iid, ref = line.split(" ", 1)
        if iid != own and layers(iid) & mine:
            (untagged if "<none>" in ref else tagged).append(iid if "<none>" in ref else ref)
    return tagged, untagged


class PullBench:
    """Push once, then before each run remove everything that could be cached."""

    def __init__(self, images: list[str], registry: Registry):
        self.registry = registry
        self.remote = {image: registry.name(image) for image in images}
        self.path = {image: launch.image_target(image).predict_path for image in images}
        self.saved = Path(tempfile.mkdtemp(prefix="coldstart-saved-")) / "images.tar"
        found = [sharing_images(image) for image in images]
        shared = sorted({ref for tagged, _ in found for ref in tagged} - set(images))
        # Untagged images cannot be given back under a name: they are removed, and only they (no
        # `docker image prune`, which would take every dangling image the user has).
        self.untagged = sorted({iid for _, untagged in found for iid in untagged})
        if self.untagged:
            print(f"coldstart: removing {len(self.untagged)} untagged image(s) sharing layers with "
                  f"{', '.join(images)} (earlier builds, build cache); nothing else", file=sys.stderr)
        for image in images:
            launch.docker("tag", image, self.remote[image])
            launch.docker("push", self.remote[image])
        if shared:  # restored at the end: removing them is what makes the node fresh
            launch.docker("save", "-o", str(self.saved), *shared)
        self.shared = shared
        self.bytes = {image: registry.compressed_bytes(self.remote[image]) for image in images}

    def forget(self) -> None:
        for ref in list(self.remote.values()) + list(self.remote) + self.shared + self.untagged:
            launch.docker("rmi", "-f", ref, check=False)

    def run(self, image: str) -> dict[str, Any]:
        self.forget()
        remote = self.remote[image]
        started = time.perf_counter()
        launch.docker("pull", "-q", remote)
        pulled = time.perf_counter() - started
        name, url = launch.docker_run(remote, launch.own_name("device-price-coldstart"))
        try:
            seconds = launch.wait_for_prediction(url + self.path[image], 300, started)
        finally:
            launch.stop_container(name)
        return {"seconds": seconds, "pull_seconds": pulled, "compressed_bytes": self.bytes[image]}

    def restore(self) -> None:
        for image, remote in self.remote.items():
            if not launch.docker("images", "-q", remote):
                launch.docker("pull", "-q", remote)
            launch.docker("tag", remote, image)
            launch.docker("rmi", remote, check=False)
        if self.shared:
            launch.docker("load", "-i", str(self.saved))
        shutil.rmtree(self.saved.parent, ignore_errors=True)


# -- openfaas --------------------------------------------------------------------------

# What a deploy request (POST /system/functions) takes from a function's status.
DEPLOY_FIELDS = ("image", "envProcess", "envVars", "labels", "annotations", "constraints", "secrets", "limits",
                 "requests", "readOnlyRootFilesystem", "namespace")


class Gateway:
    """The OpenFaaS REST API, as faas-cli uses it."""

    def __init__(self, url: str, username: str, password: str | None, function: str):
        self.url = url.rstrip("/")
        self.headers = {}
        if password:
            token = base64.b64encode(f"{username}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {token}"
        self.function = function

    def api(self, method: str, path: str, value: Any = None) -> tuple[int, bytes]:
        body = json.dumps(value).encode() if value is not None else None
        return launch.http(method, self.url + path, body, self.headers)

    def status(self) -> dict[str, Any] | None:
        code, body = self.api("GET", f"/system/function/{self.function}")
        return json.loads(body) if code == 200 else None

    def wait(self, done: Callable[[], bool], what: str, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gateway: {what} within {timeout:g} s")
            time.sleep(0.05)

    def scale_to_zero(self) -> None:
        code, body = self.api("POST", f"/system/scale-function/{self.function}",
                              {"serviceName": self.function, "replicas": 0})
        if code >= 300:
            raise RuntimeError(f"scaling to zero refused: {code} {body[:200].decode(errors='replace')}")

    def invoke_url(self) -> str:
        return f"{self.url}/function/{self.function}"

    def edition(self) -> str | None:
        """"ce" or "pro" as the gateway's own headers say (on its info and on a call), else None."""
        for method, path in (("GET", "/system/info"), ("POST", f"/function/{self.function}")):
            try:
                _, headers, _ = launch.exchange(method, self.url + path, launch.EXAMPLE_BODY if method == "POST"
                                                else None, self.headers if path.startswith("/system") else None)
            except OSError:
                continue
            served = headers.get("x-served-by", "")
            if headers.get("x-openfaas-eula") == "openfaas-ce" or served.startswith("openfaas-ce/"):
                return "ce"
            if served.startswith("openfaas-"):  # openfaas-pro/..., openfaas-ee/...: a licensed gateway
                return "pro"
        return None


def deployment(status: dict[str, Any], function: str, engine_spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """The deploy request that recreates a function as faas-cli up made it: its status, and what
    the engine shows that the status leaves out."""
    spec = {"service": function}
    spec.update({key: status[key] for key in DEPLOY_FIELDS if status.get(key) is not None})
    spec.update(engine_spec or {})
    return spec


def swarm_fields(function: str) -> dict[str, Any]:
    """The deploy fields faas-swarm's status omits (environment, memory, read-only root, secrets),
    read back from the swarm service it made; without them a redeploy would be another function."""
    spec = json.loads(launch.docker("service", "inspect", function, "--format", "{{json .Spec}}"))
    container, resources = spec["TaskTemplate"]["ContainerSpec"], spec["TaskTemplate"].get("Resources") or {}
    out: dict[str, Any] = {
        "envVars": dict(e.split("=", 1) for e in container.get("Env") or [] if not e.startswith("fprocess=")),
        "readOnlyRootFilesystem": bool(container.get("ReadOnly")),
        "secrets": [s["SecretName"] for s in container.get("Secrets") or []]}
    for key, field in (("limits", "Limits"), ("requests", "Reservations")):
        if (resources.get(field) or {}).get("MemoryBytes"):
            out[key] = {"memory": str(resources[field]["MemoryBytes"])}
    return out


def replicas_gone(function: str, engine: str) -> bool:
    """No container (docker) or pod (kubernetes) of the function is left, running or stopping."""
    if engine == "docker":
        return not openfaas.replica_images(function, running=False)
    proc = subprocess.run(["kubectl", "get", "pods", "--all-namespaces", "-l", f"faas_function={function}",
                           "-o", "name"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"kubectl get pods: {proc.stderr.strip()[-300:]}")
    return not proc.stdout.strip()


def time_openfaas(gateway: Gateway, spec: dict[str, Any], edition: str, engine: str) -> dict[str, Any]:
    """One cold start; the clock starts only once the old replica's container is gone."""
    gone = lambda: replicas_gone(gateway.function, engine)  # noqa: E731
    if edition == "pro":
        gateway.scale_to_zero()
        # No call may check that it is down: on Pro a call is what wakes a function up.
        gateway.wait(lambda: (gateway.status() or {}).get("availableReplicas", 1) == 0, "0 available replicas")
        gateway.wait(gone, "the old replica's container gone")
        started = time.perf_counter()
    else:
        if gateway.status() is not None:
            gateway.api("DELETE", "/system/functions", {"functionName": gateway.function})
            gateway.wait(lambda: gateway.status() is None, "the function removed")
        gateway.wait(gone, "the old replica's container gone")
        started = time.perf_counter()
        code, body = gateway.api("POST", "/system/functions", spec)
        if code >= 300:
            raise RuntimeError(f"deploy refused: {code} {body[:300].decode(errors='replace')}")
    return {"seconds": launch.wait_for_prediction(gateway.invoke_url(), 300, started), "edition": edition}


def detect_edition(gateway: Gateway) -> str:
    edition = gateway.edition()
    if edition is None:
        raise RuntimeError("the gateway does not say which edition it is (no X-Served-By or X-OpenFaaS-EULA "
                           "header): pass --edition ce or --edition pro")
    return edition


# -- lambda ----------------------------------------------------------------------------

def time_lambda(image: str, runs: int, memory_mb: int, cpu_share: bool, quiet: bool) -> tuple[dict, dict]:
    """The image under the emulator beside its own HTTP cold start, interleaved: (runs per target,
    the JSON's "lambda", "function" and "invocation" keys)."""
    one = {"lambda": lambda: lambda_rie.time_cold(image, memory_mb, cpu_share), "function": lambda: time_docker(image)}
    measured = measure(interleave(["lambda", "function"], runs), lambda t: one[t](), quiet)
    cold, warm = measured["lambda"], [ms for r in measured["lambda"] for ms in r["duration_ms"]]
    inits = [r["init_ms"] for r in cold if r["init_ms"] is not None]
    peaks = [r["max_memory_mb"] for r in cold if r["max_memory_mb"] is not None]
    return measured, {
        "image": image, "memory_mb": memory_mb, "cpu_share": cpu_share,
        "lambda": {"median_s": median([r["seconds"] for r in cold]), "runs": [r["seconds"] for r in cold],
                   "init_ms_median": median(inits) if inits else None},
        "function": {"median_s": median([r["seconds"] for r in measured["function"]])},
        "invocation": {"duration_ms_median": median(warm) if warm else None,
                       "max_memory_mb": max(peaks) if peaks else None}}


# -- the command -----------------------------------------------------------------------

def measure(order: list[str], one: Callable[[str], dict[str, Any]], quiet: bool = False) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {t: [] for t in dict.fromkeys(order)}
    for target in cli.progress(order, "cold starts", quiet):
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


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--mode", choices=("process", "docker", "pull", "openfaas", "lambda"), required=True,
                   help="what a start means (see above)")
    p.add_argument("--runs", type=int, default=5, help="runs per target (default 5)")
    p.add_argument("--target", action="append", choices=PROCESS_TARGETS,
                   help="process mode: which to start (repeat; default both)")
    p.add_argument("--site", type=Path, help="process mode: run the function on the packages in this folder "
                                             "(scripts/slim_site.sh makes the image's)")
    p.add_argument("--floor", action="store_true", help="process and docker modes: measure the floor too")
    p.add_argument("--image", action="append", help="docker and pull modes: an image to start (repeat to compare)")
    p.add_argument("--registry", help="pull mode: HOST:PORT of a registry (default: start one on loopback)")
    p.add_argument("--gateway", default=os.environ.get("OPENFAAS_URL", "http://127.0.0.1:8080"),
                   help="openfaas mode: the gateway's URL (default $OPENFAAS_URL or http://127.0.0.1:8080)")
    p.add_argument("--function", default="device-price", help="openfaas mode: the function's name")
    p.add_argument("--edition", choices=("auto", "ce", "pro"), default="auto",
                   help="openfaas mode: CE removes and redeploys, Pro scales to zero (default: as the "
                        "gateway's headers say)")
    p.add_argument("--engine", choices=("docker", "kubernetes"), default="docker",
                   help="openfaas mode: where to see that the old replica is gone: docker (faas-swarm on "
                        "this node) or kubernetes (kubectl; faas-netes)")
    p.add_argument("--memory-mb", type=int, default=512, help="lambda mode: Lambda's memory size (default 512, "
                                                                "deploy/lambda/template.yaml's)")
    p.add_argument("--cpu-share", action="store_true", help="lambda mode: the CPU Lambda gives --memory-mb too")
    p.add_argument("--json", type=Path, help="write every run and the statistics here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.runs < 1:
        p.error("--runs must be at least 1")
    images = [i if ":" in i.rsplit("/", 1)[-1] else f"{i}:latest" for i in (args.image or [])]
    if args.mode == "lambda":
        images = images[:1] or ["device-price-lambda:latest"]
    if args.mode in ("docker", "pull", "lambda"):
        if not images:
            p.error(f"--mode {args.mode} needs --image (repeat it to compare)")
        missing = [i for i in images if not launch.docker("images", "-q", i, check=False)]
        if missing:
            p.error(f"not built: {', '.join(missing)} (make image-fn / image-lambda / image-server / image-tf)")
    extra: dict[str, Any] = {}
    try:
        floor = [FLOOR] if args.floor else []
        if args.mode == "process":
            if args.site and not (args.site / "numpy").is_dir():
                p.error(f"--site {args.site}: no numpy there (scripts/slim_site.sh {args.site})")
            targets = list(args.target or PROCESS_TARGETS) + floor
            runs = measure(interleave(targets, args.runs), lambda t: time_process(t, args.site), args.quiet)
            extra = {"site": str(args.site) if args.site else "the current environment"}
        elif args.mode == "lambda":
            runs, extra = time_lambda(images[0], args.runs, args.memory_mb, args.cpu_share, args.quiet)
        elif args.mode == "docker":
            runs = measure(interleave(images + floor, args.runs), lambda t: time_docker(t, images[0]), args.quiet)
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
            status = gateway.status()
            if status is None:
                raise RuntimeError(f"{args.function} is not deployed on {args.gateway}: deploy it first "
                                   "(faas-cli up -f stack.yml)")
            spec = deployment(status, args.function, swarm_fields(args.function) if args.engine == "docker" else None)
            edition = detect_edition(gateway) if args.edition == "auto" else args.edition
            extra = {"gateway": args.gateway, "edition": edition, "engine": args.engine}
            runs = measure([args.function] * args.runs, lambda _: time_openfaas(gateway, spec, edition, args.engine),
                           args.quiet)
    except (RuntimeError, TimeoutError, KeyError, OSError) as e:
        print(f"coldstart: {e}", file=sys.stderr)
        return 1
    result = {"mode": args.mode, "date": datetime.now(UTC).isoformat(timespec="seconds"), **extra,
              "runs": runs, "stats": {t: spread([r["seconds"] for r in rs]) for t, rs in runs.items()}}
    print(table(result))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
