"""The TensorFlow reference: the same Keras model the way the reference report served it,
behind the same request handling, server and HTTP contract as the function, so a
comparison differs only in the runtime. Never shipped in the slim images.

KERAS_PREDICT=predict (default, as the report did: model.predict per request) or
predict_on_batch (the fastest Keras path).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from fn.model.interface import price
from fn.model.tflite import SPEC, companions, read_files
from fn.record import encoding
from fn.server.settings import DEFAULT_MODEL_DIR

MODES = ("predict", "predict_on_batch")


class KerasPredictor:
    """fn.model.interface.Model over the .keras file."""

    def __init__(self, model_dir: str | os.PathLike = DEFAULT_MODEL_DIR, mode: str | None = None):
        import keras

        model_dir = Path(model_dir)
        self.mode = mode or os.environ.get("KERAS_PREDICT", "predict")
        if self.mode not in MODES:
            raise ValueError(f"KERAS_PREDICT={self.mode!r}: use one of {', '.join(MODES)}")
        self.runtime = f"keras ({self.mode})"
        self.manifest, files = read_files(model_dir)
        self.spec = json.loads(files[SPEC])
        self.encoder = encoding.Encoder(self.spec)
        self.intervals, self.metrics = companions(model_dir, files)
        self.version = self.manifest.get("model_version", "keras")
        self.model = keras.models.load_model(model_dir / "model.keras")
        self.model.predict_on_batch(np.zeros((1, len(self.spec["columns"])), dtype=np.float32))  # build once

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        return price(self.predict_members(x))

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        y = self.model.predict(x, verbose=0) if self.mode == "predict" else self.model.predict_on_batch(x)
        return np.asarray(y, dtype=np.float64).reshape(len(x), -1)
