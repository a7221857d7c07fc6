"""The decision, generated: every simulation `make simulate` runs, written as
docs/bench/simulation.json, docs/scaling.md and its charts.

Every row is request-level (scripts/fleet/engine.py). Steady-state rows start warm (a warm-up
simulated and not counted, the image on every node); start-up is its own scenario (a step in
load onto the policy's minimum, zero for the scale-to-zero ones, the image on no node). A row
whose replica cap binds (the cap cannot carry the rate, or the fleet sat at its cap and lost over
1% of requests) is marked and not priced. The year is 365 identical simulated days.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.fleet import cost, engine, inputs, policies, traffic
from scripts.fleet.cost import Result

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"
SIMULATION = DOCS / "bench" / "simulation.json"
DYNAMICS = DOCS / "bench" / "dynamics.json"
RATES = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
GAPS = (10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)  # seconds between requests, on average
STEPS = (100.0, 1000.0)  # req/s of the start-up scenario's step
SHAPE_RATE = 10.0
YEAR_RATE = 100.0  # a diurnal day at 100 req/s is 8.6 million requests: request by request in seconds
DAYS = 365
IMAGE_LABEL = {"tflite": "slim TFLite image", "tensorflow": "TensorFlow image"}
P99_TARGETS_MS = (10.0, 100.0, 1000.0)
KINDS = ("self-hosted serverless", "managed serverless", "server")
LOST_SHARE = 0.01  # a row that loses more (dropped or refused) does not qualify
SCALE_TO_ZERO = ("openfaas_pro", "knative", "lambda", "cloud_run")


def platform_init(policy: policies.Policy) -> float:
    """The managed platform's own part of a cold start (cost.FIGURES), 0 for self-hosted ones."""
    return cost.f(f"{policy.name}_init_s") if policy.kind == "managed serverless" else 0.0


GATEWAY = inputs.gateway()
OPENFAAS = ("openfaas_ce", "openfaas_pro")


def hop(policy: policies.Policy) -> dict[str, float]:
    """The OpenFaaS gateway's measured added latency and CPU per request, for the OpenFaaS rows."""
    if GATEWAY is None or policy.name not in OPENFAAS:
        return {}
    return {"hop": GATEWAY.added_s, "hop_p99": GATEWAY.added_p99_s, "hop_cpu": GATEWAY.cpu_s}


def warmup(rate: float) -> float:
    return 300.0 if rate < 5000 else 120.0


def horizon(rate: float) -> float:
    """Long enough for a few hundred requests at low rates (at most a week), an hour at 1 to 100
    req/s, shorter at the top rates (millions of requests either way)."""
    if rate < 1:
        return min(7 * traffic.DAY, max(3600.0, 300 / rate))
    return 3600.0 if rate <= 100 else 600.0 if rate <= 1000 else 120.0


def cap_binds(policy: policies.Policy, replica: inputs.Replica, peak_rate: float) -> bool:
    """The replicas the policy may hold cannot answer the peak rate at all."""
    return peak_rate >= 0.95 * policy.max_replicas * replica.capacity


def _row(result: Result, policy: policies.Policy, reuse: float, scale: float = 1.0) -> dict[str, Any]:
    lost_at_cap = result.peak_replicas >= policy.max_replicas and result.lost > LOST_SHARE * max(result.requests, 1)
    result.cap_bound = result.cap_bound or lost_at_cap
    result.bills = {name: value * scale for name, value in cost.bills(result, policy.kind, reuse).items()}
    row = result.as_dict()
    row["image_kind"] = "tensorflow" if result.image == "tf" else "tflite"
    row["kind"] = policy.kind
    row["bill"] = "fargate" if policy.kind != "managed serverless" else next(iter(result.bills))
    row["cost_per_million"] = cost.per_million(row, row["bill"])
    row["cluster_per_million"] = cost.per_million(row, "cluster")
    return row


def _unsimulated(shape: traffic.Traffic, policy: policies.Policy, replica: inputs.Replica, span: float) -> Result:
    return Result("not simulated: the cap binds", shape.name, shape.mean, policy.name, replica.kind, span, 0, 0, 0, 0,
                  math.nan, math.nan, math.nan, math.nan, 0.0, 0.0, 0.0, memory_gb=replica.memory_gb,
                  vcpu=replica.vcpu, cap_bound=True)


def _steady(shape: traffic.Traffic, policy: policies.Policy, replica: inputs.Replica, span: float,
            peak_rate: float, reuse: float, scale: float = 1.0, seed: int = 1) -> dict[str, Any]:
    if cap_binds(policy, replica, peak_rate):
        return _row(_unsimulated(shape, policy, replica, span), policy, reuse, scale)
    result = engine.simulate(shape, policy, replica, span, seed, warmup=warmup(peak_rate), image_on_nodes=True,
                             platform_init=platform_init(policy), **hop(policy))
    return _row(result, policy, reuse, scale)


