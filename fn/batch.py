"""Price a CSV file of any size: python -m fn.batch IN.csv [-o OUT.csv]

The same rows in, the same columns out, as `POST` with Content-Type: text/csv, through the same
reader (fn/api/csvio.py), without the request's row limit: the file is read twice, streaming. The
first pass checks every row and stops, naming the CSV lines, if any is invalid (all or nothing,
like the API); the second predicts CHUNK rows at a time with a progress bar on stderr. `-` reads
standard input (kept in a temporary file for the two passes). An output file is written beside
itself under a temporary name and renamed only once every row is priced, so a failed run leaves
an earlier output as it was; an output that is the input is refused. Uses the committed model in
this process (no server needed).
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from fn.api import csvio
from fn.api.body import Options, read_options
from fn.api.dataplane import DataPlane
from fn.model.tflite import MODEL_DIR, ModelError, Predictor
from fn.record import features
from fn.record.problems import ValidationError

PROG = "python -m fn.batch"
CHUNK = 1000
MAX_PROBLEMS = 20  # lines listed when a file is invalid


class Refused(Exception):
    """The command line asks for something unsafe (an output that is the input)."""


@contextmanager
def table(path: Path) -> Iterator[csvio.Table]:
    with open(path, newline="", encoding=csvio.ENCODING) as f:
        yield csvio.open_table(f)


def check(path: Path, size: int) -> tuple[int, int]:
    """Every row checked: (rows, blank rows skipped), or ValidationError naming the bad lines."""
    problems = []
    with table(path) as t:
        for _, records, lines, first in csvio.chunks(t, size):
            try:
                features.check_records(records)
            except ValidationError as e:
                problems += csvio.with_lines(e, lines, first).details
            if len(problems) >= MAX_PROBLEMS:
                break
        rows, blank = t.rows_read, t.blank_rows
    if problems:
        lines = csvio.invalid_lines(problems)
        raise ValidationError(f"invalid CSV lines: {csvio.shown(lines, MAX_PROBLEMS)}; nothing was priced", problems)
    if not rows:
        raise csvio.no_rows()
    return rows, blank


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


def run(path: Path, out: IO[str], plane: DataPlane, options: Options, size: int = CHUNK) -> tuple[int, int]:
    """Price `path` into `out`: (rows priced, blank rows skipped)."""
    total, blank = check(path, size)
    bar = progress(total)
    try:
        with table(path) as t:
            for cells, records, _, first in csvio.chunks(t, size):
                answers = plane.predictions(records, True, options)
                out.write(csvio.rows(t.names, cells, answers, with_header=first == 0, sep=t.separator))
                bar.update(len(records))
    finally:
        bar.close()
    return total, blank


@contextmanager
def source(name: str, spool: Path) -> Iterator[Path]:
    """The input's path; standard input (`-`) copied to `spool` first, since it is read twice."""
    if name != "-":
        yield Path(name)
        return
    with open(spool, "wb") as f:
        shutil.copyfileobj(sys.stdin.buffer, f)
    yield spool


@contextmanager
def destination(output: Path | None, path: Path) -> Iterator[IO[str]]:
    """Standard output, or a temporary file beside `output` renamed over it only on success."""
    if output is None:
        yield sys.stdout
        return
    if output.exists() and path.exists() and os.path.samefile(output, path):
        raise Refused(f"the output {output} is the input: write to another file (it would be emptied before "
                      "it is read)")
    fd, temporary = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".tmp", dir=output.parent)
    try:
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as out:
            yield out
        os.chmod(temporary, _mode(output))  # mkstemp makes 0600: the output keeps the mode a plain open gives
        os.replace(temporary, output)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


def _mode(output: Path) -> int:
    """The output's mode if it exists, else what open() would give it (0666 less the umask)."""
    if output.exists():
        return output.stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, description="Price every device in a CSV file (the dataset's column "
                                "names; comma, semicolon or tab separated; UTF-8).")
    p.add_argument("csv", help="the input: a header row, then one device per line; - reads standard input")
    p.add_argument("-o", "--output", type=Path, help="where to write, replaced only once every row is priced "
                   "(default: standard output)")
    p.add_argument("--level", help="the price range's level (default: the model's, GET /metadata default_level)")
    p.add_argument("--chunk", type=int, default=CHUNK, help=f"rows per model call (default {CHUNK})")
    p.add_argument("--model-dir", default=MODEL_DIR, help=f"the model to price with (default: the committed one, "
                   f"{MODEL_DIR})")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        plane = DataPlane(Predictor(args.model_dir))
        # --level is text, as in a query string: the one rule for options (fn/api/body.py)
        options = read_options({}, {} if args.level is None else {"level": args.level}, plane.model.intervals.levels)
        with tempfile.TemporaryDirectory(prefix="fn-batch-") as spool, source(args.csv, Path(spool) / "in.csv") as path:
            with destination(args.output, path) as out:
                rows, blank = run(path, out, plane, options, max(1, args.chunk))
    except (ValidationError, Refused) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print(f"error: {csvio.not_utf8('standard input' if args.csv == '-' else args.csv, e)}", file=sys.stderr)
        return 2
    except (ModelError, OSError, csv.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(f"priced {features.counted(rows, 'row')}" + (f"; skipped {features.counted(blank, 'blank row')}"
                                                       if blank else ""), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
