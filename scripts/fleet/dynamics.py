"""Scaling dynamics against the real OpenFaaS CE stack (../shared/openfaas): a step in load and
the function's replica count over time, against the simulation of the same step.

The stack has the real CE gateway, a provider (faas-swarm) and a Prometheus scraping the gateway,
but no alert rule and no Alertmanager (up.sh starts neither, and this machine has no Alertmanager).
So the alerting is emulated here, with the one rule of scripts/fleet/policies.py (CE's chart):
every 5 s the function's rate over the last 10 s is read from the gateway's own counter (its
Prometheus merge in /system/functions; when the gateway merges no count, the offered rate, and the
output says so), the rule's state machine decides, and each notification
(or resolution) is POSTed to the gateway's /system/alert as Alertmanager would. What is real: the
gateway's scaling arithmetic, the provider starting and stopping replicas, and the rate as the
gateway counts it. What is not: Alertmanager's own timing (taken from the chart's config).

The stack is shared: the whole run holds /tmp/openfaas.lock (as `flock` does), and down.sh runs
whatever happens.

    python -m scripts.fleet.dynamics [--rate 20] [--hold 180] [--after 90]
"""

from __future__ import annotations

import fcntl
import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from harness import cli, launch, openfaas
from harness.gateway import Gateway
from harness.load import open_loop
from scripts.fleet import engine, inputs, policies, traffic

LOCK = Path("/tmp/openfaas.lock")
TAG = "h23-dynamics"
TICK = 5.0  # the emulated Prometheus's scrape and the rule's tick


def _alert(gateway: Gateway, status: str) -> None:
    """What Alertmanager's webhook sends the gateway for the chart's alert."""
    labels = {"alertname": "APIHighInvocationRate", "function_name": openfaas.FUNCTION, "service": "gateway",
              "severity": "major"}
    code, body = gateway.api("POST", "/system/alert", {
        "receiver": "scale-up", "status": status, "alerts": [{"status": status, "labels": labels}],
        "groupLabels": {"alertname": labels["alertname"], "service": "gateway"}, "commonLabels": labels,
        "version": "4"})
    if code >= 300:
        raise RuntimeError(f"the gateway refused the alert: {code} {body[:200].decode(errors='replace')}")


def _functions(gateway: Gateway) -> list[dict[str, Any]]:
    code, body = gateway.api("GET", "/system/functions")
    if code != 200:
        raise RuntimeError(f"GET /system/functions: {code} {body[:200].decode(errors='replace')}")
    return json.loads(body)


def measure(stack: openfaas.Stack, rate: float, hold: float, after: float, idle: float) -> dict[str, Any]:
    """Idle, then `rate` req/s for `hold` s, then idle for `after` s: the replicas every second."""
    policy = policies.POLICIES["openfaas_ce"]
    state: dict[str, Any] = {}
    samples: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    counts: list[tuple[float, float]] = []
    rates: list[dict[str, Any]] = []
    load: dict[str, Any] = {}
    gateway = Gateway(stack.url, "admin", stack.password, openfaas.FUNCTION)
    start = time.monotonic()

    def drive() -> None:
        time.sleep(idle)
        load.update(open_loop(stack.function_url(), rate, hold, 1))

    thread = threading.Thread(target=drive, daemon=True)
    thread.start()
    next_tick = start + TICK
    while (now := time.monotonic() - start) < idle + hold + after:
        running = len(openfaas.replica_images())
        samples.append({"t": round(now, 2), "running": running})
        if time.monotonic() >= next_tick:
            next_tick += TICK
            listed = _functions(gateway)  # the gateway merges Prometheus's counts in here
            status = next((f for f in listed if f.get("name") == openfaas.FUNCTION), {})
            counts.append((now, float(status.get("invocationCount") or 0)))
            then = [(t, c) for t, c in counts if t <= now - policy.params["window"] + 1e-6]
            seen_rate = (counts[-1][1] - then[-1][1]) / (now - then[-1][0]) if then else 0.0
            source = "gateway"
            if not any(c for _, c in counts):  # no count merged in (Prometheus has none): the offered rate
                seen_rate, source = (rate if idle <= now < idle + hold else 0.0), "client"
            rates.append({"t": round(now, 2), "rate": round(seen_rate, 2), "source": source,
                          "replicas": status.get("replicas"), "available": status.get("availableReplicas")})
            total = int(status.get("replicas", running))
            wanted = policy.desired(policies.Observed(now, seen_rate, 0.0, 0.0, running, total, 0.0), state)
            if wanted > total:
                _alert(gateway, "firing")
                events.append({"t": round(now, 2), "alert": "firing", "rate": seen_rate, "replicas": total})
            elif wanted == policy.min_replicas < total:
                _alert(gateway, "resolved")
                events.append({"t": round(now, 2), "alert": "resolved", "rate": seen_rate, "replicas": total})
        time.sleep(1.0)
    thread.join(timeout=30)
    return {"samples": samples, "alerts": events, "rates": rates,
            "load": {k: v for k, v in load.items() if k != "quantiles_s"}}


