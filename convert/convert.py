"""Keras -> TFLite, verified against Keras in the runtime the images ship.

    python -m convert.convert [--model-dir model/] [--precision float32|float16] [--data CSV]

Builtin ops only (no Flex ops: the slim runtimes cannot run them), no default
dynamic-range quantisation (TF 2.21 emits FULLY_CONNECTED v12, which tflite-runtime
2.14 refuses). The check runs in a child process because tflite_runtime cannot create an
Interpreter once TensorFlow is imported in the same process; it loads the new files
through fn.predict exactly as the function does, so it also proves the manifest binds.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from convert import data, synthetic, train
from fn.model import tflite
from fn.record import encoding, features

ROOT = Path(__file__).resolve().parent.parent
REPORT = ROOT / "build" / "convert_report.json"
TOLERANCE = {"float32": 1e-5, "float16": 5e-3}


class ConversionError(Exception):
    pass


def to_tflite(keras_model: Any, precision: str) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(keras_model)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    if precision == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    with contextlib.redirect_stdout(io.StringIO()):  # Keras prints the exported signature
        return converter.convert()


def add_training_range(spec: dict[str, Any], data_path: str | None, model_dir: Path) -> None:
    """The numeric fields' ranges over the training rows, as fit_spec now records them, added to
    an older specification (the dataset must be here: that is what they describe)."""
    try:
        records, _ = data.load(data_path)
    except data.DataError:
        return
    if spec.get("dataset_sha256") != data.sha256(data.find_data(data_path)):
        raise ConversionError("the dataset is not the one the model was trained on: cannot add its training ranges")
    train_idx, _ = train.split(len(records))
    spec["training_range"] = encoding.fit_spec([records[i] for i in train_idx])["training_range"]
    (model_dir / tflite.SPEC).write_text(json.dumps(spec, indent=1) + "\n")


def check_rows(data_path: str | None) -> tuple[list[dict[str, Any]], str]:
    """The test rows of the fixed split when the dataset is here, else generated rows. A dataset
    named with --data must load: a typo in its path stops the conversion instead of falling
    back to generated rows unnoticed."""
    try:
        records, _ = data.load(data_path)
    except data.DataError:
        if data_path is not None:
            raise
        return synthetic.records(500, seed=1), "generated"
    _, test_idx = train.split(len(records))
    return [data.as_sent(records[i]) for i in test_idx], "test split"


def read_companion(model_dir: Path, name: str) -> bytes:
    path = model_dir / name
    if not path.exists():
        raise ConversionError(f"{path}: missing; it is written by training (rerun scripts/convert.sh --retrain)")
    return path.read_bytes()


def run_tflite(model_dir: Path, records: list[dict[str, Any]]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(records, f)
    try:
        proc = subprocess.run([sys.executable, "-m", "fn.predict", f.name, "--model-dir", str(model_dir)],
                              capture_output=True, text=True, cwd=ROOT)
    finally:
        os.unlink(f.name)
    if proc.returncode != 0:
        raise ConversionError(f"the converted model does not load or run:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout)


def convert(model_dir: Path = train.OUT, precision: str = "float32", data_path: str | None = None,
            report_path: Path = REPORT) -> dict[str, Any]:
    records, source = check_rows(data_path)  # first: a bad --data path stops before anything is written
    import keras
    import tensorflow as tf

    keras_path = model_dir / "model.keras"
    if not keras_path.exists():
        raise ConversionError(f"{keras_path}: no trained model (run python -m convert.train)")
    model = keras.models.load_model(keras_path)
    spec = json.loads((model_dir / tflite.SPEC).read_bytes())
    if "training_range" not in spec:  # a specification written before it had them
        add_training_range(spec, data_path, model_dir)
    spec_bytes = (model_dir / tflite.SPEC).read_bytes()
    blob = to_tflite(model, precision)
    (model_dir / tflite.TFLITE).write_bytes(blob)
    manifest = {
        "model_version": tflite.sha256(blob)[:12],
        "tflite_sha256": tflite.sha256(blob),
        "spec_sha256": tflite.sha256(spec_bytes),
        "intervals_sha256": tflite.sha256(read_companion(model_dir, tflite.INTERVALS)),
        "metrics_sha256": tflite.sha256(read_companion(model_dir, tflite.METRICS)),
        "keras_sha256": tflite.sha256(keras_path.read_bytes()),
        "precision": precision,
        "inputs": len(spec["columns"]),
        "versions": {"tensorflow": tf.__version__, "keras": keras.__version__},
    }
    (model_dir / tflite.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")

    x, _ = encoding.encode(spec, features.check_records(records))
    expected = np.asarray(model.predict_on_batch(x), dtype=np.float64).reshape(len(x), -1).mean(axis=1)
    served = run_tflite(model_dir, records)
    got = np.array([p["normalized_used_price"] for p in served["predictions"]])
    diff = float(np.max(np.abs(got - expected))) if np.all(np.isfinite(got)) else float("inf")
    report = {
        "tflite_path": str((model_dir / tflite.TFLITE).relative_to(ROOT) if model_dir.is_relative_to(ROOT)
                           else model_dir / tflite.TFLITE),
        "tflite_bytes": len(blob),
        "keras_bytes": keras_path.stat().st_size,
        "precision": precision,
        "max_abs_diff": diff,
        "tolerance": TOLERANCE[precision],
        "rows_checked": len(records),
        "rows_source": source,
        "runtime": served["runtime"],
        "runtime_version": runtime_version(served["runtime"]),
        "model_version": manifest["model_version"],
        "passed": diff <= TOLERANCE[precision],
    }
    if report["passed"]:  # the model card quotes it
        manifest["parity"] = {key: report[key] for key in ("max_abs_diff", "rows_checked", "rows_source", "runtime",
                                                          "runtime_version")}
        (model_dir / tflite.MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    report_path.parent.mkdir(parents=True, exist_ok=True)
    report_path.write_text(json.dumps(report, indent=1) + "\n")
    if not report["passed"]:
        raise ConversionError(f"TFLite differs from Keras by {diff:.3g} (> {TOLERANCE[precision]:g}) "
                              f"on {len(records)} rows; see {report_path}")
    return report


def runtime_version(package: str) -> str:
    from importlib import metadata

    name = {"tflite_runtime": "tflite-runtime", "ai_edge_litert": "ai-edge-litert"}.get(package, "tensorflow-cpu")
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "unknown"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Convert the Keras model to TFLite and verify it.")
    parser.add_argument("--model-dir", type=Path, default=train.OUT)
    parser.add_argument("--precision", choices=sorted(TOLERANCE), default="float32")
    parser.add_argument("--data", help="dataset for the parity rows (default as in training; generated rows if absent)")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        report = convert(args.model_dir, args.precision, args.data, args.report)
    except (ConversionError, data.DataError) as e:
        sys.exit(f"error: {e}")
    print(f"converted {report['tflite_path']}: {report['tflite_bytes']:,} bytes ({report['precision']}), "
          f"Keras {report['keras_bytes']:,} bytes")
    print(f"parity on {report['rows_checked']} {report['rows_source']} rows with {report['runtime']} "
          f"{report['runtime_version']}: max |TFLite - Keras| = {report['max_abs_diff']:.2e} "
          f"(limit {report['tolerance']:g})  OK")


if __name__ == "__main__":
    main()
