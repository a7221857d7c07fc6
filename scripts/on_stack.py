"""Run a command against the local OpenFaaS stack with the function deployed, then take the stack down.

    python -m scripts.on_stack [--tag bench-a] -- COMMAND [ARG ...]

Starts the stack (../shared/openfaas/up.sh, or OPENFAAS_STACK_DIR; OPENFAAS_BIN names its programs:
harness/openfaas.py), deploys the function as the README's offline `faas-cli up` does (built from
the repository, tagged --tag in the stack's registry), waits until it predicts, runs COMMAND with
OPENFAAS_URL and OPENFAAS_PASSWORD in its environment (as faas-cli and the cold-start command's
openfaas mode take them), and always takes the stack down and removes the image. Exits with
COMMAND's status. `make rollout` runs the gateway's cost (python -m scripts.gateway) and the cold
starts through the gateway (python scripts/coldstart.py --mode openfaas) so; it measures nothing itself.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from harness import cli, launch, openfaas


def parser() -> argparse.ArgumentParser:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--tag", default="bench-a", help="the function image's tag in the stack's registry (default bench-a)")
    p.add_argument("command", nargs=argparse.REMAINDER, help="the command to run, after --")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        p.error("no command given (after --)")
    folder = openfaas.stack_dir()
    if folder is None:
        print(f"on_stack: {openfaas.missing()}", file=sys.stderr)
        return 1
    stack = openfaas.Stack(folder)
    image = f"{openfaas.REGISTRY}/{openfaas.REPOSITORY}:{args.tag}"
    try:
        stack.up()
        stack.faas_cli("up", "-f", "stack.yml", env=openfaas.build_env(args.tag))
        launch.wait_for_prediction(stack.function_url(), 180)
        env = {**os.environ, "OPENFAAS_URL": stack.url, "OPENFAAS_PASSWORD": stack.password}
        return subprocess.run(command, env=env).returncode
    except (RuntimeError, TimeoutError, OSError) as e:
        print(f"on_stack: {e}", file=sys.stderr)
        return 1
    finally:
        stack.down()
        launch.docker("rmi", "-f", image, check=False)  # ours; a stopping task may still hold it


if __name__ == "__main__":
    sys.exit(main())
