"""A dealer's inventory as CSV: rows in with the dataset's column names, rows out with the price.

`records` turns CSV text into the records the JSON API takes (an empty cell is a missing value;
numbers are parsed here, so a bad one is named by its CSV line), and `rows` turns the answers
back into CSV: the input columns as sent, then ANSWER_COLUMNS. Used by the HTTP API
(`POST` with Content-Type: text/csv) and by `python -m fn.batch` for files of any size. The
standard library only, beside the records' declarations.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from typing import Any

from fn.record.features import FIELDS, NEW_PRICE, NUMERIC_BY_NAME, TARGET
from fn.record.problems import ValidationError, detail

MEDIA_TYPE = "text/csv"
ACCEPTED = FIELDS + (NEW_PRICE.name,)
# Columns a file may carry that are not the model's (the dataset's own target): kept, not read.
PASSED_THROUGH = (TARGET,)
ANSWER_COLUMNS = ("used_price", "used_price_low", "used_price_high", "range_level", "retained_fraction", "warnings")
FIRST_DATA_LINE = 2  # line 1 is the header


def line_of(row: int) -> int:
    return row + FIRST_DATA_LINE


def header(reader: Iterator[list[str]]) -> list[str]:
    """The header row, checked: every column is a field (or passed through), none twice."""
    try:
        names = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ValidationError("the CSV is empty; its first line names the columns",
                              [detail(None, "no header", line=1)]) from None
    problems = [detail(name, "is not a known column", line=1)
                for name in names if name not in ACCEPTED + PASSED_THROUGH]
    problems += [detail(name, "appears twice", line=1)
                 for i, name in enumerate(names) if name in names[:i]]
    if problems:
        raise ValidationError(f"the CSV header is invalid; the columns are {', '.join(ACCEPTED)}", problems)
    return names


def _value(name: str, cell: str) -> Any:
    """A cell as the JSON API would have it: numbers as numbers, an empty cell as missing."""
    cell = cell.strip()
    if not cell:
        return None
    if name in NUMERIC_BY_NAME or name == NEW_PRICE.name:
        try:
            return float(cell)
        except ValueError:
            return cell  # the record check names it: "must be a number, got a string"
    return cell


def record(names: list[str], cells: list[str], row: int) -> dict[str, Any]:
    if len(cells) != len(names):
        raise ValidationError(f"CSV line {line_of(row)} has {len(cells)} cells; the header has {len(names)}",
                              [detail(None, f"has {len(cells)} cells, expected {len(names)}", row, line=line_of(row))])
    return {name: _value(name, cell) for name, cell in zip(names, cells, strict=True)
            if name not in PASSED_THROUGH and cell.strip()}


def with_lines(e: ValidationError, first_row: int = 0) -> ValidationError:
    """A record check's error with each problem's CSV line (rows counted from `first_row`)."""
    details = [d | {"row": d["row"] + first_row, "line": line_of(d["row"] + first_row)} if d.get("row") is not None
               else d for d in e.details]
    lines = invalid_lines(details)
    return ValidationError(f"{len(lines)} CSV lines are invalid: {shown(lines)}" if lines else e.message, details)


def invalid_lines(details: list[dict[str, Any]]) -> list[int]:
    return sorted({d["line"] for d in details if d.get("line")})


def shown(lines: list[int], most: int = 10) -> str:
    return ", ".join(str(n) for n in lines[:most]) + (" ..." if len(lines) > most else "")


def chunks(reader: Iterator[list[str]], names: list[str],
           size: int) -> Iterator[tuple[list[list[str]], list[dict[str, Any]], int]]:
    """After the header: (the lines' cells, their records, the index of the first row) per `size`
    non-empty lines, in order; a line with the wrong number of cells raises."""
    cells: list[list[str]] = []
    records: list[dict[str, Any]] = []
    first = 0
    for line in reader:
        if not line:
            continue
        cells.append(line)
        records.append(record(names, line, first + len(records)))
        if len(cells) == size:
            yield cells, records, first
            first += size
            cells, records = [], []
    if cells:
        yield cells, records, first


def parse(text: str, max_rows: int) -> tuple[list[str], list[list[str]], list[dict[str, Any]]]:
    """CSV text -> (header, the rows' cells, the records); OverflowError past max_rows."""
    reader = csv.reader(io.StringIO(text))
    names = header(reader)
    cells, records, _ = next(chunks(reader, names, max_rows + 1), ([], [], 0))
    if len(records) > max_rows:
        raise OverflowError(max_rows)
    if not records:
        raise ValidationError("the CSV has a header but no rows", [detail(None, "no rows", line=2)])
    return names, cells, records


def answer_cells(answer: dict[str, Any]) -> list[str]:
    span = answer["used_price_range"]
    notes = "; ".join(f"{w['code']}({w['field']}): {w['message']}" for w in answer["warnings"])
    return [f"{answer['used_price']:.2f}", f"{span['low']:.2f}", f"{span['high']:.2f}", f"{span['level']:g}",
            f"{answer['retained_fraction']:.4f}", notes]


def rows(names: list[str], cells: Iterable[list[str]], answers: Iterable[dict[str, Any]],
         with_header: bool = True) -> str:
    """The input rows as sent, each followed by its answer's columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if with_header:
        writer.writerow(names + list(ANSWER_COLUMNS))
    for line, answer in zip(cells, answers, strict=True):
        writer.writerow(line + answer_cells(answer))
    return out.getvalue()
