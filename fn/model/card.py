"""The model card (GET /model): what the model is, how well it does, and where it stops knowing.

Every figure comes from the committed model files (metrics.json, written by training;
manifest.json, written by conversion; feature_spec.json): nothing here is typed by hand.
"""

from __future__ import annotations

import math
from typing import Any

from fn.model.interface import Model
from fn.record.fields import CURRENCY


def known_limits(spec: dict[str, Any], metrics: dict[str, Any]) -> list[str]:
    span = spec["training_range"]
    years, days = span["release_year"], span["days_used"]
    new = [math.exp(v) for v in span["normalized_new_price"]]
    rmse = metrics["network"]["rmse"]
    choice = metrics["encoding"]["constraint_choice"]
    free = [f for f, c in choice["fields"].items() if c["chosen"] == "free"] if choice else []
    return [
        f"It learnt from {metrics['split']['train_rows']} devices released {years[0]:.0f}-{years[1]:.0f}, used "
        f"{days[0]:.0f}-{days[1]:.0f} days, new prices {new[0]:.2f}-{new[1]:.2f}: beyond these it extrapolates "
        "(answers then carry an outside_training_range warning).",
        f"{len(spec['brands']) - 1} brands and {len(spec['os']) - 1} systems are known; any other is priced as "
        "'Others'.",
        f"Its typical error is a factor of about {math.exp(rmse):.2f} either way (test RMSE {rmse:.3f} on the log "
        "scale); the price ranges, not the point price, say how sure it is.",
        f"Prices are in {CURRENCY}; one dataset of one market, with no devices newer than "
        f"{years[1]:.0f}.",
        "The ranges hold on average over devices like the training data, and within each group by os, 4g, 5g, "
        "release year and price tercile out of fold on the training rows (price_ranges.training_rows_out_of_fold); "
        "a group of few test rows strays further by chance (each coverage carries its 95% interval, coverage_95). "
        "They promise nothing for one device; a device unlike the training data (see the warnings) may fall outside "
        "more often.",
        "used_price is a median-type estimate (exp of the predicted log price): on the test rows the mean of the "
        f"predicted prices is {-metrics['network']['mean_price_bias']:.1%} below the mean real price.",
        f"By construction {metrics['encoding']['monotone']}." + (
            f" {', '.join(free)} enter freely (chosen by out-of-fold RMSE on the training rows): at the same new "
            "price a higher value may price a little lower, as the data says." if free else ""),
    ]


def card(model: Model) -> dict[str, Any]:
    metrics, spec, manifest = model.metrics, model.spec, model.manifest
    return {
        "model_version": model.version,
        "task": "the used price of a phone or tablet from its specifications (regression on the log price)",
        "network": f"mean of {metrics['network']['members']} Keras fold members (hidden layers "
                   f"{metrics['hyperparameters']['hidden']} and a monotone branch over "
                   f"{', '.join(metrics['encoding']['monotone_fields'])}; device_brand "
                   f"{metrics['encoding']['brand']}), served as TensorFlow Lite",
        "trained_at": metrics.get("trained_at"),
        "dataset_sha256": metrics["dataset_sha256"],
        "rows": metrics["split"],
        # the baselines are tuned by CV on the training rows; each carries the network's paired
        # bootstrap difference to it
        "test_scores": {"scale": "normalized_used_price (natural log)", "network": metrics["network"],
                        "baselines": metrics["baselines"]},
        "price_ranges": {"method": model.intervals.method, "levels": list(model.intervals.levels),
                         "test_rows": metrics["intervals"],
                         # the same tally on the training rows, each fold ranged by the others (convert/train.py)
                         "training_rows_out_of_fold": metrics["intervals_out_of_fold"]},
        "tflite_vs_keras": manifest.get("parity"),
        "training_range": spec["training_range"],
        "currency": CURRENCY,
        "known_limits": known_limits(spec, metrics),
    }
