"""Load the used-device CSV into records of the same shape a client sends.

Every cell goes through fn.record.features.check_record, the rule the served model applies to
requests, so a value the function would refuse cannot train it either.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from fn.record import features

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "used_device_data.csv"
ALIASES = {"four_g": "4g", "five_g": "5g"}  # some copies of the dataset spell them so
COLUMNS = features.FIELDS + (features.TARGET,)


class DataError(Exception):
    """A dataset problem, naming the file and, where there is one, the row and column."""


def find_data(path: str | os.PathLike | None = None) -> Path:
    """--data, else $DEVICE_PRICE_DATA, else ../shared/data beside the repository."""
    chosen = path or os.environ.get("DEVICE_PRICE_DATA") or DEFAULT_DATA
    return Path(chosen)


def command(description: str) -> argparse.ArgumentParser:
    """A convert command's parser, with its --data; TensorFlow's C++ logging quietened for it."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", help="the CSV (default: $DEVICE_PRICE_DATA, else ../shared/data/used_device_data.csv)")
    return parser


def write_json(path: Path, value: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(value, indent=1) + "\n")


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cell(name: str, text: str) -> Any:
    """A CSV cell as JSON would carry it: numbers as numbers, blanks as missing."""
    text = text.strip()
    if text == "":
        return None
    if name in features.NUMERIC_BY_NAME or name == features.TARGET:
        try:
            return float(text)
        except ValueError:
            return text  # check_record names it: "must be a number, got str"
    return text


def as_sent(record: dict[str, Any]) -> dict[str, Any]:
    """A loaded (cleaned) record back in the form a client sends: flags as "yes"/"no",
    missing optional values left out."""
    return {k: ("yes" if v == 1.0 else "no") if k in features.FLAGS else v for k, v in record.items() if v is not None}


def load(path: str | os.PathLike | None = None) -> tuple[list[dict[str, Any]], list[float]]:
    """Records (cleaned, as check_record returns them) and targets, in file order."""
    path = find_data(path)
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as e:
        raise DataError(f"{path}: cannot read the dataset ({e.strerror or e}); "
                        "pass --data PATH or set DEVICE_PRICE_DATA") from e
    with handle:
        reader = csv.reader(handle)
        try:
            header = next(reader, None)
        except (csv.Error, UnicodeDecodeError) as e:
            raise DataError(f"{path}: row 1: not a readable CSV header ({e})") from e
        if not header:
            raise DataError(f"{path}: the file is empty (expected a header row: {', '.join(COLUMNS)})")
        header = [ALIASES.get(h.strip(), h.strip()) for h in header]
        missing = [c for c in COLUMNS if c not in header]
        if missing:
            raise DataError(f"{path}: row 1 (header): missing column(s) {', '.join(missing)}")
        where = {c: header.index(c) for c in COLUMNS}
        records, targets = [], []
        try:
            for line, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) < len(header):
                    raise DataError(f"{path}: row {line}: {len(cells)} cells, the header has {len(header)}")
                raw = {c: _cell(c, cells[where[c]]) for c in features.FIELDS}
                clean, problems = features.check_record(raw, line)
                target = _cell(features.TARGET, cells[where[features.TARGET]])
                if not isinstance(target, float):
                    problems.append({"row": line, "field": features.TARGET, "reason": "must be a number"})
                if problems:
                    p = problems[0]
                    more = f" (and {len(problems) - 1} more problems in this row)" if len(problems) > 1 else ""
                    raise DataError(f"{path}: row {line}, column {p['field']}: {p['reason']}"
                                    f" (value {cells[where.get(p['field'], 0)]!r}){more}")
                records.append(clean)
                targets.append(target)
        except (csv.Error, UnicodeDecodeError) as e:
            raise DataError(f"{path}: row {reader.line_num}: not readable as CSV ({e})") from e
    if not records:
        raise DataError(f"{path}: no data rows after the header")
    return records, targets
