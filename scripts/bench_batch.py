"""Rows per second of batch pricing without the training stack: `python -m fn.batch` in a virtualenv
of the serve-time packages only, and the function image (`docker run --rm -i IMAGE batch -`), on the
same German CSV (`;`, decimal commas, BOM, CRLF), interleaved, each run a whole command (its start
included), as a user runs it. Prints a table and writes JSON.

    python -m scripts.bench_batch [--rows 10000] [--runs 5] [--venv DIR] [--image device-price-fn:latest]

--venv is made with `pip install -e .` (no train extra) when it does not exist (needs PyPI).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

from harness import ROOT, cli
from harness.spreadsheet import inventory


def serve_venv(path: Path) -> Path:
    """A virtualenv with the project installed without its train extra; its python."""
    python = path / "bin" / "python"
    if not python.exists():
        venv.create(path, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", str(ROOT)],
                       check=True)
    return python


def timed(command: list[str], data: bytes, rows: int) -> float:
    started = time.perf_counter()
    proc = subprocess.run(command, input=data, capture_output=True, cwd="/")
    seconds = time.perf_counter() - started
    if proc.returncode != 0 or f"priced {rows} rows".encode() not in proc.stderr:
        raise RuntimeError(f"{command[0]}: {proc.stderr.decode()[-500:]}")
    return seconds


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--rows", type=int, default=10_000, help="rows in the CSV (default 10,000)")
    p.add_argument("--runs", type=int, default=5, help="runs of each way, interleaved (default 5)")
    p.add_argument("--venv", type=Path, default=ROOT / ".venv-serve", help="the serve-time virtualenv")
    p.add_argument("--image", default="device-price-fn:latest", help="the function image")
    p.add_argument("--json", type=Path, default=ROOT / "docs" / "bench" / "batch.json", help="where to write")
    args = p.parse_args(argv)
    data = inventory(args.rows)
    commands = {
        "virtualenv (serve-time packages)": [str(serve_venv(args.venv)), "-m", "fn.batch", "-"],
        f"image {args.image}": ["docker", "run", "--rm", "-i", "--read-only", "--network", "none", args.image,
                                "batch", "-"],
    }
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for run in range(args.runs):
        print(f"run {run + 1}/{args.runs}", file=sys.stderr)
        for name, command in commands.items():  # interleaved: a load change hits both alike
            seconds[name].append(timed(command, data, args.rows))
    results = {name: {"median_s": statistics.median(s), "rows_per_s": args.rows / statistics.median(s), "runs_s": s}
               for name, s in seconds.items()}
    print(f"{args.rows:,} rows, {args.runs} runs each, whole command (start included), medians")
    print(f"{'':36} {'seconds':>8} {'rows/s':>9}")
    for name, r in results.items():
        print(f"{name:36} {r['median_s']:8.2f} {r['rows_per_s']:9,.0f}")
    first, second = (r["rows_per_s"] for r in results.values())
    print(f"ratio (virtualenv / image): {first / second:.2f}")
    cli.write_json(args.json, {"date": cli.now(), "rows": args.rows, "runs": args.runs, "results": results})
    return 0


if __name__ == "__main__":
    sys.exit(main())
