"""A dealer's inventory as a spreadsheet program writes it: `rows` devices with their own ids, a note
with umlauts, every third without ram, in a CSV dialect (GERMAN: Excel's "CSV UTF-8" in a German
locale: `;`, decimal commas, a BOM, CRLF). The batch benchmark prices it; the CSV tests read it."""

from __future__ import annotations

import csv
import io
import math

from fn.api.csvformat import BOM, Format
from fn.record import features

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
