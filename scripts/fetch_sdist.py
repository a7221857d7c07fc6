"""Download the source distributions a requirements file pins, checked against its hashes.

    python3 scripts/fetch_sdist.py requirements/numpy.txt wheelhouse/numpy

`pip download` cannot fetch an sdist without building its metadata (for numpy: running its
build system on the host); this asks PyPI's simple index (JSON, PEP 691) for the file instead.
Standard library only.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
import urllib.request
from pathlib import Path

from harness import cli

INDEX = "https://pypi.org/simple"


def pins(requirements: Path) -> list[tuple[str, str, set[str]]]:
    """(name, version, sha256 digests) of every `name==version --hash=...` entry."""
    text = requirements.read_text().replace("\\\n", " ")
    out = []
    for line in text.splitlines():
        match = re.match(r"\s*([A-Za-z0-9_.-]+)==(\S+)", line)
        if match:
            out.append((match.group(1), match.group(2), set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))))
    return out


def fetch(name: str, version: str, digests: set[str], dest: Path) -> Path:
    target = dest / f"{name}-{version}.tar.gz"
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() in digests:
        return target
    request = urllib.request.Request(f"{INDEX}/{name}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        files = json.load(response)["files"]
    (entry,) = [f for f in files if f["filename"] == target.name] or [None]
    if entry is None:
        raise SystemExit(f"fetch_sdist: {target.name} is not on {INDEX}/{name}/")
    with urllib.request.urlopen(entry["url"], timeout=300) as response:
        data = response.read()
    digest = hashlib.sha256(data).hexdigest()
    if digest not in digests:
        raise SystemExit(f"fetch_sdist: {target.name} has sha256 {digest}, not the pinned one")
    dest.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("requirements", type=Path, help="a requirements file with name==version and --hash lines")
    parser.add_argument("dest", type=Path, help="the folder to put the .tar.gz files in")
    args = parser.parse_args(argv)
    for name, version, digests in pins(args.requirements):
        print(f"sdist: {fetch(name, version, digests, args.dest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