def simulated(rate: float, hold: float, after: float, idle: float) -> list[dict[str, Any]]:
    """The same step in the simulation: CE's policy, the image on the node, replicas every tick."""
    step = traffic.Traffic("step", rate, lambda t: rate if idle <= t < idle + hold else 0.0)
    fleet = engine.Fleet(step, policies.POLICIES["openfaas_ce"], inputs.replica("fn"), image_on_nodes=True,
                         timeline=True)
    fleet.run(idle + hold + after)
    return [{"t": t, "held": held, "ready": ready} for t, held, ready in fleet.timeline]


def changes(series: list[dict[str, Any]], key: str) -> list[tuple[float, int]]:
    """(time, count) at each change of the replica count."""
    out, last = [], None
    for s in series:
        if s[key] != last:
            out.append((s["t"], s[key]))
            last = s[key]
    return out


def main(argv: list[str] | None = None) -> int:
    p = cli.parser(__spec__, __file__, __doc__)
    p.add_argument("--rate", type=float, default=20.0, help="req/s of the step (default 20)")
    p.add_argument("--hold", type=float, default=180.0, help="seconds the step lasts (default 180)")
    p.add_argument("--after", type=float, default=90.0, help="idle seconds after it (default 90)")
    p.add_argument("--idle", type=float, default=20.0, help="idle seconds before it (default 20)")
    p.add_argument("--out", type=Path, default=inputs.BENCH / "dynamics.json",
                   help="where the result goes (default docs/bench/dynamics.json)")
    args = p.parse_args(argv)
    folder = openfaas.stack_dir()
    if folder is None:
        print(f"dynamics: {openfaas.missing()}", file=sys.stderr)
        return 1
    stack = openfaas.Stack(folder)
    with LOCK.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # never beside another user of the shared stack
        try:
            stack.down()  # a clean slate
            stack.up()
            stack.faas_cli("up", "-f", "stack.yml", env=openfaas.build_env(TAG))
            launch.wait_for_prediction(stack.function_url(), 180)
            real = measure(stack, args.rate, args.hold, args.after, args.idle)
        except (RuntimeError, TimeoutError, OSError) as e:
            print(f"dynamics: {e}", file=sys.stderr)
            return 1
        finally:
            stack.down()
            launch.docker("rmi", "-f", f"{openfaas.REGISTRY}/{openfaas.REPOSITORY}:{TAG}", check=False)
    sim = simulated(args.rate, args.hold, args.after, args.idle)
    result = {"date": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()), "rate": args.rate, "hold": args.hold,
              "after": args.after, "idle": args.idle, "real": real, "simulated": sim,
              "real_changes": changes(real["samples"], "running"), "simulated_changes": changes(sim, "held")}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps({k: result[k] for k in ("real_changes", "simulated_changes")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
