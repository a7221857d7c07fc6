"""The one settings table: values, flags generated from it, --help, and the deploy files kept
in step with it."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from fn.server import settings
from tests.helpers import ROOT, expand

# Values a deploy file sets on purpose, different from the program's default.
DEPLOY_CHOICES = {
    "max_inflight": "a bound per replica behind a gateway or Service",
    "workers": "one worker per pod in Kubernetes: scale with replicas instead",
}


@pytest.mark.parametrize("text, seconds", [("10s", 10), ("500ms", 0.5), ("1m30s", 90), ("2", 2), ("0", 0)])
def test_durations(text, seconds):
    assert settings.duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("env, message", [
    ({"read_timeout": "soon"}, "read_timeout='soon' is not a duration"),
    ({"workers": "two"}, "workers='two' is not a whole number"),
    ({"workers": "0"}, "workers='0' must be at least 1"),
    ({"port": "70000"}, "not a TCP port"),
    ({"access_log": "maybe"}, "access_log='maybe' is not on or off"),
    ({"drain_delay": "-1"}, "drain_delay='-1' must not be negative"),
])
def test_bad_configuration_is_named(env, message):
    with pytest.raises(settings.ConfigError, match=message):
        settings.from_env(env)


def test_configuration_from_environment_and_flags():
    config = settings.from_env({"port": "9000", "write_timeout": "2s", "max_inflight": "3"})
    assert (config.port, config.write_timeout, config.max_inflight, config.workers) == (9000, 2.0, 3, 1)
    assert settings.from_env({"PORT": "9100"}).port == 9100  # Knative's name
    assert settings.from_env({}, "baseline").port == 8000 and settings.from_env({}, "baseline").workers == 2
    flagged = settings.load("fn", "", ["--port", "9200", "--access-log", "off"], env={"port": "9000"})
    assert flagged.port == 9200 and flagged.access_log is False  # a flag beats the environment


def test_every_setting_has_a_flag_and_a_help_line(monkeypatch):
    monkeypatch.setenv("COLUMNS", "400")  # one line per flag
    text = settings.parser("fn", "").format_help()
    for s in settings.SETTINGS:
        assert "--" + s.name.replace("_", "-") in text and f"env {s.name}" in text, s.name
        assert s.help


@pytest.mark.parametrize("module", ["fn", "baseline"])
def test_help_prints_the_table_and_unknown_flags_exit_2(module):
    proc = subprocess.run([sys.executable, "-m", module, "--help"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 0 and proc.stdout.startswith(f"usage: python -m {module}")
    assert "--drain-delay" in proc.stdout and "--max-batch-rows" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", module, "--no-such-flag"], cwd=ROOT, capture_output=True, text=True,
                          timeout=30)
    assert proc.returncode == 2 and "usage:" in proc.stderr and "--no-such-flag" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", module, "--workers", "none"], cwd=ROOT, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2 and "--workers='none' is not a whole number" in proc.stderr


def deploy_environments() -> list[tuple[str, str, dict[str, str]]]:
    """(file, program, environment) of every deploy file that sets the programs' variables."""
    stack = yaml.safe_load(expand((ROOT / "stack.yml").read_text(), {}))
    out = [("stack.yml", "fn", {k: str(v) for k, v in stack["functions"]["device-price"]["environment"].items()})]
    for doc in yaml.safe_load_all((ROOT / "deploy/k8s/server.yaml").read_text()):
        if doc and doc["kind"] == "Deployment":
            env = doc["spec"]["template"]["spec"]["containers"][0]["env"]
            out.append(("deploy/k8s/server.yaml", "baseline", {e["name"]: e["value"] for e in env}))
    for dockerfile, program in (("Dockerfile.fn", "fn"), ("Dockerfile.server", "baseline")):
        env_line = next(line for line in (ROOT / dockerfile).read_text().splitlines() if line.startswith("ENV "))
        values = dict(re.findall(r"(\w+)=(\S+)", env_line))
        out.append((dockerfile, program, {k: v for k, v in values.items() if k in settings.BY_NAME}))
    return out


def test_deploy_files_are_in_step_with_the_table():
    for path, program, env in deploy_environments():
        config = settings.from_env(env, program)  # every value parses
        default = settings.defaults(program)
        for name in env:
            assert name in settings.BY_NAME, f"{path}: {name} is not a setting"
            if name not in DEPLOY_CHOICES:
                assert getattr(config, name) == getattr(default, name), (
                    f"{path}: {name}={env[name]} differs from the table's default {getattr(default, name)}")


def test_server_workers_agree_with_its_image():
    text = (ROOT / "Dockerfile.server").read_text()
    assert f"{settings.defaults('baseline').workers} workers" in text


def test_config_is_typed_as_the_table_parses():
    """settings.Config declares one field per Setting, in the table's order, of the type its parser returns."""
    import dataclasses
    import typing

    hints = typing.get_type_hints(settings.Config)
    assert [f.name for f in dataclasses.fields(settings.Config)] == [s.name for s in settings.SETTINGS]
    for s in settings.SETTINGS:
        returned = s.parse if isinstance(s.parse, type) else typing.get_type_hints(s.parse)["return"]
        assert hints[s.name] is returned, s.name
        assert isinstance(s.default, returned) and isinstance(s.default_for("baseline"), returned), s.name
