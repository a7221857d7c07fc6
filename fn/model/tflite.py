"""The served model: a TFLite file, its feature specification and the manifest binding them.

Predictor is fn.model.Model over TensorFlow Lite. Loaded once per process; predict_matrix
is thread-safe (one Interpreter per thread, since an Interpreter is not) and vectorised for
batches. Imported by the function, the baseline server, the tests and the benchmarks alike.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

import numpy as np

from fn.model import MODEL_DIR
from fn.model.interface import price
from fn.model.intervals import FILE as INTERVALS
from fn.model.intervals import IntervalError, Intervals
from fn.record import encoding

try:  # the slim runtime first: it is what the images ship
    from tflite_runtime.interpreter import Interpreter

    RUNTIME = "tflite_runtime"
except ImportError:  # pragma: no cover - depends on what is installed
    try:
        from ai_edge_litert.interpreter import Interpreter

        RUNTIME = "ai_edge_litert"
    except ImportError:
        import tensorflow as tf  # its lite package is an API namespace: no from-import

        Interpreter = tf.lite.Interpreter
        RUNTIME = "tensorflow.lite"

TFLITE, SPEC, MANIFEST, METRICS = "model.tflite", "feature_spec.json", "manifest.json", "metrics.json"
# What the images ship of model/, each bound to the manifest by its sha256 (METRICS feeds the model card).
HASHED = {TFLITE: "tflite_sha256", SPEC: "spec_sha256", INTERVALS: "intervals_sha256", METRICS: "metrics_sha256"}
FILES = (*HASHED, MANIFEST)


class ModelError(Exception):
    """The model files are missing, corrupt or do not belong together."""


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read ({e.strerror or e})") from e


def _json(path: Path, data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelError(f"{path}: not valid JSON ({e})") from e
    if not isinstance(value, dict):
        raise ModelError(f"{path}: expected a JSON object")
    return value


def read_files(model_dir: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest, and every file it binds, each checked against its sha256. The hashes come
    first and are not optional: the TFLite runtime does not validate its input and crashes the
    process on a truncated file."""
    manifest = _json(model_dir / MANIFEST, _read(model_dir / MANIFEST))
    files = {}
    for name, key in HASHED.items():
        data = files[name] = _read(model_dir / name)
        if manifest.get(key) != sha256(data):
            raise ModelError(
                f"{model_dir / name}: sha256 {sha256(data)[:12]}… does not match "
                f"{key} {str(manifest.get(key))[:12]}… in {model_dir / MANIFEST}; "
                "rerun scripts/convert.sh so the model and its files belong together"
            )
    return manifest, files


def companions(model_dir: Path, files: dict[str, bytes]) -> tuple[Intervals, dict[str, Any]]:
    """The price ranges' table and the training metrics (the model card), from checked files."""
    try:
        table = Intervals(_json(model_dir / INTERVALS, files[INTERVALS]))
    except IntervalError as e:
        raise ModelError(f"{model_dir / INTERVALS}: {e}") from e
    return table, _json(model_dir / METRICS, files[METRICS])


class Predictor:
    runtime = RUNTIME

    def __init__(self, model_dir: str | os.PathLike = MODEL_DIR):
        model_dir = Path(model_dir)
        self.manifest, files = read_files(model_dir)
        self.model_bytes, spec_bytes = files[TFLITE], files[SPEC]
        self.intervals, self.metrics = companions(model_dir, files)
        if self.model_bytes[4:8] != b"TFL3":
            raise ModelError(f"{model_dir / TFLITE}: not a TensorFlow Lite model (no TFL3 identifier)")
        self.spec = _json(model_dir / SPEC, spec_bytes)
        missing = [k for k in ("brands", "os", "impute", "log1p", "mean", "std", "columns") if k not in self.spec]
        if missing:
            raise ModelError(f"{model_dir / SPEC}: malformed specification, missing {', '.join(missing)}")
        self.n_inputs = len(self.spec["columns"])
        try:
            self.encoder = encoding.Encoder(self.spec)
        except (KeyError, TypeError, ValueError, AttributeError) as e:
            raise ModelError(f"{model_dir / SPEC}: malformed specification ({type(e).__name__}: {e})") from e
        if not (len(self.spec["mean"]) == len(self.spec["std"]) == self.n_inputs):
            raise ModelError(f"{model_dir / SPEC}: malformed specification, column statistics disagree")
        self.version = self.manifest.get("model_version") or sha256(self.model_bytes)[:12]
        self._local = threading.local()
        # Build one interpreter now so a truncated or foreign file fails at start-up,
        # not on the first request.
        interpreter = self._interpreter()
        shape = interpreter.get_input_details()[0]["shape"]
        if shape[-1] != self.n_inputs:
            raise ModelError(f"{model_dir / TFLITE}: takes {shape[-1]} inputs, the specification has {self.n_inputs}")
        members = interpreter.get_output_details()[0]["shape"][-1]
        if members != self.intervals.members:  # the ranges need each member's prediction (CV+)
            raise ModelError(f"{model_dir / TFLITE}: gives {members} member outputs, {INTERVALS} was calibrated "
                             f"on {self.intervals.members}")

    def _interpreter(self) -> Any:
        local = self._local
        if getattr(local, "interpreter", None) is None:
            try:
                interpreter = Interpreter(model_content=self.model_bytes)
                interpreter.allocate_tensors()
            except (ValueError, RuntimeError) as e:
                raise ModelError(f"{TFLITE}: {RUNTIME} cannot load it ({e})") from e
            local.interpreter = interpreter
            local.rows = 1
            local.input = interpreter.get_input_details()[0]["index"]
            local.output = interpreter.get_output_details()[0]["index"]
        return local.interpreter

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Encoded rows (n, n_inputs) float32 -> normalized_used_price (n,): the members' mean."""
        return price(self.predict_members(x))

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        """Encoded rows (n, n_inputs) float32 -> each fold member's normalized_used_price (n, K)."""
        interpreter = self._interpreter()
        local = self._local
        rows = x.shape[0]
        if rows != local.rows:  # resizing re-plans the graph: only when the batch size changes
            interpreter.resize_tensor_input(local.input, [rows, self.n_inputs])
            interpreter.allocate_tensors()
            local.rows = rows
        interpreter.set_tensor(local.input, np.ascontiguousarray(x, dtype=np.float32))
        interpreter.invoke()
        return interpreter.get_tensor(local.output).reshape(rows, -1).astype(np.float64)
