"""Train depreciation_model, the Keras network, and score it against tuned baselines.

    python -m convert.train [--data CSV] [--out model/] [--members 10] [--compare-brands]

The test rows of the fixed split (test_size=0.2, random_state=42) are scored once at the end.
Every choice uses the training rows only: K fold members (each fits K - 1 folds and stops early
on a share of them), their out-of-fold errors (the price ranges, the brand encoding), and the
baselines' hyperparameters (CV on the training rows, convert/baselines.py). Deterministic: fixed
seeds, TensorFlow's deterministic ops on one thread, so a retrain repeats the model.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from convert import baselines, data
from fn.model import expected_error as expected
from fn.model import intervals
from fn.record import encoding

# Configuration as plain values (measured on this data: see README "Model").
TEST_SIZE, SPLIT_SEED = 0.2, 42
FOLDS = 10  # members: each fits FOLDS - 1 folds; its own fold's errors calibrate the ranges (CV+)
VALIDATION_SIZE = 0.1  # of a member's rows, for its early stopping (never its out-of-fold rows)
HIDDEN = (64, 32)
MONOTONE_UNITS = 16  # hinges of the days_used branch
DROPOUT = 0.1
L2 = 1e-4
LEARNING_RATE = 1e-3
BATCH = 32
EPOCHS = 400
PATIENCE = 40  # early stopping on validation loss
LR_PATIENCE = 15  # halve the learning rate after this many epochs without progress
# Chosen by out-of-fold RMSE on the training rows (python -m convert.train --compare-brands,
# docs/bench/brand_choice.json): see README "Model".
BRAND_ENCODING = "dropped"
MONOTONE = "days_used"  # the price never rises with it (see build_model)
GROUP_BY = "release_year"  # the Mondrian groups of the price ranges (fn/model/intervals.py)
SCALE_ALPHA = 1e-4  # the L2 penalty of the ranges' expected-error regression (expected_error)

OUT = Path(__file__).resolve().parent.parent / "model"
BRAND_CHOICE = OUT.parent / "docs" / "bench" / "brand_choice.json"


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(n), test_size=TEST_SIZE, random_state=SPLIT_SEED)


def folds(rows: np.ndarray, k: int = FOLDS) -> np.ndarray:
    """Each of `rows` gets a fold 0..k-1 (shuffled with a fixed seed)."""
    from sklearn.model_selection import KFold

    fold = np.empty(len(rows), dtype=np.int64)
    for i, (_, held) in enumerate(KFold(k, shuffle=True, random_state=SPLIT_SEED).split(rows)):
        fold[held] = i
    return fold


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    err = np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    rmse = float(np.sqrt(np.mean(err**2)))
    mae = float(np.mean(np.abs(err)))
    r2 = float(1 - np.sum(err**2) / np.sum((y - np.mean(y)) ** 2))
    return {"rmse": rmse, "mae": mae, "r2": r2}


def deterministic(threads: int = 1) -> None:
    """Same seeds, same model: TensorFlow's deterministic kernels on a fixed number of threads."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process: the setting stands as it was
        pass


def build_model(columns: list[str], y_mean: float, name: str = "depreciation_model") -> Any:
    """A member: a free MLP over every column but days_used, plus a monotone branch.

    The branch is relu(a * (-days_used) + B @ rest + c) summed with weights w, where a >= 0 and
    w >= 0 (Keras NonNeg constraints, kept after every step): each hinge can only rise as
    days_used falls, so the member's output never rises with days_used, for any input, while
    the hinges' positions still depend on the device (how it depreciates). release_year and the
    rest enter freely. Builtin TFLite ops only (slices, FULLY_CONNECTED, ADD, MUL, RELU)."""
    import keras

    at = columns.index(MONOTONE)
    reg = keras.regularizers.l2(L2)
    inputs = keras.Input(shape=(len(columns),), name="features")
    rest = keras.layers.Concatenate(name="other_columns")([inputs[:, :at], inputs[:, at + 1:]])
    used = keras.layers.Rescaling(-1.0, name="minus_days_used")(inputs[:, at:at + 1])
    h = rest
    for width in HIDDEN:
        h = keras.layers.Dropout(DROPOUT)(keras.layers.Dense(width, activation="relu", kernel_regularizer=reg)(h))
    # Starting the output at the target's mean spares the first epochs walking there.
    free = keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(y_mean), name="free")(h)
    hinges = keras.layers.Add()([
        keras.layers.Dense(MONOTONE_UNITS, use_bias=False, kernel_constraint=keras.constraints.NonNeg(),
                           kernel_initializer=keras.initializers.RandomUniform(0.0, 0.5), name="days_slope")(used),
        keras.layers.Dense(MONOTONE_UNITS, kernel_regularizer=reg, name="days_shift")(rest)])
    hinges = keras.layers.Activation("relu")(hinges)
    wear = keras.layers.Dense(1, use_bias=False, kernel_constraint=keras.constraints.NonNeg(),
                              kernel_initializer=keras.initializers.RandomUniform(0.0, 0.1), name="wear")(hinges)
    model = keras.Model(inputs, keras.layers.Add(name="normalized_used_price")([free, wear]), name=name)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    return model


