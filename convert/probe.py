"""How the served price responds to one field, everything else as the device has it.

    python -m convert.probe [--data CSV] [--model-dir model/] [--write]

Prints issue 36's probe table for a model: the first PROBE_ROWS rows of the dataset, one field
varied at a time over a grid, counting the devices priced lower for a higher value somewhere and
the largest single step down (in % of the price). The same response curves back the tests that
hold the constraints (tests/test_train.py) and the model card's curves of the free fields.
Works on the served TFLite model (fn.model.tflite.Predictor): the price a client gets.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np

from convert import data
from convert.constraints import CHOICE
from fn.model.tflite import MODEL_DIR, Predictor
from fn.record import encoding
from fn.record.fields import FLAGS

PROBE_ROWS = 400
# The grids of issue 36's table (and the other spec fields, on their usual values).
GRIDS: dict[str, list[float]] = {
    "release_year": [float(y) for y in range(2013, 2021)],
    "ram": [0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0],
    "internal_memory": [8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0],
    "rear_camera_mp": [2.0, 5.0, 8.0, 12.0, 13.0, 16.0, 20.0, 48.0],
    "front_camera_mp": [0.3, 2.0, 5.0, 8.0, 13.0, 16.0, 20.0, 32.0],
    "battery": [1500.0 + 250.0 * i for i in range(19)],
    "4g": [0.0, 1.0],
    "5g": [0.0, 1.0],
    "normalized_new_price": [3.0 + 0.25 * i for i in range(19)],
}
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "bench" / "constraints_probe.json"
TRAINING_POINTS = 41  # at most this many points along a field's training range (its quantiles)


def training_grid(field: str, records: list[dict[str, Any]]) -> np.ndarray:
    """The field's values in the training rows, in order: every distinct value when there are few,
    else TRAINING_POINTS quantiles (the steps between them are the steps a test bounds)."""
    values = np.unique([r[field] for r in records if r[field] is not None]).astype(np.float64)
    if field in FLAGS or len(values) <= TRAINING_POINTS:
        return values
    return np.unique(np.quantile(values, np.linspace(0, 1, TRAINING_POINTS), method="nearest"))


def response(model: Any, records: list[dict[str, Any]], field: str, grid: np.ndarray) -> np.ndarray:
    """Served prices (money, n records x len(grid)) with `field` set to each grid value."""
    rows = [r | {field: float(v)} for r in records for v in grid]
    x, _ = encoding.encode(model.spec, rows)
    return np.exp(model.predict_matrix(x)).reshape(len(records), len(grid))


def steps_down(prices: np.ndarray) -> np.ndarray:
    """Each row's largest fall from one grid value to the next, as a share of the price before it
    (0 where the price never falls)."""
    fall = -np.diff(prices, axis=1) / prices[:, :-1]
    return np.maximum(fall.max(axis=1), 0.0)


def probe(model: Any, records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """field -> its grid, how many devices fall somewhere along it, and the largest step down."""
    out = {}
    for field, grid in GRIDS.items():
        falls = steps_down(response(model, records, field, np.asarray(grid)))
        # a fall of a float32 rounding is not a fall
        out[field] = {"grid": [grid[0], grid[-1]], "devices": len(records),
                      "falling": int((falls > 1e-6).sum()), "largest_step_down": float(falls.max())}
    return out


def curves(model: Any, train_records: list[dict[str, Any]], test_records: list[dict[str, Any]],
           fields: list[str]) -> dict[str, dict[str, Any]]:
    """Each field's response over its training grid on the test rows: the median price relative to
    the price at the grid's first value, how many rows fall somewhere, and the largest step down."""
    out = {}
    for field in fields:
        grid = training_grid(field, train_records)
        prices = response(model, test_records, field, grid)
        falls = steps_down(prices)
        out[field] = {"grid": grid.tolist(), "median_relative": np.median(prices / prices[:, :1], axis=0).tolist(),
                      "rows": len(test_records), "falling": int((falls > 1e-6).sum()),
                      "largest_step_down": float(falls.max())}
    return out


def measure(model: Any, records: list[dict[str, Any]], free: list[str]) -> dict[str, Any]:
    """The probe on the first PROBE_ROWS rows, and the free fields' curves on the test rows."""
    from convert import network

    train_idx, test_idx = network.split(len(records))
    return {"model_version": model.version, "rows": PROBE_ROWS, "probe": probe(model, records[:PROBE_ROWS]),
            "free_curves": curves(model, [records[i] for i in train_idx], [records[i] for i in test_idx], free)}


def markdown(result: dict[str, dict[str, Any]]) -> list[str]:
    lines = ["| field varied | grid | devices priced lower for a higher value somewhere | largest single step down |",
             "|---|---|---|---|"]
    for field, r in result.items():
        step = f"{r['largest_step_down']:.1%} of the price" if r["falling"] else "—"
        lines.append(f"| `{field}` | {r['grid'][0]:g} … {r['grid'][1]:g} | {r['falling']} / {r['devices']} | {step} |")
    return lines


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Issue 36's probe: the served price along one field at a time.")
    parser.add_argument("--data", help="the CSV (default as in training)")
    parser.add_argument("--model-dir", type=Path, default=MODEL_DIR)
    parser.add_argument("--write", action="store_true", help=f"also write {OUT.relative_to(OUT.parent.parent)} "
                        "(the probe and the free fields' curves, which docs/model.md renders)")
    args = parser.parse_args(argv)
    records, _ = data.load(args.data)
    model = Predictor(args.model_dir)
    free = [f for f, c in json.loads(CHOICE.read_text())["fields"].items() if c["chosen"] == "free"]
    result = measure(model, records, free)
    print("\n".join(markdown(result["probe"])))
    if args.write:
        data.write_json(OUT, result)


if __name__ == "__main__":
    main()
