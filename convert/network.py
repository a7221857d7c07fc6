"""The network: a fold member's architecture with its monotone branch, how a member is fitted,
and the K fold members over the training rows (their out-of-fold predictions).

Deterministic: fixed seeds, TensorFlow's deterministic ops on one thread, so a refit repeats.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from fn.record import encoding

TEST_SIZE, SPLIT_SEED = 0.2, 42
FOLDS = 10  # members: each fits FOLDS - 1 folds; its own fold's errors calibrate the ranges (CV+)
VALIDATION_SIZE = 0.1  # of a member's rows, for its early stopping (never its out-of-fold rows)
HIDDEN = (64, 32)
MONOTONE_UNITS = 16  # hinges of each kind (rising and saturating) in the monotone branch
DROPOUT = 0.1
L2 = 1e-4
LEARNING_RATE = 1e-3
BATCH = 32
EPOCHS = 400
PATIENCE = 40  # early stopping on validation loss
LR_PATIENCE = 15  # halve the learning rate after this many epochs without progress
# The age of a device, constrained whatever the data says: the price never rises with days_used
# and never falls as release_year rises (-1: non-increasing, +1: non-decreasing).
AGE = {"days_used": -1, "release_year": 1}


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


def deterministic(threads: int = 1) -> None:
    """Same seeds, same model: TensorFlow's deterministic kernels on a fixed number of threads."""
    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    except RuntimeError:  # already initialised in this process: the setting stands as it was
        pass


def column(field: str, columns: list[str]) -> int:
    """The input column a field is encoded in (a logged number's is log1p(field))."""
    return columns.index(field) if field in columns else columns.index(f"log1p({field})")


def build_model(columns: list[str], y_mean: float, monotone: dict[str, int] | None = None,
                name: str = "depreciation_model") -> Any:
    """A member: a free MLP over the columns of the unconstrained fields, plus a monotone branch.

    `monotone` maps a field to +1 (the price never falls as it rises) or -1 (never rises); AGE by
    default. The branch takes those columns, each times its sign (s), and the others (rest):
        sum_k w_k relu(A_k . s + B_k . rest + c_k) - sum_k v_k relu(-(D_k . s + E_k . rest + e_k))
    with A, D, w, v >= 0 (Keras NonNeg constraints, kept after every step). Each rising hinge can
    only grow and each saturating hinge only shrink toward 0 as any s rises, so the member's output
    never falls with s, for any input; the first kind bends the response up, the second down, and
    where each bends depends on the device (rest). The constrained fields enter nowhere else.
    Builtin TFLite ops only (slices, CONCATENATION, FULLY_CONNECTED, ADD, SUB, MUL, RELU)."""
    import keras

    monotone = AGE if monotone is None else monotone
    signs = {column(f, columns): s for f, s in monotone.items()}
    reg = keras.regularizers.l2(L2)
    inputs = keras.Input(shape=(len(columns),), name="features")

    def take(indices: list[int], label: str) -> Any:
        # a non-increasing field enters as minus itself (-days_used): the branch rises as it falls
        runs: list[list[int]] = []  # contiguous columns in one slice
        for i in indices:
            if runs and runs[-1][-1] == i - 1 and signs.get(i, 1) == signs.get(runs[-1][-1], 1) == 1:
                runs[-1].append(i)
            else:
                runs.append([i])
        parts = [keras.layers.Rescaling(-1.0, name=f"minus_column_{r[0]}")(inputs[:, r[0]:r[0] + 1])
                 if signs.get(r[0]) == -1 else inputs[:, r[0]:r[-1] + 1] for r in runs]
        return parts[0] if len(parts) == 1 else keras.layers.Concatenate(name=label)(parts)

    rest = take([i for i in range(len(columns)) if i not in signs], "other_columns")
    signed = take(sorted(signs), "monotone_columns")
    h = rest
    for width in HIDDEN:
        h = keras.layers.Dropout(DROPOUT)(keras.layers.Dense(width, activation="relu", kernel_regularizer=reg)(h))
    # Starting the output at the target's mean spares the first epochs walking there.
    free = keras.layers.Dense(1, bias_initializer=keras.initializers.Constant(y_mean), name="free")(h)

    def hinges(kind: str) -> Any:
        return keras.layers.Add(name=f"{kind}_hinges")([
            keras.layers.Dense(MONOTONE_UNITS, use_bias=False, kernel_constraint=keras.constraints.NonNeg(),
                               kernel_initializer=keras.initializers.RandomUniform(0.0, 0.5),
                               name=f"{kind}_slope")(signed),
            keras.layers.Dense(MONOTONE_UNITS, kernel_regularizer=reg, name=f"{kind}_shift")(rest)])

    def weigh(kind: str, z: Any) -> Any:
        return keras.layers.Dense(1, use_bias=False, kernel_constraint=keras.constraints.NonNeg(),
                                  kernel_initializer=keras.initializers.RandomUniform(0.0, 0.1),
                                  name=f"{kind}_weight")(keras.layers.Activation("relu")(z))

    rising = weigh("rising", hinges("rising"))
    saturating = weigh("saturating", keras.layers.Rescaling(-1.0, name="saturating_flip")(hinges("saturating")))
    price = keras.layers.Subtract(name="normalized_used_price")([keras.layers.Add()([free, rising]), saturating])
    model = keras.Model(inputs, price, name=name)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    return model


