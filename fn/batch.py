"""Price a CSV file of any size: python -m fn.batch IN.csv [-o OUT.csv]

The same rows in, the same columns out, as `POST` with Content-Type: text/csv (fn/api/csvio.py),
without the request's row limit: the file is read twice, streaming. The first pass checks every
row and stops, naming the CSV lines, if any is invalid (all or nothing, like the API); the
second predicts CHUNK rows at a time with a progress bar on stderr and writes each chunk as it
is done. Uses the committed model in this process (no server needed).
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from fn.api import csvio
from fn.api.body import Options, read_options
from fn.api.dataplane import DataPlane
from fn.model.tflite import MODEL_DIR, ModelError, Predictor
from fn.record import features
from fn.record.problems import ValidationError

CHUNK = 1000
MAX_PROBLEMS = 20  # lines listed when a file is invalid


def chunks(path: Path, size: int) -> Iterator[tuple[list[str], list[list[str]], list[dict[str, Any]], int]]:
    """(header, cells, records, index of the first row) per `size` rows; a bad cell count raises."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        names = csvio.header(reader)
        for cells, records, first in csvio.chunks(reader, names, size):
            yield names, cells, records, first


def check(path: Path, size: int) -> int:
    """Every row checked; the number of rows, or ValidationError naming the bad lines."""
    problems, rows = [], 0
    for _, _, records, first in chunks(path, size):
        try:
            features.check_records(records)
        except ValidationError as e:
            problems += csvio.with_lines(e, first).details
        rows += len(records)
        if len(problems) >= MAX_PROBLEMS:
            break
    if problems:
        lines = csvio.invalid_lines(problems)
        raise ValidationError(f"invalid CSV lines: {csvio.shown(lines, MAX_PROBLEMS)}; nothing was priced",
                                       problems)
    if not rows:
        raise ValidationError("the CSV has a header but no rows", [])
    return rows


def progress(total: int) -> Any:
    """A tqdm bar on stderr where tqdm is installed (the project's train extra), else a silent one."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - the images do not ship tqdm
        class Silent:
            def update(self, n: int) -> None: ...
            def close(self) -> None: ...
        return Silent()
    return tqdm(total=total, unit="row", desc="pricing", file=sys.stderr)


def run(path: Path, out: IO[str], plane: DataPlane, options: Options, size: int = CHUNK) -> int:
    """Price `path` into `out`; the number of rows priced."""
    total = check(path, size)
    bar = progress(total)
    try:
        for i, (names, cells, records, _) in enumerate(chunks(path, size)):
            answers = plane.predictions(records, True, options)
            out.write(csvio.rows(names, cells, answers, with_header=i == 0))
            bar.update(len(records))
    finally:
        bar.close()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Price every device in a CSV file (the dataset's column names).")
    parser.add_argument("csv", type=Path, help="the input: a header row, then one device per line")
    parser.add_argument("-o", "--output", type=Path, help="where to write (default: standard output)")
    parser.add_argument("--level", help="the price range's level (default: the model's, GET /metadata default_level)")
    parser.add_argument("--chunk", type=int, default=CHUNK, help=f"rows per model call (default {CHUNK})")
    parser.add_argument("--model-dir", default=MODEL_DIR)
    args = parser.parse_args(argv)
    try:
        plane = DataPlane(Predictor(args.model_dir))
        options = read_options({} if args.level is None else {"level": args.level}, {}, plane.model.intervals.levels)
        out = open(args.output, "w", newline="") if args.output else sys.stdout
        try:
            rows = run(args.csv, out, plane, options, max(1, args.chunk))
        finally:
            if args.output:
                out.close()
    except ValidationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except (ModelError, OSError, UnicodeDecodeError, csv.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"priced {rows} rows", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
