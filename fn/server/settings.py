"""Every setting of the function and the server, declared once.

The function reads them from the environment under these names (OpenFaaS passes a
stack.yml's `environment:` as variables, lower-case as the watchdog's own); both programs
also take them as flags (--max-inflight 64), generated from this table, which beats the
environment. `python -m fn --help` and `python -m baseline --help` print the table.
"""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fn.api.body import Limits
from fn.model import MODEL_DIR as DEFAULT_MODEL_DIR


class ConfigError(ValueError):
    """A setting's value is unusable; the message names the setting."""


# -- value types: text -> value, raising ValueError with the reason ------------------------

def duration(text: str) -> float:
    """An OpenFaaS/Go duration ("10s", "500ms", "1m30s") or plain seconds, as seconds."""
    text = text.strip()
    try:
        seconds = float(text)
    except ValueError:
        units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|us|µs|ns|h|m|s)", text)
        if not parts or "".join(a + b for a, b in parts) != text:
            raise ValueError("is not a duration such as 10s, 500ms or 1m30s") from None
        seconds = sum(float(a) * units[b] for a, b in parts)
    if seconds < 0:
        raise ValueError("must not be negative")
    return seconds


def _whole(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError("is not a whole number") from None
    if value < least:
        raise ValueError(f"must be at least {least}")
    return value


def count(text: str) -> int:
    """A whole number, at least 1."""
    return _whole(text, 1)


def natural(text: str) -> int:
    """A whole number, at least 0."""
    return _whole(text, 0)


def port(text: str) -> int:
    value = _whole(text, 1)
    if value > 65535:
        raise ValueError("is not a TCP port")
    return value


def switch(text: str) -> bool:
    if text.strip().lower() in ("1", "true", "yes", "on"):
        return True
    if text.strip().lower() in ("0", "false", "no", "off"):
        return False
    raise ValueError("is not on or off (1/0, true/false, yes/no)")


def text(value: str) -> str:
    return value


def log_format(value: str) -> str:
    if value.strip().lower() not in ("json", "text"):
        raise ValueError("is not json or text")
    return value.strip().lower()


# -- the table ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    # The server's own default where it differs (it is a long-running multi-core Deployment).
    server_default: Any = None
    # Other environment names read too, after `name` (platforms that set PORT).
    aliases: tuple[str, ...] = field(default=())

    def default_for(self, program: str) -> Any:
        return self.server_default if program == "baseline" and self.server_default is not None else self.default


SETTINGS: tuple[Setting, ...] = (
    Setting("host", text, "0.0.0.0", "address to listen on"),
    Setting("port", port, 8080, "TCP port to listen on", server_default=8000, aliases=("PORT",)),
    Setting("workers", count, 1, "processes sharing the listening socket (one starts fastest)",
            server_default=2),
    Setting("threads", count, 1, "threads per worker; 1 measured fastest for this CPU-bound model"),
    Setting("max_inflight", natural, 0, "per worker: requests queued or running past this get 429 (0: no limit)"),
    Setting("read_timeout", duration, 10.0, "an idle or stalled connection is closed after this (within 1 s more)"),
    Setting("write_timeout", duration, 10.0, "the longest a request may take to finish during a drain"),
    Setting("drain_delay", duration, 5.0, "keep serving this long after SIGTERM while the platform stops routing"),
    Setting("worker_timeout", duration, 30.0, "workers > 1: a worker whose loop has not turned for this long is "
                                              "killed and replaced"),
    Setting("connection_limit", count, 1000, "open connections per worker (Waitress's 100 lets idle ones "
                                             "lock everyone out)"),
    Setting("access_log", switch, True, "one line per request on stdout"),
    Setting("log_format", log_format, "json", "json: one JSON object per line (for log collectors); text"),
    Setting("metrics_port", natural, 8081, "Prometheus /metrics on this port (0: none)", server_default=8001),
    Setting("metrics_dir", Path, Path("/dev/shm"), "workers > 1: where the workers' metric files live (memory)"),
    Setting("max_batch_rows", count, Limits.max_batch_rows, "rows in one batch request; more get 413"),
    Setting("max_body_bytes", count, Limits.max_body_bytes, "bytes in one request body; more get 413"),
    Setting("token_file", Path, Path("/var/openfaas/secrets/device-price-token"),
            "when this file exists, requests but health probes need Authorization: Bearer <its content>"),
    Setting("model_dir", Path, DEFAULT_MODEL_DIR, "folder with model.tflite, feature_spec.json and manifest.json",
            aliases=("MODEL_DIR",)),
    # A test seam, not a knob: off only to measure what the Waitress tuning buys
    # (scripts/bench_concurrency.py).
    Setting("waitress_tuning", switch, True, "test seam: the two Waitress settings that stop it spinning"),
)
BY_NAME = {s.name: s for s in SETTINGS}



@dataclass(frozen=True)
class Config:
    """One attribute per setting, in the table's order, typed as its parser returns
    (tests/test_settings.py holds the two to each other)."""
    host: str
    port: int
    workers: int
    threads: int
    max_inflight: int
    read_timeout: float
    write_timeout: float
    drain_delay: float
    worker_timeout: float
    connection_limit: int
    access_log: bool
    log_format: str
    metrics_port: int
    metrics_dir: Path
    max_batch_rows: int
    max_body_bytes: int
    token_file: Path
    model_dir: Path
    waitress_tuning: bool


def defaults(program: str = "fn") -> Config:
    """The program's Config with nothing set."""
    return Config(**{s.name: s.default_for(program) for s in SETTINGS})


def _value(setting: Setting, text: str, source: str) -> Any:
    try:
        return setting.parse(text)
    except ValueError as e:
        raise ConfigError(f"{source}={text!r} {e}") from None


def from_env(env: Mapping[str, str] | None = None, program: str = "fn") -> Config:
    """The program's Config from environment variables (unset or empty ones keep the default)."""
    env = os.environ if env is None else env
    values = {}
    for s in SETTINGS:
        for name in (s.name, *s.aliases):
            if env.get(name):
                values[s.name] = _value(s, env[name], name)
                break
    return replace(defaults(program), **values)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def parser(program: str, description: str) -> argparse.ArgumentParser:
    """Flags for every setting, each naming its variable and default."""
    p = argparse.ArgumentParser(prog=f"python -m {program}", description=description,
                                epilog="Each flag beats the environment variable named beside it.")
    for s in SETTINGS:
        default = s.default_for(program)
        shown = default.name if isinstance(default, Path) and default == DEFAULT_MODEL_DIR else default
        env = "/".join((s.name, *s.aliases))
        p.add_argument(_flag(s.name), dest=s.name, metavar="VALUE",
                       help=f"{s.help} [env {env}; default {shown}]")
    return p


def load(program: str, description: str, argv: list[str] | None = None,
         env: Mapping[str, str] | None = None) -> Config:
    """Config from flags, else the environment, else the program's defaults. A bad flag exits 2
    with usage (argparse's way); a bad variable raises ConfigError."""
    p = parser(program, description)
    args = p.parse_args(argv)
    config = from_env(env, program)
    flags = {}
    for s in SETTINGS:
        given = getattr(args, s.name)
        if given is not None:
            try:
                flags[s.name] = _value(s, given, _flag(s.name))
            except ConfigError as e:
                p.error(str(e))
    return replace(config, **flags)
