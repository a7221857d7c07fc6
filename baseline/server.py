"""The server-based baseline: a long-running Waitress server on the function's own modules.

Only the routes differ from the function: parsing, validation, prediction, errors,
health, drain and workers all come from fn/, so the comparison isolates the deployment
model, not the code.
"""

from __future__ import annotations

import argparse
import os
import sys

from fn import api, server
from fn.inference import ModelError, Predictor

PREDICT_PATHS = ("/", "/predict")
HEALTH_PATHS = server.HEALTH_PATHS + ("/healthz",)


def make_route(predictor: Predictor) -> server.Route:
    def route(method: str, path: str, body: bytes) -> api.Response:
        if path in PREDICT_PATHS:
            if method != "POST":
                return api.method_not_allowed(method, "POST")
            return api.predict(predictor, body)
        if path == "/metadata":
            if method not in ("GET", "HEAD"):
                return api.method_not_allowed(method, "GET")
            return api.metadata(predictor)
        return api.error(404, f"no route {path}; use POST /predict, GET /metadata or GET /healthz")

    return route


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m baseline",
        description="Serve the price model with Waitress. Each flag defaults to the environment "
                    "variable of the same name (as the function reads it), else to the value shown.")
    parser.add_argument("--host")
    parser.add_argument("--port", help="default 8000")
    parser.add_argument("--workers", help=f"processes sharing the socket (default: one per core, {os.cpu_count()})")
    parser.add_argument("--threads", help="threads per worker (default 1)")
    parser.add_argument("--max-inflight", help="per worker; past it 429 (default: no limit)")
    parser.add_argument("--read-timeout", help="e.g. 10s")
    parser.add_argument("--write-timeout", help="e.g. 10s")
    parser.add_argument("--drain-delay", help="serve this long after SIGTERM before closing (e.g. 3s)")
    parser.add_argument("--model-dir", help="default: the repository's model/")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env = dict(os.environ)
    env.update({k: v for k, v in vars(args).items() if v is not None and k != "model_dir"})
    try:
        config = server.Config.from_env(env, port=8000, workers=os.cpu_count() or 1)
        predictor = Predictor(args.model_dir) if args.model_dir else Predictor()
    except (server.ConfigError, ModelError) as e:
        print(f"baseline: cannot start: {e}", file=sys.stderr, flush=True)
        return 1
    return server.run(make_route(predictor), config, banner=f"baseline model {predictor.version}: ",
                      health_paths=HEALTH_PATHS)
