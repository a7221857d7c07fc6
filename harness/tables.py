"""Tables of results that more than one command prints or writes: the concurrency benchmark's
(its own table, docs/benchmarks.md, docs/results.md) and the cold starts through the OpenFaaS
gateway with their breakdowns (docs/deploy.md's rollout section, docs/results.md), the health
check's trade-off (scripts/probe_cost.py, docs/deploy.md)."""

from __future__ import annotations

from typing import Any


def rows(result: dict[str, Any]) -> list[tuple[str, str, dict[str, float]]]:
    """(configuration, connections, median figures), wrk's own ceiling last."""
    out = [(name, c, r["median"]) for name, per in result["targets"].items() for c, r in per.items()]
    out.append((f"wrk's own ceiling: GET /_/health on {result['client_ceiling_target']}", "8",
                result["client_ceiling_health_c8"]["median"]))
    return out


def table(result: dict[str, Any]) -> str:
    lines = [f"{'configuration':<48}{'conns':>6}{'req/s':>9}{'p50 ms':>8}{'p99 ms':>8}{'errors':>8}"]
    lines += [f"{name:<48}{c:>6}{m['throughput_rps']:>9.0f}{m['p50_ms']:>8.2f}{m['p99_ms']:>8.2f}{m['error_rate']:>8.2%}"
              for name, c, m in rows(result)]
    return "\n".join(lines)


def markdown(result: dict[str, Any]) -> list[str]:
    """The same table in Markdown, for docs/benchmarks.md and docs/results.md."""
    lines = ["| configuration | connections | req/s | p50 ms | p99 ms | errors |", "|---|---|---|---|---|---|"]
    lines += [f"| {name} | {c} | {m['throughput_rps']:,.0f} | {m['p50_ms']:.2f} | {m['p99_ms']:.2f} | "
              f"{m['error_rate']:.2%} |" for name, c, m in rows(result)]
    return lines


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
