"""make report's measuring: the function, the server and the TensorFlow reference side by side.

    python -m scripts.report [--runs 5] [--pull-runs 3]

Measures the images' sizes; their cold starts in process, docker and pull modes (the cold-start
command, run as users run it); the reference report's run (100 requests, 10 in flight) and wrk at
1 and 8 connections against each container. Writes docs/bench/report-sizes.json,
coldstart-MODE.json and report-load.json, the run before moved to docs/bench/previous/. `make
report` then draws the charts (python -m scripts.charts) and renders docs/results.md, the README's
headline table and every other document from those files (python -m scripts.render).
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import ROOT, cli, launch
from harness.launch import IMAGES, TARGETS
from harness.load import python_client, run_wrk
from harness.stats import median_of

BENCH = ROOT / "docs" / "bench"
# What this command writes (results.md reads them back under these names, and the run before
# from previous/); each mode's cold starts under the cold-start command's names.
SIZES, LOAD = "report-sizes.json", "report-load.json"
MEASURED = (SIZES, *(f"coldstart-{mode}.json" for mode in ("process", "docker", "pull")), LOAD)
SLIM_SITE = ROOT / "build" / "slim-site"


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


def save(name: str, value: dict[str, Any]) -> dict[str, Any]:
    cli.write_json(BENCH / name, value, say=False)
    return value


def keep_previous() -> None:
    """The last run's figures move to docs/bench/previous/, so results.md shows them beside the new."""
    (BENCH / "previous").mkdir(parents=True, exist_ok=True)
    for name in MEASURED:
        if (BENCH / name).exists():
            (BENCH / "previous" / name).write_text((BENCH / name).read_text())


def cold_starts(mode: str, *flags: str) -> None:
    """The cold-start command in one mode, run as users run it, writing docs/bench/coldstart-MODE.json."""
    print(f"cold start, {mode} mode", file=sys.stderr)
    command = [sys.executable, "scripts/coldstart.py", "--mode", mode, *flags, "--json", f"{BENCH}/coldstart-{mode}.json"]
    if subprocess.run(command, cwd=ROOT).returncode != 0:
        sys.exit(f"report: cold start ({mode}) failed (its error is above)")


def measure(runs: int, pull_runs: int) -> None:
    keep_previous()
    # The function process runs on the image's own packages (numpy without BLAS).
    subprocess.run(["scripts/slim_site.sh", str(SLIM_SITE)], cwd=ROOT, check=True)
    sizes = {}
    for label, image in IMAGES.items():
        s = image_sizes(image)
        if s is None:
            sys.exit(f"report: {image} is not built (make image-fn image-server image-tf)")
        sizes[label] = {"image": image, "mb": s[0], "gzip_mb": s[1]}
    save(SIZES, {"date": cli.now(), "images": sizes, "cpus": os.cpu_count(), "machine": machine(),
                 "versions": versions()})
    cold_starts("process", "--runs", str(runs), "--floor", "--site", str(SLIM_SITE))
    cold_starts("docker", "--runs", str(runs), "--floor", *(f for i in IMAGES.values() for f in ("--image", i)))
    cold_starts("pull", "--runs", str(pull_runs),
                *(f for i in (IMAGES["function"], IMAGES["tensorflow"]) for f in ("--image", i)))
    save(LOAD, load_runs(runs=3))


def load_runs(runs: int) -> dict[str, Any]:
    """The reference report's run and wrk at 1 and 8 connections, per container."""
    out: dict[str, Any] = {"date": cli.now(), "targets": {}}
    for label, image in IMAGES.items():
        print(f"load: {label}", file=sys.stderr)
        name, url = launch.docker_run(image, f"device-price-load-{label}")
        try:
            target = url + TARGETS[label].predict_path
            launch.wait_for_prediction(target, 120)
            reference = [python_client(target, 100, 10, launch.EXAMPLE_BODY) for _ in range(runs)]
            # The same client against the cheapest endpoint: its own share of those latencies.
            ceiling = [python_client(url + "/_/health", 100, 10, None, "GET") for _ in range(runs)]
            wrk = {str(c): [run_wrk(target, c, 5) for _ in range(runs)] for c in (1, 8)}
        finally:
            launch.stop_container(name)
        out["targets"][label] = {
            "reference_run": {"median": median_of(reference), "runs": reference},
            "reference_run_client_ceiling": {"median": median_of(ceiling), "runs": ceiling},
            "wrk": {c: {"median": median_of(rs), "runs": rs} for c, rs in wrk.items()},
        }
    return out


def versions() -> dict[str, str]:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for pkg in ("numpy", "tflite-runtime", "waitress", "tensorflow-cpu", "keras"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    docker = subprocess.run(["docker", "version", "-f", "{{.Server.Version}}"], capture_output=True, text=True)
    out["docker engine"] = docker.stdout.strip() or "?"
    return out


def machine() -> str:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    mem = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    return f"{os.cpu_count()} cores ({cpu}), {mem:.0f} GiB, {platform.system()} {platform.release()}"


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--runs", type=int, default=5, help="cold starts per target (process, docker; default 5)")
    parser.add_argument("--pull-runs", type=int, default=3, help="cold starts per image, pull mode (default 3)")
    args = parser.parse_args(argv)
    measure(args.runs, args.pull_runs)
    print(f"wrote {', '.join('docs/bench/' + name for name in MEASURED)}; python -m scripts.charts and "
          "python -m scripts.render turn them into docs/results.md and the README's headline table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