def startup(rate: float, policy: policies.Policy, replica: inputs.Replica, image_on_nodes: bool,
            reuse: float = 0.0, idle: float = 60.0, span: float = 300.0) -> dict[str, Any]:
    """Idle for `idle` seconds (scale-to-zero policies reach zero only after their grace, so they
    start at zero here: their minimum), then `rate` at once: the first answer, the waits, the
    replicas over time."""
    step = traffic.Traffic(f"step to {rate:g} req/s", rate, lambda t: rate if t >= idle else 0.0)
    if cap_binds(policy, replica, rate):
        return _row(_unsimulated(step, policy, replica, span), policy, reuse)
    fleet = engine.Fleet(step, policy, replica, 1, image_on_nodes=image_on_nodes, platform_init=platform_init(policy),
                         timeline=True, keep=True, **hop(policy))
    row = _row(fleet.run(idle + span), policy, reuse)
    first = min(((a + r) for a, r in fleet.kept), default=math.nan)  # nan, and so first_answer_s, if none
    row.update(first_answer_s=first - idle, image_on_nodes=image_on_nodes,
               replicas_at={f"{t:g}": next((n for at, n, _ in fleet.timeline if at >= idle + t), 0)
                            for t in (5.0, 30.0, 120.0)})
    return row


def _job(spec: tuple, replicas: dict[str, inputs.Replica], reuse: float) -> dict[str, Any]:
    """One simulation, from a description that pickles (traffic shapes hold closures)."""
    what, *args = spec
    if what == "startup":
        rate, name, kind, on_nodes = args
        return startup(rate, policies.POLICIES[name], replicas[kind], on_nodes, reuse)
    shape, mean, name, kind, span, peak, scale = args
    make = {**traffic.SHAPES, "steady": traffic.steady, "diurnal": traffic.diurnal}[shape]
    return _steady(make(mean), policies.POLICIES[name], replicas[kind], span, peak, reuse, scale)


def run_grid(replicas: dict[str, inputs.Replica], progress: Callable, reuse: float = 0.0,
             workers: int = 1) -> dict[str, list[dict]]:
    jobs: list[tuple[str, tuple]] = []
    year_peak = _peak(traffic.diurnal(YEAR_RATE), traffic.DAY)
    for image in IMAGE_LABEL:
        for name in policies.POLICIES:
            kind = inputs.IMAGES[image]["server" if policies.POLICIES[name].kind == "server" else "function"]
            for rate in RATES:
                jobs.append(("rates", ("steady", "steady", rate, name, kind, horizon(rate), rate, 1.0)))
            for shape, make in traffic.SHAPES.items():
                span = traffic.DAY if shape == "diurnal" else 3600.0
                jobs.append(("shapes", ("steady", shape, SHAPE_RATE, name, kind, span, _peak(make(SHAPE_RATE), span),
                                        1.0)))
            for rate in STEPS:
                for on_nodes in (True, False):
                    jobs.append(("startup", ("startup", rate, name, kind, on_nodes)))
            if name in SCALE_TO_ZERO:
                for gap in GAPS:
                    jobs.append(("gaps", ("steady", "steady", 1 / gap, name, kind, 300 * gap, 1 / gap, 1.0)))
            jobs.append(("year", ("steady", "diurnal", YEAR_RATE, name, kind, traffic.DAY, year_peak, float(DAYS))))
    results: dict[str, list[dict]] = {"rates": [], "shapes": [], "startup": [], "gaps": [], "year": []}
    if workers <= 1:
        for group, spec in progress(jobs, "simulations"):
            results[group].append(_job(spec, replicas, reuse))
        return results
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(workers) as pool:  # the longest first would balance better; order is kept
        futures = [(group, pool.submit(_job, spec, replicas, reuse)) for group, spec in jobs]
        for group, future in progress(futures, "simulations"):
            results[group].append(future.result())
    return results


def _peak(shape: traffic.Traffic, span: float) -> float:
    return max(shape.rate(t) for t in range(0, int(span), 10))


# -- the decision --------------------------------------------------------------------------

def qualifies(row: dict[str, Any], target_ms: float) -> bool:
    """Losing at most 1%, its p99 within the target, and priced: cost.per_million is inf where the
    cap bound or nothing was answered."""
    return (row["lost"] <= LOST_SHARE * row["requests"] and row["p99_ms"] <= target_ms
            and math.isfinite(row["cost_per_million"]))


