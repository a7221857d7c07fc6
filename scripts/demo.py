"""make demo: a prediction in-process, then from the function image run as faas-cli local-run
would, then the TFLite function beside the TensorFlow reference."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import time

from fn.api.dataplane import DataPlane
from fn.model.tflite import Predictor
from fn.record.features import EXAMPLE
from harness import cli, coldstart, launch
from harness.launch import TARGETS
from harness.load import python_client


def show(label: str, result: dict) -> None:
    print(f"{label}: used price {result['used_price']:.2f} (ln {result['normalized_used_price']:.4f}), "
          f"{result['retained_fraction']:.1%} of the new price {math.exp(EXAMPLE['normalized_new_price']):.2f}")


def side_by_side() -> None:
    """The TFLite function against the TensorFlow reference, measured now: process cold start
    and the reference report's run (100 requests, 10 in flight)."""
    print("\nTFLite function vs TensorFlow reference, as processes on this machine:")
    for name, s in coldstart.run("process", 3, quiet=True)["stats"].items():
        print(f"cold start, {name:<10}: median {s['median']:.3f} s of {s['n']} (min {s['min']:.3f} s, max {s['max']:.3f} s)")
    for name in launch.PROCESS_TARGETS:
        target = TARGETS[name]
        proc, url = launch.serve_process(target, launch.QUIET)
        try:
            m = python_client(url + target.predict_path, 100, 10, launch.EXAMPLE_BODY)
        finally:
            launch.stop_process(proc)
        print(f"reference run, {name:<10}: avg {m['avg_ms']:8.2f} ms, max {m['max_ms']:8.2f} ms, "
              f"{m['throughput_rps']:8.1f} req/s, errors {m['error_rate']:.0%}")


def function_image() -> int:
    """Build the function image and ask it once, as `faas-cli local-run` runs it: port 8080,
    the read-only root of stack.yml, no tmpfs. The tag and the container's name are this run's
    own (a user's device-price-fn:latest or container is never replaced), removed afterwards."""
    target = TARGETS["function"]
    image = launch.own_name("device-price-fn:demo")
    if subprocess.run(["scripts/build_image.sh", target.build, image], cwd=launch.ROOT).returncode != 0:
        return 1
    started = time.perf_counter()
    name, url = launch.docker_run(image, launch.own_name("device-price-demo"), env={"access_log": "1"}, tmpfs=False)
    try:
        seconds = launch.wait_for_prediction(url + target.predict_path, 30, started)
        print(f"function container answered {seconds:.2f} s after docker run")
        _, body = launch.http("POST", url + target.predict_path, launch.EXAMPLE_BODY)
        show(f"function image (POST {url}{target.predict_path})", json.loads(body))
    except TimeoutError as e:
        print(f"the function did not answer: {e}", file=sys.stderr)
        return 1
    finally:
        launch.stop_container(name)
        launch.docker("rmi", image, check=False)
    return 0


def main(argv: list[str] | None = None) -> int:
    cli.parser(__spec__, __file__, __doc__).parse_args(argv)
    print("sample device:", json.dumps(EXAMPLE))
    predictor = Predictor()
    show(f"in-process TFLite (model {predictor.version})", DataPlane(predictor).predictions([EXAMPLE], batch=False)[0])
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("docker is not available: skipping the function image (install docker.io and start dockerd)")
    elif function_image() != 0:
        return 1
    side_by_side()
    return 0


if __name__ == "__main__":
    sys.exit(main())
