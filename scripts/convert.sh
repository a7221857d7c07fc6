#!/usr/bin/env bash
# The one command for the model: train if there is no model yet (or --retrain),
# convert to TFLite, verify parity with Keras, print a summary.
#   scripts/convert.sh [--retrain] [--float16] [--data CSV]
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
retrain=0 precision=float32 data=()
while [ $# -gt 0 ]; do
  case "$1" in
    --retrain) retrain=1 ;;
    --float16) precision=float16 ;;
    --data) data=(--data "$2"); shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "convert.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
export TF_CPP_MIN_LOG_LEVEL=${TF_CPP_MIN_LOG_LEVEL:-2}
if [ "$retrain" = 1 ] || [ ! -f model/model.keras ]; then
  "$py" -m convert.train "${data[@]}"
fi
"$py" -m convert.convert --precision "$precision" "${data[@]}"
