"""Every command in the README, run: its ```sh blocks in order, in a fresh directory, against the
images `make image-fn` and `make image-server` build; each must exit 0 and print what the README
shows right after it (a ```json or ```text block) or says of it in words (CHECKS).

Not run, and why:
- the first block, `make demo` and `make test`: `make test` is the whole suite, this test among it,
  and `make demo` trains, converts and builds what the other tests check one by one; CI runs
  `make test` itself (.ci/run);
- the OpenFaaS block (`faas-cli login`, `docker login`, a registry the cluster pulls from):
  tests/test_openfaas.py runs its `faas-cli up`, the rolling update and the rollback against the
  loopback gateway and a local registry;
- inline commands in the prose (Knative's `sed ... | kubectl apply`) need a Kubernetes cluster.

What the run changes, and only that, so that it collides with nothing a person runs beside it:
container names and the images' tags take a prefix (README_TEST_PREFIX, default "readme-test-"),
the host ports published are others (README_TEST_PORT: the first of four in a row; default: free
ones), and `make image-X` becomes the command the Makefile runs for it (checked below) with the
prefixed tag. Between blocks it waits as a person does: after a `docker run`, until the container is
healthy; before each block, 0.3 s (the access log reaches stdout within 0.1 s of an answer).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.launch import free_port
from harness.render import loose
from tests.helpers import ROOT, wait_healthy

README = ROOT / "README.md"
PREFIX = os.environ.get("README_TEST_PREFIX", "readme-test-")
# Blocks not run (see above), by a command each holds: each must still be in the README.
SKIPPED = {"make test": "the whole suite, this test among it (CI runs it itself)",
           "faas-cli up": "a registry the cluster pulls from; tests/test_openfaas.py runs the same steps"}
IMAGES = ("fn", "server")


def blocks(text: str) -> list[tuple[int, str, str]]:
    """(line, language, body) of every fenced block, in order."""
    return [(text.count("\n", 0, m.start()) + 1, m.group(1), m.group(2))
            for m in re.finditer(r"^```(\w*)\n(.*?)^```", text, re.S | re.M)]


def commands(text: str) -> list[tuple[int, str, tuple[str, str] | None]]:
    """(line, body, (language, body) of the block shown as its output) of every sh block."""
    found = blocks(text)
    return [(line, body, found[i + 1][1:] if i + 1 < len(found) and found[i + 1][1] in ("json", "text") else None)
            for i, (line, lang, body) in enumerate(found) if lang == "sh"]


def skipped(body: str) -> bool:
    return any(command in body for command in SKIPPED)


CONTAINER = re.compile(r"(--name |docker (?:logs|stop|rm|kill|exec|inspect) (?:-\w+ )*)([a-z][\w.-]*)")


def test_every_container_a_command_names_is_named_by_an_earlier_run():
    named: set[str] = set()
    for line, body, _ in commands(README.read_text()):
        for verb, name in CONTAINER.findall(body):
            if verb.startswith("--name"):
                named.add(name)
            else:
                assert name in named, f"README.md:{line}: {verb}{name}, but no earlier docker run --name {name}"
    assert named


def test_every_file_a_command_reads_is_written_by_an_earlier_one():
    written: set[str] = set()
    for line, body, _ in commands(README.read_text()):
        if skipped(body):
            continue
        written.update(re.findall(r"cat > ([\w./-]+)", body))  # a block's heredoc comes before its use
        for name in re.findall(r"(?<![\w-])@([\w./-]+)|<\s*([\w./-]+\.\w+)", body):
            used = name[0] or name[1]
            assert used == "-" or used in written, f"README.md:{line}: reads {used}, which no earlier command writes"
    assert "device.json" in written


def test_the_skipped_blocks_are_there_and_the_image_targets_are_the_build_script():
    bodies = [body for _, body, _ in commands(README.read_text())]
    for command in SKIPPED:
        assert sum(command in body for body in bodies) == 1, command
    makefile = (ROOT / "Makefile").read_text()
    for kind in IMAGES:  # what as_run() puts in place of `make image-KIND`
        assert re.search(rf"^image-{kind}:.*\n\tscripts/build_image\.sh {kind}\n", makefile, re.M), kind


def ports(readme: str) -> dict[str, str]:
    """The README's published host ports, each to the one this run publishes instead."""
    found = sorted(set(re.findall(r"127\.0\.0\.1:(\d{4,5})", readme)), key=readme.index)
    first = os.environ.get("README_TEST_PORT")
    chosen = [int(first) + i for i in range(len(found))] if first else [free_port() for _ in found]
    return dict(zip(found, map(str, chosen), strict=True))


