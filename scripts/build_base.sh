#!/usr/bin/env bash
# Build the offline base image from Debian packages, for machines where no container
# registry is reachable (ours: see docs/images.md "Building images offline").
# The base only feeds the build stages (the final images are FROM scratch): Python and pip to
# install the wheels, and a C/C++ compiler with Python's headers to build numpy without BLAS.
# The tag names that content, so an older base without the compiler is never taken for it.
set -euo pipefail

name=${BASE_IMAGE:-device-price-base:bookworm-cc}
suite=${SUITE:-bookworm}
# The host's Debian mirror, as apt is configured here; overridable.
mirror=${DEBIAN_MIRROR:-$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)}
mirror=${mirror:-http://deb.debian.org/debian}

if docker image inspect "$name" >/dev/null 2>&1 && [ "${REBUILD:-0}" != 1 ]; then
  echo "base image $name exists (REBUILD=1 to rebuild)"
  exit 0
fi
command -v debootstrap >/dev/null || { echo "debootstrap not found: apt-get install -y debootstrap" >&2; exit 1; }

root=$(mktemp -d /tmp/device-price-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "debootstrap $suite from $mirror into $root (a few minutes)"
# python3 (full stdlib) + pip: the build stage installs wheels with it and then copies out
# only what serving needs (ldd is in libc-bin); gcc, g++ and python3-dev compile numpy.
debootstrap --variant=minbase --include=python3,python3-pip,python3-dev,gcc,g++ "$suite" "$root" "$mirror" \
  >"$root.log" 2>&1 \
  || { tail -n 30 "$root.log" >&2; exit 1; }
rm -f "$root.log"
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
tar -C "$root" -c . | docker import - "$name" >/dev/null
echo "built $name ($(docker image inspect -f '{{.Size}}' "$name") bytes)"
