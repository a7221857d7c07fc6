"""The measuring library: what the commands in scripts/ share, one module per concern.

- launch: the three things measured (process module, image, port, paths) and the server
  configurations the benchmarks compare; a target as a process or a hardened container; one HTTP
  request; waiting for an answer
- load: one wrk driver (closed and open loop) and the table of its figures, one Python client,
  one sequential timer, and closed-loop clients as threads
- stats: a measurement's figures: the CPU-pinning rule, a process tree's and a container's CPU
  and memory; percentiles, medians over runs, one bootstrap
- coldstart: the cold-start loop (targets interleaved, each run timed, the runs summarised), its
  process, docker and pull modes, and the local registry behind pulls
- openfaas, gateway, swarm: the OpenFaaS stack on this machine, its gateway's REST API and the
  openfaas cold-start mode, Docker's swarm mode as faas-swarm drives it
- lambda_rie: the image under AWS's Lambda runtime emulator, and the lambda cold-start mode
- readme: the generated sections of README.md and docs/
- cli: a command's parser, its progress bar, its JSON writer and date stamp

It imports the project's `fn` and nothing from scripts/ (import-linter holds it).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
