"""One start-up for the function, the server and the TensorFlow reference: read the settings,
load the model before the socket listens, then listen, make the metrics, the access log and the
app, and serve in this process (fn/server/serve.py) or in forked workers (fn/server/supervisor.py).
Whatever stops a start is one line, `<name>: cannot start: <why>`, on stderr, and exit status 1;
never a traceback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from fn.api.body import Limits
from fn.api.dataplane import DataPlane
from fn.model.interface import Model
from fn.model.tflite import ModelError
from fn.record.fields import FIELDS
from fn.server import logs, metrics, serve, settings
from fn.server.app import App, Route
from fn.server.auth import BearerToken, TokenFileError
from fn.server.settings import Config
from fn.server.supervisor import Supervisor

# What a start can fail with: a setting that does not parse, model files that do not load or do
# not match their manifest, a file the process may not read (OSError names the file).
START_ERRORS = (settings.ConfigError, ModelError, OSError, ValueError)


# What serves once the model is loaded: (config, name, model, make_route, load_seconds) -> exit status.
Runner = Callable[[Config, str, Model, Callable[[DataPlane], Route], float], int]


def main(program: str, description: str, load: Callable[[Any], Model], make_route: Callable[[DataPlane], Route],
         name: str, argv: list[str] | None = None, runner: Runner | None = None) -> int:
    """Settings (flags beat the environment), the model, then run (over HTTP unless `runner`
    says otherwise: AWS Lambda's Runtime API); 1 with one line if any fails."""
    try:
        config = settings.load(program, description, argv)  # a bad flag exits 2 with usage
        started = time.perf_counter()
        model = load(config.model_dir)
    except START_ERRORS as e:
        serve.say(name, f"cannot start: {e}")
        return 1
    return (runner or run)(config, name, model, make_route, time.perf_counter() - started)


def make_app(config: Config, model: Model, make_route: Callable[[DataPlane], Route], token: BearerToken,
             measured: metrics.Metrics | None = None, max_body_bytes: int | None = None,
             too_large_hint: str = "") -> App:
    """The WSGI application every platform serves: the route over the data plane, the token,
    the access log and the limits."""
    max_body_bytes = config.max_body_bytes if max_body_bytes is None else max_body_bytes
    plane = DataPlane(model, Limits(config.max_batch_rows, max_body_bytes), serve.Observer(measured))
    return App(make_route(plane), access=logs.AccessLog(config.log_format, model.version) if config.access_log else None,
               metrics=measured, max_inflight=config.max_inflight, max_body_bytes=max_body_bytes,
               token=token, plane=plane, too_large_hint=too_large_hint)


def run(config: Config, name: str, model: Model, make_route: Callable[[DataPlane], Route],
        load_seconds: float) -> int:
    """Listen, then serve `model` in this process (workers=1) or in forked workers sharing the socket."""
    try:
        token = BearerToken(config.token_file)  # read once now: an unreadable secret stops here
        sock = serve.listen(config.host, config.port)
    except (serve.StartError, TokenFileError) as e:
        serve.say(name, f"cannot start: {e}")
        return 1
    logs.configure(config.log_format)
    multiprocess_dir = None
    measured = endpoint = None
    if config.metrics_port:
        try:
            if config.workers > 1:  # before any metric exists
                multiprocess_dir = metrics.use_multiprocess(config.metrics_dir)
        except OSError as e:
            serve.say(name, f"cannot start: metrics_dir={config.metrics_dir} is not writable ({e.strerror or e})")
            return 1
        try:
            endpoint = metrics.Endpoint(config.host, config.metrics_port, multiprocess_dir)
        except OSError as e:
            serve.say(name, f"cannot start: metrics: {serve.cannot_listen(config.host, config.metrics_port, e)}")
            return 1
        measured = metrics.Metrics(FIELDS)
        measured.started(model.version, model.runtime, _version_of(model.runtime), load_seconds, config.max_inflight)
    app = make_app(config, model, make_route, token, measured)
    logs.event(f"{name} listening on http://{config.host}:{config.port}", model_version=model.version,
               model_load_seconds=round(load_seconds, 4), auth="bearer token" if app.token.current() is not None
               else "none", metrics=f"http://{config.host}:{config.metrics_port}/metrics" if measured else "off",
               settings={k: str(v) for k, v in vars(config).items()})
    if config.workers == 1:
        if endpoint:
            endpoint.start(measured)
        serve.serve_socket(app, sock, config, name)
        logs.event("drained; exiting")
        return 0
    return Supervisor(app, sock, config, name, multiprocess_dir, endpoint).run()


def _version_of(runtime: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(runtime.split()[0].replace("_", "-"))
    except (metadata.PackageNotFoundError, ValueError):
        return "unknown"
