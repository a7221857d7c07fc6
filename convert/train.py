"""Train depreciation_model, the Keras network, and score it against tuned baselines.

    python -m convert.train [--data CSV] [--out model/] [--members 10] [--reuse-baselines]
    python -m convert.train --recalibrate       (the ranges only: convert/calibrate.py)
    python -m convert.train --compare-brands    (the brand encoding only: convert/brands.py)

The test rows of the fixed split (test_size=0.2, random_state=42) are scored once at the end.
Every choice uses the training rows only: K fold members (each fits K - 1 folds and stops early
on a share of them; convert/network.py), their out-of-fold errors (the price ranges, the brand
encoding, the monotone fields: convert/calibrate.py, brands.py, constraints.py), and the
baselines' hyperparameters (CV on the training rows, convert/baselines.py). Deterministic: fixed
seeds, TensorFlow's deterministic ops on one thread, so a retrain repeats the model.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from convert import baselines, brands, calibrate, constraints, data, network
from convert.baselines import scores
from convert.network import EPOCHS, FOLDS, split

# Chosen by out-of-fold RMSE on the training rows (python -m convert.brands,
# docs/bench/brand_choice.json): see docs/model.md "Model".
BRAND_ENCODING = "dropped"
# The spec fields the price never falls with, beside the age (network.AGE): chosen by out-of-fold
# RMSE on the training rows (python -m convert.constraints, docs/bench/constraint_choice.json).
SPEC_MONOTONE: tuple[str, ...] = ("ram", "internal_memory", "rear_camera_mp", "front_camera_mp", "battery", "4g", "5g")
MONOTONE = network.AGE | dict.fromkeys(SPEC_MONOTONE, 1)
OUT = calibrate.OUT


def versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "scikit-learn": sklearn.__version__}


def monotone_sentence(monotone: dict[str, int]) -> str:
    """What the network promises, in words (the model card quotes it)."""
    falling = [f for f, s in monotone.items() if s < 0]
    rising = [f for f, s in monotone.items() if s > 0]
    return (f"the price never rises with {', '.join(falling)} and never falls as {', '.join(rising)} "
            "rise(s), all else equal (a monotone branch)")


def train(data_path: str | None = None, out: Path = OUT, members: int = FOLDS, epochs: int = EPOCHS,
          quiet: bool = False, searches: int = baselines.SEARCHES, reuse_baselines: bool = False) -> dict[str, Any]:
    """Fit the fold members, calibrate their ranges, score them and the baselines on the test rows;
    write model.keras, feature_spec.json, intervals.json and metrics.json to `out`. With
    reuse_baselines, the baselines are refitted with the hyperparameters `out`/metrics.json
    committed (their search reads neither the network nor a test row: the same data gives the
    same search) instead of searched again."""
    network.deterministic()
    path = data.find_data(data_path)
    records, targets = data.load(path)
    y = np.asarray(targets)
    train_idx, test_idx = split(len(records))
    spec, x = network.encoded(records, train_idx, BRAND_ENCODING)
    spec["dataset_sha256"] = data.sha256(path)
    spec["versions"] = versions()
    spec["monotone"] = MONOTONE  # the page says it (fn/api/page.py)
    previous = _committed(out, spec["dataset_sha256"]) if reuse_baselines else None

    # Every training row is fitted by K - 1 members and calibrates the ranges through the one
    # that left it out (fn/model/intervals.py); the test rows are scored once, here, at the end.
    started = time.time()
    fold_members, fold, _ = network.cross_fit(x, y, spec["columns"], train_idx, members, epochs, quiet, MONOTONE)
    seconds = round(time.time() - started, 1)
    model = network.ensemble(fold_members)
    every = np.asarray(model.predict_on_batch(x), dtype=np.float64)
    on_test = every[test_idx]
    predicted, y_test = on_test.mean(axis=1), y[test_idx]
    ranges, scored, trained = calibrate.calibrate(every, y, fold, train_idx, test_idx, records)

    # The baselines see brands as one-hot columns (trees pick what helps) and the same rows.
    _, xb = network.encoded(records, train_idx, "one_hot")
    started = time.time()
    if previous is None:
        tuned = baselines.tuned(xb[train_idx], y[train_idx], xb[test_idx], searches)
    else:
        tuned = {name: b | {"predicted": baselines.refit(name, b["params"], xb[train_idx], y[train_idx])
                            .predict(xb[test_idx])} for name, b in previous["baselines"].items()}
    baseline_seconds = round(time.time() - started, 1) if previous is None else previous["baseline_seconds"]
    member_rmse = np.array([scores(y_test, on_test[:, k])["rmse"] for k in range(members)])
    metrics = {
        "network": scores(y_test, predicted) | {
            "members": members, "out_of_fold_rmse": scores(y[train_idx], every[train_idx, fold])["rmse"],
            # exp of a mean log price is a median-type price: the mean price runs this much higher
            "mean_price_bias": float(np.mean(np.exp(predicted)) / np.mean(np.exp(y_test)) - 1)},
        "network_members": {"rmse_mean": float(member_rmse.mean()), "rmse_sd": float(member_rmse.std(ddof=1)),
                            "n": members, "rmse": member_rmse.tolist()},
        "baselines": {name: scores(y_test, b["predicted"]) | {
            "params": b["params"], "cv_rmse": b["cv_rmse"], "network_minus_baseline": baselines.rmse_difference(
                y_test, predicted, b["predicted"])} for name, b in tuned.items()},
        "intervals": scored,
        "intervals_out_of_fold": trained,
        "intervals_method": ranges["method"],
        "split": {"test_size": network.TEST_SIZE, "random_state": network.SPLIT_SEED, "train_rows": len(train_idx),
                  "test_rows": len(test_idx), "calibration_rows": len(train_idx), "folds": members,
                  "validation_share_per_member": network.VALIDATION_SIZE},
        "encoding": {"brand": BRAND_ENCODING, "brand_choice": _read(brands.BRAND_CHOICE),
                     "one_hots": "0/1, not standardised", "monotone": monotone_sentence(MONOTONE),
                     "monotone_fields": MONOTONE, "constraint_choice": _read(constraints.CHOICE)},
        "dataset_sha256": spec["dataset_sha256"],
        "training_seconds": seconds,
        "baseline_seconds": baseline_seconds,
        # the day the baselines' hyperparameters were searched (an earlier run's, when reused)
        "baselines_tuned_at": previous["baselines_tuned_at"] if previous else datetime.now(UTC).strftime("%Y-%m-%d"),
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "hyperparameters": {"hidden": list(network.HIDDEN), "monotone_units": network.MONOTONE_UNITS,
                            "dropout": network.DROPOUT, "l2": network.L2, "learning_rate": network.LEARNING_RATE,
                            "batch": network.BATCH, "epochs": epochs, "patience": network.PATIENCE,
                            "lr_patience": network.LR_PATIENCE, "threads": 1},
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "feature_spec.json").write_text(json.dumps(spec, indent=1) + "\n")
    (out / calibrate.intervals.FILE).write_text(json.dumps(ranges, indent=1) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    if not quiet:
        print(table(metrics))
    return metrics


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def _committed(out: Path, dataset: str) -> dict[str, Any]:
    """The committed metrics whose baselines a retrain reuses: only those of this very dataset."""
    previous = _read(out / "metrics.json")
    if previous is None or previous.get("dataset_sha256") != dataset:
        raise data.DataError(f"{out / 'metrics.json'}: no baselines tuned on this dataset to reuse "
                             "(train without --reuse-baselines)")
    return previous | {"baselines_tuned_at": previous.get("baselines_tuned_at", previous["trained_at"])}


def table(metrics: dict[str, Any]) -> str:
    net = metrics["network"]
    lines = [f"test rows: {metrics['split']['test_rows']}",
             f"{'model':<34}{'RMSE':>8}{'MAE':>8}{'R2':>8}  network - it (95%)"]
    lines.append(f"{'network (mean of ' + str(net['members']) + ' fold members)':<34}{net['rmse']:>8.4f}{net['mae']:>8.4f}"
                 f"{net['r2']:>8.3f}")
    for name, m in metrics["baselines"].items():
        d = m["network_minus_baseline"]
        lines.append(f"{name.replace('_', ' '):<34}{m['rmse']:>8.4f}{m['mae']:>8.4f}{m['r2']:>8.3f}  "
                     f"{d['difference']:+.4f} ({d['low']:+.4f} to {d['high']:+.4f}) {d['verdict']}")
    lines += calibrate.summary(metrics)
    lines.append(f"out-of-fold RMSE {net['out_of_fold_rmse']:.4f}; training {metrics['training_seconds']:.0f} s, "
                 f"baselines {metrics['baseline_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = data.command("Train depreciation_model and its baselines.")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write model.keras, feature_spec.json, metrics.json")
    parser.add_argument("--members", type=int, default=FOLDS, help="fold members (K of K-fold)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--reuse-baselines", action="store_true",
                        help="refit the baselines with the hyperparameters in --out's metrics.json (same dataset only) "
                             "instead of searching them again")
    parser.add_argument("--recalibrate", action="store_true",
                        help="only refit the price ranges from the committed members (python -m convert.calibrate)")
    parser.add_argument("--compare-brands", action="store_true",
                        help="only compare the brand encodings by out-of-fold RMSE (python -m convert.brands)")
    args = parser.parse_args(argv)
    try:
        if args.recalibrate:
            print(table(calibrate.recalibrate(args.data, args.out)))
        elif args.compare_brands:
            print(json.dumps(brands.compare_brands(args.data, epochs=args.epochs), indent=1))
        else:
            train(args.data, args.out, args.members, args.epochs, reuse_baselines=args.reuse_baselines)
    except data.DataError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
