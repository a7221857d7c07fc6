"""The measuring library: what the commands in scripts/ share, one module per concern.

- launch: the three things measured (process module, image, port, paths); a target as a process or
  a hardened container, and `docker run` of an image timed to its first prediction; one HTTP
  request, clients calling from threads; the Docker calls, a function's containers among them
- load: the server configurations compared, one wrk driver (closed and open loop) and the table of
  its figures, one Python client, one sequential timer
- stats: a measurement's figures: the CPU-pinning rule and the rounds every cold start is measured
  in, a process tree's and a container's CPU and memory, a cold start's steps (Docker's events, the
  gateway's log); percentiles, medians over runs, one bootstrap
- coldstart: the process and docker cold-start modes; registry: a pull's cost, the local registry
  and the pull mode
- openfaas, gateway, swarm: the OpenFaaS stack on this machine, its gateway's REST API and the
  openfaas cold-start mode, Docker's swarm mode as faas-swarm drives it and the gateway stand-in
- lambda_rie: the image under AWS's Lambda runtime emulator, and the lambda cold-start mode
- figures, results, tables, codedocs, charts, render: the documents rendered from docs/bench/,
  model/ and the code; readme: the generated sections of README.md and docs/
- cli: a command's parser, its progress bar, its JSON writer and date stamp

It imports the project's `fn` and nothing from scripts/ (import-linter holds it).
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
