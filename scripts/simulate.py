"""Serverless or server? Simulate the fleet under traffic shapes and scaling policies, from this
project's measurements, check the simulation against real runs, and write docs/scaling.md.

    python -m scripts.simulate [--no-validate] [--reuse 0]
    python -m scripts.simulate --render      (docs/scaling.md and its charts again, from simulation.json)
    python -m scripts.simulate --only-validate   (the checks against real runs again, into simulation.json)

Inputs: docs/bench/replica.json (make bench: scripts/bench_replica.py), coldstart-docker.json and
coldstart-pull.json (make report). The validation starts the function container (make image-fn).
Writes docs/bench/simulation.json, docs/scaling.md and docs/scaling-*.png.
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import cli
from scripts.fleet import inputs, report, validate


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--no-validate", action="store_true",
                        help="skip the runs against the real container (the last ones written are kept)")
    parser.add_argument("--reuse", type=float, default=0.0,
                        help="on your own cluster, the share of the capacity a scaled-down fleet frees that another "
                             "workload uses (0: nodes paid whether replicas run or not)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="simulations run at once, in processes (default: one per core)")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/scaling.md and the charts")
    parser.add_argument("--only-validate", action="store_true",
                        help="only the checks against real runs, kept with the simulations already written")
    args = parser.parse_args(argv)
    if args.render:
        for path in report.render():
            print(f"wrote {path}")
        return 0
    if not 0.0 <= args.reuse <= 1.0:
        print(f"simulate: --reuse must be between 0 and 1, not {args.reuse:g}", file=sys.stderr)
        return 2
    try:
        replicas = {kind: inputs.replica(kind) for kind in ("fn", "server", "tf")}
    except (FileNotFoundError, KeyError) as e:
        print(f"simulate: {e}", file=sys.stderr)
        return 1
    kept = report.load() if report.SIMULATION.exists() else {}
    validation = dict(kept.get("validation", {}))
    validation.setdefault("date", kept.get("date", ""))
    report.with_dynamics(validation)
    if args.only_validate:
        results = kept["results"]
    else:
        results = report.run_grid(replicas, cli.progress, args.reuse, args.jobs)
    if not args.no_validate:
        steps = [("scale_from_zero", validate.scale_from_zero), ("one_replica", validate.one_replica)]
        for name, step in cli.progress(steps, "validation"):
            validation[name] = step()
        validation["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    for path in report.write(report.document(results, validation, replicas, args.reuse)):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
