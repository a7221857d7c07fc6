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
from typing import Any

import numpy as np

from fn import features
from fn.inference import MODEL_DIR, RUNTIME, Predictor

MODES = ("predict", "predict_on_batch")


class KerasPredictor:
    """Predictor's interface (predict, metadata, version, spec) over the .keras file."""

    def __init__(self, model_dir: str | os.PathLike = MODEL_DIR, mode: str | None = None):
        import keras

        model_dir = Path(model_dir)
        self.mode = mode or os.environ.get("KERAS_PREDICT", "predict")
        if self.mode not in MODES:
            raise ValueError(f"KERAS_PREDICT={self.mode!r}: use one of {', '.join(MODES)}")
        self.spec = json.loads((model_dir / "feature_spec.json").read_text())
        self.encoder = features.Encoder(self.spec)
        self.manifest = json.loads((model_dir / "manifest.json").read_text())
        self.version = self.manifest.get("model_version", "keras")
        self.model = keras.models.load_model(model_dir / "model.keras")
        self.model.predict_on_batch(np.zeros((1, len(self.spec["columns"])), dtype=np.float32))  # build once

    def predict(self, records: list[Any], batch: bool = True) -> list[dict[str, Any]]:
        clean = features.check_records(records, batch)
        x, warnings = self.encoder.encode(clean)
        if self.mode == "predict":
            y = self.model.predict(x, verbose=0)
        else:
            y = self.model.predict_on_batch(x)
        return [Predictor.result(record, float(value), notes, self.version)
                for record, value, notes in zip(clean, np.asarray(y).reshape(-1), warnings, strict=True)]

    def metadata(self) -> dict[str, Any]:
        return {"model_version": self.version, "runtime": f"keras ({self.mode}); slim runtime: {RUNTIME}",
                "input": features.schema(), "manifest": self.manifest}

