"""The priced file: the input rows as sent, each followed by its answer's columns (and, when bad
rows are marked rather than refused, its problem), in the input's own conventions (fn/api/csvformat.py)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from typing import Any

from fn.api import csvformat
from fn.api.csvformat import Format

ANSWER_COLUMNS = ("used_price", "used_price_low", "used_price_high", "range_level", "retained_fraction", "warnings")
PROBLEM_COLUMN = "problem"  # with invalid_rows=mark: why the row was not priced ("field: reason; ...")


def answer_cells(answer: dict[str, Any], fmt: Format = Format()) -> list[str]:
    span = answer["used_price_range"]
    notes = "; ".join(f"{w['code']}({w['field']}): {w['message']}" for w in answer["warnings"])
    numbers = [f"{answer['used_price']:.2f}", f"{span['low']:.2f}", f"{span['high']:.2f}", f"{span['level']:g}",
               f"{answer['retained_fraction']:.4f}"]
    return [fmt.decimal_text(n) for n in numbers] + [notes]


def problem_text(details: list[dict[str, Any]]) -> str:
    """A refused row's problems in its PROBLEM_COLUMN: "battery: must be a number, got '4OOO'"."""
    return "; ".join(f"{d['field']}: {d['reason']}" if d.get("field") else d["reason"] for d in details)


def rows(names: list[str], cells: Iterable[list[str]], results: Iterable[dict[str, Any] | list[dict[str, Any]]],
         with_header: bool = True, fmt: Format = Format(), mark: bool = False) -> str:
    """The input rows as sent, each followed by its answer's columns (and, with `mark`, its
    problem), in the input's conventions: separator, decimal mark, byte order mark, line ending."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=fmt.separator, lineterminator=fmt.newline)
    if with_header:
        out.write(csvformat.BOM if fmt.bom else "")
        writer.writerow(names + list(ANSWER_COLUMNS) + ([PROBLEM_COLUMN] if mark else []))
    for line, result in zip(cells, results, strict=True):
        if isinstance(result, dict):
            writer.writerow(line + answer_cells(result, fmt) + ([""] if mark else []))
        else:  # a row of the wrong width is cut or padded to the header's: its problem stays in its column
            cut = (line + [""] * len(names))[:len(names)]
            writer.writerow(cut + [""] * len(ANSWER_COLUMNS) + [problem_text(result)])
    return out.getvalue()
