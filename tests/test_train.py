"""Training and conversion end to end on generated rows (seconds), and the committed model's
quality on the real test rows (no retraining of the network)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from convert import baselines, calibrate, convert, data, network, synthetic, train
from fn.model import intervals
from fn.model.tflite import MODEL_DIR, Predictor
from fn.record import encoding, features

ROWS, MEMBERS = 300, 3  # generated rows the small model trains on, and its fold members
# scikit-learn's train_test_split holds out ceil(n * test_size) rows
TEST_ROWS = math.ceil(ROWS * network.TEST_SIZE)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    csv = synthetic.write_csv(out / "devices.csv", ROWS, seed=3)
    metrics = train.train(str(csv), out, members=MEMBERS, epochs=8, quiet=True, searches=2)
    return out, csv, metrics


def test_training_writes_model_spec_and_metrics(small_model):
    out, csv, metrics = small_model
    assert (out / "model.keras").exists()
    spec = json.loads((out / "feature_spec.json").read_text())
    assert spec["dataset_sha256"] == data.sha256(csv)
    assert spec["columns"] and len(spec["mean"]) == len(spec["columns"])
    assert set(spec["versions"]) >= {"tensorflow", "keras", "numpy"}
    assert set(metrics["baselines"]) >= {"linear_regression", "hist_gradient_boosting", "random_forest"}
    for scores in [metrics["network"], *metrics["baselines"].values()]:
        assert set(scores) >= {"rmse", "mae", "r2"} and np.isfinite(scores["rmse"])
    for scores in metrics["baselines"].values():
        d = scores["network_minus_baseline"]
        assert d["low"] <= d["high"] and d["verdict"] in ("better", "worse", "level")
        assert d["difference"] == pytest.approx(metrics["network"]["rmse"] - scores["rmse"])
    assert metrics["network_members"]["n"] == MEMBERS and len(metrics["network_members"]["rmse"]) == MEMBERS
    assert metrics["split"]["test_rows"] == TEST_ROWS and metrics["split"]["train_rows"] == ROWS - TEST_ROWS
    # every training row calibrates the ranges, out of its fold
    assert metrics["split"]["calibration_rows"] == ROWS - TEST_ROWS
    assert set(metrics["intervals"]) == {f"{level:g}" for level in intervals.LEVELS}
    # the out-of-fold coverage covers every training row; each coverage carries its 95% interval
    assert set(metrics["intervals_out_of_fold"]) == set(metrics["intervals"])
    for source, rows in (("intervals", TEST_ROWS), ("intervals_out_of_fold", ROWS - TEST_ROWS)):
        for level in metrics[source].values():
            assert level["rows"] == rows
            for m in [level, *level["groups"].values()]:
                assert m["coverage_95"][0] <= m["coverage"] <= m["coverage_95"][1]
    table = json.loads((out / "intervals.json").read_text())
    scale = table["expected_error"]
    assert len(scale["weights"]) == sum(len(v) for v in scale["values"].values()) + 2
    assert table["members"] == MEMBERS and sum(len(g["residual"]) for g in table["groups"]) == ROWS - TEST_ROWS
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))


def test_recalibrating_from_the_saved_members_reproduces_the_ranges(small_model):
    """Member k's predictions on fold k are the out-of-fold ones: the saved model alone gives the
    same table (python -m convert.calibrate, or convert.train --recalibrate)."""
    out, csv, metrics = small_model
    before = json.loads((out / "intervals.json").read_text())
    again = calibrate.recalibrate(str(csv), out)
    after = json.loads((out / "intervals.json").read_text())
    for old, new in zip(before["groups"], after["groups"], strict=True):
        assert old["fold"] == new["fold"] and np.allclose(old["residual"], new["residual"], atol=1e-6)
    assert again["intervals"]["0.9"]["coverage"] == pytest.approx(metrics["intervals"]["0.9"]["coverage"], abs=0.02)


def test_conversion_verifies_parity_in_the_slim_runtime(small_model, tmp_path):
    out, csv, _ = small_model
    report = convert.convert(out, "float32", str(csv), tmp_path / "report.json")
    assert report["passed"] and report["max_abs_diff"] <= 1e-5
    assert report["runtime"] == "tflite_runtime" and report["rows_checked"] == TEST_ROWS
    assert json.loads((tmp_path / "report.json").read_text())["tflite_bytes"] == (out / "model.tflite").stat().st_size
    manifest = json.loads((out / "manifest.json").read_text())
    assert Predictor(out).version == manifest["model_version"]


def test_float16_option_converts_and_loads(small_model, tmp_path):
    out, csv, _ = small_model
    report = convert.convert(out, "float16", str(csv), tmp_path / "report.json")
    assert report["passed"] and report["precision"] == "float16"
    convert.convert(out, "float32", str(csv), tmp_path / "report.json")  # leave the fixture as it was


def test_parity_check_fails_loudly_on_a_wrong_model(small_model, tmp_path, monkeypatch):
    """A converted file that does not compute what Keras does (like the weightless output of
    from_concrete_functions) must not pass."""
    out, csv, _ = small_model
    real = convert.to_tflite
    spec = json.loads((out / "feature_spec.json").read_text())
    wrong = network.ensemble([network.build_model(spec["columns"], 0.0, train.MONOTONE)] * 3)  # as many members, untrained
    monkeypatch.setattr(convert, "to_tflite", lambda model, precision: real(wrong, precision))
    with pytest.raises(convert.ConversionError, match="differs from Keras"):
        convert.convert(out, "float32", str(csv), tmp_path / "report.json")
    monkeypatch.undo()
    convert.convert(out, "float32", str(csv), tmp_path / "report.json")


def test_committed_scores_are_what_the_served_model_and_the_baselines_score(dataset, predictor):
    """metrics.json's figures reproduced: the served TFLite network on the test rows, and each
    baseline refitted on every training row with its committed (CV-tuned) hyperparameters."""
    records, targets = data.load(dataset)
    y = np.asarray(targets)
    train_idx, test_idx = train.split(len(records))
    x, _ = encoding.encode(predictor.spec, records)
    predicted = predictor.predict_matrix(x[test_idx])
    committed = json.loads((MODEL_DIR / "metrics.json").read_text())
    assert train.scores(y[test_idx], predicted)["rmse"] == pytest.approx(committed["network"]["rmse"], abs=1e-5)
    xb, _ = encoding.encode(encoding.fit_spec([records[i] for i in train_idx], "one_hot"), records)
    for name, scores in committed["baselines"].items():
        fitted = baselines.refit(name, scores["params"], xb[train_idx], y[train_idx])
        theirs = fitted.predict(xb[test_idx])
        assert train.scores(y[test_idx], theirs)["rmse"] == pytest.approx(scores["rmse"], abs=1e-6), name
        d = baselines.rmse_difference(y[test_idx], predicted, theirs)
        assert d["verdict"] == scores["network_minus_baseline"]["verdict"], name
    split = committed["split"]
    assert split["calibration_rows"] == split["train_rows"] == len(train_idx)


def test_committed_tflite_matches_keras(dataset, predictor):
    import keras

    records, _ = data.load(dataset)
    _, test_idx = train.split(len(records))
    x, _ = encoding.encode(predictor.spec, [records[i] for i in test_idx])
    expected = keras.models.load_model(MODEL_DIR / "model.keras").predict_on_batch(x)
    assert expected.shape == (len(test_idx), predictor.metrics["network"]["members"])
    assert np.max(np.abs(predictor.predict_members(x) - expected)) <= 1e-5


def test_the_price_never_rises_with_days_used(dataset, predictor):
    """Depreciation by construction, checked on the committed model in the served runtime: every
    test row, days_used from 0 to the field's maximum (the API's), all else equal."""
    records, _ = data.load(dataset)
    _, test_idx = train.split(len(records))
    grid = np.unique(np.concatenate([np.linspace(0, features.NUMERIC_BY_NAME["days_used"].high, 201),
                                     np.arange(0, 1200, 10)]))
    rows = [records[i] | {"days_used": float(d)} for i in test_idx for d in grid]
    x, _ = encoding.encode(predictor.spec, rows)
    prices = predictor.predict_members(x).reshape(len(test_idx), len(grid), -1)
    # each member, hence their mean, never rises (float32 rounding aside)
    assert np.diff(prices, axis=1).max() <= 1e-6
    assert (prices[:, 0].mean(axis=1) > prices[:, -1].mean(axis=1)).mean() > 0.5  # and it does fall


def test_training_twice_gives_the_same_model(tmp_path):
    """Fixed seeds, deterministic ops, one thread: the same rows train the same network."""
    csv = synthetic.write_csv(tmp_path / "devices.csv", 200, seed=4)
    runs = []
    for name in ("a", "b"):
        train.train(str(csv), tmp_path / name, members=2, epochs=5, quiet=True, searches=1)
        runs.append((tmp_path / name / "intervals.json").read_text())
    assert runs[0] == runs[1]  # every out-of-fold residual, to the last digit


def test_convert_command_explains_itself_and_refuses_a_bad_dataset_path(tmp_path):
    import subprocess

    from tests.helpers import ROOT

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["scripts/convert.sh", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)

    helped = run("--help")
    assert helped.returncode == 0 and helped.stdout.startswith("usage: scripts/convert.sh")
    bare = run("--data")
    assert bare.returncode == 2 and "--data needs the path" in bare.stderr and "unbound" not in bare.stderr
    before = {p.name: p.stat().st_mtime_ns for p in (ROOT / "model").iterdir()}
    typo = run("--data", str(tmp_path / "no-such-file.csv"))
    assert typo.returncode == 1 and "no-such-file.csv: cannot read the dataset" in typo.stderr
    assert {p.name: p.stat().st_mtime_ns for p in (ROOT / "model").iterdir()} == before  # nothing rewritten
