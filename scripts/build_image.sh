#!/usr/bin/env bash
# Build one of the project's images, here or on a machine with no registry access.
#   scripts/build_image.sh fn|lambda|server|tf|numpy [TAG]   (numpy: the images' numpy build stage alone)
#   lambda: the function image (FN_TAG, default device-price-fn:latest) tagged TAG as well: it
#   serves Lambda's Runtime API when AWS_LAMBDA_RUNTIME_API is set (fn/awslambda.py), so it is the
#   same image, not a rebuild whose layers could differ.
#   CONTEXT_ONLY=1 scripts/build_image.sh tf   (assemble the build context, build nothing)
# Online: FROM the pinned python:3.11 image, pip inside the build.
# Offline (no Docker Hub, containers cannot reach PyPI): a base image made from Debian
# packages (scripts/build_base.sh) and a wheelhouse downloaded here on the host, both
# checked (apt signatures; pip --require-hashes). OFFLINE=1/0 forces either; default: try.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:?usage: scripts/build_image.sh fn|lambda|server|tf|numpy [TAG]}
target=()
if [ "$kind" = lambda ]; then
  fn_tag=${FN_TAG:-device-price-fn:latest} tag=${2:-device-price-lambda:latest}
  "$0" fn "$fn_tag"
  docker tag "$fn_tag" "$tag"
  echo "tagged $fn_tag as $tag"
  exit 0
fi
case "$kind" in
  fn) file=Dockerfile.fn tag=${2:-device-price-fn:latest} reqs=requirements/serve.txt ;;
  numpy) file=Dockerfile.fn tag=${2:-device-price-numpy:latest} reqs=requirements/serve.txt target=(--target numpy) ;;
  server) file=Dockerfile.server tag=${2:-device-price-server:latest} reqs=requirements/serve.txt ;;
  tf) file=Dockerfile.tf tag=${2:-device-price-tf:latest} reqs=requirements/tf.txt ;;
  *) echo "unknown image $kind (fn, lambda, server, tf or numpy)" >&2; exit 2 ;;
esac
# The TensorFlow reference gets a context of its own, so its ~330 MB of wheels never
# travel with the slim images' builds: what its Dockerfile's COPY lines name, and no more.
context=. wheels=wheelhouse
if [ "$kind" = tf ]; then
  context=build/tf-context wheels=build/tf-context/wheelhouse
  find "$context" -mindepth 1 -maxdepth 1 ! -name wheelhouse -exec rm -rf {} + 2>/dev/null || true
  mkdir -p "$wheels"
  grep '^COPY ' "$file" | grep -v -- '--from' | while read -r _ line; do
    read -ra words <<< "$line"
    for src in "${words[@]:0:${#words[@]}-1}"; do
      [ "$src" = wheelhouse/ ] && continue  # filled below with this image's own wheels
      mkdir -p "$context/$(dirname "$src")"
      cp -r "${src%/}" "$context/$(dirname "$src")/"
    done
  done
  find "$context" -name __pycache__ -prune -exec rm -rf {} +
fi
if [ "${CONTEXT_ONLY:-0}" = 1 ]; then
  echo "context for $kind: $context"
  exit 0
fi
online_base=$(sed -n 's/^ARG BASE_IMAGE=//p' "$file")
offline=${OFFLINE:-auto}
if [ "$offline" = auto ]; then
  if docker image inspect "$online_base" >/dev/null 2>&1 || timeout 20 docker pull -q "$online_base" >/dev/null 2>&1; then
    offline=0
  else
    offline=1
    echo "no registry reachable for $online_base: building offline"
  fi
fi
args=()
if [ "$offline" = 1 ]; then
  base=${BASE_IMAGE:-device-price-base:bookworm-cc}
  BASE_IMAGE=$base scripts/build_base.sh
  WHEELHOUSE=$wheels scripts/wheelhouse.sh "$reqs"
  if [ "$kind" != tf ]; then  # numpy's source and what compiling it needs
    WHEELHOUSE=wheelhouse/numpy scripts/wheelhouse.sh requirements/numpy-build.txt
    python3 -m scripts.fetch_sdist requirements/numpy.txt wheelhouse/numpy
  fi
  args=(--build-arg BASE_IMAGE="$base" --build-arg BUILDER_IMAGE="$base" --build-arg OFFLINE=1)
fi
mkdir -p build
echo "building $tag from $file (log: build/image-$kind.log)"
DOCKER_BUILDKIT=0 docker build -f "$PWD/$file" -t "$tag" "${target[@]}" "${args[@]}" "$context" > build/image-$kind.log 2>&1 || { tail -n 30 build/image-$kind.log >&2; exit 1; }
size=$(docker image inspect -f '{{.Size}}' "$tag")
echo "built $tag: $((size / 1000000)) MB"