def cheapest(rows: list[dict], target_ms: float = math.inf, per_million: str = "cost_per_million",
             kinds: tuple[str, ...] = KINDS) -> list[dict[str, Any]]:
    """Per image and rate: the cheapest policy of each kind whose p99 meets the target, losing at
    most 1%, its cap not binding; and the cheapest of all."""
    out = []
    for image in IMAGE_LABEL:
        for rate in RATES:
            at = [r for r in rows if r["image_kind"] == image and r["mean_rate"] == rate and qualifies(r, target_ms)
                  and math.isfinite(r[per_million])]  # the cluster's price too, where per_million is it
            best = {kind: min((r for r in at if r["kind"] == kind), key=lambda r: r[per_million], default=None)
                    for kind in kinds}
            winner = min((b for b in best.values() if b), key=lambda r: r[per_million], default=None)
            out.append({"image": image, "rate": rate, "target_ms": target_ms, "best": best, "winner": winner})
    return out


def crossovers(table: list[dict[str, Any]], image: str, per_million: str = "cost_per_million") -> list[str]:
    """Where the cheapest kind changes along the rates, with the crossing rate interpolated on
    log-log axes between the two simulated rates around it."""
    rows = [r for r in table if r["image"] == image]
    out = []
    for a, b in zip(rows, rows[1:], strict=False):
        if not (a["winner"] and b["winner"]) or a["winner"]["kind"] == b["winner"]["kind"]:
            continue
        ka, kb = a["winner"]["kind"], b["winner"]["kind"]
        pa, pb = a["best"].get(kb), b["best"].get(ka)
        at = f"between {a['rate']:g} and {b['rate']:g} req/s"
        if pa and pb:  # both kinds qualify on both sides: where their costs per request cross
            da = math.log(pa[per_million] / a["winner"][per_million])
            db = math.log(pb[per_million] / b["winner"][per_million])
            if da > 0 and db > 0:
                x = math.log10(a["rate"]) + da / (da + db) * (math.log10(b["rate"]) - math.log10(a["rate"]))
                at = f"at about {_rate(10 ** x)} req/s"
        out.append(f"{ka} to {kb} {at}")
    return out


def _rate(x: float) -> str:
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def _rows(results: list[dict[str, Any]], unpriced: Callable[[dict[str, Any]], str],
          priced: Callable[[dict[str, Any]], str]) -> list[str]:
    """A table row a result: where the replica cap binds, the row says so in place of its figures."""
    return [unpriced(r) if r["cap_bound"] else priced(r) for r in results]


def _label(row: dict[str, Any] | None) -> str:
    return policies.POLICIES[row["policy"]].label if row else "none"


