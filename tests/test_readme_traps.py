"""The README's smaller traps, each fixed or explained where the user meets it, held against what
they are about (up.sh's output, the Makefile, the settings); tests/test_readme.py runs the
commands themselves, the new CSV block among them."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from fn.server import settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
UP = ROOT.parent / "shared" / "openfaas" / "up.sh"


def _block_with(command: str) -> str:
    return next(b for b in re.findall(r"^```sh\n(.*?)^```", README, re.S | re.M) if command in b)


def test_the_openfaas_snippet_uses_what_up_sh_prints_and_says_it_needs_openfaas_bin():
    block = _block_with("faas-cli login")
    assert '"$OPENFAAS_PASSWORD"' in block and '"$PASSWORD"' not in block
    assert "OPENFAAS_URL=http://127.0.0.1:8080" not in README  # the function's own port, not the gateway's
    assert "OPENFAAS_BIN=" in block and "OPENFAAS_BIN" in README.split("```sh\nexport $(")[0][-800:]
    if UP.exists():  # ../shared beside the clone, as CI has it
        up = UP.read_text()
        assert 'echo "OPENFAAS_URL=' in up and 'echo "OPENFAAS_PASSWORD=' in up
        port = re.search(r"port=\$\{GATEWAY_PORT:-(\d+)\}", up).group(1)
        assert f"OPENFAAS_URL=http://127.0.0.1:{port}" in README


def test_another_python_is_named_with_python_and_the_makefile_takes_it():
    assert "make demo\nPYTHON=python3.11" in README or "make demo PYTHON=python3.11" in README
    ran = subprocess.run(["make", "-n", "-B", "PYTHON=python3.11", ".venv/.installed"], cwd=ROOT, capture_output=True,
                         text=True, check=True).stdout
    assert "python3.11 -m venv .venv" in ran and "PYTHON=python3.11" in ran  # the check's own hint names it


def test_the_stop_delay_is_the_drain_delay_and_the_readme_says_so():
    default = next(s for s in settings.SETTINGS if s.name == "drain_delay").default_for("fn")
    said = re.search(r"It takes about (\d+) s, on purpose: after SIGTERM the function\nkeeps answering for "
                     r"`drain_delay` \((\d+) s\)", README)
    assert said and float(said.group(1)) == float(said.group(2)) == default
    assert "-e drain_delay=0" in README


def test_the_call_id_log_line_is_waited_for_and_the_tensorflow_noise_explained():
    assert "until docker logs device-price 2>&1 | grep '\"call_id\":\"my-call-1\"'; do sleep 0.1; done" in README
    assert "tfg_optimizer_hook.cc:135" in README and "harmless" in README
