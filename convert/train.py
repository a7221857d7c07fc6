"""Train depreciation_model, the Keras network, and score it against two baselines.

    python -m convert.train [--data CSV] [--out model/] [--seeds 5]

The test rows of the fixed split (test_size=0.2, random_state=42) are scored once at
the end; early stopping, the learning-rate schedule and the choice among seeds use a
validation split carved from the training rows only.
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

from convert import data
from fn.model import intervals
from fn.record import features

# Configuration as plain values (measured on this data: see docs/model.md).
TEST_SIZE, SPLIT_SEED = 0.2, 42
VALIDATION_SIZE = 0.15  # of the rows a member fits
CALIBRATION_SIZE = 0.15  # of the training rows, held out of every member for the price ranges
HIDDEN = (64, 32)
DROPOUT = 0.1
L2 = 1e-4
LEARNING_RATE = 1e-3
BATCH = 32
EPOCHS = 400
PATIENCE = 40  # early stopping on validation loss
LR_PATIENCE = 15  # halve the learning rate after this many epochs without progress
SEEDS = 5

OUT = Path(__file__).resolve().parent.parent / "model"


def split(n: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.model_selection import train_test_split

    return train_test_split(np.arange(n), test_size=TEST_SIZE, random_state=SPLIT_SEED)


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    err = np.asarray(p, dtype=np.float64) - np.asarray(y, dtype=np.float64)
    rmse = float(np.sqrt(np.mean(err**2)))
    mae = float(np.mean(np.abs(err)))
    r2 = float(1 - np.sum(err**2) / np.sum((y - np.mean(y)) ** 2))
    return {"rmse": rmse, "mae": mae, "r2": r2}


def build_model(n_inputs: int, y_mean: float, name: str = "depreciation_model") -> Any:
    import keras

    reg = keras.regularizers.l2(L2)
    layers = [keras.Input(shape=(n_inputs,), name="features")]
    for width in HIDDEN:
        layers += [keras.layers.Dense(width, activation="relu", kernel_regularizer=reg), keras.layers.Dropout(DROPOUT)]
    # Starting the output at the target's mean spares the first epochs walking there.
    layers.append(keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(y_mean), name="normalized_used_price"))
    model = keras.Sequential(layers, name=name)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    return model


def train_network(x: np.ndarray, y: np.ndarray, fit: np.ndarray, val: np.ndarray, seed: int, epochs: int,
                  bar: Any = None) -> Any:
    """Fit on the rows `fit`, stopping early on the rows `val` (both training rows)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(x.shape[1], float(y[fit].mean()), name=f"depreciation_model_seed{seed}")

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if bar is not None:
                bar.update(1)
                bar.set_postfix(seed=seed, val_rmse=f"{np.sqrt((logs or {}).get('val_loss', np.nan)):.4f}")

    callbacks = [
        keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=LR_PATIENCE, min_lr=1e-5),
        Progress(),
    ]
    history = model.fit(x[fit], y[fit], validation_data=(x[val], y[val]), epochs=epochs,
                        batch_size=BATCH, verbose=0, callbacks=callbacks)
    if bar is not None:  # early stopping leaves part of this seed's budget unused
        bar.update(epochs - len(history.history["loss"]))
    return model


def average(models: list[Any]) -> Any:
    """One Keras model whose output is the mean of the members' (converts to one .tflite)."""
    import keras

    inputs = keras.Input(shape=models[0].input_shape[1:], name="features")
    outputs = keras.layers.Average(name="normalized_used_price")([m(inputs) for m in models])
    return keras.Model(inputs, outputs, name="depreciation_model")


def baselines(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray) -> dict[str, dict]:
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression

    out = {}
    for name, model in (("linear_regression", LinearRegression()),
                        ("hist_gradient_boosting", HistGradientBoostingRegressor(random_state=0))):
        model.fit(x_train, y_train)
        out[name] = scores(y_test, model.predict(x_test))
    return out


def versions() -> dict[str, str]:
    import keras
    import sklearn
    import tensorflow as tf

    return {"python": platform.python_version(), "numpy": np.__version__, "tensorflow": tf.__version__,
            "keras": keras.__version__, "scikit-learn": sklearn.__version__}


