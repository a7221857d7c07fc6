"""Price a CSV file of any size: python -m fn.batch IN.csv [-o OUT.csv] [--invalid-rows mark]

The same rows in, the same columns out, as `POST` with Content-Type: text/csv, through the same
reader and writer (fn/api/csvio.py): the file's separator, decimal mark, byte order mark and line
ending come back as they went in; no row limit. By default (all or nothing, like the API) a first
pass checks every row and stops, naming the CSV lines and the rows' ids, if any is invalid; the
second predicts CHUNK rows at a time with a progress bar on stderr. With `--invalid-rows mark` one
pass prices every good row and writes each bad row's problem in its `problem` column. `-` reads
standard input, held in memory (nothing is written to disk: the function image has a read-only
root and no /tmp). An output file is written beside itself under a temporary name and renamed
only once every row is priced, so a failed run leaves an earlier output as it was; an output that
is the input is refused. Uses the committed model in this process (no server, no TensorFlow).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


Opener = Callable[[], IO[str]]  # a fresh text stream over the input, from its start


def check(opener: Opener, size: int, id_column: str | None) -> tuple[int, int]:
    """Every row checked: (rows, blank rows skipped), or ValidationError naming the bad lines."""
    problems = []
    with opener() as stream:
        t = csvio.open_table(stream, id_column)
        for chunk in csvio.chunks(t, size):
            try:
                features.check_records(chunk.records)
            except ValidationError as e:
                problems += csvio.with_lines(e, chunk, t).details
            if len(problems) >= MAX_PROBLEMS:
                break
        rows, blank, mixed = t.rows_read, t.blank_rows, t.format.mixed
    if problems:
        raise ValidationError(f"invalid CSV lines: {csvio.shown(csvio.labels(problems), MAX_PROBLEMS)}; nothing was "
                              "priced (--invalid-rows mark prices the other rows and marks these)"
                              + (f"; {mixed}" if mixed else ""), problems)
    if not rows:
        raise csvio.no_rows()
    return rows, blank


def progress(total: int | None) -> Any:
    """A tqdm bar on stderr where tqdm is installed (the project's train extra), else a silent one."""
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - the images do not ship tqdm
        class Silent:
            def update(self, n: int) -> None: ...
            def close(self) -> None: ...
        return Silent()
    return tqdm(total=total, unit="row", desc="pricing", file=sys.stderr)


@dataclass
class Summary:
    priced: int = 0
    refused: list[str] = field(default_factory=list)  # each refused row's line (and id)
    blank: int = 0

    def __str__(self) -> str:
        text = f"priced {features.counted(self.priced, 'row')}"
        if self.refused:
            text += f", refused {features.counted(len(self.refused), 'row')} (lines {csvio.shown(self.refused)})"
        return text + (f"; skipped {features.counted(self.blank, 'blank row')}" if self.blank else "")


def run(opener: Opener, out: IO[str], plane: DataPlane, options: Options, size: int = CHUNK, mark: bool = False,
        id_column: str | None = None) -> Summary:
    """Price the input into `out`: every row, or with `mark` the good ones and each bad one's problem."""
    bar = progress(None if mark else check(opener, size, id_column)[0])
    summary = Summary()
    try:
        with opener() as stream:
            t = csvio.open_table(stream, id_column)
            for chunk in csvio.chunks(t, size, mark):
                results = csvio.price(chunk, t, lambda records: plane.predictions(records, True, options), mark)
                out.write(csvio.rows(t.names, chunk.cells, results, chunk.first == 0, t.format, mark))
                summary.refused += csvio.refused(t, chunk, results)
                bar.update(len(results))
            summary.priced, summary.blank = t.rows_read - len(summary.refused), t.blank_rows
    finally:
        bar.close()
    if not summary.priced and not summary.refused:
        raise csvio.no_rows()
    return summary


def opener(name: str) -> Opener:
    """The input: a file, or standard input (`-`) read once into memory, since it is read twice."""
    if name != "-":
        return lambda: open(name, newline="", encoding=csvio.ENCODING)
    text = sys.stdin.buffer.read().decode(csvio.ENCODING)
    return lambda: io.StringIO(text, newline="")


@contextmanager
def destination(output: Path | None, path: Path | None) -> Iterator[IO[str]]:
    """Standard output, or a temporary file beside `output` renamed over it only on success; UTF-8,
    the line endings as written (the input's)."""
    if output is None:
        out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", newline="")
        try:
            yield out
        finally:
            out.flush()
            out.detach()
        return
    if output.exists() and path is not None and path.exists() and os.path.samefile(output, path):
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
    p.add_argument("--invalid-rows", choices=csvio.INVALID_ROWS, default="refuse",
                   help="refuse (the default): a bad row stops the run, nothing is priced; mark: price every good "
                   "row and write each bad row's problem in a problem column")
    p.add_argument("--id-column", help="the column holding each row's own id, named beside its line in every "
                   "problem (default: a column called id or sku)")
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
        source = opener(args.csv)
        with destination(args.output, None if args.csv == "-" else Path(args.csv)) as out:
            summary = run(source, out, plane, options, max(1, args.chunk), args.invalid_rows == "mark", args.id_column)
    except (ValidationError, Refused) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except UnicodeDecodeError as e:
        print(f"error: {csvio.not_utf8('standard input' if args.csv == '-' else args.csv, e)}", file=sys.stderr)
        return 2
    except (ModelError, OSError, csv.Error) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    print(summary, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
