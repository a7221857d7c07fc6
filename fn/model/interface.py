"""What the API needs of a model, and nothing more: the seam where a runtime is swapped.

The TFLite model (fn/model/tflite.py) is what ships; the TensorFlow reference
(reference/predictor.py) is the same model the old way. Both take rows already encoded by
the specification's Encoder and return numbers; the API builds every answer from them.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from fn.model.intervals import Intervals
from fn.record.encoding import Encoder


class Model(Protocol):
    version: str  # the manifest's model_version
    runtime: str  # what computes it, e.g. "tflite_runtime 2.14.0"
    spec: dict[str, Any]  # feature_spec.json: vocabularies, imputation, scaling
    manifest: dict[str, Any]  # manifest.json: hashes and provenance
    encoder: Encoder  # spec's encoding, prepared once
    intervals: Intervals  # intervals.json: the calibrated price ranges
    metrics: dict[str, Any]  # metrics.json: the training run's scores (the model card)

    def predict_matrix(self, x: np.ndarray) -> np.ndarray:
        """Encoded rows (n, columns) float32 -> normalized_used_price (n,) float64: the members' mean."""
        ...

    def predict_members(self, x: np.ndarray) -> np.ndarray:
        """Encoded rows (n, columns) float32 -> each fold member's prediction (n, K) float64 (the ranges'
        CV+ needs each)."""
        ...


def price(members: np.ndarray) -> np.ndarray:
    """Each row's served price (log scale) from its fold members' predictions (n, K): their mean,
    as np.mean computes it (sum, then divide) without its overhead, a tenth of a request's time."""
    return np.add.reduce(members, axis=1) / members.shape[1]  # ndarray.sum's own call, without its wrapper
