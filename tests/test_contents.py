"""What goes into each image is listed once, in its Dockerfile's COPY lines; the other
places that must agree with it are checked here, fast and without Docker: .dockerignore,
stack.yml's configuration.copy (the faas-cli context) and the TensorFlow context script."""

from __future__ import annotations

import difflib
import os
import subprocess
from pathlib import Path

import yaml

from tests.helpers import ROOT, expand


def copy_sources(dockerfile: str) -> set[str]:
    """The build-context paths a Dockerfile's COPY lines take (not those from another stage),
    less those inside another one (wheelhouse/numpy travels with wheelhouse)."""
    out = set()
    for line in (ROOT / dockerfile).read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            out |= {w.rstrip("/") for w in words[1:-1]}
    return {p for p in out if not any(p.startswith(q + "/") for q in out)}


def test_slim_dockerfiles_differ_only_where_they_must():
    fn, server = ((ROOT / f).read_text().splitlines() for f in ("Dockerfile.fn", "Dockerfile.server"))
    changed = [line[1:] for line in difflib.unified_diff(fn, server, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    # The server keeps a health check (its port in it); the function listens first instead
    # (launcher/listen_first.c, built and copied only there).
    health = ("HEALTHCHECK ", '  CMD ["/usr/local/bin/health"')
    launcher = ("COPY launcher/listen_first.c ", "COPY probe/health.c ", "COPY --from=probe /build/health ",
                "RUN gcc -O2 -Wall -Wextra -Werror -s -o /build/listen-first ")
    allowed = ("#", "COPY baseline/", "EXPOSE ", "ENTRYPOINT ", *health, *launcher)
    assert changed and all(line.startswith(allowed) for line in changed), changed
    assert copy_sources("Dockerfile.server") == copy_sources("Dockerfile.fn") - {"launcher/listen_first.c"} | {"baseline"}


def test_dockerignore_lets_in_exactly_what_the_slim_images_copy():
    allowed = {line[1:].rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.startswith("!")}
    assert allowed == copy_sources("Dockerfile.fn") | copy_sources("Dockerfile.server")
    assert "model/model.keras" not in allowed and not any(a.startswith("requirements/tf") for a in allowed)


def test_faas_cli_context_is_what_the_function_image_copies():
    stack = yaml.safe_load(expand((ROOT / "stack.yml").read_text(), {}))
    copied = {os.path.normpath(p) for p in stack["configuration"]["copy"]}
    assert copied == copy_sources("Dockerfile.fn")
    handler = ROOT / stack["functions"]["device-price"]["handler"]
    # nothing else travels with it but the .dockerignore that keeps a checkout's bytecode out of the context
    assert sorted(p.name for p in handler.iterdir()) == [".dockerignore", "Dockerfile"]
    assert {"**/__pycache__", "**/*.pyc"} <= set((handler / ".dockerignore").read_text().splitlines())


def test_tensorflow_context_is_what_its_dockerfile_copies():
    proc = subprocess.run(["scripts/build_image.sh", "tf"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "CONTEXT_ONLY": "1"}, timeout=60)
    assert proc.returncode == 0, proc.stderr
    context = ROOT / "build/tf-context"
    present = {str(p.relative_to(context)) for p in context.rglob("*")}
    for source in copy_sources("Dockerfile.tf"):
        assert source in present, f"{source} is copied by Dockerfile.tf but missing from the context"
    tops = {Path(p).parts[0] for p in present}
    assert tops == {Path(s).parts[0] for s in copy_sources("Dockerfile.tf")}
    files = {p for p in present if (context / p).is_file() and not p.startswith("wheelhouse/")}
    expected = {str(f.relative_to(ROOT)) for s in copy_sources("Dockerfile.tf") if s != "wheelhouse"
                for f in ([ROOT / s] if (ROOT / s).is_file() else (ROOT / s).rglob("*"))
                if f.is_file() and "__pycache__" not in f.parts}
    assert files == expected
