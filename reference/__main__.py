"""python -m reference: the TensorFlow reference on the function's entry (:8080 by default)."""

import sys

from fn.index import main
from reference.predictor import KerasPredictor

sys.exit(main(load=KerasPredictor, program="reference", name="device-price-tf"))
