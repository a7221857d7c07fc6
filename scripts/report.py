"""make report: measure the function, the server and the TensorFlow reference side by side,
and write docs/results.md with charts, plus the README's headline table.

    python -m scripts.report [--runs 5] [--pull-runs 3] [--collect-only]

Runs (unless --collect-only): image sizes; cold start in process, docker and pull modes;
the reference report's run (100 requests, 10 in flight) and wrk at 1 and 8 connections
against each container. Collects what other commands wrote under docs/bench/: the
concurrency benchmark, the soak and the long fuzz run. Every figure printed comes from
those JSON files; nothing is typed by hand.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from harness import ROOT, cli, coldstart, launch, readme, results
from harness.charts import charts
from harness.launch import TARGETS
from harness.load import python_client, run_wrk
from harness.results import BENCH, IMAGES, MEASURED, file_name
from harness.stats import median_of

DOCS = ROOT / "docs"
SLIM_SITE = ROOT / "build" / "slim-site"


def save(name: str, value: dict[str, Any]) -> dict[str, Any]:
    cli.write_json(BENCH / name, value, say=False)
    return value


def keep_previous() -> None:
    """The last run's figures move to docs/bench/previous/, so results.md shows them beside the new."""
    (BENCH / "previous").mkdir(parents=True, exist_ok=True)
    for name in map(file_name, MEASURED):
        if (BENCH / name).exists():
            (BENCH / "previous" / name).write_text((BENCH / name).read_text())


def measure(runs: int, pull_runs: int) -> None:
    keep_previous()
    # The function process runs on the image's own packages (numpy without BLAS).
    subprocess.run(["scripts/slim_site.sh", str(SLIM_SITE)], cwd=launch.ROOT, check=True)
    sizes = {}
    for label, image in IMAGES.items():
        s = launch.image_sizes(image)
        if s is None:
            sys.exit(f"report: {image} is not built (make image-fn image-server image-tf)")
        sizes[label] = {"image": image, "mb": s[0], "gzip_mb": s[1]}
    save(file_name("sizes"), {"date": cli.now(), "images": sizes, "cpus": os.cpu_count(), "machine": machine(),
                        "versions": versions()})
    for mode, kwargs in (("process", {"runs": runs, "floor": True, "site": SLIM_SITE}),
                         ("docker", {"runs": runs, "floor": True, "images": list(IMAGES.values())}),
                         ("pull", {"runs": pull_runs, "images": [IMAGES["function"], IMAGES["tensorflow"]]})):
        print(f"cold start, {mode} mode", file=sys.stderr)
        try:
            coldstart.show(coldstart.run(mode, **kwargs), BENCH / f"coldstart-{mode}.json")
        except (RuntimeError, TimeoutError, KeyError, OSError) as e:
            sys.exit(f"report: cold start ({mode}) failed: {e}")
    save(file_name("load"), load_runs(runs=3))


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
    parser.add_argument("--collect-only", action="store_true", help="rebuild the documents from docs/bench only")
    args = parser.parse_args(argv)
    if not args.collect_only:
        measure(args.runs, args.pull_runs)
    data = results.collect()
    if not data["sizes"] or not data["load"]:
        sys.exit("report: no measurements under docs/bench (run without --collect-only)")
    pictures = charts(data, DOCS)
    (DOCS / "results.md").write_text(results.results_md(data))
    readme.replace_section("headline", results.headline(data))
    print(f"wrote docs/results.md, {', '.join('docs/' + p for p in pictures)} and the README's headline table")
    return 0


if __name__ == "__main__":
    sys.exit(main())
