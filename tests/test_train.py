"""Training and conversion end to end on generated rows (seconds), and the committed model's
quality on the real test rows (no retraining of the network)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from convert import convert, data, synthetic, train
from fn.model import intervals
from fn.model.tflite import MODEL_DIR, Predictor
from fn.record import features

ROWS = 300  # generated rows the small model trains on
# scikit-learn's train_test_split holds out ceil(n * test_size) rows
TEST_ROWS = math.ceil(ROWS * train.TEST_SIZE)
CALIBRATION_ROWS = math.ceil((ROWS - TEST_ROWS) * train.CALIBRATION_SIZE)


@pytest.fixture(scope="module")
def small_model(tmp_path_factory):
    out = tmp_path_factory.mktemp("model")
    csv = synthetic.write_csv(out / "devices.csv", ROWS, seed=3)
    metrics = train.train(str(csv), out, seeds=2, epochs=8, quiet=True)
    return out, csv, metrics


def test_training_writes_model_spec_and_metrics(small_model):
    out, csv, metrics = small_model
    assert (out / "model.keras").exists()
    spec = json.loads((out / "feature_spec.json").read_text())
    assert spec["dataset_sha256"] == data.sha256(csv)
    assert spec["columns"] and len(spec["mean"]) == len(spec["columns"])
    assert set(spec["versions"]) >= {"tensorflow", "keras", "numpy"}
    for key in ("network", "linear_regression", "hist_gradient_boosting"):
        assert set(metrics[key]) >= {"rmse", "mae", "r2"} and np.isfinite(metrics[key]["rmse"])
    assert metrics["network_seeds"]["n"] == 2 and len(metrics["network_seeds"]["rmse"]) == 2
    assert metrics["split"]["test_rows"] == TEST_ROWS and metrics["split"]["train_rows"] == ROWS - TEST_ROWS
    assert metrics["split"]["calibration_rows"] == CALIBRATION_ROWS
    assert set(metrics["intervals"]) == {f"{level:g}" for level in intervals.LEVELS}
    table = json.loads((out / "intervals.json").read_text())
    assert table["calibration_rows"] == CALIBRATION_ROWS and sum(table["rows_per_group"]) == CALIBRATION_ROWS
    assert json.loads((out / "metrics.json").read_text()) == json.loads(json.dumps(metrics))


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
    monkeypatch.setattr(convert, "to_tflite",
                        lambda model, precision: real(train.build_model(len(spec["columns"]), 0.0), precision))
    with pytest.raises(convert.ConversionError, match="differs from Keras"):
        convert.convert(out, "float32", str(csv), tmp_path / "report.json")
    monkeypatch.undo()
    convert.convert(out, "float32", str(csv), tmp_path / "report.json")


def test_committed_scores_are_what_the_served_model_and_the_baselines_score(dataset, predictor):
    """metrics.json's figures reproduced: the served TFLite network on the test rows, and the two
    baselines refitted on the rows the network's members fitted (the calibration rows held out)."""
    from sklearn.model_selection import train_test_split

    records, targets = data.load(dataset)
    y = np.asarray(targets)
    train_idx, test_idx = train.split(len(records))
    fit_idx, calibration_idx = train_test_split(train_idx, test_size=train.CALIBRATION_SIZE,
                                                random_state=train.SPLIT_SEED)
    x, _ = features.encode(predictor.spec, records)
    network = train.scores(y[test_idx], predictor.predict_matrix(x[test_idx]))
    baselines = train.baselines(x[fit_idx], y[fit_idx], x[test_idx], y[test_idx])
    committed = json.loads((MODEL_DIR / "metrics.json").read_text())
    assert network["rmse"] == pytest.approx(committed["network"]["rmse"], abs=1e-5)
    for name, scores in baselines.items():
        assert scores["rmse"] == pytest.approx(committed[name]["rmse"], abs=1e-6)
    split = committed["split"]
    assert (split["fit_rows"], split["calibration_rows"]) == (len(fit_idx), len(calibration_idx))
    assert split["test_rows"] == len(test_idx) == math.ceil(len(records) * train.TEST_SIZE)
    assert set(calibration_idx).isdisjoint(test_idx)


def test_committed_tflite_matches_keras(dataset, predictor):
    import keras

    records, _ = data.load(dataset)
    _, test_idx = train.split(len(records))
    x, _ = features.encode(predictor.spec, [records[i] for i in test_idx])
    expected = keras.models.load_model(MODEL_DIR / "model.keras").predict_on_batch(x).reshape(-1)
    assert np.max(np.abs(predictor.predict_matrix(x) - expected)) <= 1e-5


def test_convert_command_explains_itself_and_refuses_a_bad_dataset_path(tmp_path):
    import subprocess

    from tests.conftest import ROOT

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