def _money(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"${x:,.2f}" if x >= 1 else f"${x:.3f}" if x >= 0.001 else f"${x:.2e}"


def _ms(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.1f}"


def answer_lines(results: dict[str, list[dict]], target_ms: float = 1000.0) -> list[str]:
    table = cheapest(results["rates"], target_ms)
    lines = []
    for image in IMAGE_LABEL:
        spans = "; ".join(f"{name} at {rates_text(rates)}" for name, rates in _winner_runs(table, image))
        cross = crossovers(table, image)
        lines.append(f"- **{IMAGE_LABEL[image]}** (p99 within {target_ms:g} ms, cheapest on Fargate or per request): "
                     f"{spans}" + (f" ({'; '.join(cross)})" if cross else "") + ".")
    return lines


def rates_text(rates: list[float]) -> str:
    return ", ".join(f"{x:g}" for x in rates) + " req/s" if rates else "no rate simulated"


def _winner_runs(table: list[dict[str, Any]], image: str) -> list[tuple[str, list[float]]]:
    """(cheapest policy, the neighbouring rates where it is cheapest), along the rates."""
    runs: list[tuple[str, list[float]]] = []
    for r in (r for r in table if r["image"] == image):
        name = _label(r["winner"]) if r["winner"] else "nothing meeting the goal"
        if runs and runs[-1][0] == name:
            runs[-1][1].append(r["rate"])
        else:
            runs.append((name, [r["rate"]]))
    return runs


def _span(rates: list[float]) -> str:
    return f"{rates[0]:g}" + (f"–{rates[-1]:g}" if len(rates) > 1 else "") + " req/s"


def readme_line(data: dict[str, Any]) -> str:
    """The README's one line on serverless or server (scripts/figures.py writes it)."""
    table = cheapest(data["results"]["rates"], 1000.0)
    parts = []
    for image in IMAGE_LABEL:
        runs = ", ".join(f"{name} at {_span(rates)}" for name, rates in _winner_runs(table, image))
        cross = [c for c in crossovers(table, image) if "at about" in c]
        parts.append(f"{IMAGE_LABEL[image]}: {runs}" + (f" (crossovers: {'; '.join(cross)})" if cross else ""))
    return ("**Serverless or server** ([docs/scaling.md](docs/scaling.md), `make simulate`): the cheapest with a p99 "
            "within 1 s, by mean rate, on Fargate or per request: " + "; ".join(parts) + ".")


def better_when(results: dict[str, list[dict]]) -> list[str]:
    """The rows of "serverless is the better choice when ...", from the decision table."""
    out: list[str] = []
    merged: dict[tuple[str, str], list[float]] = {}
    for target in P99_TARGETS_MS:
        table = cheapest(results["rates"], target)
        for image in IMAGE_LABEL:
            rows = [r for r in table if r["image"] == image]
            spans: list[list[dict[str, Any]]] = []  # runs of neighbouring rates where serverless is cheapest
            for i, r in enumerate(rows):
                if r["winner"] and r["winner"]["kind"] != "server":
                    if spans and rows[i - 1] is spans[-1][-1]:
                        spans[-1].append(r)
                    else:
                        spans.append([r])
            if not spans:
                continue
            ranges = ", ".join(f"{sp[0]['rate']:g}" + (f" to {sp[-1]['rate']:g}" if len(sp) > 1 else "") for sp in spans)
            reasons = []
            for sp in spans:
                top = sp[-1]
                server = top["best"].get("server")
                reasons.append(f"at {top['rate']:g} req/s {_label(top['winner'])} costs "
                               f"{_money(top['winner']['cost_per_million'])}/M against "
                               + (f"the server's {_money(server['cost_per_million'])}/M ({_label(server)})" if server
                                  else "no server policy meeting the goal"))
            cross = [c.split("to server ", 1)[1] for c in crossovers(table, image) if "to server " in c]
            because = "; ".join(reasons) + (f"; the server becomes cheaper {cross[0]}" if cross else "")
            merged.setdefault((f"the mean rate is {ranges} req/s ({IMAGE_LABEL[image]})", because), []).append(target)
    for (when, because), targets in merged.items():
        out.append(f"| {when} and a p99 of {' or '.join(f'{t:g}' for t in targets)} ms will do | {because} |")
    cold = [r for r in results["gaps"] if r["policy"] == "knative" and not r["cap_bound"]]
    for image in IMAGE_LABEL:
        waits = [r for r in cold if r["image_kind"] == image]
        if waits:
            worst = max(waits, key=lambda r: r["cold_share"])
            out.append(f"| the users accept waiting for a cold start ({IMAGE_LABEL[image]}: p99 {_ms(worst['p99_ms'])} ms "
                       f"at a {1 / worst['mean_rate']:g} s gap under Knative) | with gaps longer than the scale-to-zero "
                       f"grace, {100 * worst['cold_share']:.0f}% of requests wait for a replica to start |")
    own = cheapest(results["rates"], 1000.0, "cluster_per_million", ("self-hosted serverless", "server"))
    for image in IMAGE_LABEL:
        rows = [r for r in own if r["image"] == image and r["winner"]]
        sl = [r for r in rows if r["winner"]["kind"] != "server"]
        out.append(f"| you run your own nodes ({IMAGE_LABEL[image]}) | "
                   + (f"self-hosted serverless is cheapest at {rates_text([r['rate'] for r in sl])}: it holds fewer "
                      "replicas than the server's two, though the nodes are paid whether they run or not "
                      "(reuse 0) and the platform's own pods are paid at every rate" if sl else
                      "never, with nodes paid whether replicas run or not (reuse 0): the platform's own pods cost "
                      "more than the replicas scaling to zero saves") + " |")
    return out


def markdown(data: dict[str, Any]) -> str:
    results, validation = data["results"], data["validation"]
    lines = ["# Serverless or server? The fleet, simulated", "",
             f"_Generated by `make simulate` (`python -m scripts.simulate`) on {data['date'][:10]}; every figure below "
             "comes from `docs/bench/simulation.json`. Do not edit by hand._", ""]
    lines += ["## The answer", ""] + answer_lines(results) + [""]
    lines += ["Self-hosted serverless (OpenFaaS, Knative) and the server Deployment are billed as Fargate tasks "
              "(each replica its requests plus 256 MB, rounded up to a task size, whenever it is held; the platform's "
              "own pods always); managed serverless (Lambda, Cloud Run) per request at its published prices. A rate "
              "where a policy's cap binds is not priced. Cheapest of each kind with a p99 within 1 s, and the "
              "cheapest of all at each p99 goal:", "",
              "| mean rate (req/s) | image | self-hosted serverless | $/M | p99 ms | managed serverless | $/M | p99 ms "
              "| server | $/M | p99 ms | cheapest, p99 ≤ 10 ms | ≤ 100 ms | ≤ 1 s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    tables = {t: cheapest(results["rates"], t) for t in P99_TARGETS_MS}
    for i, row in enumerate(tables[1000.0]):
        cells = []
        for kind in KINDS:
            b = row["best"][kind]
            cells.append(f"{_label(b)} | {_money(b['cost_per_million'])} | {_ms(b['p99_ms'])}" if b else "none | | ")
        winners = [tables[t][i]["winner"] for t in P99_TARGETS_MS]
        lines.append(f"| {row['rate']:g} | {IMAGE_LABEL[row['image']]} | " + " | ".join(cells) + " | "
                     + " | ".join(f"{_label(w)} {_money(w['cost_per_million'])}" if w else "none" for w in winners) + " |")
    lines += ["", "Where the cheapest kind changes (log-log interpolation between the simulated rates):", ""]
    for t in P99_TARGETS_MS:
        for image in IMAGE_LABEL:
            cross = crossovers(tables[t], image)
            lines.append(f"- p99 ≤ {t:g} ms, {IMAGE_LABEL[image]}: " + ("; ".join(cross) if cross else "no change") + ".")
    lines += ["", "### Serverless is the better choice when ...", "", "| when | because (figures above and below) |",
              "|---|---|"] + better_when(results)
    lines += ["", "## On your own cluster", "",
              f"Nodes (m5.large, {_money(cost.f('node_hour'))}/hour) are paid whether replicas run or not; a replica "
              "is the larger of its CPU and memory shares of a node, the cluster is sized for the peak held, and "
              f"scaling down saves only what another workload reuses (reuse {data.get('reuse', 0.0):g} here: "
              "`--reuse`); the platform's pods are always there.", "",
              "| mean rate (req/s) | image | cheapest self-hosted serverless | $/M | cheapest server | $/M |",
              "|---|---|---|---|---|---|"]
    for row in cheapest(results["rates"], 1000.0, "cluster_per_million", ("self-hosted serverless", "server")):
        sl, sv = row["best"]["self-hosted serverless"], row["best"]["server"]
        lines.append(f"| {row['rate']:g} | {IMAGE_LABEL[row['image']]} | {_label(sl)} | "
                     f"{_money(sl['cluster_per_million']) if sl else ''} | {_label(sv)} | "
                     f"{_money(sv['cluster_per_million']) if sv else ''} |")
    lines += ["", "![cost per million requests against the mean rate](scaling-cost.png)", "",
              "![p99 latency against the mean rate](scaling-p99.png)", "",
              "![share of cold-start waits against the gap between requests](scaling-cold.png)", ""]
    lines += ["## Every policy at every rate (steady load, warm start)", "",
              "| mean rate | image | policy | p50 ms | p99 ms | cold waits | lost (dropped + 429) | mean replicas | "
              "peak | $/M (its bill) | $/M (own cluster) |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += _rows(results["rates"], lambda r: (
        f"| {r['mean_rate']:g} | {IMAGE_LABEL[r['image_kind']]} | {_label(r)} | the cap binds "
        f"({policies.POLICIES[r['policy']].max_replicas} replicas): not priced | | | | | | | |"), lambda r: (
        f"| {r['mean_rate']:g} | {IMAGE_LABEL[r['image_kind']]} | {_label(r)} | {_ms(r['p50_ms'])} | "
        f"{_ms(r['p99_ms'])} | {100 * r['cold_share']:.2f}% | {r['lost']:,} | {r['mean_replicas']:.2f} | "
        f"{r['peak_replicas']} | {_money(r['cost_per_million'])} ({r['bill']}) | {_money(r['cluster_per_million'])} |"))
    lines += ["", "## Start-up: a step in load", "",
              "Idle for a minute, then the rate at once: each policy from its minimum (zero for the scale-to-zero "
              "ones), with the image on the node or on a fresh node that pulls it.", "",
              "| step | image | policy | image on node | first answer s | p99 ms | cold waits | lost | replicas at +5 s, "
              "+30 s, +120 s |", "|---|---|---|---|---|---|---|---|---|"]
    for r in results["startup"]:
        if "replicas_at" not in r:  # not simulated: the cap cannot carry the step at all
            lines.append(f"| {r['mean_rate']:g} req/s | {IMAGE_LABEL[r['image_kind']]} | {_label(r)} | "
                         f"{'yes' if r.get('image_on_nodes', True) else 'no (pull)'} | the cap binds | | | | |")
            continue
        at = r["replicas_at"]
        lines.append(f"| {r['mean_rate']:g} req/s | {IMAGE_LABEL[r['image_kind']]} | {_label(r)} | "
                     f"{'yes' if r['image_on_nodes'] else 'no (pull)'} | {r['first_answer_s']:.2f} | {_ms(r['p99_ms'])} | "
                     f"{100 * r['cold_share']:.2f}% | {r['lost']:,} | {at['5']}, {at['30']}, {at['120']}"
                     + (" (at its cap)" if r["cap_bound"] else "") + " |")
    lines += ["", f"## Traffic shapes (mean {SHAPE_RATE:g} req/s; diurnal over a day, the others over an hour)", "",
              "| shape | policy | image | p50 ms | p95 ms | p99 ms | max ms | cold waits | lost | mean replicas | $/M |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += _rows(results["shapes"], lambda r: (
        f"| {r['traffic']} | {_label(r)} | {IMAGE_LABEL[r['image_kind']]} | the cap binds | | | | | | | |"), lambda r: (
        f"| {r['traffic']} | {_label(r)} | {IMAGE_LABEL[r['image_kind']]} | {_ms(r['p50_ms'])} | "
        f"{_ms(r['p95_ms'])} | {_ms(r['p99_ms'])} | {r['max_ms']:,.0f} | {100 * r['cold_share']:.2f}% | "
        f"{r['lost']:,} | {r['mean_replicas']:.2f} | {_money(r['cost_per_million'])} |"))
    lines += ["", f"## A year of diurnal traffic at {YEAR_RATE:g} req/s ({DAYS} identical simulated days)", "",
              "| policy | image | requests | mean replicas | cost per year (its bill) | $/M | own cluster per year | p99 ms "
              "| lost |", "|---|---|---|---|---|---|---|---|---|"]
    lines += _rows(results["year"], lambda r: (
        f"| {_label(r)} | {IMAGE_LABEL[r['image_kind']]} | the cap binds: not priced | | | | | | |"), lambda r: (
        f"| {_label(r)} | {IMAGE_LABEL[r['image_kind']]} | {r['requests'] * DAYS:.3g} | "
        f"{r['mean_replicas']:.2f} | {_money(r['bills'][r['bill']])} | "
        f"{_money(r['bills'][r['bill']] / r['answered'] / DAYS * 1e6)} | "
        f"{_money(r['bills'].get('cluster', math.nan))} | {_ms(r['p99_ms'])} | {r['lost'] * DAYS:,} |"))
    lines += validation_lines(validation)
    lines += inputs_lines(data)
    return "\n".join(lines) + "\n"