def train_network(x: np.ndarray, y: np.ndarray, columns: list[str], fit: np.ndarray, val: np.ndarray, seed: int,
                  epochs: int, bar: Any = None, monotone: dict[str, int] | None = None,
                  patience: int = PATIENCE) -> Any:
    """Fit on the rows `fit`, stopping early on the rows `val` (both training rows)."""
    import keras

    keras.utils.set_random_seed(seed)
    model = build_model(columns, float(y[fit].mean()), monotone, name=f"depreciation_model_fold{seed}")

    class Progress(keras.callbacks.Callback):
        def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
            if bar is not None:
                bar.update(1)
                bar.set_postfix(member=seed, val_rmse=f"{np.sqrt((logs or {}).get('val_loss', np.nan)):.4f}")

    callbacks = [
        keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True),
        keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=min(LR_PATIENCE, patience), min_lr=1e-5),
        Progress(),
    ]
    history = model.fit(x[fit], y[fit], validation_data=(x[val], y[val]), epochs=epochs,
                        batch_size=BATCH, verbose=0, callbacks=callbacks)
    if bar is not None:  # early stopping leaves part of this member's budget unused
        bar.update(epochs - len(history.history["loss"]))
    return model


def member(x: np.ndarray, y: np.ndarray, columns: list[str], rows: np.ndarray, fold: np.ndarray, i: int,
           epochs: int, bar: Any = None, monotone: dict[str, int] | None = None, patience: int = PATIENCE) -> Any:
    """Member i: fits every fold of `rows` but fold i, stopping early on VALIDATION_SIZE of them."""
    from sklearn.model_selection import train_test_split

    fit, val = train_test_split(rows[fold != i], test_size=VALIDATION_SIZE, random_state=i)
    return train_network(x, y, columns, fit, val, i, epochs, bar, monotone, patience)


def cross_fit(x: np.ndarray, y: np.ndarray, columns: list[str], rows: np.ndarray, k: int = FOLDS,
              epochs: int = EPOCHS, quiet: bool = False,
              monotone: dict[str, int] | None = None) -> tuple[list[Any], np.ndarray, np.ndarray]:
    """K members over the training rows `rows`: member i fits every fold but fold i and predicts
    fold i. Returns the members, each row's fold and its out-of-fold prediction: the errors no
    member saw, which calibrate the ranges and choose among designs without touching a test row."""
    from tqdm import tqdm

    fold = folds(rows, k)
    members, oof = [], np.empty(len(rows))
    with tqdm(total=k * epochs, desc="training", unit="epoch", disable=quiet, file=sys.stderr) as bar:
        for i in range(k):
            members.append(member(x, y, columns, rows, fold, i, epochs, bar, monotone))
            oof[fold == i] = members[-1].predict_on_batch(x[rows[fold == i]]).reshape(-1)
    return members, fold, oof


def ensemble(members: list[Any]) -> Any:
    """One Keras model whose output is every member's prediction, (n, K): the served price is
    their mean (fn/model/tflite.py), the ranges use each (CV+, fn/model/intervals.py); one .tflite."""
    import keras

    inputs = keras.Input(shape=members[0].input_shape[1:], name="features")
    outputs = keras.layers.Concatenate(name="members")([m(inputs) for m in members])
    return keras.Model(inputs, outputs, name="depreciation_model")


def encoded(records: list[dict[str, Any]], train_idx: np.ndarray,
            brand: str) -> tuple[dict[str, Any], np.ndarray]:
    """The encoding fitted on the training rows, and every row encoded with it."""
    spec = encoding.fit_spec([records[i] for i in train_idx], brand)
    return spec, encoding.encode(spec, records)[0]
