from __future__ import annotations

import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from fn.model.tflite import FILES, HASHED, MODEL_DIR, ModelError, Predictor, sha256
from fn.record import features
from fn.record.features import EXAMPLE
from tests.helpers import ROOT, with_


@pytest.fixture
def model_copy(tmp_path):
    for name in FILES:
        shutil.copy(MODEL_DIR / name, tmp_path / name)
    return tmp_path


def test_runtime_is_the_slim_one(plane):
    assert plane.metadata()["runtime"] == "tflite_runtime"


def test_single_and_batch_agree(plane):
    records = [with_(days_used=d) for d in (100, 400, 900)]
    batch = [p["normalized_used_price"] for p in plane.predictions(records)]
    single = [plane.predictions([r])[0]["normalized_used_price"] for r in records]
    assert batch == pytest.approx(single, abs=1e-6)
    assert len(set(batch)) == 3  # days used changes the price


def test_derived_prices(plane):
    p = plane.predictions([EXAMPLE])[0]
    assert p["used_price"] == round(np.exp(p["normalized_used_price"]), 2)
    assert p["new_price"] == round(np.exp(EXAMPLE["normalized_new_price"]), 2)
    assert p["retained_fraction"] == pytest.approx(np.exp(p["normalized_used_price"] - EXAMPLE["normalized_new_price"]))
    span, log_span = p["used_price_range"], p["normalized_used_price_range"]
    assert span["level"] == log_span["level"] == 0.9
    assert log_span["low"] < p["normalized_used_price"] < log_span["high"]
    assert (span["low"], span["high"]) == (round(np.exp(log_span["low"]), 2), round(np.exp(log_span["high"]), 2))


def test_thread_safe(plane):
    records = [with_(days_used=90 + i) for i in range(64)]
    expected = [p["normalized_used_price"] for p in plane.predictions(records)]

    def one(i: int) -> float:
        return plane.predictions([records[i]])[0]["normalized_used_price"]

    with ThreadPoolExecutor(8) as pool:
        got = list(pool.map(one, list(range(64)) * 4))
    assert got == pytest.approx(expected * 4, abs=1e-6)


def test_mismatched_spec_refuses_to_load(model_copy):
    spec = json.loads((model_copy / "feature_spec.json").read_text())
    spec["impute"]["ram"] = 99.0
    (model_copy / "feature_spec.json").write_text(json.dumps(spec))
    with pytest.raises(ModelError, match="does not match spec_sha256"):
        Predictor(model_copy)


def test_tampered_model_refuses_to_load(model_copy):
    data = bytearray((model_copy / "model.tflite").read_bytes())
    data[-100] ^= 0xFF
    (model_copy / "model.tflite").write_bytes(bytes(data))
    with pytest.raises(ModelError, match="does not match tflite_sha256"):
        Predictor(model_copy)


def test_truncated_model_refuses_to_load(model_copy):
    data = (model_copy / "model.tflite").read_bytes()
    (model_copy / "model.tflite").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelError, match="does not match tflite_sha256"):
        Predictor(model_copy)


def rebind(model_copy) -> None:
    """Rewrite the manifest's hashes, as if the bad files had been converted so."""
    manifest = json.loads((model_copy / "manifest.json").read_text())
    for name, key in HASHED.items():
        manifest[key] = sha256((model_copy / name).read_bytes())
    (model_copy / "manifest.json").write_text(json.dumps(manifest))


def test_malformed_spec_refuses_to_load(model_copy):
    (model_copy / "feature_spec.json").write_text('{"brands": []}')
    rebind(model_copy)
    with pytest.raises(ModelError, match="malformed"):
        Predictor(model_copy)


def test_foreign_file_refuses_to_load(model_copy):
    (model_copy / "model.tflite").write_bytes(b"PK\x03\x04 not a model at all")
    rebind(model_copy)
    with pytest.raises(ModelError, match="not a TensorFlow Lite model"):
        Predictor(model_copy)


def test_broken_model_stops_the_server_with_a_message(model_copy):
    (model_copy / "manifest.json").write_text("{not json")
    proc = subprocess.run([sys.executable, "-m", "fn"], cwd=ROOT, capture_output=True, text=True, timeout=30,
                          env={"MODEL_DIR": str(model_copy), "port": "18999", "PATH": "/usr/bin:/bin"})
    assert proc.returncode == 1
    assert "cannot start" in proc.stderr and "manifest.json" in proc.stderr


def test_validation_error_lists_all(plane):
    with pytest.raises(features.ValidationError) as e:
        plane.predictions([with_(ram=0), with_(os=...)])
    assert {(d["row"], d["field"]) for d in e.value.details} == {(1, "ram"), (2, "os")}
