"""A dealer's inventory as CSV: rows in with the dataset's column names, rows out with the price.

One reader for the HTTP API (`POST` with Content-Type: text/csv) and `python -m fn.batch`, as
spreadsheets write CSV: the file's own conventions (separator, decimal mark, byte order mark, line
ending) are read from it and the answer is written back in them (fn/api/csvformat.py); blank rows
are skipped and counted; columns that are not the model's (an id, a SKU, notes, the dataset's own
target) are carried through unread; a bad cell is named and quoted by the record check
(fn/record/features.py); fn/api/csvout.py writes the answers back. Rows count from
1 (the first data row), as in a JSON batch; each problem also names its CSV line (the header is
line 1) and the row's own id, from a column `id` or `sku` or the one the user names.
"""

from __future__ import annotations

import csv
import difflib
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any

from fn.api import csvformat
from fn.api.csvformat import Format
from fn.api.csvout import ANSWER_COLUMNS, PROBLEM_COLUMN, rows  # noqa: F401 (the answer's columns: re-exported)
from fn.record.features import ALTERNATIVE, FIELDS, NEW_PRICE, REQUIRED, TARGET
from fn.record.problems import ValidationError, counted, detail, quote

MEDIA_TYPE = "text/csv"
ACCEPTED = FIELDS + (NEW_PRICE.name,)
# The HTTP answer's counts: blank rows skipped, rows priced, rows refused (marked).
BLANK_ROWS_HEADER, PRICED_HEADER, REFUSED_HEADER = "X-Blank-Rows", "X-Priced-Rows", "X-Refused-Rows"
ENCODING = "utf-8"  # a byte order mark (Excel's "CSV UTF-8" writes one) is read as a character and kept
ID_COLUMNS = ("id", "sku")  # a row's own id, when the user names no column (any case)
INVALID_ROWS = ("refuse", "mark")  # refuse: all or nothing (the default); mark: price the rest


def not_utf8(what: str, e: UnicodeDecodeError) -> str:
    """The message for a file in another encoding (Excel's plain "CSV" is cp1252 on Windows)."""
    return (f"{what} is not UTF-8 (byte {e.start} is {e.object[e.start:e.start + 1]!r}): save it as UTF-8 "
            "(in Excel: Save As, \"CSV UTF-8\")")


@dataclass(frozen=True)
class Choices:
    """What the user asked of a CSV: mark bad rows instead of refusing the file; the id column."""

    mark: bool = False
    id_column: str | None = None


def read_choices(query: dict[str, str]) -> Choices:
    """The CSV options of a query string (`invalid_rows`, `id_column`); `explain` is refused, not
    dropped: a CSV answer has no explanation columns."""
    if "explain" in query:
        raise ValidationError("explain is not offered for CSV: its answer has no explanation columns; "
                              "send the rows as JSON for the reasons",
                              [detail("explain", "is not offered for CSV")])
    invalid = query.get("invalid_rows", "refuse")
    if invalid not in INVALID_ROWS:
        raise ValidationError("an option is invalid", [detail("invalid_rows", f"must be refuse or mark, got "
                                                                              f"{quote(invalid)}")])
    return Choices(invalid == "mark", query.get("id_column") or None)


@dataclass
class Table:
    """A CSV being read: its conventions, header, id column and the blank rows skipped so far."""

    reader: Any
    format: Format
    names: list[str]
    id_index: int | None = None
    blank_rows: int = 0
    rows_read: int = 0


def open_table(stream: IO[str], id_column: str | None = None) -> Table:
    """The stream's conventions and checked header (the stream must seek: a `;` or tab file is read
    once through for its decimal mark, then from its start)."""
    first = stream.readline()
    bom = first.startswith(csvformat.BOM)
    sep = csvformat.separator(first)
    decimal, mixed = ".", None
    if sep != ",":
        _restart(stream, bom)
        scan = csv.reader(stream, delimiter=sep)
        decimal, mixed = csvformat.decimal_mark(sep, [n.strip() for n in next(scan, [])], scan)
    _restart(stream, bom)
    reader = csv.reader(stream, delimiter=sep)
    names = header(reader)
    return Table(reader, Format(sep, decimal, bom, csvformat.newline(first), mixed), names, id_index(names, id_column))