def train(data_path: str | None = None, out: Path = OUT, seeds: int = SEEDS, epochs: int = EPOCHS,
          quiet: bool = False) -> dict[str, Any]:
    from sklearn.model_selection import train_test_split
    from tqdm import tqdm

    path = data.find_data(data_path)
    records, targets = data.load(path)
    y = np.asarray(targets)
    train_idx, test_idx = split(len(records))
    spec = features.fit_spec([records[i] for i in train_idx])
    spec["dataset_sha256"] = data.sha256(path)
    spec["versions"] = versions()
    x, _ = features.encode(spec, records)

    def predict(model: Any, rows: np.ndarray) -> np.ndarray:
        return model.predict_on_batch(x[rows]).reshape(-1)

    # Calibration rows are training rows no member sees: the price ranges (fn/intervals.py) are
    # fitted on them, and the test rows only score those ranges.
    fit_idx, calibration_idx = train_test_split(train_idx, test_size=CALIBRATION_SIZE, random_state=SPLIT_SEED)
    # Each seed also draws its own validation rows from the training rows (bagging): the
    # members then differ in data as well as in initialisation, and their average, the
    # committed network, has seen every fitting row. The test rows are scored once, here.
    started = time.time()
    members, val_rmse = [], []
    with tqdm(total=seeds * epochs, desc="training", unit="epoch", disable=quiet, file=sys.stderr) as bar:
        for seed in range(seeds):
            fit, val = train_test_split(fit_idx, test_size=VALIDATION_SIZE, random_state=seed)
            members.append(train_network(x, y, fit, val, seed, epochs, bar))
            val_rmse.append(scores(y[val], predict(members[-1], val))["rmse"])
    model = average(members) if seeds > 1 else members[0]
    ranges = intervals.fit(predict(model, calibration_idx), y[calibration_idx])
    rmses = np.array([scores(y[test_idx], predict(m, test_idx))["rmse"] for m in members])
    metrics = {
        "network": scores(y[test_idx], predict(model, test_idx)) | {"members": seeds},
        "network_seeds": {"rmse_mean": float(rmses.mean()), "rmse_sd": float(rmses.std(ddof=1)) if seeds > 1 else 0.0,
                          "n": seeds, "rmse": rmses.tolist(), "validation_rmse": val_rmse},
        **baselines(x[fit_idx], y[fit_idx], x[test_idx], y[test_idx]),
        "intervals": intervals.Intervals(ranges).score(predict(model, test_idx), y[test_idx]),
        "split": {"test_size": TEST_SIZE, "random_state": SPLIT_SEED, "train_rows": len(train_idx),
                  "test_rows": len(test_idx), "calibration_rows": len(calibration_idx),
                  "fit_rows": len(fit_idx), "validation_rows_per_seed": len(val)},
        "dataset_sha256": spec["dataset_sha256"],
        "training_seconds": round(time.time() - started, 1),
        "trained_at": datetime.now(UTC).strftime("%Y-%m-%d"),
        "hyperparameters": {"hidden": list(HIDDEN), "dropout": DROPOUT, "l2": L2, "learning_rate": LEARNING_RATE,
                            "batch": BATCH, "epochs": epochs, "patience": PATIENCE, "lr_patience": LR_PATIENCE},
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
    rows = [(f"network (average of {metrics['network']['members']})", metrics["network"]),
            ("linear regression", metrics["linear_regression"]),
            ("hist gradient boosting", metrics["hist_gradient_boosting"])]
    seeds = metrics["network_seeds"]
    lines = [f"test rows: {metrics['split']['test_rows']}", f"{'model':<30}{'RMSE':>8}{'MAE':>8}{'R2':>8}"]
    lines += [f"{name:<30}{m['rmse']:>8.4f}{m['mae']:>8.4f}{m['r2']:>8.3f}" for name, m in rows]
    lines += [f"{float(level):.0%} price range: coverage {m['coverage']:.1%}, mean width {m['mean_relative_width']:.0%} "
              "of the price" for level, m in metrics["intervals"].items()]
    lines.append(f"network over {seeds['n']} seeds: RMSE {seeds['rmse_mean']:.4f} ± {seeds['rmse_sd']:.4f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Train depreciation_model and its baselines.")
    parser.add_argument("--data", help="the CSV (default: $DEVICE_PRICE_DATA, else ../shared/data/used_device_data.csv)")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write model.keras, feature_spec.json, metrics.json")
    parser.add_argument("--seeds", type=int, default=SEEDS)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        train(args.data, args.out, args.seeds, args.epochs)
    except data.DataError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
