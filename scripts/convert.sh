#!/usr/bin/env bash
# The one command for the model: train if there is no model yet (or --retrain),
# convert to TFLite, verify parity with Keras, print a summary.
set -euo pipefail
cd "$(dirname "$0")/.."
usage() {
  cat <<'USAGE'
usage: scripts/convert.sh [--retrain] [--float16] [--data CSV]

Train the price model if model/model.keras is missing (or with --retrain), convert it to
TensorFlow Lite, check the TFLite file against Keras on the test rows, and write
model/manifest.json and build/convert_report.json.

  --retrain    train again even if model/model.keras exists
  --float16    a float16 TFLite file (default float32)
  --data CSV   the dataset (default: $DEVICE_PRICE_DATA, else ../shared/data/used_device_data.csv;
               when none is found the parity check uses generated rows). A path given here must load.
  -h, --help   this text
USAGE
}
py=${PYTHON:-.venv/bin/python}
retrain=0 precision=float32 data=()
while [ $# -gt 0 ]; do
  case "$1" in
    --retrain) retrain=1 ;;
    --float16) precision=float16 ;;
    --data)
      if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#-}" != "$2" ]; then
        echo "convert.sh: --data needs the path of the dataset (a CSV file)" >&2
        exit 2
      fi
      data=(--data "$2")
      shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "convert.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "$retrain" = 1 ] || [ ! -f model/model.keras ]; then
  "$py" -m convert.train "${data[@]}"
fi
"$py" -m convert.convert --precision "$precision" "${data[@]}"
