"""A dealer's inventory as CSV: rows in with the dataset's column names, rows out with the price.

One reader for the HTTP API (`POST` with Content-Type: text/csv) and `python -m fn.batch`, as
spreadsheets write CSV: the separator is sniffed from the header (comma, semicolon or tab); blank
rows are skipped and counted; columns that are not the model's (an id, a SKU, notes, the
dataset's own target) are carried through unread; numbers are read only when plain (a bad cell is
named and quoted by the record check, fn/record/features.py). `rows` writes the answers back: the
input rows as sent, then ANSWER_COLUMNS, with the input's separator. Rows count from 1 (the first
data row), as in a JSON batch; each problem also names its CSV line (the header is line 1).
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any

from fn.record.features import ALTERNATIVE, FIELDS, NEW_PRICE, NUMERIC_BY_NAME, PLAIN_NUMBER, REQUIRED, TARGET
from fn.record.problems import ValidationError, counted, detail

MEDIA_TYPE = "text/csv"
ACCEPTED = FIELDS + (NEW_PRICE.name,)
SEPARATORS = (",", ";", "\t")
ANSWER_COLUMNS = ("used_price", "used_price_low", "used_price_high", "range_level", "retained_fraction", "warnings")
BLANK_ROWS_HEADER = "X-Blank-Rows"  # the HTTP answer's count of blank rows skipped
ENCODING = "utf-8-sig"  # UTF-8, with or without the byte order mark Excel writes


def not_utf8(what: str, e: UnicodeDecodeError) -> str:
    """The message for a file in another encoding (Excel's plain "CSV" is cp1252 on Windows)."""
    return (f"{what} is not UTF-8 (byte {e.start} is {e.object[e.start:e.start + 1]!r}): save it as UTF-8 "
            "(in Excel: Save As, \"CSV UTF-8\")")


def separator(first_line: str) -> str:
    """The header's separator: of comma, semicolon and tab, the one it holds most (no column name
    holds any), a comma for a single column. The header alone decides: a cell's text cannot."""
    counts = {s: first_line.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


@dataclass
class Table:
    """A CSV being read: its separator, header and the blank rows skipped so far."""

    reader: Any
    separator: str
    names: list[str]
    blank_rows: int = 0
    rows_read: int = 0


def open_table(stream: IO[str]) -> Table:
    """The stream's separator and checked header (the stream must seek: it is read from its start)."""
    first = stream.readline()
    stream.seek(0)
    sep = separator(first)
    reader = csv.reader(stream, delimiter=sep)
    return Table(reader, sep, header(reader))


def header(reader: Iterator[list[str]]) -> list[str]:
    """The header row, checked: the model's columns at most once each, the required ones present,
    no near miss of a column's name; any other column is carried through."""
    try:
        names = [name.strip() for name in next(reader)]
    except StopIteration:
        raise ValidationError("the CSV is empty; its first line names the columns",
                              [detail(None, "no header", line=1)]) from None
    problems = [detail(name, "appears twice", line=1) for i, name in enumerate(names) if name in ACCEPTED
                and name in names[:i]]
    for name in names:
        near = difflib.get_close_matches(name.lower().replace(" ", "_"), ACCEPTED, n=1, cutoff=0.8)
        if name not in ACCEPTED and name != TARGET and near:
            problems.append(detail(name, f"is not a column; did you mean {near[0]}?", line=1))
    price = ALTERNATIVE[NEW_PRICE.name]
    for name in REQUIRED:
        if name not in names and not (name == price and NEW_PRICE.name in names):
            problems.append(detail(name, "is a required column" + (" (or new_price)" if name == price else ""),
                                   line=1))
    if problems:
        raise ValidationError(f"the CSV header is invalid; the columns read are {', '.join(ACCEPTED)} "
                              "(any other is carried through unread)", problems)
    return names


def _value(name: str, cell: str) -> Any:
    """A cell as the JSON API would have it: a plain number as a number; else the text, which the
    record check refuses, quoting it ("3,020", "$111.62", "big": features.not_a_number)."""
    cell = cell.strip()
    if (name in NUMERIC_BY_NAME or name == NEW_PRICE.name) and PLAIN_NUMBER.fullmatch(cell):
        return float(cell)
    return cell


def record(names: list[str], cells: list[str], row: int, line: int) -> dict[str, Any]:
    if len(cells) != len(names):
        raise ValidationError(f"CSV line {line} has {len(cells)} cells; the header has {len(names)}",
                              [detail(None, f"has {len(cells)} cells, expected {len(names)}", row, line=line)])
    return {name: _value(name, cell) for name, cell in zip(names, cells, strict=True)
            if name in ACCEPTED and cell.strip()}


def with_lines(e: ValidationError, lines: list[int], first_row: int = 0) -> ValidationError:
    """A record check's error (rows from 1 within a chunk) with each problem's row in the file and CSV line."""
    details = [d | {"row": d["row"] + first_row, "line": lines[d["row"] - 1]} if d.get("row") is not None
               else d for d in e.details]
    found = invalid_lines(details)
    return ValidationError(f"{counted(len(found), 'CSV line')} {'is' if len(found) == 1 else 'are'} invalid: "
                           f"{shown(found)}" if found else e.message, details)


def invalid_lines(details: list[dict[str, Any]]) -> list[int]:
    return sorted({d["line"] for d in details if d.get("line")})


def shown(lines: list[int], most: int = 10) -> str:
    return ", ".join(str(n) for n in lines[:most]) + (" ..." if len(lines) > most else "")


def chunks(table: Table, size: int) -> Iterator[tuple[list[list[str]], list[dict[str, Any]], list[int], int]]:
    """After the header: (the rows' cells, their records, their CSV lines, the count of rows before
    them) per `size` rows, in order; blank rows (no cell holding anything) are skipped and counted
    in table.blank_rows; a row with the wrong number of cells raises."""
    cells: list[list[str]] = []
    records: list[dict[str, Any]] = []
    lines: list[int] = []
    reader, first, end = table.reader, 0, table.reader.line_num
    for row in reader:
        line, end = end + 1, reader.line_num  # a quoted cell may span lines: its row starts here
        if not any(cell.strip() for cell in row):
            table.blank_rows += 1
            continue
        cells.append(row)
        lines.append(line)
        records.append(record(table.names, row, first + len(records) + 1, line))
        if len(cells) == size:
            table.rows_read += size
            yield cells, records, lines, first
            first += size
            cells, records, lines = [], [], []
    if cells:
        table.rows_read += len(cells)
        yield cells, records, lines, first


def check_options(query: dict[str, str]) -> None:
    """CSV answers carry no explanation: `explain` is refused, not dropped."""
    if "explain" in query:
        raise ValidationError("explain is not offered for CSV: its answer has no explanation columns; "
                              "send the rows as JSON for the reasons",
                              [detail("explain", "is not offered for CSV")])


def parse(text: str, max_rows: int) -> tuple[Table, list[list[str]], list[dict[str, Any]], list[int]]:
    """CSV text -> (the table, the rows' cells, the records, their lines); OverflowError past max_rows."""
    table = open_table(io.StringIO(text))
    cells, records, lines, _ = next(chunks(table, max_rows + 1), ([], [], [], 0))
    if len(records) > max_rows:
        raise OverflowError(max_rows)
    if not records:
        raise no_rows()
    return table, cells, records, lines


def no_rows() -> ValidationError:
    """A CSV with its header and nothing else (blank rows aside), over HTTP as from fn.batch."""
    return ValidationError("the CSV has a header but no rows", [detail(None, "no rows", line=2)])


def answer_cells(answer: dict[str, Any]) -> list[str]:
    span = answer["used_price_range"]
    notes = "; ".join(f"{w['code']}({w['field']}): {w['message']}" for w in answer["warnings"])
    return [f"{answer['used_price']:.2f}", f"{span['low']:.2f}", f"{span['high']:.2f}", f"{span['level']:g}",
            f"{answer['retained_fraction']:.4f}", notes]


def rows(names: list[str], cells: Iterable[list[str]], answers: Iterable[dict[str, Any]],
         with_header: bool = True, sep: str = ",") -> str:
    """The input rows as sent, each followed by its answer's columns, with the input's separator."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\n")
    if with_header:
        writer.writerow(names + list(ANSWER_COLUMNS))
    for line, answer in zip(cells, answers, strict=True):
        writer.writerow(line + answer_cells(answer))
    return out.getvalue()

