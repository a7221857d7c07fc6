"""A real OpenFaaS stack on this machine, and what the tests and benchmarks do on it.

The stack is ../shared/openfaas beside the repository (up.sh, down.sh; its README says what it
is), or the folder OPENFAAS_STACK_DIR names. Its OpenFaaS programs (gateway, faas-swarm, faas-cli)
are in the folder OPENFAAS_BIN names: no package registry has them, so without it there is no stack.
Standard library only, like harness/launch.py: the benchmarks run under a bare python3.

- Stack: up.sh / down.sh (always: a test registers down.sh before it starts anything), faas-cli
  with the gateway and the offline build arguments filled in.
- a function's replicas as the Docker engine sees them (harness/launch.py's function_containers:
  faas-swarm's label), so that "the old replica is gone" means its container is gone.
- Load: clients calling /function/NAME without a pause, every answer's status and model_version kept.
- a copy of the repository with another model version or a code change, for faas-cli to build.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import subprocess
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness import ROOT, launch
from harness.launch import Clients

FUNCTION = "device-price"
REGISTRY = "127.0.0.1:5000"  # the stack's registry (up.sh), on loopback
REPOSITORY = "local/device-price"  # REGISTRY=127.0.0.1:5000/local in stack.yml's image
OFFLINE_BASE = "device-price-base:bookworm-cc"  # scripts/build_base.sh's image (make image-fn makes it)


BINARIES = ("gateway", "faas-swarm", "faas-cli")  # what up.sh and the tests run from OPENFAAS_BIN


def stack_dir() -> Path | None:
    """The stack's folder (OPENFAAS_STACK_DIR, else ../shared/openfaas beside the repository), when it
    can start: up.sh there and every program of BINARIES in OPENFAAS_BIN. None otherwise."""
    return None if missing() else _folder()


def missing() -> str | None:
    """Why the stack cannot start here, or None: the reason a test that needs it skips with."""
    if not (_folder() / "up.sh").is_file():
        return f"no OpenFaaS stack at {_folder()} (set OPENFAAS_STACK_DIR)"
    given = os.environ.get("OPENFAAS_BIN")
    if not given:
        return "OPENFAAS_BIN is not set: it names the folder with the OpenFaaS gateway, faas-swarm and faas-cli"
    absent = [b for b in BINARIES if not os.access(Path(given) / b, os.X_OK)]
    return f"OPENFAAS_BIN={given} lacks {', '.join(absent)}" if absent else None


def _folder() -> Path:
    given = os.environ.get("OPENFAAS_STACK_DIR")
    return Path(given) if given else ROOT.parent / "shared" / "openfaas"


def build_env(tag: str, registry: str = f"{REGISTRY}/local") -> dict[str, str]:
    """stack.yml's variables for the README's offline `faas-cli up`: the registry (default the
    stack's), the tag, and the Debian-made base when there is one (no Docker Hub here)."""
    env = {"REGISTRY": registry, "TAG": tag}
    if launch.docker("image", "inspect", OFFLINE_BASE, check=False):
        env.update(OFFLINE="1", BASE_IMAGE=OFFLINE_BASE, BUILDER_IMAGE=OFFLINE_BASE)
    return env


class Stack:
    """The gateway, faas-swarm, Prometheus and registry of up.sh, and faas-cli pointed at them."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.faas_cli_path = Path(os.environ["OPENFAAS_BIN"]) / "faas-cli"
        self.url = ""
        self.password = ""

    def up(self, timeout: float = 600) -> None:
        proc = subprocess.run([str(self.folder / "up.sh")], capture_output=True, text=True, timeout=timeout)
        found = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
        if proc.returncode != 0 or "OPENFAAS_URL" not in found:
            raise RuntimeError(f"{self.folder}/up.sh failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
        self.url, self.password = found["OPENFAAS_URL"], found["OPENFAAS_PASSWORD"]
        self.faas_cli("login", "--username", "admin", "--password-stdin", stdin=self.password)

    def down(self) -> None:
        subprocess.run([str(self.folder / "down.sh")], capture_output=True, timeout=300)

    def faas_cli(self, *args: str, env: dict[str, str] | None = None, cwd: Path = ROOT, stdin: str | None = None,
                 timeout: float = 900) -> str:
        """faas-cli ARGS --gateway URL; its output, or RuntimeError with it."""
        proc = subprocess.run([str(self.faas_cli_path), *args, "--gateway", self.url], cwd=cwd, input=stdin,
                              env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout)
        if proc.returncode != 0:
            raise RuntimeError(f"faas-cli {' '.join(args)} failed ({proc.returncode}):\n"
                               f"{(proc.stdout + proc.stderr)[-3000:]}")
        return proc.stdout

    def function_url(self, path: str = "") -> str:
        return f"{self.url}/function/{FUNCTION}{path}"


# -- replicas as the engine sees them ------------------------------------------------------

def replica_images(function: str = FUNCTION, running: bool = True) -> list[str]:
    """The image of each container of the function (faas-swarm labels them): running ones (a
    draining replica runs until it exits), or all that exist (running=False; swarm keeps the
    stopped containers of a service's earlier tasks until the service is removed)."""
    return [i.split("@")[0] for i in launch.function_containers(function, not running, "{{.Image}}")]


def wait_replicas(done: Any, what: str, timeout: float = 180, function: str = FUNCTION, running: bool = True) -> float:
    """Poll the function's containers until done(images) holds; the seconds it took."""
    started = time.monotonic()
    while not done(replica_images(function, running)):
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{what} within {timeout:g} s; containers now: {replica_images(function, running)}")
        time.sleep(0.05)
    return time.monotonic() - started


def wait_gone(function: str = FUNCTION, timeout: float = 180) -> float:
    """Until no container of a removed function exists (a replica drains for drain_delay first)."""
    return wait_replicas(lambda images: not images, f"the containers of {function} gone", timeout, function,
                         running=False)


def wait_only(image: str, count: int = 1, function: str = FUNCTION, timeout: float = 180) -> float:
    """Until `count` containers of the function run and all of `image` (the old ones have exited)."""
    return wait_replicas(lambda images: len(images) == count and all(i == image for i in images),
                         f"only {image} running {function}", timeout, function)


# -- load --------------------------------------------------------------------------------

@dataclass
class Answer:
    sent: float  # time.monotonic() when the request was sent
    received: float
    status: int  # 0: no answer (connection refused or reset)
    version: str | None


class Load(Clients):
    """`clients` threads calling the function as fast as it answers, each on a keep-alive connection
    to the gateway; every answer is kept. Bodies: launch.EXAMPLE_BODY (one native record)."""

    def __init__(self, url: str, clients: int = 4, headers: dict[str, str] | None = None):
        self.url, self.headers = url, headers or {}
        self.answers: list[Answer] = []
        super().__init__(clients)

    def client(self) -> None:
        parts = urllib.parse.urlsplit(self.url)
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while not self.stop.is_set():
            sent = time.monotonic()
            try:
                conn.request("POST", parts.path, launch.EXAMPLE_BODY,
                             {"Content-Type": "application/json", **self.headers})
                response = conn.getresponse()
                body = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                conn.close()
                status, body = 0, b""
            try:
                version = json.loads(body).get("model_version") if status == 200 else None
            except ValueError:
                version = None
            mine.append(Answer(sent, time.monotonic(), status, version))
        conn.close()
        with self.lock:
            self.answers.extend(mine)

    def finished(self) -> None:
        self.answers.sort(key=lambda a: a.sent)


def switch(answers: list[Answer], started: float, new_version: str, settled: float) -> dict[str, Any]:
    """What a load saw of one update: failures, when the new version first and the old one last
    answered (seconds from `started`), and how many answers sent after `settled` (the old replica
    gone) were not the new version."""
    statuses = Counter(a.status for a in answers)
    new = [a.received for a in answers if a.version == new_version and a.sent >= started]
    old = [a.received for a in answers if a.status == 200 and a.version != new_version]
    return {
        "requests": len(answers),
        "failed": sum(n for s, n in statuses.items() if s != 200),
        "statuses": {str(s): n for s, n in sorted(statuses.items())},
        "first_new_s": round(min(new) - started, 3) if new else None,
        "last_old_s": round(max(old) - started, 3) if old else None,
        "settled_s": round(settled - started, 3),
        "after_settled": sum(1 for a in answers if a.sent >= settled),
        "old_after_settled": sum(1 for a in answers if a.sent >= settled and a.version != new_version),
    }


def wait_version(url: str, version: str, in_a_row: int = 50, timeout: float = 300,
                 headers: dict[str, str] | None = None) -> float:
    """Until `in_a_row` predictions in a row through `url` answer 200 with `version`; seconds."""
    started = time.monotonic()
    streak, last = 0, None
    while streak < in_a_row:
        if time.monotonic() - started > timeout:
            raise TimeoutError(f"{url}: not {in_a_row} answers in a row from model {version} within {timeout:g} s "
                               f"(last: {last})")
        try:
            code, body = launch.http("POST", url, launch.EXAMPLE_BODY, headers, timeout=10)
            last = (code, json.loads(body).get("model_version") if code == 200 else body[:200])
        except (OSError, ValueError) as e:
            last = repr(e)
        streak = streak + 1 if last == (200, version) else 0
        if not streak:
            time.sleep(0.05)
    return time.monotonic() - started


# -- variants of the repository ----------------------------------------------------------

def variant(dest: Path, model_version: str | None = None, code_note: str | None = None) -> Path:
    """A tree faas-cli can build from, like the repository but with another model version in
    model/manifest.json (what a retrained model changes, file for file) and/or one more comment
    line in fn/__init__.py (a code change); everything else links to the repository."""
    dest.mkdir(parents=True, exist_ok=True)
    # What faas-cli reads (the stack, the template, the handler folder) and what stack.yml copies.
    import yaml

    copied = {Path(p).parts[0] for p in yaml.safe_load((ROOT / "stack.yml").read_text())["configuration"]["copy"]}
    for name in sorted({"stack.yml", "template", "deploy"} | copied):
        (dest / name).symlink_to(ROOT / name)
    if model_version is not None:
        (dest / "model").unlink()
        shutil.copytree(ROOT / "model", dest / "model")
        manifest = json.loads((dest / "model/manifest.json").read_text())
        manifest["model_version"] = model_version
        (dest / "model/manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    if code_note is not None:
        (dest / "fn").unlink()
        shutil.copytree(ROOT / "fn", dest / "fn", ignore=shutil.ignore_patterns("__pycache__"))
        init = dest / "fn/__init__.py"
        init.write_text(init.read_text() + f"# {code_note}\n")
    return dest