def validation_lines(validation: dict[str, Any]) -> list[str]:
    lines = ["", "## Checked against reality", ""]
    one = validation.get("one_replica")
    if one:
        n = len(one[0]["runs"])
        lines += ["One replica of the function container (host network, one core), open-loop Poisson load "
                  f"(`scripts/openloop.py`), {n} runs of {one[0]['duration_s']:g} s at each load, "
                  f"interleaved, against {n} request-level simulations of that replica, each at the rate one run "
                  f"achieved, its capacity ({one[0]['capacity_rps']:,.0f} req/s), unloaded latency and wake-up "
                  "measured in the same run with the same client. Each cell: the median of the runs, and the band "
                  "(lowest to highest run); a quantile agrees when the measured and simulated bands overlap.", "",
                  "| load | quantile | measured ms: median (band) | simulated ms: median (band) | bands overlap |",
                  "|---|---|---|---|---|"]
        for row in one:
            m, s_ = row["measured_ms"], row["simulated_ms"]
            for i, q in enumerate(row["quantiles"]):
                lines.append(f"| {row['load']:.0%} | p{100 * q:g} | {m['median'][i]:.2f} ({m['low'][i]:.2f}–"
                             f"{m['high'][i]:.2f}) | {s_['median'][i]:.2f} ({s_['low'][i]:.2f}–{s_['high'][i]:.2f}) | "
                             f"{'yes' if row['overlap'][i] else 'NO'} |")
        agree = sum(sum(r["overlap"]) for r in one)
        total = sum(len(r["overlap"]) for r in one)
        widest = max(h / max(lo, 1e-9) for r in one for lo, h in zip(r["measured_ms"]["low"], r["measured_ms"]["high"],
                                                                     strict=True))
        lines += ["", f"{agree} of {total} quantiles agree. What the check can tell: the measured bands are as wide "
                  f"as {widest:.1f}x (highest run over lowest) on this shared 2-core machine, so a model wrong by less "
                  "than its band at a quantile cannot be told from right there; the simulated bands are the spread "
                  f"a run of that length has by chance alone. Measured on {validation.get('date', '')[:10]}."]
    zero = validation.get("scale_from_zero")
    if zero:
        lines += ["", f"Scale from zero: `docker run` to first prediction, {2 * len(zero['measured_s'])} runs "
                  "interleaved; the simulation's path from zero replicas, fed the odd runs' cold starts, answers "
                  f"first in {zero['simulated_median_s']:.3f} s (median), the even runs measured "
                  f"{zero['measured_median_s']:.3f} s: {'within' if zero['ok'] else 'NOT within'} 25%."]
    dyn = validation.get("dynamics")
    if dyn:
        real = ", ".join(f"{n} at {t:.0f} s" for t, n in dyn["real_changes"])
        sim = ", ".join(f"{n} at {t:.0f} s" for t, n in dyn["simulated_changes"])
        alerts = ", ".join(f"{a['alert']} at {a['t']:.0f} s" for a in dyn["real"]["alerts"]) or "none fired"
        sources = sorted({r["source"] for r in dyn["real"].get("rates", [])}) or ["gateway"]
        load = dyn["real"].get("load", {})
        lines += ["", f"Scaling dynamics, OpenFaaS CE ({dyn['date'][:10]}; `python -m scripts.fleet.dynamics`): idle "
                  f"{dyn['idle']:g} s, then {dyn['rate']:g} req/s for {dyn['hold']:g} s "
                  f"(achieved {load.get('achieved_rps', float('nan')):.1f} req/s), then idle {dyn['after']:g} s, "
                  "through the real CE gateway and provider of ../shared/openfaas, which has no Alertmanager: "
                  "CE's rule and Alertmanager's timing are emulated from the chart's config and POSTed to the "
                  f"gateway's /system/alert ({alerts}; the rate read from: {', '.join(sources)}). Replicas "
                  f"running, real: {real}; simulated: {sim}. What "
                  "this can tell: the gateway's step per notification, its return to the minimum, and how long "
                  "the provider takes to start and stop replicas; not Alertmanager's own timing."]
    if not (one or zero or dyn):
        lines += ["Not checked in this run (`python -m scripts.simulate --only-validate`)."]
    return lines


