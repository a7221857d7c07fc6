"""Deploying on a real OpenFaaS gateway, measured: an update and a rollback under load, and what a
model or code update moves.

    python -m scripts.rollout [--clients 4] [--out docs/bench]

Starts the local stack (../shared/openfaas/up.sh, or OPENFAAS_STACK_DIR; harness/openfaas.py) and
always takes it down. Builds as the README's offline `faas-cli up` does, to the stack's registry:
A (the repository), B (another model version in model/manifest.json: the model layer as a
retrained model changes it) and C (a one-line change to fn/). Then writes rollout.json: A -> B
(update) and B -> A (rollback) with `faas-cli deploy` while --clients clients call through the
gateway (`faas-cli up` is build, push, then this deploy): failed requests, when the new version
first and the old one last answered, when only the new replica was left; and per update the
compressed bytes a node holding A pulls (registry blob sizes) and the image sizes.
`make rollout` runs it, then on one stack with A deployed (python -m scripts.on_stack) the
gateway's cost and the replica at rest (python -m scripts.gateway: gateway.json) and the cold
starts through the gateway (python scripts/coldstart.py --mode openfaas: coldstart-openfaas.json),
then renders docs/deploy.md's section from the three (python -m scripts.render).
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from harness import cli, launch, openfaas
from harness.registry import layers, pulled_bytes

TAGS = {"A": "bench-a", "B": "bench-b", "C": "bench-c"}
DEFAULT_OUT = launch.ROOT / "docs" / "bench"


def image(tag: str) -> str:
    return f"{openfaas.REGISTRY}/local/device-price:{tag}"


def build(stack: openfaas.Stack, tag: str, tree: Path) -> float:
    """faas-cli up --skip-deploy (build and push) from `tree`; seconds."""
    started = time.perf_counter()
    stack.faas_cli("up", "--skip-deploy", "-f", "stack.yml", env=openfaas.build_env(tag), cwd=tree)
    return time.perf_counter() - started


def roll(stack: openfaas.Stack, tag: str, version: str, clients: int) -> dict[str, Any]:
    """faas-cli deploy of `tag` under load; what the clients saw."""
    with openfaas.Load(stack.function_url(), clients) as load:
        time.sleep(2)  # steady load first
        started = time.monotonic()
        stack.faas_cli("deploy", "-f", "stack.yml", env=openfaas.build_env(tag))
        deployed = time.monotonic()
        openfaas.wait_only(image(tag))
        settled = time.monotonic()
        time.sleep(2)
    seen = openfaas.switch(load.answers, started, version, settled)
    seen["deploy_command_s"] = round(deployed - started, 3)
    return seen


def table(rollout: dict[str, Any]) -> str:
    """What the clients saw and what each update pulls, on stdout (docs/deploy.md's section renders
    them from rollout.json: python -m scripts.render)."""
    lines = [f"{rollout['clients']} clients through the gateway; seconds from the deploy command"]
    for name in ("update", "rollback"):
        r = rollout[name]
        lines.append(f"{name}: {r['requests']:,} requests, {r['failed']} failed; first new answer {r['first_new_s']} s, "
                     f"last old {r['last_old_s']} s, only the new replica left {r['settled_s']} s")
    for name, tag in (("model", "B"), ("code", "C")):
        lines.append(f"new {name}: {rollout['pulled_bytes'][name] / 1e3:,.1f} kB pulled by a node holding A, image "
                     f"{rollout['image_bytes'][tag] / 1e6:.1f} MB in {rollout['layers'][tag]} layers")
    return "\n".join(lines)


def parser() -> Any:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--clients", type=int, default=4, help="clients calling during an update (default 4)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where rollout.json goes (default docs/bench)")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    folder = openfaas.stack_dir()
    if folder is None:
        print(f"rollout: {openfaas.missing()}", file=sys.stderr)
        return 1
    stack = openfaas.Stack(folder)
    trees = Path(tempfile.mkdtemp(prefix="rollout-"))
    date = cli.now()
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        stack.up()
        stack.faas_cli("up", "-f", "stack.yml", env=openfaas.build_env(TAGS["A"]))
        launch.wait_for_prediction(stack.function_url(), 180)
        version = json.loads(launch.http("GET", stack.function_url("/metadata"))[1])["model_version"]
        built = {"B": build(stack, TAGS["B"], openfaas.variant(trees / "B", model_version=f"{version}-next")),
                 "C": build(stack, TAGS["C"], openfaas.variant(trees / "C", code_note="a code change"))}
        rollout = {
            "date": date, "clients": args.clients, "machine": "2 cores, shared with other jobs",
            "update": roll(stack, TAGS["B"], f"{version}-next", args.clients),
            "rollback": roll(stack, TAGS["A"], version, args.clients),
            "build_and_push_s": {k: round(v, 2) for k, v in built.items()},
            "pulled_bytes": {"model": pulled_bytes(openfaas.REGISTRY, openfaas.REPOSITORY, TAGS["A"], TAGS["B"]),
                             "code": pulled_bytes(openfaas.REGISTRY, openfaas.REPOSITORY, TAGS["A"], TAGS["C"])},
            "image_bytes": {k: int(launch.docker("image", "inspect", "-f", "{{.Size}}", image(t)))
                            for k, t in TAGS.items()},
            "layers": {k: len(layers(image(t))) for k, t in TAGS.items()},
        }
    except (RuntimeError, TimeoutError, OSError) as e:
        print(f"rollout: {e}", file=sys.stderr)
        return 1
    finally:
        stack.down()
        shutil.rmtree(trees, ignore_errors=True)
        for tag in TAGS.values():
            launch.docker("rmi", "-f", image(tag), check=False)  # ours; a stopping task may still hold it
    print(table(rollout))
    cli.write_json(args.out / "rollout.json", rollout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
