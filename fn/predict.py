"""python -m fn.predict [RECORDS.json]: print the served answers for a JSON list of records, with
the committed (or --model-dir) model in this process. Convert's parity check runs it in a child
process, so that it reads the files exactly as the function does."""

from __future__ import annotations

import argparse
import json
import sys

from fn.api.dataplane import DataPlane
from fn.model.tflite import MODEL_DIR, RUNTIME, ModelError, Predictor
from fn.record.problems import ValidationError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fn.predict", description=__doc__)
    parser.add_argument("records", nargs="?", help="JSON list of records (default: stdin)")
    parser.add_argument("--model-dir", default=MODEL_DIR, help="folder of the model files (default: the committed one)")
    args = parser.parse_args(argv)
    try:
        predictor = Predictor(args.model_dir)
        text = open(args.records).read() if args.records else sys.stdin.read()
        records = json.loads(text)
        results = DataPlane(predictor).predictions(records if isinstance(records, list) else [records])
    except (ModelError, ValidationError, OSError, ValueError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    json.dump({"runtime": RUNTIME, "model_version": predictor.version, "predictions": results}, sys.stdout)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
