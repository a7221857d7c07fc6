"""From new data to the new version serving on OpenFaaS, in one command, each step timed.

    python -m scripts.release --data new.csv --tag v2 [--registry docker.io/you] [--dry-run]

1. retrain  scripts/convert.sh --retrain --data CSV: trains, converts to TFLite and checks the TFLite
            file against Keras (writing model/; commit it with the release)
2. verify   python -m fn.predict on the example record: the new files load, their manifest checks
            and the model predicts; its model_version is what step 5 waits for
3. build    faas-cli up --skip-deploy (build, push to REGISTRY with TAG; the offline base when present:
            in a fresh clone run `make image-fn` once first, which fetches the numpy build wheels
            into wheelhouse/ and makes that base; without them the build stops at cython)
4. deploy   faas-cli deploy (a rolling update: tests/test_openfaas.py holds that it fails no request)
5. wait     until 50 answers in a row through $OPENFAAS_URL/function/device-price carry that version

The gateway is OPENFAAS_URL (or --gateway), logged in already (`faas-cli login`); faas-cli is the
one on PATH, else $OPENFAAS_BIN/faas-cli. --dry-run prints the steps and runs none. A token
(OPENFAAS_TOKEN, when the function requires one) is sent by the wait step.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from harness import cli, launch, openfaas


def faas_cli() -> str | None:
    """faas-cli on PATH, else in $OPENFAAS_BIN; None when neither has it."""
    given = Path(os.environ.get("OPENFAAS_BIN", "/nonexistent")) / "faas-cli"
    return shutil.which("faas-cli") or (str(given) if os.access(given, os.X_OK) else None)


def steps(args: argparse.Namespace) -> list[tuple[str, list[str], dict[str, str]]]:
    """(name, command, extra environment) of the steps that run a program."""
    env = {**openfaas.build_env(args.tag, args.registry), "OPENFAAS_URL": args.gateway}
    cli_path = faas_cli() or "faas-cli"  # a dry run shows the steps even where it is missing
    return [
        ("retrain", ["scripts/convert.sh", "--retrain", "--data", str(args.data)], {}),
        ("verify", [sys.executable, "-m", "fn.predict"], {}),
        ("build", [cli_path, "up", "--skip-deploy", "-f", "stack.yml"], env),
        ("deploy", [cli_path, "deploy", "-f", "stack.yml"], env),
    ]


def run(name: str, command: list[str], env: dict[str, str], stdin: str | None = None) -> str:
    proc = subprocess.run(command, cwd=launch.ROOT, env={**os.environ, **env}, input=stdin, capture_output=True,
                          text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"{name}: {' '.join(command)} failed ({proc.returncode}):\n"
                           f"{(proc.stdout + proc.stderr)[-3000:]}")
    return proc.stdout


def release(args: argparse.Namespace) -> dict[str, Any]:
    if faas_cli() is None:
        raise RuntimeError("faas-cli not found: install it (docs/deploy.md), put it on PATH or in $OPENFAAS_BIN")
    timings: dict[str, float] = {}
    version = None
    for name, command, env in steps(args):
        started = time.perf_counter()
        out = run(name, command, env, stdin=launch.EXAMPLE_BODY.decode() if name == "verify" else None)
        timings[name] = round(time.perf_counter() - started, 2)
        print(f"{name:<8} {timings[name]:7.2f} s", flush=True)
        if name == "verify":
            version = json.loads(out)["model_version"]
    token = os.environ.get("OPENFAAS_TOKEN")
    headers = {"Authorization": f"Bearer {token}"} if token else None
    timings["wait"] = round(openfaas.wait_version(f"{args.gateway.rstrip('/')}/function/{openfaas.FUNCTION}",
                                                  version, headers=headers, timeout=args.timeout), 2)
    print(f"{'wait':<8} {timings['wait']:7.2f} s: every answer now from model {version}")
    return {"tag": args.tag, "model_version": version, "seconds": timings, "total_s": round(sum(timings.values()), 2)}


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--data", type=Path, required=True, help="the new dataset (a CSV with the dataset's columns)")
    p.add_argument("--tag", required=True, help="the image tag of this release (v2, 2026-12-01, ...)")
    p.add_argument("--registry", default=os.environ.get("REGISTRY", f"{openfaas.REGISTRY}/local"),
                   help="where the cluster pulls from (default $REGISTRY, else the local stack's registry)")
    p.add_argument("--gateway", default=os.environ.get("OPENFAAS_URL", "http://127.0.0.1:8080"),
                   help="the gateway (default $OPENFAAS_URL or http://127.0.0.1:8080)")
    p.add_argument("--timeout", type=float, default=300, help="seconds the wait step may take (default 300)")
    p.add_argument("--json", type=Path, help="write the step timings here")
    p.add_argument("--dry-run", action="store_true", help="print the steps, run none")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if not args.data.is_file():
        print(f"release: --data {args.data}: no such file", file=sys.stderr)
        return 2
    try:
        if args.dry_run:
            for name, command, env in steps(args):
                shown = " ".join(f"{k}={v}" for k, v in env.items() if k != "OPENFAAS_URL")
                print(f"{name:<8} {shown + ' ' if shown else ''}{' '.join(command)}")
            print(f"{'wait':<8} until 50 answers in a row from {args.gateway}/function/{openfaas.FUNCTION} carry "
                  "the new model_version")
            return 0
        result = release(args)
    except (RuntimeError, TimeoutError, OSError, ValueError) as e:
        print(f"release: {e}", file=sys.stderr)
        return 1
    if args.json:
        cli.write_json(args.json, result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
