"""make demo: a prediction in-process, then from the function image run as faas-cli local-run would."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import requests

from fn.features import EXAMPLE
from fn.inference import Predictor
from scripts import coldstart, loadtest

ROOT = Path(__file__).resolve().parent.parent
NAME, PORT = "device-price-demo", 8080


def show(label: str, result: dict) -> None:
    print(f"{label}: used price {result['used_price']:.2f} (ln {result['normalized_used_price']:.4f}), "
          f"{result['retained_fraction']:.1%} of the new price {math.exp(EXAMPLE['normalized_new_price']):.2f}")


def side_by_side() -> None:
    """The TFLite function against the TensorFlow reference, measured now: process cold start
    and the reference report's run (100 requests, 10 in flight)."""
    print("\nTFLite function vs TensorFlow reference, as processes on this machine:")
    coldstart.main(["--mode", "process", "--runs", "3", "--quiet"])
    for target, module in coldstart.PROCESS_TARGETS.items():
        port = coldstart.free_port()
        proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, env={**os.environ, "port": str(port), "access_log": "0",
                                                                "drain_delay": "0", "TF_CPP_MIN_LOG_LEVEL": "2"})
        try:
            url = f"http://127.0.0.1:{port}/"
            coldstart.wait_for_prediction(url, 120)
            m = loadtest.python_client(url, 100, 10, json.dumps(EXAMPLE).encode())
        finally:
            proc.terminate()
            proc.wait(30)
        print(f"reference run, {target:<10}: avg {m['avg_ms']:8.2f} ms, max {m['max_ms']:8.2f} ms, "
              f"{m['throughput_rps']:8.1f} req/s, errors {m['error_rate']:.0%}")


def main() -> int:
    print("sample device:", json.dumps(EXAMPLE))
    predictor = Predictor()
    show(f"in-process TFLite (model {predictor.version})", predictor.predict([EXAMPLE], batch=False)[0])
    if not shutil.which("docker") or subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        print("docker is not available: skipping the function image (install docker.io and start dockerd)")
        side_by_side()
        return 0
    if subprocess.run(["scripts/build_image.sh", "fn"], cwd=ROOT).returncode != 0:
        return 1
    subprocess.run(["docker", "rm", "-f", NAME], capture_output=True)
    # As `faas-cli local-run` runs it: port 8080, the read-only root of stack.yml, no tmpfs.
    started = time.monotonic()
    subprocess.run(["docker", "run", "-d", "--rm", "--name", NAME, "--read-only", "-p", f"127.0.0.1:{PORT}:8080",
                    "device-price-fn:latest"], check=True, capture_output=True)
    try:
        url = f"http://127.0.0.1:{PORT}"
        while True:
            try:
                r = requests.post(url, json=EXAMPLE, timeout=2)
                if r.status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() - started > 30:
                print("the function did not answer within 30 s", file=sys.stderr)
                return 1
            time.sleep(0.02)
        print(f"function container answered {time.monotonic() - started:.2f} s after docker run")
        show("function image (POST http://127.0.0.1:8080/)", r.json())
    finally:
        subprocess.run(["docker", "stop", NAME], capture_output=True)
    side_by_side()
    return 0


if __name__ == "__main__":
    sys.exit(main())
