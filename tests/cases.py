"""The HTTP contract as one list of cases, run against every target (function process,
function container, baseline server)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from fn.api import dataplane
from fn.record.features import EXAMPLE
from tests.helpers import CSV, GOOD_ROW, body, csv_body, with_


@dataclass
class Case:
    name: str
    data: bytes
    status: int
    fields: list[str] = field(default_factory=list)  # fields the error details must name
    method: str = "POST"
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/json"})
    words: str = ""  # what the error's message or a detail's reason must say


CASES = [
    Case("valid record", body(EXAMPLE), 200),
    Case("valid batch", body({"instances": [EXAMPLE, with_(ram=8.0), with_(device_brand="Apple", os="iOS")]}), 200),
    Case("one-row batch", body({"instances": [EXAMPLE]}), 200),
    Case("text/plain as faas-cli sends", body(EXAMPLE), 200, headers={"Content-Type": "text/plain"}),
    Case("optional fields missing", body(with_(rear_camera_mp=..., weight=None)), 200),
    Case("booleans for 4g/5g", body(with_(**{"4g": True, "5g": False})), 200),
    Case("unknown brand", body(with_(device_brand="Fairphone")), 200),
    Case("empty body", b"", 400),
    Case("not UTF-8", b'{"device_brand": "\xff\xfe"}', 400),
    Case("truncated JSON", body(EXAMPLE)[:-5], 400),
    Case("JSON list", body([EXAMPLE]), 400),
    Case("JSON number", b"42", 400),
    Case("deeply nested", b"[" * 200_000 + b"]" * 200_000, 400),
    Case("NaN literal", body(EXAMPLE).replace(b"15.34", b"NaN"), 400),
    Case("Infinity literal", body(EXAMPLE).replace(b"15.34", b"Infinity"), 400),
    Case("-Infinity literal", body(EXAMPLE).replace(b"15.34", b"-Infinity"), 400),
    Case("duplicate keys", body(EXAMPLE)[:-1] + b', "ram": 8}', 400, ["ram"]),
    Case("instances not a list", body({"instances": {"a": 1}}), 400),
    Case("number as string", body(with_(screen_size="15.34")), 422, ["screen_size"]),
    Case("string as number", body(with_(device_brand=7)), 422, ["device_brand"]),
    Case("boolean as number", body(with_(ram=True)), 422, ["ram"]),
    Case("null required", body(with_(days_used=None)), 422, ["days_used"]),
    Case("flag not yes/no", body(with_(**{"4g": "maybe"})), 422, ["4g"]),
    *[Case(f"missing {name}", body(with_(**{name: ...})), 422, [name])
      for name in ("device_brand", "os", "4g", "5g", "screen_size", "release_year", "days_used",
                   "normalized_new_price")],
    Case("unknown field (typo)", body(with_(ram_gb=4)), 422, ["ram_gb"]),
    Case("target sent", body(with_(normalized_used_price=4.0)), 422, ["normalized_used_price"]),
    Case("negative", body(with_(weight=-1)), 422, ["weight"]),
    Case("zero screen", body(with_(screen_size=0)), 422, ["screen_size"]),
    Case("1e308", body(with_(battery=1e308)), 422, ["battery"]),
    Case("release year 1900", body(with_(release_year=1900)), 422, ["release_year"]),
    Case("release year 3000", body(with_(release_year=3000)), 422, ["release_year"]),
    Case("fractional year", body(with_(release_year=2019.5)), 422, ["release_year"]),
    Case("every problem listed", body(with_(ram=-1, weight="x", os=...)), 422, ["ram", "weight", "os"]),
    Case("batch with bad rows", body({"instances": [EXAMPLE, with_(ram=-1), EXAMPLE, with_(os=...)]}), 422,
         ["ram", "os"]),
    Case("body over the limit", b'{"device_brand": "' + b"x" * dataplane.Limits().max_body_bytes + b'"}', 413),
    Case("batch over the row limit", body({"instances": [EXAMPLE] * (dataplane.Limits().max_batch_rows + 1)}), 413),
    Case("empty batch", body({"instances": []}), 400),
    Case("integer too large for a float", body(with_(ram=10**309)), 422, ["ram"]),
    Case("5,000-digit integer", body(with_(battery=...))[:-1] + b', "battery": 1' + b"0" * 5000 + b"}", 422,
         ["battery"]),
    Case("1 MB device_brand", body(with_(device_brand="x" * 1_000_000)), 422, ["device_brand"]),
    Case("1 MB unknown field name", body(with_(**{"x" * 1_000_000: 1})), 422),
    Case("UTF-8 byte order mark", b"\xef\xbb\xbf" + body(EXAMPLE), 200),
    Case("odd Unicode brand", body(with_(device_brand="\u202e\U0001f4f1 \u00f1\u0301\ud800")), 200),
    Case("wrong method", b"", 405, method="PUT"),
    # issue 24: units, the field sent, options typed as fields, CSV as spreadsheets write it
    Case("ram in MB", body(with_(ram=4096)), 422, ["ram"], words="between 0.001 and 128 GB"),
    Case("weight in kg", body(with_(weight=0.18)), 422, ["weight"], words="between 10 and 10000 g"),
    Case("new price over its range", body(with_(normalized_new_price=..., new_price=1e7)), 422, ["new_price"],
         words="3,269,017 in the dataset's currency"),
    Case("a price sent as its log", body(with_(normalized_new_price=900)), 422, ["normalized_new_price"],
         words="send it as new_price"),
    Case("level as a string", body(EXAMPLE | {"level": "0.9"}), 422, ["level"], words="not a string"),
    Case("level not offered", body(EXAMPLE | {"level": 0.95}), 422, ["level"], words="must be one of"),
    Case("batch row numbers from 1", body({"instances": [EXAMPLE, with_(ram=-1)]}), 422, ["ram"],
         words="1 of 2 rows is invalid"),
    Case("CSV with blank rows and extra columns", csv_body(GOOD_ROW, ",,,,,,,,,", "", GOOD_ROW), 200, headers=CSV),
    Case("CSV cell not a number", csv_body(GOOD_ROW, GOOD_ROW.replace("15.34", "big")), 422, ["screen_size"],
         headers=CSV, words="1 CSV line is invalid: 3"),
    Case("CSV thousands separator", csv_body(GOOD_ROW.replace("4000", '"4,000"')), 422, ["battery"], headers=CSV,
         words="without thousands separators"),
    Case("CSV currency symbol", csv_body(GOOD_ROW.replace(",200", ",$200")), 422, ["new_price"], headers=CSV,
         words="without a currency symbol"),
    Case("CSV semicolons", csv_body(GOOD_ROW).replace(b",", b";"), 200, headers=CSV),
    Case("CSV header wrong", b"brand,os\nx,y\n", 422, ["device_brand"], headers=CSV, words="the columns read are"),
    Case("CSV not UTF-8", csv_body(GOOD_ROW.replace("Samsung", "S\u00e4msung")).decode().encode("cp1252"), 400,
         headers=CSV, words="CSV UTF-8"),
    Case("CSV sent as curl -d sends it", csv_body(GOOD_ROW).replace(b"\n", b""), 400,
         headers={"Content-Type": "application/x-www-form-urlencoded"}, words="Content-Type: text/csv"),
    Case("CSV sent as application/csv", csv_body(GOOD_ROW), 400, headers={"Content-Type": "application/csv"},
         words="Content-Type: text/csv"),
]


def check(case: Case, status: int, headers: Any, text: str) -> dict[str, Any] | None:
    """Assert a response honours the case; returns the JSON body when there is one."""
    assert status == case.status, f"{case.name}: {status} {text[:300]}"
    assert status < 500
    csv_answer = status == 200 and case.headers.get("Content-Type") == "text/csv"
    assert headers.get("Content-Type", "").startswith("text/csv" if csv_answer else "application/json"), \
        f"{case.name}: {headers}"
    assert len(text) < 16_384, f"{case.name}: a {len(text)}-character answer (an echo of the request?)"
    # The API's words, not Python's.
    assert not re.search(r"\b(NoneType|utf-8-sig|set_int_max_str_digits|got (str|list|dict|int|float|bool))\b", text), \
        f"{case.name}: {text[:300]}"
    if csv_answer:
        assert headers.get("X-Blank-Rows") is not None, f"{case.name}: the blank rows are not counted"
        rows = text.splitlines()
        assert len(rows) == 1 + case.data.count(b"A1") and rows[0].split(rows[0][3])[0] == "sku", case.name
        return None
    value = json.loads(text)
    if status == 200:
        results = value["predictions"] if "instances" in case.data.decode("utf-8", "replace")[:20] else [value]
        for r in results:
            assert set(r) >= {"normalized_used_price", "used_price", "retained_fraction", "warnings"}
            assert r["used_price"] > 0 and 0 < r["retained_fraction"] < 5
        return value
    error = value["error"]
    assert isinstance(error["message"], str) and error["message"]
    named = {d["field"] for d in error["details"]}
    for name in case.fields:
        assert name in named, f"{case.name}: {name} not named in {error['details']}"
    for d in error["details"]:
        assert set(d) - {"line", "id"} == {"row", "field", "reason"}  # CSV problems also name their line and id
        assert d["row"] is None or d["row"] >= 1  # rows count from 1 (fn/record/problems.py)
    if case.words:
        said = error["message"] + " " + " ".join(d["reason"] for d in error["details"])
        assert case.words in said, f"{case.name}: {said[:300]}"
    if status == 405:
        assert headers.get("Allow")
    return value
