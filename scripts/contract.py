"""Contract testing with schemathesis: every operation of the OpenAPI document the service
serves (GET /openapi.json), with schemathesis's standard checks: no server errors, status codes
and content types as documented, responses conforming to their schema.

    python -m scripts.contract [--examples 200] [--json docs/bench/contract.json]

Runs against the function and the server images as users run them (read-only root, no /tmp);
`make contract` builds them first. make test runs the same checks, fewer examples, against
processes (tests/test_protocols.py).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from harness import cli, launch
from harness.launch import TARGETS

CHECKS = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
          "response_schema_conformance")
IMAGES = {name: TARGETS[name].image for name in ("function", "server")}
OUT = launch.ROOT / "docs" / "bench" / "contract.json"


def run_schemathesis(url: str, max_examples: int) -> tuple[bool, str]:
    """(passed, schemathesis's report) for the service at `url`."""
    proc = subprocess.run([sys.executable, "-m", "schemathesis.cli", "run", f"{url}/openapi.json",
                           "--checks", ",".join(CHECKS), "--max-examples", str(max_examples),
                           # every path: by default schemathesis leaves out the document's own
                           "--include-path-regex", "^/",
                           "--generation-deterministic", "--no-color"],
                          capture_output=True, text=True, timeout=3600)
    return proc.returncode == 0, proc.stdout + proc.stderr


def _summary(report: str) -> str:
    lines = [line.strip() for line in report.splitlines() if "generated," in line]
    return lines[-1] if lines else report.strip().splitlines()[-1] if report.strip() else "no output"


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--examples", type=int, default=200, help="examples per operation (default 200)")
    parser.add_argument("--json", type=Path, default=OUT, help="where to write the results")
    args = parser.parse_args(argv)
    results = {}
    for target, image in cli.progress(list(IMAGES.items()), "targets"):
        name, url = launch.docker_run(image, f"device-price-contract-{target}", tmpfs=False)
        try:
            launch.wait_until_ok(url + "/_/ready")
            started = time.perf_counter()
            passed, report = run_schemathesis(url, args.examples)
        finally:
            launch.stop_container(name)
        results[target] = {"image": image, "passed": passed, "summary": _summary(report),
                           "seconds": round(time.perf_counter() - started, 1)}
        if not passed:
            print(report)
        print(f"{target}: {'passed' if passed else 'FAILED'}: {results[target]['summary']}")
    cli.write_json(args.json, {"examples_per_operation": args.examples, "checks": list(CHECKS), "results": results})
    return 0 if all(r["passed"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
