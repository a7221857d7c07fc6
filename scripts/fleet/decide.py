"""The decision, from the simulated rows: the options an engineer can buy, the cheapest that meets a
p99 goal at each rate, ties, the three bands per image, and each crossover as the range the
sensitivity sweep gives it.

An option is a policy simulated and one of its bills (scripts/fleet/cost.py). Two options whose
costs are within TIE of each other are a tie: the model's latencies agree with real runs only
within bands wider than that, and several prices are third parties' copies. The front door and
the fixed costs are moved here, on the same rows (a different bill); the other inputs by the
sweep's reruns (scripts/fleet/grid.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from scripts.fleet import grid
from scripts.fleet.cost import per_million

TIE = 0.10
GOALS_MS = (100.0, 1000.0)
LOST_SHARE = grid.LOST_SHARE
# The families the bands are drawn in (a tie is between families): where the engineer deploys.
FAMILIES = ("AWS Lambda", "Google Cloud Run", "self-hosted serverless on EKS", "a server Deployment on EKS")
KINDS = {name: name for name in FAMILIES}


@dataclass(frozen=True)
class Option:
    label: str
    policy: str
    bill: str
    kind: str  # its family: one of FAMILIES


OPTIONS = (
    Option("Lambda per request (function URL)", "lambda", "lambda", "AWS Lambda"),
    Option("Lambda, provisioned concurrency", "lambda_pc", "lambda", "AWS Lambda"),
    Option("Cloud Run, request-based billing", "cloud_run", "cloud_run", "Google Cloud Run"),
    Option("Cloud Run, instance-based billing", "cloud_run", "cloud_run instance-based", "Google Cloud Run"),
    Option("Cloud Run, min-instances 1", "cloud_run_min", "cloud_run instance-based", "Google Cloud Run"),
    Option("Knative on EKS Fargate", "knative", "fargate", "self-hosted serverless on EKS"),
    Option("OpenFaaS Pro on EKS Fargate", "openfaas_pro", "fargate", "self-hosted serverless on EKS"),
    Option("OpenFaaS CE (paid licence) on EKS Fargate", "openfaas_ce", "fargate", "self-hosted serverless on EKS"),
    Option("server Deployment (HPA) on EKS Fargate", "hpa_cpu", "fargate", "a server Deployment on EKS"),
)
# Bill-level inputs of the sweep: what each option's bill becomes.
BILL_MOVES = {"API Gateway HTTP in front of Lambda": {"lambda": "lambda+http"},
              "API Gateway REST in front of Lambda": {"lambda": "lambda+rest"},
              "Lambda on arm64 (as fast as on x86: not measured)": {"lambda": "lambda arm64"},
              "cluster, load balancer and NAT already paid": {"fargate": "fargate, fixed shared"},
              "clients keep their connections (load balancer billed on bytes)": {"fargate": "fargate, keep-alive"}}


def meets(row: dict[str, Any], goal_ms: float) -> bool:
    return row["lost"] <= LOST_SHARE * max(row["requests"], 1) and row["p99_ms"] <= goal_ms


def image_of(row: dict[str, Any]) -> str:
    return "tensorflow" if row["image"] == "tf" else "tflite"


def priced(rows: list[dict[str, Any]], image: str, rate: float, goal_ms: float,
           moves: dict[str, str] | None = None) -> list[tuple[float, Option, dict[str, Any]]]:
    """Every option meeting the goal at this image and rate, cheapest first."""
    at = {r["policy"]: r for r in rows if image_of(r) == image and r["mean_rate"] == rate}
    out = []
    for option in OPTIONS:
        r = at.get(option.policy)
        if r is None or not meets(r, goal_ms):
            continue
        cost = per_million(r, (moves or {}).get(option.bill, option.bill))
        if math.isfinite(cost):
            out.append((cost, option, r))
    return sorted(out, key=lambda x: x[0])


def winners(rows: list[dict[str, Any]], image: str, goal_ms: float, moves: dict[str, str] | None = None
            ) -> list[dict[str, Any]]:
    """Per rate: the cheapest option, the cheapest of each family, and the families tied with it."""
    out = []
    for rate in grid.RATES:
        ranked = priced(rows, image, rate, goal_ms, moves)
        best = {}
        for cost, option, r in ranked:
            best.setdefault(KINDS[option.kind], (cost, option, r))
        top = ranked[0] if ranked else None
        tied = [k for k in FAMILIES if top and k in best and best[k][0] <= top[0] * (1 + TIE)]
        out.append({"rate": rate, "top": top, "best": best, "tied": tied})
    return out


def _crossing(a: dict[str, Any], b: dict[str, Any], ka: str, kb: str) -> float | None:
    """Where kind ka's and kb's costs cross between rates a and b (log-log), when both are priced at both."""
    if ka not in b["best"] or kb not in a["best"]:
        return None
    da = math.log(a["best"][kb][0] / a["best"][ka][0])
    db = math.log(b["best"][ka][0] / b["best"][kb][0])
    if da <= 0 or db <= 0:
        return None
    x = math.log10(a["rate"]) + da / (da + db) * (math.log10(b["rate"]) - math.log10(a["rate"]))
    return 10 ** x


def _family(r: dict[str, Any], other: str) -> str:
    """The family a rate stands for against `other`: its cheapest's, or in a tie the tied one that differs."""
    top = KINDS[r["top"][1].kind]
    return next((k for k in r["tied"] if k != other), top) if len(r["tied"]) > 1 else top


