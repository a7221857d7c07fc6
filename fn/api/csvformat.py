"""A CSV file's own conventions, read from the file and written back the same way: the separator,
the decimal mark, the byte order mark and the line ending.

Spreadsheets write CSV in their locale: Excel in English writes `,` between cells and a decimal
point; in German, French or Italian, `;` between cells (the comma is the decimal mark there) and
a decimal comma. The rule (docs/api.md, "CSV files"):

- the separator is the header's: of `,`, `;` and tab, the one it holds most;
- in a `,` file the decimal mark is the point: a cell "15,34" there stays refused, since it may
  as well be 1534 written with a thousands separator;
- in a `;` or tab file the decimal mark is what the file's number cells use: a comma if some
  write one ("15,34", read 15.34) and none write a point; a point if some write a point and none a
  comma. A file that writes both stays ambiguous: its decimal commas are refused, naming a line of
  each. Grouped digits ("1.299,00", "3,020.5") are refused in every file;
- with no decimal number in the file, answers are written with a comma in a `;` file (Excel writes
  `;` exactly where the comma is the decimal mark) and a point otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from fn.record.features import NEW_PRICE, NUMERIC_BY_NAME, PLAIN_NUMBER

SEPARATORS = (",", ";", "\t")
BOM = "\ufeff"
# A decimal number, as a locale writes it: digits, the mark, digits (no grouping, no exponent).
_DECIMAL = {".": re.compile(r"[+-]?\d*\.\d+"), ",": re.compile(r"[+-]?\d*,\d+")}
NUMBER_COLUMNS = frozenset(NUMERIC_BY_NAME) | {NEW_PRICE.name}


@dataclass(frozen=True)
class Format:
    """How one file writes CSV; the answer is written back in it."""

    separator: str = ","
    decimal: str = "."
    bom: bool = False
    newline: str = "\n"
    mixed: str | None = None  # why this file's decimal commas are refused (it writes both marks)

    def number(self, cell: str) -> float | None:
        """A number cell in this file's convention, or None (the record check then quotes the text)."""
        if self.decimal == "," and _DECIMAL[","].fullmatch(cell):
            return float(cell.replace(",", "."))
        if PLAIN_NUMBER.fullmatch(cell) and (self.decimal == "." or "." not in cell):
            return float(cell)
        return None

    def decimal_text(self, text: str) -> str:
        """A number formatted with a point, in this file's decimal mark."""
        return text.replace(".", ",") if self.decimal == "," else text


def separator(first_line: str) -> str:
    """The header's separator: of comma, semicolon and tab, the one it holds most (no column name
    holds any), a comma for a single column. The header alone decides: a cell's text cannot."""
    counts = {s: first_line.count(s) for s in SEPARATORS}
    best = max(SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def newline(first_line: str) -> str:
    return "\r\n" if first_line.endswith("\r\n") else "\n"


def decimal_mark(sep: str, names: list[str], reader: Iterator[list[str]]) -> tuple[str, str | None]:
    """(the file's decimal mark, why its decimal commas are refused or None) from its number
    cells: the rows of a csv.reader after the header."""
    if sep == ",":
        return ".", None
    columns = [i for i, name in enumerate(names) if name in NUMBER_COLUMNS]
    seen: dict[str, tuple[int, str]] = {}  # mark -> (the line and cell of its first use)
    for row in reader:
        for i in columns:
            cell = row[i].strip() if i < len(row) else ""
            for mark, pattern in _DECIMAL.items():
                if mark not in seen and pattern.fullmatch(cell):
                    seen[mark] = (reader.line_num, cell)  # type: ignore[attr-defined]
        if len(seen) == 2:
            point, comma = seen["."], seen[","]
            return ".", (f"this file writes both decimal points (line {point[0]}: {point[1]!r}) and decimal commas "
                         f"(line {comma[0]}: {comma[1]!r}), so a comma cannot be read: use one decimal mark")
    if "," in seen or ("." not in seen and sep == ";"):
        return ",", None
    return ".", None