def inputs_lines(data: dict[str, Any]) -> list[str]:
    lines = ["", "## What went in", "", "| replica | service (1 core) | unloaded p50 | memory request | cold start "
             "(image on node) | cold start (fresh node: pull) | process start | sources |",
             "|---|---|---|---|---|---|---|---|"]
    for kind, r in data["inputs"].items():
        lines.append(f"| {kind} | {r['capacity_rps']:,.0f} req/s | {r['unloaded_p50_ms']:.2f} ms | "
                     f"{r['memory_gb'] * 1024:.0f} MiB | {r['cold_docker_median_s']:.2f} s | "
                     f"{r['cold_pull_median_s']:.2f} s | {r.get('cold_process_median_s', math.nan):.2f} s | "
                     + "; ".join(r["sources"].values()) + " |")
    gw = data.get("gateway")
    lines += ["", "The OpenFaaS gateway's hop, measured (not assumed): " + (
        f"{gw['added_s'] * 1000:.2f} ms added to the median answer and {gw['added_p99_s'] * 1000:.1f} ms at the p99 "
        "(each answer's hop drawn from a lognormal through those two) and "
        f"{gw['cpu_s'] * 1000:.2f} ms of the gateway's and provider's CPU per request, both in every "
        f"OpenFaaS row (the CPU billed as vCPU-seconds beside the platform's pods); source: {gw['source']}. "
        "Measured at one connection, on this shared 2-core machine where the gateway, the provider and the "
        "function share the cores: the gateway's own queueing at high rates is not modelled. Knative's activator "
        "(always in the path with containerConcurrency 1) is not measured here and adds nothing in the model."
        if gw else "not measured yet (docs/bench/gateway.json): the OpenFaaS rows have no hop.")]
    lines += ["", "Prices and platform figures (`scripts/fleet/cost.py`; free tiers, savings plans and the cluster's "
              "control plane left out, as they are the same whichever way this service runs):", "",
              "| figure | value | what | source | read |", "|---|---|---|---|---|"]
    for name, fig in data.get("figures", {}).items():
        lines.append(f"| {name} | {fig['value']:g} {fig['unit']} | {fig['what']} | {fig['source']} | {fig['read']} |")
    slim = (policies.CPU_REQUEST, policies.MEMORY_REQUEST_MB / 1024)  # the deploy files' requests
    task_cpu, task_gb = cost.fargate_task(*slim)
    lines += ["", f"Task sizes: a replica of the slim image ({policies.CPU_REQUEST:g} vCPU, "
              f"{policies.MEMORY_REQUEST_MB:g} MiB + {cost.f('fargate_pod_overhead_mb'):g} MB) is a {task_cpu:g} vCPU / "
              f"{task_gb:g} GB Fargate task at {_money(cost.fargate_hour(*slim))}/hour, as a TensorFlow one "
              f"({data['inputs']['tf']['memory_gb'] * 1024:.0f} MiB); Knative's "
              f"pods as one {cost.fargate_task(cost.f('knative_cpu'), cost.f('knative_gb'))[0]:g} vCPU task, "
              f"OpenFaaS's as one {cost.fargate_task(cost.f('openfaas_cpu'), cost.f('openfaas_gb'))[0]:g} vCPU task "
              "(an underestimate: each pod is rounded on its own).", "",
              "Policies (`scripts/fleet/policies.py`, the table the deploy files are tested against):", ""]
    lines += [f"- **{p.label}** ({p.kind}; {p.engine}; decides every {p.tick:g} s; {p.min_replicas}-{p.max_replicas} "
              f"replicas): {p.source}." for p in policies.POLICIES.values()]
    lines += ["", "Model: requests wait in one FIFO queue in front of the fleet (the gateway, the activator, a "
              "Service, the platform's front end) and each replica serves one at a time on its core; where the "
              "platform forwards every request to a pod (OpenFaaS, a Kubernetes Service) a pod already holding "
              f"max_inflight ({policies.MAX_INFLIGHT}) refuses with 429; a request waiting over {engine.TIMEOUT:g} s "
              f"is dropped; a replica on a node that has never run the image pays the pull ({engine.NODES} nodes). "
              "Lambda starts an environment for every request that finds none free (the first burst starts many: "
              "they stay warm while used). Cloud Run's 100 ms rounding is applied to each busy period of an "
              "instance. Round-robin balancing without a shared queue, which OpenFaaS CE does through a Kubernetes "
              "Service, waits longer at high load than this model says.", ""]
    return lines


