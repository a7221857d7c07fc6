"""Tables of results that more than one document renders: the cold starts through the OpenFaaS
gateway with their breakdowns (docs/deploy.md's rollout section, docs/results.md), the health
check's trade-off (docs/deploy.md, from scripts/probe_cost.py's JSON). The concurrency benchmark's
table is wrk's figures, beside wrk in harness/load.py."""

from __future__ import annotations

from typing import Any


def cold_starts(result: dict[str, Any]) -> list[str]:
    """coldstart --mode openfaas's medians: each start's first 200 and its breakdown, in seconds
    after the request, and `docker run` of the same image from the same run, in Markdown."""
    lines = ["| start | first 200 | container created | started | healthy | gateway ready |", "|---|---|---|---|---|---|"]
    for way, label in (("scale_from_zero", "scaled to zero, woken by one request"), ("deploy", "deploy, then one request")):
        b = result[way]["breakdown_median_s"]
        lines.append(f"| {label} | {result[way]['median_s']:.2f} s | " + " | ".join(
            f"{b[k]:.2f} s" if b[k] is not None else "–" for k in ("created", "started", "healthy", "ready")) + " |")
    lines.append(f"| `docker run` of the same image | {result['docker_run']['median_s']:.2f} s | | | | |")
    return lines


def wakes(row: dict[str, Any]) -> int:
    """How many wakes a row of scripts/probe_cost.py made: those answered and those refused."""
    return len(row["runs"]) + row["refused"]


def probe_costs(result: dict[str, Any]) -> list[str]:
    """scripts/probe_cost.py's rows: probe and interval against the scale-from-zero cold start (and
    its distance from `docker run` of the same image in the same run), the wakes refused, and the
    idle CPU, in Markdown."""
    floor = result["docker_run_s"]["median"]

    def seconds(value: float | None, sign: str = "") -> str:
        return "–" if value is None else f"{value:{sign}.2f} s"

    lines = ["| probe | interval | scaled to zero -> first 200 | minus `docker run` | first passing check | "
             "wakes refused | idle replica, % of a core | Docker's daemons meanwhile, % of a core |",
             "|---|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        cold = r["scale_from_zero_s"]
        lines.append(f"| {r['probe']} | {r['interval']} | {seconds(cold)} | "
                     f"{seconds(None if cold is None else cold - floor, '+')} | {seconds(r['healthy_s'])} | "
                     f"{r['refused']} of {wakes(r)} | {r['replica_pct']:.2f} | "
                     f"{r['daemons_pct']:.2f} |")
    return lines
