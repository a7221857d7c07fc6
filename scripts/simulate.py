"""Serverless or server? Simulate the fleet under traffic shapes and scaling policies, from this
project's measurements, check the simulation against real runs (the measuring step, into
docs/bench/simulation.json), and render docs/scaling.md and its charts from that (the rendering step).

    python -m scripts.simulate [--no-validate] [--reuse 0] [--span-scale 1]   (measure)
    python -m scripts.simulate --render      (docs/scaling.md, its charts and docs/deploy.md's "which engine,
                                              when", from simulation.json)
    python -m scripts.simulate --only-validate   (the checks against real runs again, into simulation.json)

Inputs: docs/bench/replica.json (make bench), coldstart-docker.json, coldstart-pull.json,
coldstart-process.json and report-sizes.json (make report), coldstart-openfaas.json and
coldstart-lambda.json when they exist (scripts/fleet/coldstarts.py says what stands in for them
until then). The validation starts the function container (make image-fn).
"""

from __future__ import annotations

import os
import sys
from datetime import UTC, datetime

from harness import cli, readme
from scripts.fleet import grid, inputs, report, validate


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--no-validate", action="store_true",
                        help="skip the runs against the real container (the last ones written are kept)")
    parser.add_argument("--reuse", type=float, default=0.0,
                        help="on your own cluster, the share of the capacity a scaled-down fleet frees that another "
                             "workload uses (0: nodes paid whether replicas run or not)")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="simulations run at once, in processes (default: one per core)")
    parser.add_argument("--span-scale", type=float, default=1.0,
                        help="every simulated span times this (below 1: a shorter grid, to time it and extrapolate)")
    parser.add_argument("--render", action="store_true", help="only render docs/scaling.md and the charts")
    parser.add_argument("--only-validate", action="store_true",
                        help="only the checks against real runs, kept with the simulations already written")
    args = parser.parse_args(argv)
    if args.render:
        data, paths = report.render()
        readme.replace_section("engines", report.engines(data), report.DEPLOY)
        for path in [*paths, report.DEPLOY]:
            print(f"wrote {path}")
        return 0
    if not 0.0 <= args.reuse <= 1.0 or not 0.0 < args.span_scale <= 1.0:
        print("simulate: --reuse must be between 0 and 1 and --span-scale in (0, 1]", file=sys.stderr)
        return 2
    try:
        replicas = {kind: inputs.replica(kind) for kind in ("fn", "server", "tf")}
    except (FileNotFoundError, KeyError) as e:
        print(f"simulate: {e}", file=sys.stderr)
        return 1
    kept = grid.load() if grid.SIMULATION.exists() else {}
    validation = dict(kept.get("validation", {}))
    validation.setdefault("date", kept.get("date", ""))
    if args.only_validate:
        results = kept["results"]
    else:
        results = grid.run(replicas, cli.progress, args.reuse, args.jobs, args.span_scale)
    if not args.no_validate:
        steps = [("scale_from_zero", validate.scale_from_zero), ("one_replica", validate.one_replica)]
        for name, step in cli.progress(steps, "validation"):
            validation[name] = step()
        validation["date"] = datetime.now(UTC).isoformat(timespec="seconds")
    grid.write(grid.document(results, validation, replicas, args.reuse, args.span_scale))
    print(f"wrote {grid.SIMULATION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