def charts(results: dict[str, list[dict]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for metric, label, file in (("cost_per_million", "cost per million requests ($, log; its bill)", "scaling-cost.png"),
                                ("p99_ms", "p99 latency (ms, log)", "scaling-p99.png")):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
        for ax, image in zip(axes, IMAGE_LABEL, strict=True):
            for name, policy in policies.POLICIES.items():
                rows = sorted((r for r in results["rates"] if r["image_kind"] == image and r["policy"] == name
                               and not r["cap_bound"] and math.isfinite(r[metric])), key=lambda r: r["mean_rate"])
                ax.plot([r["mean_rate"] for r in rows], [r[metric] for r in rows], marker="o", label=policy.label,
                        linestyle="--" if policy.kind == "managed serverless" else "-")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(IMAGE_LABEL[image])
            ax.set_xlabel("mean request rate (req/s, log)")
            ax.grid(True, which="major", alpha=0.3)
        axes[0].set_ylabel(label)
        axes[1].legend(loc="best", fontsize=8)
        fig.tight_layout()
        fig.savefig(DOCS / file, dpi=110)
        plt.close(fig)
        names.append(file)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for image in IMAGE_LABEL:
        for name in SCALE_TO_ZERO:
            rows = sorted((r for r in results["gaps"] if r["image_kind"] == image and r["policy"] == name
                           and not r["cap_bound"]), key=lambda r: r["mean_rate"], reverse=True)
            ax.plot([1 / r["mean_rate"] for r in rows], [100 * r["cold_share"] for r in rows], marker="o",
                    linestyle="-" if image == "tflite" else "--",
                    label=f"{policies.POLICIES[name].label}, {IMAGE_LABEL[image]}")
    ax.set_xscale("log")
    ax.set_xlabel("mean gap between requests (s, log)")
    ax.set_ylabel("requests that waited for a cold start (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(DOCS / "scaling-cold.png", dpi=110)
    plt.close(fig)
    return names + ["scaling-cold.png"]


def summarise_inputs(replicas: dict[str, inputs.Replica]) -> dict[str, Any]:
    import numpy as np

    return {kind: {"capacity_rps": r.capacity, "unloaded_p50_ms": float(np.median(r.unloaded)) * 1000,
                   "memory_gb": r.memory_gb, "cold_docker_median_s": float(np.median(r.cold_docker)),
                   "cold_pull_median_s": float(np.median(r.cold_pull)),
                   "cold_process_median_s": float(np.median(r.cold_process)), "sources": r.sources}
            for kind, r in replicas.items()}


def document(results: dict[str, list[dict]], validation: dict[str, Any], replicas: dict[str, inputs.Replica],
             reuse: float = 0.0) -> dict[str, Any]:
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"), "reuse": reuse,
            "gateway": vars(GATEWAY) if GATEWAY else None,
            "figures": {name: vars(fig) for name, fig in cost.FIGURES.items()},
            "inputs": summarise_inputs(replicas), "results": results, "validation": validation}


def write(data: dict[str, Any]) -> list[Path]:
    out = [SIMULATION, DOCS / "scaling.md"]
    out[0].write_text(json.dumps(data, indent=1, default=float) + "\n")
    out[1].write_text(markdown(data))
    return out + [DOCS / name for name in charts(data["results"])]


def load() -> dict[str, Any]:
    """What the last `make simulate` wrote (docs/bench/simulation.json)."""
    return json.loads(SIMULATION.read_text())


def with_dynamics(validation: dict[str, Any]) -> dict[str, Any]:
    """`validation` (changed in place) with the dynamics check of docs/bench/dynamics.json, when it
    exists: written apart, by python -m scripts.fleet.dynamics on the shared stack."""
    if DYNAMICS.exists():
        validation["dynamics"] = json.loads(DYNAMICS.read_text())
    return validation


def render() -> list[Path]:
    """docs/scaling.md and the charts again from docs/bench/simulation.json (itself rewritten with
    the dynamics check and the figures' current sources); the paths of those."""
    data = load()
    with_dynamics(data["validation"])
    for name, fig in cost.FIGURES.items():  # a source's wording or date, never a value the run did not use
        if data["figures"].get(name, {}).get("value") == fig.value:
            data["figures"][name] = vars(fig)
    return write(data)[1:]
