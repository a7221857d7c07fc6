"""Rows per second of batch pricing without the training stack: `python -m fn.batch` in a virtualenv
of the serve-time packages only, and the function image (`docker run --rm -i IMAGE batch -`), on the
same German CSV (`;`, decimal commas, BOM, CRLF), interleaved, each run a whole command (its start
included), as a user runs it. Prints a table and writes JSON.

    python -m scripts.bench_batch [--rows 10000] [--runs 5] [--venv DIR] [--image device-price-fn:latest]

--venv is made with `pip install -e .` (no train extra) when it does not exist (needs PyPI).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import statistics
import subprocess
import sys
import time
import venv
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fn.api.csvformat import BOM, Format
from fn.record import features

ROOT = Path(__file__).resolve().parent.parent
NAMES = ["id", *(n for n in features.FIELDS if n != "normalized_new_price"), "new_price", "Notiz"]
GERMAN = Format(";", ",", True, "\r\n")  # Excel's "CSV UTF-8" in a German locale


def inventory(rows: int, fmt: Format = GERMAN, whole: bool = False) -> bytes:
    """`rows` devices as a spreadsheet in `fmt` writes them, each with its own id and a note; every
    third without ram (`whole`: every number rounded, so that the file shows no decimal mark)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=fmt.separator, lineterminator=fmt.newline)
    writer.writerow(NAMES)
    for i in range(rows):
        record = dict(features.EXAMPLE, days_used=100 + i, ram=None if i % 3 == 0 else 4.0)
        record["new_price"] = round(math.exp(record.pop("normalized_new_price")), 2)
        record |= {"id": f"A-{i + 1:03d}", "Notiz": "Gerät geprüft, Hülle"}
        if whole:
            record = {n: round(v) if isinstance(v, float) else v for n, v in record.items()}
        writer.writerow(["" if record.get(n) is None else fmt.decimal_text(str(record[n])) for n in NAMES])
    return ((BOM if fmt.bom else "") + out.getvalue()).encode()


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
    p = argparse.ArgumentParser(prog="python -m scripts.bench_batch", description=__doc__.split("\n\n")[0])
    p.add_argument("--rows", type=int, default=10_000)
    p.add_argument("--runs", type=int, default=5)
    p.add_argument("--venv", type=Path, default=ROOT / ".venv-serve", help="the serve-time virtualenv")
    p.add_argument("--image", default="device-price-fn:latest")
    p.add_argument("--json", type=Path, default=ROOT / "docs" / "bench" / "batch.json")
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
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"rows": args.rows, "runs": args.runs, "results": results}, indent=1) + "\n")
    print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
