#!/usr/bin/env bash
# Download the images' wheels on the host, for this machine's platform (Linux x86_64,
# CPython 3.11), checked against the hashes in the requirements file.
#   scripts/wheelhouse.sh [REQUIREMENTS]     (default requirements/serve.txt)
set -euo pipefail
cd "$(dirname "$0")/.."
reqs=${1:-requirements/serve.txt}
pip=${PIP:-.venv/bin/pip}
[ -x "$pip" ] || pip=pip3
"$pip" download -q --disable-pip-version-check --require-hashes --only-binary=:all: --no-deps \
  --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_28_x86_64 --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none \
  -d "${WHEELHOUSE:-wheelhouse}" -r "$reqs" 2> >(grep -v "is ignored: it is neither" >&2)
echo "wheelhouse: $(ls "${WHEELHOUSE:-wheelhouse}"/*.whl | wc -l) wheels for $reqs"