def bands(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Runs of neighbouring rates with the same cheapest kind (or a tie), with the crossings between."""
    out: list[dict[str, Any]] = []
    for r in table:
        kind = "none meets the goal" if not r["top"] else (
            KINDS[r["top"][1].kind] if len(r["tied"]) == 1 else "a tie: " + " or ".join(r["tied"]))
        if out and out[-1]["kind"] == kind:
            out[-1]["rates"].append(r["rate"])
            out[-1]["rows"].append(r)
            continue
        if out and r["top"] and out[-1]["rows"][-1]["top"]:
            prev = out[-1]["rows"][-1]
            ka = _family(prev, KINDS[r["top"][1].kind])
            out[-1]["to"] = _crossing(prev, r, ka, _family(r, ka))
        out.append({"kind": kind, "rates": [r["rate"]], "rows": [r], "to": None})
    return out


def crossings(table: list[dict[str, Any]]) -> dict[tuple[str, str], float | None]:
    """(from kind, to kind) -> the crossing rate, along the rates."""
    found = bands(table)
    return {(a["kind"], b["kind"]): a["to"] for a, b in zip(found, found[1:], strict=False)}


def _edge(table: list[dict[str, Any]], i: int, ka: str, kb: str) -> float | None:
    """Where family kb takes over from ka between rates i - 1 and i."""
    return _crossing(table[i - 1], table[i], ka, kb) if 0 < i < len(table) else None


def three_bands(table: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer at a glance: the family cheapest at the lowest rate for as long as it stays so,
    the one cheapest at the highest from where it stays so, and what lies between (ties named)."""
    tops = [KINDS[r["top"][1].kind] if r["top"] else "none meets the goal" for r in table]
    first, last = tops[0], tops[-1]
    i = next((k for k, t in enumerate(tops) if t != first), len(tops))
    j = next((k for k in range(len(tops)) if all(t == last for t in tops[k:])), len(tops))
    if i == len(tops):
        return {"low": first, "high": None, "middle": [], "low_edge": None, "high_edge": None, "rows": table}
    j = max(i, j)
    return {"low": first, "high": last, "middle": table[i:j], "rows": table,
            "low_edge": _edge(table, i, first, tops[i]), "high_edge": _edge(table, j, tops[j - 1], last)}


def summary_sensitivity(results: dict[str, list[dict]], image: str, goal_ms: float) -> dict[str, Any]:
    """The three bands under the baseline, and each edge's range over the scenarios that keep the
    same lowest and highest family (those that do not are named)."""
    every = {name: three_bands(winners(rows, image, goal_ms, moves))
             for name, (rows, moves) in scenarios(results).items()}
    base = every["baseline"]
    same = {n: b for n, b in every.items() if (b["low"], b["high"]) == (base["low"], base["high"])}
    out = {"bands": base, "changed_under": sorted(n for n in every if n not in same)}
    for edge in ("low_edge", "high_edge"):
        seen = {n: b[edge] for n, b in same.items() if b[edge]}
        at = base[edge]
        movers = sorted((n for n in seen if n != "baseline" and at and abs(math.log(seen[n] / at)) > math.log(1.5)),
                        key=lambda n: -abs(math.log(seen[n] / at)))
        out[edge] = {"baseline": at, "low": min(seen.values(), default=None), "high": max(seen.values(), default=None),
                     "moved_by": movers[:2], "low_by": min(seen, key=seen.get, default=None),
                     "high_by": max(seen, key=seen.get, default=None)}
    return out


def scenarios(results: dict[str, list[dict]]) -> dict[str, tuple[list[dict], dict[str, str] | None]]:
    """The baseline and every moved input: (rows, bill moves)."""
    base = results["rates"]
    out: dict[str, tuple[list[dict], dict[str, str] | None]] = {"baseline": (base, None)}
    for name, moves in BILL_MOVES.items():
        out[name] = (base, moves)
    for group, rows in results.items():
        if group.startswith("sweep:"):
            moved = {(r["policy"], r["image"], r["mean_rate"]) for r in rows}
            out[group[len("sweep:"):]] = ([r for r in base if (r["policy"], r["image"], r["mean_rate"]) not in moved]
                                          + rows, None)
    return out


def sensitivity(results: dict[str, list[dict]], image: str, goal_ms: float) -> dict[tuple[str, str], dict[str, Any]]:
    """Every crossover found under the baseline or any scenario: its range, the inputs that set its
    ends and move it most, those under which it is gone (a baseline one) or appears (a new one)."""
    every = {name: crossings(winners(rows, image, goal_ms, moves))
             for name, (rows, moves) in scenarios(results).items()}
    out = {}
    pairs = list(every["baseline"]) + [p for c in every.values() for p in c if p not in every["baseline"]]
    for pair in dict.fromkeys(pairs):
        at = every["baseline"].get(pair)
        seen = {name: c[pair] for name, c in every.items() if c.get(pair)}
        found = {"baseline": at, "low": None, "high": None, "moved_by": [], "in_baseline": pair in every["baseline"],
                 "gone_under": sorted(n for n, c in every.items() if pair not in c) if pair in every["baseline"]
                 else [], "appears_under": [] if pair in every["baseline"] else [n for n, c in every.items()
                                                                                 if pair in c]}
        if seen:
            low, high = min(seen, key=seen.get), max(seen, key=seen.get)
            movers = sorted((n for n in seen if n != "baseline" and at and abs(math.log(seen[n] / at)) > math.log(1.5)),
                            key=lambda n: -abs(math.log(seen[n] / at)))
            found |= {"low": seen[low], "high": seen[high], "low_by": low, "high_by": high, "moved_by": movers[:2]}
        out[pair] = found
    return out