def as_run(body: str, mapped: dict[str, str]) -> str:
    """A block as this test runs it: the names, tags and ports above, and nothing else."""
    body = re.sub(r"(?<![\w-])(device-price-(?:fn|server):latest)", PREFIX + r"\1", body)
    body = re.sub(r"\bmake image-(fn|server)\b", rf"{ROOT}/scripts/build_image.sh \1 {PREFIX}device-price-\1:latest",
                  body)
    body = CONTAINER.sub(lambda m: m.group(1) + PREFIX + m.group(2), body)
    return re.sub(r"127\.0\.0\.1:(\d{4,5})", lambda m: "127.0.0.1:" + mapped.get(m.group(1), m.group(1)), body)


def json_equal(printed: str, shown: str) -> None:
    assert loose(json.dumps(json.loads(printed), indent=4)) == loose(json.dumps(json.loads(shown), indent=4))


def check_logs(printed: str, state: dict) -> None:
    """'prints that request's line ("status":200, its duration_ms, the model_version)'."""
    lines = [json.loads(line) for line in printed.splitlines()]
    assert len(lines) == 1 and lines[0]["call_id"] == "my-call-1" and lines[0]["status"] == 200, printed
    assert lines[0]["duration_ms"] > 0 and lines[0]["model_version"]


def check_metrics(printed: str, state: dict) -> None:
    """'the metrics, and which model they are about'."""
    assert re.fullmatch(r'device_price_model_info\{.*model_version="\w+".*\} 1\.0\n', printed), printed


def check_server(printed: str, state: dict) -> None:
    """'the function's answer above'."""
    json_equal(printed, state["first answer"])


# What the README says in words of a block's output, by a command the block holds.
CHECKS: dict[str, Callable[[str, dict], None]] = {
    "docker logs": check_logs, "/metrics": check_metrics, "/predict": check_server}


def wait_gone(name: str, timeout: float = 20.0) -> None:
    """--rm: the container is removed once stopped."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        listed = subprocess.run(["docker", "ps", "-aq", "--filter", f"name=^{name}$"], capture_output=True, text=True)
        if not listed.stdout.strip():
            return
        time.sleep(0.2)
    raise AssertionError(f"{name} still there {timeout:g} s after docker stop")


def test_every_command_in_the_readme_does_what_it_says(docker, tmp_path: Path):
    text = README.read_text()
    mapped, state = ports(text), {}
    names = sorted({PREFIX + name for verb, name in CONTAINER.findall(text) if verb.startswith("--name")})
    ran = 0
    try:
        for line, body, shown in commands(text):
            if skipped(body):
                continue
            time.sleep(0.3)
            proc = subprocess.run(["bash", "-euo", "pipefail", "-c", as_run(body, mapped)], cwd=tmp_path,
                                  capture_output=True, text=True, timeout=900)
            where = f"README.md:{line}"
            assert proc.returncode == 0, f"{where} exited {proc.returncode}:\n{proc.stdout[-2000:]}{proc.stderr[-3000:]}"
            ran += 1
            if shown and shown[0] == "json":
                json_equal(proc.stdout, shown[1])
                state.setdefault("first answer", proc.stdout)
            elif shown:  # HTTP ends header lines with CRLF: a terminal shows them as the README does
                printed = proc.stdout.replace("\r\n", "\n")
                assert printed == shown[1], f"{where} printed {printed!r}, the README shows {shown[1]!r}"
            for command, check in CHECKS.items():
                if command in body:
                    check(proc.stdout, state)
            for published in re.findall(r"docker run .*?-p 127\.0\.0\.1:(\d+):", body):
                assert re.fullmatch(r"[0-9a-f]{64}", proc.stdout.splitlines()[-1]), f"{where}: {proc.stdout}"
                wait_healthy(f"http://127.0.0.1:{mapped[published]}", timeout=60)
            for name in re.findall(r"docker stop (\S+)", body):
                wait_gone(PREFIX + name)
        assert ran >= 9
    finally:
        for name in names:
            subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        for kind in IMAGES:  # untag only: the layers stay with device-price-KIND:latest
            subprocess.run(["docker", "rmi", f"{PREFIX}device-price-{kind}:latest"], capture_output=True)


@pytest.mark.parametrize("body,expected", [
    ("docker run -d --rm --name device-price -p 127.0.0.1:8080:8080 device-price-fn:latest\n"
     "docker logs device-price 2>&1 | grep x\nmake image-fn    # builds device-price-fn:latest\n",
     "docker run -d --rm --name P-device-price -p 127.0.0.1:18480:8080 P-device-price-fn:latest\n"
     "docker logs P-device-price 2>&1 | grep x\n{root}/scripts/build_image.sh fn P-device-price-fn:latest"
     "    # builds P-device-price-fn:latest\n"),
])
def test_as_run_changes_names_tags_and_ports_only(monkeypatch, body, expected):
    monkeypatch.setattr(sys.modules[__name__], "PREFIX", "P-")
    assert as_run(body, {"8080": "18480"}) == expected.format(root=ROOT)
