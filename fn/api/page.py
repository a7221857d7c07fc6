"""The page a person prices a device with (GET / with Accept: text/html).

One HTML document, built once from the input schema (fn/record/fields.py) and the model's spec:
a form with a label and unit beside every field, brand and os as lists, the new price in money.
The required fields start at the schema's example; the optional ones start empty, their
placeholder the training median the model uses when one is left out, so that a person who
leaves them sees that the answer rests on a typical value (the answer lists every one).
Numbers are typed as text and read by page.js, which takes a decimal comma as a decimal
mark (a browser's number field drops it: "4,5" became 45). The page posts the record to its
own URL with explain=true and shows the price, its range, the main reasons and the warnings in
a person's words (page.js maps the API's codes and fields; the API keeps its own), then asks
for the same device at several ages in one batch and draws how the price falls with days_used
as inline SVG with labelled axes. No external asset (the image is offline), no build step;
plain HTML, CSS and script, usable with the keyboard and a screen reader (labels, native
controls, a live region for the answer).
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from fn.record.fields import EXAMPLE, FLAGS, NEW_PRICE, NUMERIC

# The fields in the form's order, and the words a person reads for them.
LABELS = {
    "device_brand": "Brand", "os": "Operating system", "4g": "4G", "5g": "5G",
    "screen_size": "Screen diagonal", "rear_camera_mp": "Rear camera", "front_camera_mp": "Front camera",
    "internal_memory": "Storage", "ram": "RAM", "battery": "Battery", "weight": "Weight",
    "release_year": "Release year", "days_used": "Days used", "new_price": "Price when new",
    "normalized_new_price": "Price when new",
}
CURVE_POINTS = 12  # ages drawn on the curve, over the training range of days_used
MONEY = "in the dataset's currency"

HERE = Path(__file__).resolve().parent  # page.css and page.js, inlined: the page fetches nothing else


def _input(name: str, value: Any, unit: str, required: bool, typical: float | None) -> str:
    note = f" <small>({html.escape(unit)}{'' if required else ', optional'})</small>" if unit or not required else ""
    hint = f' placeholder="typical: {typical:g}"' if typical is not None else ""
    # type=text, not number: a number field drops a decimal comma; page.js reads the text
    return (f'<div><label for="f-{name}">{html.escape(LABELS[name])}{note}</label>'
            f'<input id="f-{name}" name="{name}" type="text" inputmode="decimal" autocomplete="off" '
            f'data-kind="number" value="{"" if value is None else value}"{hint}{" required" if required else ""}>'
            "</div>")


def _select(name: str, choices: list[str], chosen: str) -> str:
    options = "".join(f'<option{" selected" if c == chosen else ""}>{html.escape(c)}</option>' for c in choices)
    return (f'<div><label for="f-{name}">{html.escape(LABELS[name])}</label>'
            f'<select id="f-{name}" name="{name}" required>{options}</select></div>')


def facts(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What page.js says about each numeric field: its unit, the median used when it is left out
    and the range the model learnt from (the model's spec), the accepted range."""
    out = {}
    for f in (*NUMERIC, NEW_PRICE):
        trained = (spec.get("training_range") or {}).get(f.name)
        out[f.name] = {"unit": MONEY if f is NEW_PRICE else f.unit,
                       "typical": spec.get("impute", {}).get(f.name), "low": f.low, "high": f.high,
                       "trained": trained, "integer": f.integer}
    return out


def promise(spec: dict[str, Any]) -> str:
    """The network's monotone fields (spec["monotone"], +1 rising, -1 falling) in a person's words."""
    def words(sign: int) -> str:  # "release year", but "RAM" and "4G" as written
        said = [LABELS[f] if LABELS[f][:2].isupper() else LABELS[f].lower() for f, s in spec["monotone"].items()
                if s == sign]
        return ", ".join(said[:-1]) + " or " + said[-1] if len(said) > 1 else said[0]

    return (f"All else equal, raising the {words(1)} never lowers the price, and more {words(-1)} never "
            "raises it: the model is built so. ")


def render(spec: dict[str, Any], version: str) -> str:
    """The page for the model whose spec (brands, os, impute, training_range) is `spec`."""
    fields = [_select("device_brand", spec["brands"], EXAMPLE["device_brand"]),
              _select("os", spec["os"], EXAMPLE["os"])]
    fields += [_select(flag, ["yes", "no"], EXAMPLE[flag]) for flag in FLAGS]
    typical = spec.get("impute", {})
    for f in NUMERIC:
        if f.name == "normalized_new_price":
            continue
        value = EXAMPLE[f.name] if f.required else None
        fields.append(_input(f.name, value, f.unit, f.required, None if f.required else typical.get(f.name)))
    new_price = round(math.exp(EXAMPLE["normalized_new_price"]), 2)
    fields.append(_input(NEW_PRICE.name, new_price, MONEY, True, None))
    low, high = spec["training_range"]["days_used"]
    ages = [round(low + (high - low) * i / (CURVE_POINTS - 1)) for i in range(CURVE_POINTS)]
    script = (f"const LABELS = {json.dumps(LABELS)}, AGES = {json.dumps(ages)}, FIELDS = {json.dumps(facts(spec))};\n"
              + (HERE / "page.js").read_text())
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Used device price</title><style>{(HERE / 'page.css').read_text()}</style></head><body>"
        "<main><h1>What is a used phone or tablet worth?</h1>"
        "<p>Fill in the device's specifications; prices are in the currency of the data the model learnt from "
        "(the dataset does not name it). Leave a field you do not know empty: the price then uses a typical "
        "value, and says so. " + html.escape(promise(spec)) +
        f'Model {html.escape(version)}: <a id="card" href="model">model card</a>.</p>'
        f'<form id="device" novalidate>{"".join(fields)}<button type="submit">Estimate the price</button></form>'
        '<section id="answer" aria-live="polite"></section></main>'
        f"<script>{script}</script></body></html>"
    )
