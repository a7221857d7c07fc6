"""Serverless or server? Simulate the fleet under traffic shapes and scaling policies, from this
project's measurements, check the simulation against real runs, and write docs/scaling.md.

    python -m scripts.simulate [--no-validate] [--vcpu-hour 0.04048] [--gb-hour 0.004445]
    python -m scripts.simulate --render      (docs/scaling.md and its charts again, from simulation.json)
    python -m scripts.simulate --only-validate   (the checks against real runs again, into simulation.json)

Inputs: docs/bench/replica.json (make bench: scripts/bench_replica.py), coldstart-docker.json and
coldstart-pull.json (make report). The validation starts the function container (make image-fn).
Writes docs/bench/simulation.json, docs/scaling.md and docs/scaling-*.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli
from scripts.fleet import inputs, report, validate
from scripts.fleet.cost import Prices


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--no-validate", action="store_true", help="skip the runs against the real container")
    parser.add_argument("--vcpu-hour", type=float, default=Prices.vcpu_hour, help="$ per vCPU-hour")
    parser.add_argument("--gb-hour", type=float, default=Prices.gb_hour, help="$ per GB-hour")
    parser.add_argument("--render", action="store_true", help="only rewrite docs/scaling.md and the charts")
    parser.add_argument("--only-validate", action="store_true",
                        help="only the checks against real runs, kept with the simulations already written")
    args = parser.parse_args(argv)
    if args.render:
        for path in report.render():
            print(f"wrote {path}")
        return 0
    prices = Prices(args.vcpu_hour, args.gb_hour,
                    Prices.source if (args.vcpu_hour, args.gb_hour) == (Prices.vcpu_hour, Prices.gb_hour)
                    else f"given: ${args.vcpu_hour} per vCPU-hour, ${args.gb_hour} per GB-hour")
    try:
        replicas = {kind: inputs.replica(kind) for kind in ("fn", "server", "tf")}
    except (FileNotFoundError, KeyError) as e:
        print(f"simulate: {e}", file=sys.stderr)
        return 1
    if args.only_validate:
        kept = report.load()
        results, validation = kept["results"], kept["validation"]
    else:
        results, validation = report.run_grid(replicas, prices, cli.progress), {}
    if not args.no_validate:
        steps = [("aggregate", validate.aggregate_against_requests), ("scale_from_zero", validate.scale_from_zero),
                 ("one_replica", validate.one_replica)]
        for name, step in cli.progress(steps, "validation"):
            validation[name] = step()
    for path in report.write(results, validation, replicas, prices):
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