def _restart(stream: IO[str], bom: bool) -> None:
    stream.seek(0)
    if bom:
        stream.read(1)


def id_index(names: list[str], named: str | None) -> int | None:
    """The column holding each row's own id: the one the user names, else the first called id or sku."""
    if named is not None:
        if named not in names:
            raise ValidationError(f"id_column {quote(named)} is not a column of the CSV",
                                  [detail("id_column", f"is not a column: {quote(named)}", line=1)])
        return names.index(named)
    return next((i for i, name in enumerate(names) if name.lower() in ID_COLUMNS), None)


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


def _value(name: str, cell: str, fmt: Format) -> Any:
    """A cell as the JSON API would have it: a number in the file's convention as a number; else
    the text, which the record check refuses, quoting it ("3,020", "$111.62", "big")."""
    cell = cell.strip()
    if name in csvformat.NUMBER_COLUMNS:
        number = fmt.number(cell)
        if number is not None:
            return number
    return cell


def record(names: list[str], cells: list[str], row: int, line: int, fmt: Format = Format()) -> dict[str, Any]:
    if len(cells) != len(names):
        raise ValidationError(f"CSV line {line} has {len(cells)} cells; the header has {len(names)}",
                              [detail(None, f"has {len(cells)} cells, expected {len(names)}", row, line=line)])
    return {name: _value(name, cell, fmt) for name, cell in zip(names, cells, strict=True)
            if name in ACCEPTED and cell.strip()}


