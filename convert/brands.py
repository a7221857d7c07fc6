"""How device_brand enters the network, chosen by out-of-fold RMSE on the training rows.

    python -m convert.brands [--data CSV] [--epochs N]

(also `python -m convert.train --compare-brands`). Each encoding of fn.record.encoding.BRAND_ENCODINGS
trains the K fold members over the training rows (no test row is read); the one with the lower
out-of-fold RMSE is chosen. Writes docs/bench/brand_choice.json; convert/train.py's
BRAND_ENCODING states the result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from convert import baselines, data, network
from fn.record import encoding

BRAND_CHOICE = Path(__file__).resolve().parent.parent / "docs" / "bench" / "brand_choice.json"


def compare_brands(data_path: str | None = None, out: Path = BRAND_CHOICE,
                   epochs: int = network.EPOCHS) -> dict[str, Any]:
    """Out-of-fold RMSE on the training rows of each brand encoding (no test row is read)."""
    network.deterministic()
    records, targets = data.load(data.find_data(data_path))
    y = np.asarray(targets)
    train_idx, _ = network.split(len(records))
    result: dict[str, Any] = {"folds": network.FOLDS, "train_rows": len(train_idx), "out_of_fold_rmse": {}}
    for brand in encoding.BRAND_ENCODINGS:
        spec, x = network.encoded(records, train_idx, brand)
        _, _, oof = network.cross_fit(x, y, spec["columns"], train_idx, epochs=epochs)
        result["out_of_fold_rmse"][brand] = baselines.scores(y[train_idx], oof)["rmse"]
        print(f"{brand}: out-of-fold RMSE {result['out_of_fold_rmse'][brand]:.4f}", flush=True)
    result["chosen"] = min(result["out_of_fold_rmse"], key=result["out_of_fold_rmse"].get)
    data.write_json(out, result)
    return result


def main(argv: list[str] | None = None) -> None:
    parser = data.command("Compare the brand encodings by out-of-fold RMSE.")
    parser.add_argument("--epochs", type=int, default=network.EPOCHS)
    args = parser.parse_args(argv)
    try:
        print(json.dumps(compare_brands(args.data, epochs=args.epochs), indent=1))
    except data.DataError as e:
        sys.exit(f"error: {e}")


if __name__ == "__main__":
    main()
