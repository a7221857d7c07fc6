"""Which spec fields the price is constrained to never fall with: chosen by out-of-fold RMSE on
the training rows, no test row read.

    python -m convert.constraints [--data CSV] [--shard I/N]

The age fields are constrained whatever the figures (network.AGE). For each of SPECS, the
network with the age constraints alone ("free") is compared with the same network also
non-decreasing in that field, by out-of-fold RMSE over the training rows, on the same folds with
the same member seeds (a paired comparison). A field is constrained unless leaving it free scores
lower by more than chance: unless the paired bootstrap interval of the difference (constrained -
free, baselines.rmse_difference over the training rows) lies above 0. A constraint is what a seller
can trust; the data has to show that it costs. The chosen fields are then fitted together too
(their joint cost). Writes docs/bench/constraint_choice.json; convert/train.py's SPEC_MONOTONE states the result.

The protocol is cheaper than training's, to fit a shared 2-core machine: CHOICE_FOLDS folds
rather than 10 and at most CHOICE_EPOCHS epochs with patience CHOICE_PATIENCE (stated in the JSON
and docs/model.md). Each fold's out-of-fold predictions are cached under build/constraint_folds/,
keyed by everything they depend on (the dataset, the configuration, the protocol and the network's
source), so a rerun recomputes only what changed; --shard I/N lets N processes share the fits.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from convert import baselines, data, network

SPECS = ("ram", "internal_memory", "rear_camera_mp", "front_camera_mp", "battery", "4g", "5g")
CHOICE_FOLDS = 4
CHOICE_EPOCHS = 60
CHOICE_PATIENCE = 10
ROOT = Path(__file__).resolve().parent.parent
CHOICE = ROOT / "docs" / "bench" / "constraint_choice.json"
CACHE = ROOT / "build" / "constraint_folds"


def configurations() -> dict[str, dict[str, int]]:
    """name -> the monotone fields: "free" (the age alone), and each spec field added to it."""
    return {"free": dict(network.AGE)} | {field: network.AGE | {field: 1} for field in SPECS}


def protocol() -> dict[str, Any]:
    return {"folds": CHOICE_FOLDS, "max_epochs": CHOICE_EPOCHS, "patience": CHOICE_PATIENCE,
            "validation_share_per_member": network.VALIDATION_SIZE, "brand": BRAND}


BRAND = "dropped"  # as training's BRAND_ENCODING (docs/bench/brand_choice.json)


def cache_key(dataset: str, monotone: dict[str, int], fold: int) -> str:
    """What a fold's predictions depend on: the data, the configuration, the protocol, and the
    network's code and hyperparameters."""
    code = "".join(inspect.getsource(f) for f in (network.build_model, network.train_network, network.member))
    settings = [network.HIDDEN, network.MONOTONE_UNITS, network.DROPOUT, network.L2, network.LEARNING_RATE,
                network.BATCH, network.LR_PATIENCE, network.VALIDATION_SIZE]
    text = json.dumps([dataset, sorted(monotone.items()), fold, protocol(), settings, code], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def fold_predictions(x: np.ndarray, y: np.ndarray, columns: list[str], rows: np.ndarray, fold: np.ndarray,
                     i: int, monotone: dict[str, int], key: str) -> np.ndarray:
    """Fold i's out-of-fold predictions by the member that left it out, from the cache if there."""
    path = CACHE / f"{key}.npy"
    if path.exists():
        return np.load(path)
    model = network.member(x, y, columns, rows, fold, i, CHOICE_EPOCHS, monotone=monotone, patience=CHOICE_PATIENCE)
    predicted = np.asarray(model.predict_on_batch(x[rows[fold == i]]), dtype=np.float64).reshape(-1)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.save(path, predicted)
    return predicted


def compare(data_path: str | None = None, shard: tuple[int, int] = (0, 1), out: Path = CHOICE) -> dict[str, Any] | None:
    """Every configuration's out-of-fold RMSE and the choice; None when this shard has only
    filled its part of the cache (another shard still fits the rest)."""
    network.deterministic()
    path = data.find_data(data_path)
    records, targets = data.load(path)
    y = np.asarray(targets)
    train_idx, _ = network.split(len(records))
    spec, x = network.encoded(records, train_idx, BRAND)
    fold = network.folds(train_idx, CHOICE_FOLDS)
    dataset = data.sha256(path)
    jobs = [(name, monotone, i) for name, monotone in configurations().items() for i in range(CHOICE_FOLDS)]
    oof: dict[str, np.ndarray] = {name: np.empty(len(train_idx)) for name in configurations()}
    complete = True
    for n, (name, monotone, i) in enumerate(jobs):
        key = cache_key(dataset, monotone, i)
        if n % shard[1] != shard[0] and not (CACHE / f"{key}.npy").exists():
            complete = False  # another shard's fit
            continue
        oof[name][fold == i] = fold_predictions(x, y, spec["columns"], train_idx, fold, i, monotone, key)
        print(f"{name} fold {i}: done", file=sys.stderr, flush=True)
    if not complete:
        return None
    actual = y[train_idx]
    rmse = {name: baselines.scores(actual, p)["rmse"] for name, p in oof.items()}
    fields = {}
    for f in SPECS:
        cost = baselines.rmse_difference(actual, oof[f], oof["free"])  # paired: the same training rows resampled
        fields[f] = {"free": rmse["free"], "constrained": rmse[f], "difference": cost,
                     "chosen": "free" if cost["verdict"] == "worse" else "non-decreasing"}
    chosen = [f for f in SPECS if fields[f]["chosen"] == "non-decreasing"]
    # the chosen fields together, as training will build the network
    joint = network.AGE | dict.fromkeys(chosen, 1)
    together = np.empty(len(train_idx))
    for i in range(CHOICE_FOLDS):
        key = cache_key(dataset, joint, i)
        together[fold == i] = fold_predictions(x, y, spec["columns"], train_idx, fold, i, joint, key)
    result = {"protocol": protocol(), "train_rows": len(train_idx), "dataset_sha256": dataset,
              "age": network.AGE, "out_of_fold_rmse": rmse, "fields": fields, "constrained": chosen,
              "together": {"out_of_fold_rmse": baselines.scores(actual, together)["rmse"],
                           "minus_free": baselines.rmse_difference(actual, together, oof["free"])}}
    data.write_json(out, result)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = data.command("Choose the spec fields the price never falls with.")
    parser.add_argument("--shard", default="0/1", help="I/N: fit only every N-th fold fit, from the I-th")
    args = parser.parse_args(argv)
    i, n = (int(v) for v in args.shard.split("/"))
    try:
        result = compare(args.data, (i, n))
    except data.DataError as e:
        sys.exit(f"error: {e}")
    if result is None:
        print(f"shard {i}/{n} done; rerun without --shard once every shard is")
        return
    for field, r in result["fields"].items():
        d = r["difference"]
        print(f"{field:<16} free {r['free']:.4f}  non-decreasing {r['constrained']:.4f}  "
              f"({d['low']:+.4f} to {d['high']:+.4f})  -> {r['chosen']}")
    print(f"together: {result['together']['out_of_fold_rmse']:.4f}")


if __name__ == "__main__":
    main()
