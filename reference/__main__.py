"""python -m reference: the TensorFlow reference on the function's entry (:8080 by default)."""

import sys

from fn.index import main
from reference.predictor import KerasPredictor

sys.exit(main(KerasPredictor, name="device-price-tf"))
