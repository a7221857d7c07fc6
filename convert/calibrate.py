"""The price ranges' table from the fold members' out-of-fold predictions, and its coverage.

    python -m convert.calibrate [--data CSV] [--out model/]

(also `python -m convert.train --recalibrate`) refits model/intervals.json and the ranges' part of
model/metrics.json from the committed members, without retraining: the folds are fixed, so member
k's predictions on fold k are the out-of-fold ones. Training (convert/train.py) calls the same
calibrate() on the members it has just fitted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from convert import data
from convert.network import folds, split
from fn.model import expected_error as expected
from fn.model import intervals
from fn.record import encoding

GROUP_BY = "release_year"  # the Mondrian groups of the price ranges (fn/model/intervals.py)
SCALE_ALPHA = 1e-4  # the L2 penalty of the ranges' expected-error regression (expected_error)
OUT = Path(__file__).resolve().parent.parent / "model"


def ranges_table(oof: np.ndarray, actual: np.ndarray, fold: np.ndarray, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The price ranges' table (fn/model/intervals.py) from training rows' out-of-fold predictions,
    targets, folds and records: their errors' expected size fitted first, then the table."""
    keys = np.array([r[GROUP_BY] for r in records])
    scale = expected_error(oof, np.abs(np.asarray(actual) - oof), records)
    return intervals.fit(oof, actual, fold, keys, GROUP_BY, scale=scale, records=records)


def expected_error(oof: np.ndarray, error: np.ndarray, records: list[dict[str, Any]]) -> dict[str, Any]:
    """The expected-error table (fn/model/expected_error.py): a Gamma regression with a log link
    (scikit-learn) of the out-of-fold errors on its design, over the values and predicted prices
    the rows have. Chosen, with the Mondrian cells and SCALE_ALPHA, by the training rows'
    out-of-fold coverage by group (docs/model.md): without it, another os and 5G phones fell
    several points short of their level."""
    from sklearn.linear_model import GammaRegressor

    values = {f: sorted({r[f] for r in records}) for f in expected.FIELDS}
    prices = (float(np.min(oof)), float(np.max(oof)))
    x = expected.design(records, oof, values, prices)
    # standardised for the solver, the weights then mapped back to the raw inputs
    mean, sd = x.mean(axis=0), np.where(x.std(axis=0) > 0, x.std(axis=0), 1.0)
    model = GammaRegressor(alpha=SCALE_ALPHA, max_iter=1000).fit((x - mean) / sd, np.maximum(error, 1e-6))
    weights = model.coef_ / sd
    return {"values": {f: [v if isinstance(v, str) else float(v) for v in vs] for f, vs in values.items()},
            "prices": list(prices), "intercept": float(model.intercept_ - weights @ mean), "weights": weights.tolist()}


def calibrate(every: np.ndarray, y: np.ndarray, fold: np.ndarray, train_idx: np.ndarray, test_idx: np.ndarray,
              records: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The price ranges' table from every row's member predictions (n, K) (member k's on fold k's rows
    are the out-of-fold ones), its coverage on the test rows, and its out-of-fold coverage on the
    training rows (out_of_fold_coverage)."""
    oof, trained_on = every[train_idx, fold], [records[i] for i in train_idx]
    ranges = ranges_table(oof, y[train_idx], fold, trained_on)
    scored = intervals.Intervals(ranges).score(every[test_idx], y[test_idx], [records[i] for i in test_idx])
    trained = out_of_fold_coverage(oof, y[train_idx], fold, trained_on, np.asarray(ranges["price_edges"]))
    return ranges, with_confidence(scored), with_confidence(trained)


def out_of_fold_coverage(oof: np.ndarray, actual: np.ndarray, fold: np.ndarray, records: list[dict[str, Any]],
                         price_edges: np.ndarray) -> dict[str, Any]:
    """The ranges' coverage on the training rows, no test row used: fold k's rows are ranged by a
    table (expected errors and cells) fitted on the other folds' rows alone, around their
    out-of-fold prediction (split conformal: every member's column is the one member that did not
    see the row). Its groups hold 4 times the test rows', so it is the figure that chose the method,
    and it settles what a group of 55 test rows cannot (their coverage's 95% interval is about 20
    points wide)."""
    members = int(fold.max()) + 1
    covered = {level: (np.zeros(len(oof), dtype=bool), np.zeros(len(oof))) for level in intervals.LEVELS}
    for k in range(members):
        fitted, held = np.flatnonzero(fold != k), np.flatnonzero(fold == k)
        table = intervals.Intervals(ranges_table(oof[fitted], actual[fitted], fold[fitted], [records[i] for i in fitted]))
        around = np.repeat(oof[held, None], members, axis=1)
        for level, (hit, width) in table.covered(around, actual[held], [records[i] for i in held]).items():
            covered[level][0][held], covered[level][1][held] = hit, width
    return intervals.tally(covered, intervals.labels(records, oof, price_edges))


def with_confidence(scored: dict[str, Any]) -> dict[str, Any]:
    """Each coverage (overall and by group) with its exact 95% binomial interval
    ("coverage_95"): how far from its level a group of this many rows may fall by chance."""
    from scipy.stats import binomtest

    def add(m: dict[str, Any]) -> None:
        ci = binomtest(round(m["coverage"] * m["rows"]), m["rows"]).proportion_ci(0.95, method="exact")
        m["coverage_95"] = [float(ci.low), float(ci.high)]

    for level in scored.values():
        add(level)
        for group in level["groups"].values():
            add(group)
    return scored


def recalibrate(data_path: str | None = None, out: Path = OUT) -> dict[str, Any]:
    """The price ranges again from the committed members, without retraining (the folds are fixed,
    so member k's predictions on fold k are the out-of-fold ones): intervals.json and the ranges'
    part of metrics.json."""
    import keras

    records, targets = data.load(data.find_data(data_path))
    y = np.asarray(targets)
    train_idx, test_idx = split(len(records))
    spec = json.loads((out / "feature_spec.json").read_text())
    x, _ = encoding.encode(spec, records)
    every = np.asarray(keras.models.load_model(out / "model.keras").predict_on_batch(x), dtype=np.float64)
    ranges, scored, trained = calibrate(every, y, folds(train_idx, every.shape[1]), train_idx, test_idx, records)
    metrics = json.loads((out / "metrics.json").read_text()) | {
        "intervals": scored, "intervals_out_of_fold": trained, "intervals_method": ranges["method"]}
    (out / intervals.FILE).write_text(json.dumps(ranges, indent=1) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    return metrics


def summary(metrics: dict[str, Any]) -> list[str]:
    """Each level's coverage on the test rows, overall and by group."""
    return [f"{float(level):.0%} price range: coverage {m['coverage']:.1%}, mean width {m['mean_relative_width']:.0%} "
            "of the price; groups " + ", ".join(f"{g} {v['coverage']:.0%}" for g, v in m["groups"].items())
            for level, m in metrics["intervals"].items()]


def main(argv: list[str] | None = None) -> None:
    parser = data.command("Refit the price ranges from the committed fold members.")
    parser.add_argument("--out", type=Path, default=OUT, help="the model directory (intervals.json, metrics.json)")
    args = parser.parse_args(argv)
    try:
        print("\n".join(summary(recalibrate(args.data, args.out))))
    except data.DataError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
