"""Each platform's own cold start, from the measurements that name it:

- OpenFaaS and Knative: the measured scale from zero through the real gateway
  (docs/bench/coldstart-openfaas.json `scale_from_zero`, with its breakdown); the platform's share
  of it (scale from zero less `docker_run` in the same file) is added to the TensorFlow image's
  own start, to a start on a node without the image, and to a new Fargate pod (provisioning,
  published, plus the measured pull and start);
- Lambda: the cold start under the real Lambda runtime emulator (docs/bench/coldstart-lambda.json
  `lambda`); the emulator's share of it (less `function`, the process alone) added to the
  TensorFlow image's process start; an init past Lambda's 10 s limit is restarted within the
  first invocation; the billed duration per invocation as the emulator measured it;
- Cloud Run: the process start plus an assumed platform share (prices.cloud_run_platform_s).

Until a file exists, the inputs it replaces are used, and `fallbacks()` says which: OpenFaaS and
Knative as `docker run` alone (coldstart-docker.json, the platform's share not counted; also
while coldstart-openfaas.json still has the earlier format, without `scale_from_zero`), Lambda
as the process start plus the published platform share (prices.lambda_platform_s).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from scripts.fleet.prices import f

OPENFAAS = "coldstart-openfaas.json"
LAMBDA = "coldstart-lambda.json"
MEASURED_IMAGE = ("fn", "server")  # the images the platform measurements ran (the slim image's builds)


def _runs(block: dict[str, Any]) -> np.ndarray:
    """A measurement's runs in seconds (numbers, or objects with `seconds`), else its median."""
    runs = [r if isinstance(r, int | float) else r.get("seconds", r.get("first_200")) for r in block.get("runs", [])]
    runs = [float(r) for r in runs if r is not None]
    return np.array(runs or [float(block["median_s"])], dtype=float)


def _load(bench: Path, name: str) -> dict[str, Any] | None:
    path = bench / name
    return json.loads(path.read_text()) if path.exists() else None


def openfaas(bench: Path) -> dict[str, Any] | None:
    """The scale-from-zero measurement, or None before it exists in its current format."""
    data = _load(bench, OPENFAAS)
    if data is None or "scale_from_zero" not in data:
        return None
    return data


def lambda_(bench: Path) -> dict[str, Any] | None:
    return _load(bench, LAMBDA)


def fallbacks(bench: Path) -> list[str]:
    """The inputs used in place of a measurement that is not there yet."""
    out = []
    if openfaas(bench) is None:
        out.append(f"OpenFaaS and Knative cold starts: `docker run` alone (docs/bench/coldstart-docker.json), the "
                   f"platform's share not counted, until docs/bench/{OPENFAAS} has `scale_from_zero`")
    if lambda_(bench) is None:
        out.append(f"Lambda cold start: the process start plus the published {f('lambda_platform_s'):g} s "
                   f"(maxday/lambda-perf), and its billed duration the simulated service time, until docs/bench/"
                   f"{LAMBDA} exists")
    return out


def _init_limit(seconds: np.ndarray) -> np.ndarray:
    limit = f("lambda_init_limit_s")
    return np.where(seconds > limit, limit + seconds, seconds)


def fill(replica: Any, bench: Path) -> None:
    """Set `replica.cold` (and the Lambda duration) from the platforms' measurements."""
    kind, sources = replica.kind, replica.sources
    sfz = openfaas(bench)
    share = 0.0
    if sfz is None:
        node = replica.cold_docker
        sources["cold_node"] = "FALLBACK: docs/bench/coldstart-docker.json docker run (no scale_from_zero yet)"
    else:
        share = max(0.0, float(sfz["scale_from_zero"]["median_s"]) - float(sfz["docker_run"]["median_s"]))
        node = _runs(sfz["scale_from_zero"]) if kind in MEASURED_IMAGE else replica.cold_docker + share
        sources["cold_node"] = (f"docs/bench/{OPENFAAS} scale_from_zero" if kind in MEASURED_IMAGE else
                                f"docker run + the platform's share of docs/bench/{OPENFAAS} scale_from_zero")
    pull = replica.cold_pull + share
    replica.cold.update(node=node, pull=pull, fargate=pull + f("fargate_provision_s"))
    sources["cold_fargate"] = "prices.fargate_provision_s + the pull and start on a fresh node (+ the platform's share)"
    measured = lambda_(bench)
    if measured is None:
        lam = replica.cold_process + f("lambda_platform_s")
        sources["cold_lambda"] = "FALLBACK: docs/bench/coldstart-process.json + prices.lambda_platform_s"
    else:
        own = _runs(measured["lambda"])
        lam = own if kind in MEASURED_IMAGE else replica.cold_process + max(
            0.0, float(np.median(own)) - float(measured["function"]["median_s"]))
        if kind in MEASURED_IMAGE:
            replica.lambda_duration_s = float(measured["invocation"]["duration_ms_median"]) / 1000
        sources["cold_lambda"] = f"docs/bench/{LAMBDA} lambda" + ("" if kind in MEASURED_IMAGE else
                                                                   " less function, on this image's process start")
    replica.cold.update(**{"lambda": _init_limit(lam),
                           "cloud_run": replica.cold_process + f("cloud_run_platform_s")})
