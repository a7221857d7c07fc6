"""Cold start: the time from starting a target to its first successful prediction.

    python scripts/coldstart.py --mode process [--target function --target tensorflow] [--runs 5]
    python scripts/coldstart.py --mode docker --image device-price-fn --image device-price-tf
    python scripts/coldstart.py --mode pull --image device-price-fn --image device-price-tf [--registry HOST:PORT]
    python scripts/coldstart.py --mode openfaas --gateway URL [--function device-price]
    python scripts/coldstart.py --mode lambda [--image device-price-lambda] [--memory-mb 1769] [--cpu-share]

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
- openfaas: the cold start the report is about, through the gateway, in rounds of three: (1)
  scale from zero: the function scaled to zero after idling and woken by one request. CE has no
  idler, so its step is emulated as CE users must (`docker service scale NAME=0`, then wait until
  no replica runs), and the gateway (scale_from_zero=true, the faas-netes chart's default) wakes it;
  (2) deploy: the function removed, its old replica's container gone (a removed replica drains for
  its drain_delay, and a deploy meanwhile waits for it), deployed again as the gateway had it; (3)
  `docker run` of the same image -> first 200, the floor both are measured against. Each of (1)
  and (2) is one request with a 60 s timeout, as a caller waits (a client timeout near the
  provider's 5 s resolver retry measures the resolver), and comes with its breakdown from Docker's
  events and the gateway's log: container created, started, healthy, gateway ready, first 200
  (harness/stats.py). --gateway-container names the gateway's container for its log
  (openfaas-gateway, as ../shared/openfaas/up.sh names it). The gateway says which edition it is
  (`X-Served-By: openfaas-ce/<version>`); on Pro, (1) scales to zero through the REST API.
  Credentials as faas-cli takes them: OPENFAAS_URL, OPENFAAS_USERNAME (admin), OPENFAAS_PASSWORD.
  --json writes {"scale_from_zero": {"median_s", "breakdown_median_s", "runs"}, "deploy": {...},
  "docker_run": {...}}.
- lambda: the image under AWS's Lambda Runtime Interface Emulator (harness/lambda_rie.py), `docker
  run` -> first answered invocation, interleaved with the same image's `docker run` -> first 200
  as the HTTP function; the emulator's INIT duration, the warm invocations' REPORT durations and
  the container's peak memory. --memory-mb is Lambda's memory size (the container's limit);
  --cpu-share also gives the container the CPU Lambda gives that size. --json adds the keys
  "lambda", "function" and "invocation".
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# The design card runs this command as a file (python scripts/coldstart.py, even under python3 -I
# -S): then the project is imported from the repository root. No other command needs this.
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import cli, launch, stats
from harness.launch import PROCESS_TARGETS


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
                   help="openfaas mode: how to scale to zero: CE with docker service scale (it has no idler), "
                        "Pro through its REST API (default: as the gateway's headers say)")
    p.add_argument("--gateway-container", default="openfaas-gateway",
                   help="openfaas mode: the gateway's container, whose log says when it found the function "
                        "ready (default openfaas-gateway, as ../shared/openfaas/up.sh names it)")
    p.add_argument("--memory-mb", type=int, default=1769, help="lambda mode: Lambda's memory size (default 1769, "
                                                                "deploy/lambda/template.yaml's)")
    p.add_argument("--cpu-share", action="store_true", help="lambda mode: the CPU Lambda gives --memory-mb too")
    p.add_argument("--json", type=Path, help="write every run and the statistics here")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def measure(args: argparse.Namespace, images: list[str]) -> dict:
    """The mode's cold starts, in harness/stats.py's rounds. Each mode imports its own module here,
    so that a mode reads in this file, the three every mode shares (cli, launch, stats) and its one."""
    if args.mode in ("process", "docker"):
        from harness import coldstart

        return coldstart.run(args.mode, args.runs, args.target, args.site, args.floor, images, args.quiet)
    if args.mode == "pull":
        from harness import registry

        local = registry.Registry(args.registry)  # a fresh node before every run, from a registry of our own
        bench = None
        try:
            bench = registry.PullBench(images, local)
            return stats.result("pull", stats.measure(stats.interleave(images, args.runs), bench.run, args.quiet))
        finally:
            if bench:
                bench.restore()
            local.close()
    if args.mode == "openfaas":
        from harness import gateway

        return gateway.cold_starts(args.runs, args.gateway, args.function, args.edition, args.gateway_container,
                                   args.quiet)
    if args.mode == "lambda":
        from harness import lambda_rie

        return lambda_rie.cold_starts(images[0], args.runs, args.memory_mb, args.cpu_share, args.quiet)
    raise KeyError(f"no mode {args.mode}")


def table(result: dict) -> str:
    """The result on stdout: each target's spread, and the pulled bytes or breakdowns where the mode has them."""
    lines = [f"mode {result['mode']}: seconds from start to the first successful prediction",
             f"{'target':<34}{'n':>3}{'min':>8}{'median':>8}{'p90':>8}{'max':>8}"]
    for target, s in result["stats"].items():
        lines.append(f"{target:<34}{s['n']:>3}{s['min']:>8.3f}{s['median']:>8.3f}{s['p90']:>8.3f}{s['max']:>8.3f}")
    for target, runs in result.get("runs", {}).items():
        if runs and "compressed_bytes" in runs[0]:
            lines.append(f"{target}: {runs[0]['compressed_bytes'] / 1e6:.1f} MB compressed pulled per run")
    for way in ("scale_from_zero", "deploy"):
        if way in result:
            lines.append(f"{way}, median seconds after the request: " + ", ".join(
                f"{k} {v:.3f}" if v is not None else f"{k} -" for k, v in result[way]["breakdown_median_s"].items()))
    return "\n".join(lines)


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
    if args.mode == "process" and args.site and not (args.site / "numpy").is_dir():
        p.error(f"--site {args.site}: no numpy there (scripts/slim_site.sh {args.site})")
    try:
        result = measure(args, images)
    except (RuntimeError, TimeoutError, KeyError, OSError) as e:
        print(f"coldstart: {e}", file=sys.stderr)
        return 1
    print(table(result))
    if args.json:
        cli.write_json(args.json, result, say=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