def train_network(x: np.ndarray, y: np.ndarray, columns: list[str], fit: np.ndarray, val: np.ndarray, seed: int,
                  epochs: int, bar: Any = None) -> Any:
    """Fit on the rows `fit`, stopping early on the rows `val` (both training rows)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(columns, float(y[fit].mean()), name=f"depreciation_model_fold{seed}")

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if bar is not None:
                bar.update(1)
                bar.set_postfix(member=seed, val_rmse=f"{np.sqrt((logs or {}).get('val_loss', np.nan)):.4f}")

    callbacks = [
        keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=LR_PATIENCE, min_lr=1e-5),
        Progress(),
    ]
    history = model.fit(x[fit], y[fit], validation_data=(x[val], y[val]), epochs=epochs,
                        batch_size=BATCH, verbose=0, callbacks=callbacks)
    if bar is not None:  # early stopping leaves part of this member's budget unused
        bar.update(epochs - len(history.history["loss"]))
    return model


def cross_fit(x: np.ndarray, y: np.ndarray, columns: list[str], rows: np.ndarray, k: int = FOLDS,
              epochs: int = EPOCHS, quiet: bool = False) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """K members over the training rows `rows`: member i fits every fold but fold i (stopping
    early on VALIDATION_SIZE of those rows) and predicts fold i. Returns the members, each
    row's fold and its out-of-fold prediction: the errors no member saw, which calibrate the
    ranges and choose among designs without touching a test row."""
    from sklearn.model_selection import train_test_split
    from tqdm import tqdm

    fold = folds(rows, k)
    members, oof = [], np.empty(len(rows))
    with tqdm(total=k * epochs, desc="training", unit="epoch", disable=quiet, file=sys.stderr) as bar:
        for i in range(k):
            fit, val = train_test_split(rows[fold != i], test_size=VALIDATION_SIZE, random_state=i)
            members.append(train_network(x, y, columns, fit, val, i, epochs, bar))
            oof[fold == i] = members[-1].predict_on_batch(x[rows[fold == i]]).reshape(-1)
    return members, fold, oof


def ensemble(members: list[Any]) -> Any:
    """One Keras model whose output is every member's prediction, (n, K): the served price is
    their mean (fn/model/tflite.py), the ranges use each (CV+, fn/model/intervals.py); one .tflite."""
    import keras

    inputs = keras.Input(shape=members[0].input_shape[1:], name="features")
    outputs = keras.layers.Concatenate(name="members")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name="depreciation_model")


def compare_brands(data_path: str | None = None, out: Path = BRAND_CHOICE, epochs: int = EPOCHS) -> dict[str, Any]:
    """Out-of-fold RMSE on the training rows of each brand encoding (no test row is read)."""
    deterministic()
    path = data.find_data(data_path)
    records, targets = data.load(path)
    y = np.asarray(targets)
    train_idx, _ = split(len(records))
    result: dict[str, Any] = {"folds": FOLDS, "train_rows": len(train_idx), "out_of_fold_rmse": {}}
    for brand in encoding.BRAND_ENCODINGS:
        spec = encoding.fit_spec([records[i] for i in train_idx], brand)
        x, _ = encoding.encode(spec, records)
        _, _, oof = cross_fit(x, y, spec["columns"], train_idx, epochs=epochs)
        result["out_of_fold_rmse"][brand] = scores(y[train_idx], oof)["rmse"]
        print(f"{brand}: out-of-fold RMSE {result['out_of_fold_rmse'][brand]:.4f}", flush=True)
    result["chosen"] = min(result["out_of_fold_rmse"], key=result["out_of_fold_rmse"].get)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return result


def versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "scikit-learn": sklearn.__version__}


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


def train(data_path: str | None = None, out: Path = OUT, members: int = FOLDS, epochs: int = EPOCHS,
          quiet: bool = False, searches: int = baselines.SEARCHES) -> dict[str, Any]:
    deterministic()
    path = data.find_data(data_path)
    records, targets = data.load(path)
    y = np.asarray(targets)
    train_idx, test_idx = split(len(records))
    train_records = [records[i] for i in train_idx]
    spec = encoding.fit_spec(train_records, BRAND_ENCODING)
    spec["dataset_sha256"] = data.sha256(path)
    spec["versions"] = versions()
    x, _ = encoding.encode(spec, records)

    # Every training row is fitted by K - 1 members and calibrates the ranges through the one
    # that left it out (fn/model/intervals.py); the test rows are scored once, here, at the end.
    started = time.time()
    fold_members, fold, _ = cross_fit(x, y, spec["columns"], train_idx, members, epochs, quiet)
    seconds = round(time.time() - started, 1)
    model = ensemble(fold_members)
    every = np.asarray(model.predict_on_batch(x), dtype=np.float64)
    on_test = every[test_idx]
    predicted, y_test = on_test.mean(axis=1), y[test_idx]
    ranges, scored, trained = calibrate(every, y, fold, train_idx, test_idx, records)

    # The baselines see brands as one-hot columns (trees pick what helps) and the same rows.
    base_spec = encoding.fit_spec(train_records, "one_hot")
    xb, _ = encoding.encode(base_spec, records)
    started = time.time()
    tuned = baselines.tuned(xb[train_idx], y[train_idx], xb[test_idx], searches)
    baseline_seconds = round(time.time() - started, 1)
    member_rmse = np.array([scores(y_test, on_test[:, k])["rmse"] for k in range(members)])
    choice = json.loads(BRAND_CHOICE.read_text()) if BRAND_CHOICE.exists() else None
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
        "split": {"test_size": TEST_SIZE, "random_state": SPLIT_SEED, "train_rows": len(train_idx),
                  "test_rows": len(test_idx), "calibration_rows": len(train_idx), "folds": members,
                  "validation_share_per_member": VALIDATION_SIZE},
        "encoding": {"brand": BRAND_ENCODING, "brand_choice": choice, "one_hots": "0/1, not standardised",
                     "monotone": f"the price never rises with {MONOTONE} (a non-negative branch)"},
        "dataset_sha256": spec["dataset_sha256"],
        "training_seconds": seconds,
        "baseline_seconds": baseline_seconds,
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "hyperparameters": {"hidden": list(HIDDEN), "monotone_units": MONOTONE_UNITS, "dropout": DROPOUT, "l2": L2,
                            "learning_rate": LEARNING_RATE, "batch": BATCH, "epochs": epochs, "patience": PATIENCE,
                            "lr_patience": LR_PATIENCE, "threads": 1},
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    (out / "feature_spec.json").write_text(json.dumps(spec, indent=1) + "\n")
    (out / intervals.FILE).write_text(json.dumps(ranges, indent=1) + "\n")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1) + "\n")
    if not quiet:
        print(table(metrics))
    return metrics


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
    lines += [f"{float(level):.0%} price range: coverage {m['coverage']:.1%}, mean width {m['mean_relative_width']:.0%} "
              "of the price; groups " + ", ".join(f"{g} {v['coverage']:.0%}" for g, v in m["groups"].items())
              for level, m in metrics["intervals"].items()]
    lines.append(f"out-of-fold RMSE {net['out_of_fold_rmse']:.4f}; training {metrics['training_seconds']:.0f} s, "
                 f"baselines {metrics['baseline_seconds']:.0f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train depreciation_model and its baselines.")
    parser.add_argument("--data", help="the CSV (default: $DEVICE_PRICE_DATA, else ../shared/data/used_device_data.csv)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write model.keras, feature_spec.json, metrics.json")
    parser.add_argument("--members", type=int, default=FOLDS, help="fold members (K of K-fold)")
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--recalibrate", action="store_true",
                        help="only refit the price ranges from the committed members (no retraining)")
    parser.add_argument("--compare-brands", action="store_true",
                        help=f"only compare the brand encodings by out-of-fold RMSE (writes {BRAND_CHOICE.name})")
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if args.recalibrate:
            print(table(recalibrate(args.data, args.out)))
        elif args.compare_brands:
            print(json.dumps(compare_brands(args.data, epochs=args.epochs), indent=1))
        else:
            train(args.data, args.out, args.members, args.epochs)
    except data.DataError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
