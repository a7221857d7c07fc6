"""The page a person prices a device with (GET / with Accept: text/html).

One HTML document, built once from the input schema (fn/fields.py) and the model's
vocabularies: a form with a label and unit beside every field, brand and os as lists, the new
price in money; it posts the record to the page's own URL with explain=true and shows the
price, its range, the main reasons and the warnings, then asks for the same device at several
ages in one batch and draws how the price falls with days_used as inline SVG. No external
asset (the image is offline), no build step; plain HTML, CSS and script, usable with the
keyboard and a screen reader (labels, native controls, a live region for the answer).
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

HERE = Path(__file__).resolve().parent  # page.css and page.js, inlined: the page fetches nothing else


def _input(name: str, spec: dict[str, Any] | None, value: Any, unit: str, required: bool) -> str:
    note = f" <small>({html.escape(unit)}{'' if required else ', optional'})</small>" if unit or not required else ""
    attrs = f'min="{spec["low"]:g}" max="{spec["high"]:g}"' if spec else ""
    step = "1" if spec and spec.get("integer") else "any"
    return (f'<div><label for="f-{name}">{html.escape(LABELS[name])}{note}</label>'
            f'<input id="f-{name}" name="{name}" type="number" inputmode="decimal" step="{step}" {attrs} '
            f'data-kind="number" value="{"" if value is None else value}"{" required" if required else ""}></div>')


def _select(name: str, choices: list[str], chosen: str) -> str:
    options = "".join(f'<option{" selected" if c == chosen else ""}>{html.escape(c)}</option>' for c in choices)
    return (f'<div><label for="f-{name}">{html.escape(LABELS[name])}</label>'
            f'<select id="f-{name}" name="{name}" required>{options}</select></div>')


def render(brands: list[str], systems: list[str], days_range: tuple[float, float], version: str) -> str:
    fields = [_select("device_brand", brands, EXAMPLE["device_brand"]), _select("os", systems, EXAMPLE["os"])]
    fields += [_select(flag, ["yes", "no"], EXAMPLE[flag]) for flag in FLAGS]
    for f in NUMERIC:
        if f.name == "normalized_new_price":
            continue
        spec = {"low": f.low, "high": f.high, "integer": f.integer}
        fields.append(_input(f.name, spec, EXAMPLE[f.name], f.unit, f.required))
    new_price = round(math.exp(EXAMPLE["normalized_new_price"]), 2)
    fields.append(_input(NEW_PRICE.name, {"low": NEW_PRICE.low, "high": NEW_PRICE.high}, new_price,
                         "in the dataset's currency", True))
    low, high = days_range
    ages = [round(low + (high - low) * i / (CURVE_POINTS - 1)) for i in range(CURVE_POINTS)]
    script = f"const LABELS = {json.dumps(LABELS)}, AGES = {json.dumps(ages)};\n" + (HERE / "page.js").read_text()
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Used device price</title><style>{(HERE / 'page.css').read_text()}</style></head><body>"
        "<main><h1>What is a used phone or tablet worth?</h1>"
        "<p>Fill in the device's specifications; prices are in the currency of the data the model learnt from "
        "(the dataset does not name it). "
        f'Model {html.escape(version)}: <a id="card" href="model">model card</a>.</p>'
        f'<form id="device" novalidate>{"".join(fields)}<button type="submit">Estimate the price</button></form>'
        '<section id="answer" aria-live="polite"></section></main>'
        f"<script>{script}</script></body></html>"
    )