@dataclass
class Chunk:
    """Rows read together: their cells, records (None where the reader refused the row), CSV lines,
    the count of rows before them, and the reader's problems by index (invalid_rows=mark only)."""

    cells: list[list[str]] = field(default_factory=list)
    records: list[dict[str, Any] | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    first: int = 0
    problems: dict[int, list[dict[str, Any]]] = field(default_factory=dict)


def chunks(table: Table, size: int, mark: bool = False) -> Iterator[Chunk]:
    """After the header, `size` rows at a time, in order; blank rows (no cell holding anything) are
    skipped and counted in table.blank_rows; a row with the wrong number of cells raises, or with
    `mark` is kept with its problem."""
    chunk = Chunk()
    reader, end = table.reader, table.reader.line_num
    for row in reader:
        line, end = end + 1, reader.line_num  # a quoted cell may span lines: its row starts here
        if not any(cell.strip() for cell in row):
            table.blank_rows += 1
            continue
        number = chunk.first + len(chunk.records) + 1
        try:
            chunk.records.append(record(table.names, row, number, line, table.format))
        except ValidationError as e:
            if not mark:
                raise _labelled(e, table, [row], number - 1) from None
            chunk.problems[len(chunk.records)] = e.details
            chunk.records.append(None)
        chunk.cells.append(row)
        chunk.lines.append(line)
        if len(chunk.records) == size:
            table.rows_read += size
            yield chunk
            chunk = Chunk(first=chunk.first + size)
    if chunk.records:
        table.rows_read += len(chunk.records)
        yield chunk


def row_id(table: Table, cells: list[str]) -> str:
    """The row's own id ("" when the file has no id column or the cell is empty)."""
    column = table.id_index
    return cells[column].strip() if column is not None and column < len(cells) else ""


def _labelled(e: ValidationError, table: Table, cells: list[list[str]], first_row: int = 0) -> ValidationError:
    """e's problems with the row's own id beside its line (cells: the rows from first_row + 1)."""
    details = []
    for d in e.details:
        at = (d.get("row") or 0) - first_row - 1
        found = row_id(table, cells[at]) if 0 <= at < len(cells) else ""
        details.append(d | {"id": found} if found else d)
    return ValidationError(e.message, details)


def refused(table: Table, chunk: Chunk, results: list[Any]) -> list[str]:
    """The labels ("6 (A-004)") of the chunk's rows that `price` refused."""
    return labels([{"line": line, "id": row_id(table, cells)} for line, cells, result
                   in zip(chunk.lines, chunk.cells, results, strict=True) if not isinstance(result, dict)])


def with_lines(e: ValidationError, chunk: Chunk, table: Table) -> ValidationError:
    """A record check's error (rows from 1 within the chunk) with each problem's row in the file,
    CSV line and the row's own id; its message names the lines (and the ids)."""
    details = [d | {"row": d["row"] + chunk.first, "line": chunk.lines[d["row"] - 1]} if d.get("row") is not None
               else d for d in e.details]
    labelled = _labelled(ValidationError(e.message, details), table, chunk.cells, chunk.first).details
    found = labels(labelled)
    message = (f"{counted(len(found), 'CSV line')} {'is' if len(found) == 1 else 'are'} invalid: {shown(found)}"
               if found else e.message)
    return ValidationError(message + (f"; {table.format.mixed}" if table.format.mixed else ""), labelled)


def labels(details: list[dict[str, Any]]) -> list[str]:
    """Each refused line once, in order, with the row's id when it has one: "6 (A-004)"."""
    by_line = {d["line"]: d.get("id") for d in sorted(details, key=lambda d: d.get("line") or 0) if d.get("line")}
    return [f"{line} ({found})" if found else str(line) for line, found in by_line.items()]


def shown(found: list[str], most: int = 10) -> str:
    return ", ".join(found[:most]) + (" ..." if len(found) > most else "")


def price(chunk: Chunk, table: Table, predict: Callable[[list[Any]], list[dict[str, Any]]],
          mark: bool) -> list[dict[str, Any] | list[dict[str, Any]]]:
    """Each row's answer, or (with `mark`) the problems that kept it from being priced; without
    `mark` a bad row raises ValidationError naming every bad row's line and id."""
    bad = dict(chunk.problems)
    good = [i for i in range(len(chunk.records)) if i not in bad]
    try:
        answers = predict([chunk.records[i] for i in good]) if good else []
    except ValidationError as e:
        if not mark:
            raise with_lines(e, chunk, table) from None
        for d in e.details:  # rows from 1 among the good ones: back to the chunk's rows
            bad.setdefault(good[d["row"] - 1], []).append(d)
        good = [i for i in good if i not in bad]
        answers = predict([chunk.records[i] for i in good]) if good else []
    results: list[dict[str, Any] | list[dict[str, Any]]] = [[] for _ in chunk.records]
    for i, answer in zip(good, answers, strict=True):
        results[i] = answer
    for i, details in bad.items():
        results[i] = details
    return results


def read(text: str, max_rows: int, id_column: str | None = None, mark: bool = False) -> tuple[Table, Chunk]:
    """CSV text -> (the table, its rows as one chunk); OverflowError past max_rows."""
    table = open_table(io.StringIO(text), id_column)
    chunk = next(chunks(table, max_rows + 1, mark), Chunk())
    if len(chunk.records) > max_rows:
        raise OverflowError(max_rows)
    if not chunk.records:
        raise no_rows()
    return table, chunk


def parse(text: str, max_rows: int) -> tuple[Table, list[list[str]], list[dict[str, Any] | None], list[int]]:
    """CSV text -> (the table, the rows' cells, their records, their CSV lines), all or nothing."""
    table, chunk = read(text, max_rows)
    return table, chunk.cells, chunk.records, chunk.lines


def no_rows() -> ValidationError:
    """A CSV with its header and nothing else (blank rows aside), over HTTP as from fn.batch."""
    return ValidationError("the CSV has a header but no rows", [detail(None, "no rows", line=2)])
