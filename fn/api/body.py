"""A request's body as JSON, its limits, and the options asked for beside the records or in the query.

The JSON is read strictly (no NaN or Infinity, no key twice, no integer Python would refuse)
so that every such body is refused in the API's words, never with Python's. Standard library
only: the settings (fn/server/settings.py) take the limits' defaults from here.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fn.api.errors import BadRequest
from fn.record.features import PLAIN_NUMBER, not_a_number
from fn.record.fields import OPTIONS
from fn.record.problems import ValidationError, detail, json_type, quote

TRUE_FALSE = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _reject_constant(name: str) -> None:
    raise BadRequest(f"the body is not valid JSON: {name} is not a JSON number")


def _parse_int(digits: str) -> int | float:
    # Python refuses to convert integers of over 4,300 digits, with advice about Python; no
    # field takes more than a few digits, so a long one becomes a float (inf past 308 digits)
    # and is refused by the field's range check, in the API's words.
    return int(digits) if len(digits) <= 20 else float(digits)


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen = dict(pairs)  # in C; a key twice makes it shorter than the pairs
    if len(seen) == len(pairs):
        return seen
    keys: set[str] = set()
    for key, _ in pairs:
        if key in keys:
            raise BadRequest(f"the body is not valid JSON for this API: the key {quote(key)} appears twice",
                             [detail(key, "duplicate key")])
        keys.add(key)
    raise AssertionError("unreachable: a shorter dict has a repeated key")


# Made once: json.loads with hooks builds a new decoder per call, a tenth of a record's parsing.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, object_pairs_hook=_no_duplicates, parse_int=_parse_int)


def read_json(body: bytes, expected: str) -> Any:
    """The body as JSON, whatever the Content-Type (faas-cli sends text/plain)."""
    if not body.strip():
        raise BadRequest(f"the body is empty; send {expected}")
    try:
        text = body.decode("utf-8-sig")  # a byte order mark is harmless: accepted
    except UnicodeDecodeError as e:
        raise BadRequest(f"the body is not UTF-8 (byte {e.start})") from None
    try:
        if text.startswith("\ufeff"):  # a second byte order mark: refused as json.loads refuses it
            raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
        return _DECODER.decode(text)
    except RecursionError:
        raise BadRequest("the body is not acceptable JSON: nested too deeply") from None
    except ValueError as e:
        raise BadRequest(f"the body is not valid JSON: {e}") from None


@dataclass(frozen=True)
class Limits:
    max_batch_rows: int = 1000
    # 1,000 rows of ~400 bytes each fit with room to spare; the server refuses larger bodies itself.
    max_body_bytes: int = 1 << 20


@dataclass(frozen=True)
class Options:
    """What to add to the answers, asked for in the body or the query string."""
    level: float | None = None  # of the price range: one of the model's levels; None: its default level
    explain: bool = False


DEFAULT = Options()


def read_options(given: dict[str, Any], query: dict[str, str], levels: tuple[float, ...]) -> Options:
    """Options from the body's option keys, else the query string; a wrong one names itself.

    The body's options are typed as its fields are: `level` a JSON number (a string is refused, as
    "64" is for a number field), `explain` a boolean; the query string's are text, read as such."""
    problems, values = [], {}
    for name in OPTIONS:
        typed = name in given
        value = given[name] if typed else query.get(name)
        if value is None:
            continue
        if name == "explain":
            if typed:
                flag = value if isinstance(value, bool) else None
            else:
                flag = TRUE_FALSE.get(value.lower())
            if flag is None:
                problems.append(detail(name, "must be true or false" + (f", got {json_type(value)}" if typed else "")))
            values[name] = flag
        else:
            level: float | None = None
            if typed and isinstance(value, str):
                problems.append(detail(name, not_a_number(value)))
                continue
            if typed:
                level = float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
            elif PLAIN_NUMBER.fullmatch(value.strip()):
                level = float(value)
            if level not in levels:
                problems.append(detail(name, f"must be one of {', '.join(f'{v:g}' for v in levels)}"))
            values[name] = level
    if problems:
        raise ValidationError(f"{'an option is' if len(problems) == 1 else 'options are'} invalid", problems)
    return Options(**values)
