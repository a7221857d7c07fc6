"""One start-up for the function, the server and the TensorFlow reference: read the settings,
load the model before the socket listens, then serve. Whatever stops a start is one line,
`<name>: cannot start: <why>`, on stderr, and exit status 1; never a traceback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fn.api.dataplane import DataPlane
from fn.model.interface import Model
from fn.model.tflite import ModelError
from fn.server import serve, settings
from fn.server.app import Route

# What a start can fail with: a setting that does not parse, model files that do not load or do
# not match their manifest, a file the process may not read (OSError names the file).
START_ERRORS = (settings.ConfigError, ModelError, OSError, ValueError)


def main(program: str, description: str, load: Callable[[Any], Model], make_route: Callable[[DataPlane], Route],
         name: str, argv: list[str] | None = None) -> int:
    """Settings (flags beat the environment), the model, then serve.run; 1 with one line if any fails."""
    try:
        config = settings.load(program, description, argv)  # a bad flag exits 2 with usage
        started = time.perf_counter()
        model = load(config.model_dir)
    except START_ERRORS as e:
        serve.say(name, f"cannot start: {e}")
        return 1
    return serve.run(config, name, model, make_route, time.perf_counter() - started)
