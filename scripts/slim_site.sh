#!/usr/bin/env bash
# The function image's Python packages in a folder on this host: numpy as the image compiles it
# (no BLAS), tflite-runtime and Waitress from the hash-checked wheels. The cold-start
# benchmark runs the function process on them (coldstart --site), as the image does.
#   scripts/slim_site.sh [DIR]      (default build/slim-site)
set -euo pipefail
cd "$(dirname "$0")/.."
dest=${1:-build/slim-site}
pip=${PIP:-.venv/bin/pip}
scripts/build_image.sh numpy >/dev/null
WHEELHOUSE=wheelhouse scripts/wheelhouse.sh requirements/serve.txt >/dev/null
wheels=$(mktemp -d)
trap 'rm -rf "$wheels"' EXIT
cid=$(docker create device-price-numpy:latest true)
docker cp "$cid:/wheels/." "$wheels/" >/dev/null
docker rm "$cid" >/dev/null
rm -rf "$dest"
"$pip" install -q --disable-pip-version-check --no-deps --no-index --target "$dest" "$wheels"/numpy-*.whl
"$pip" install -q --disable-pip-version-check --no-deps --no-index --find-links wheelhouse --require-hashes \
  --only-binary=:all: --target "$dest" -r requirements/serve.txt
echo "slim site: $dest ($(du -sh "$dest" | cut -f1))"
