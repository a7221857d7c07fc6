"""The model behind a small interface: TFLite inference, price ranges, explanations, the card."""

from pathlib import Path

# The committed artifacts, beside fn/: /app/model in the images. Here, not in interface.py, so
# that the settings can name it without importing numpy.
MODEL_DIR = Path(__file__).resolve().parents[2] / "model"
