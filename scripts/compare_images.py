"""Two builds of one image side by side: a change's cost in req/s and latency, as a ratio.

    python -m scripts.compare_images BEFORE AFTER [--connections 8] [--duration 8] [--rounds 3]
        [--access-log 1] [--json PATH]

Both containers run as users run them (scripts/launch.docker_run: read-only, no capabilities),
at once, and wrk loads one, then the other, alternately for --rounds rounds, so the machine's
drift and its other jobs weigh on both alike; the table gives the medians over the rounds and
AFTER / BEFORE. For example the function image built from the previous commit and from this one
(scripts/build_image.sh fn device-price-fn:before in a checkout of it). The access log is on by
default, as shipped.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from harness import cli, launch
from harness.load import run_wrk
from harness.stats import median_of

METRICS = ("throughput_rps", "p50_ms", "p99_ms")


def compare(images: list[str], connections: int, duration: float, rounds: int, access_log: str) -> dict[str, Any]:
    """Medians over interleaved wrk rounds against each image, and each metric's ratio AFTER / BEFORE."""
    started: dict[str, str] = {}
    urls: dict[str, str] = {}
    try:
        for image in images:
            name, base = launch.docker_run(image, launch.own_name("device-price-compare"), {"access_log": access_log})
            started[image], urls[image] = name, base + launch.image_target(image).predict_path
            launch.wait_for_prediction(urls[image], 60)
            run_wrk(urls[image], connections, 2)  # warm-up, not counted
        runs: dict[str, list[dict[str, Any]]] = {image: [] for image in images}
        for _ in cli.progress(range(rounds), "rounds"):
            for image in images:
                runs[image].append(run_wrk(urls[image], connections, duration))
    finally:
        for name in started.values():
            launch.stop_container(name)
    median = {image: median_of(rs) for image, rs in runs.items()}
    before, after = images
    return {"date": cli.now(), "connections": connections,
            "duration_s": duration, "rounds": rounds, "access_log": access_log, "median": median,
            "ratio_after_to_before": {m: median[after][m] / median[before][m] for m in METRICS}, "runs": runs}


def table(result: dict[str, Any]) -> str:
    lines = [f"{result['connections']} connections, {result['rounds']} interleaved rounds of "
             f"{result['duration_s']:g} s, access log {'on' if result['access_log'] == '1' else 'off'}; medians",
             "", "| image | req/s | p50 ms | p99 ms |", "|---|---|---|---|"]
    for image, m in result["median"].items():
        lines.append(f"| {image} | {m['throughput_rps']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} |")
    r = result["ratio_after_to_before"]
    lines.append(f"| after / before | {r['throughput_rps']:.3f} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("before", help="the image as it was (e.g. device-price-fn:before)")
    p.add_argument("after", help="the image with the change (e.g. device-price-fn:latest)")
    p.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    p.add_argument("--duration", type=float, default=8.0, help="seconds per wrk run (default 8)")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (default 3)")
    p.add_argument("--access-log", default="1", choices=("0", "1"),
                   help="the containers' access log (default 1, as shipped)")
    p.add_argument("--json", type=Path, help="write the result here")
    args = p.parse_args(argv)
    return cli.finish("compare_images", lambda: compare([args.before, args.after], args.connections, args.duration,
                                                        args.rounds, args.access_log), table, args.json)


if __name__ == "__main__":
    sys.exit(main())
