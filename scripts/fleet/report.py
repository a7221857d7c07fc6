"""The decision, generated: every simulation `make simulate` runs, written as
docs/bench/simulation.json, docs/scaling.md and its charts."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from scripts.fleet import aggregate, engine, inputs, policies, traffic
from scripts.fleet.cost import Prices, Result

ROOT = Path(__file__).resolve().parent.parent.parent
DOCS = ROOT / "docs"
RATES = (0.001, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0, 10000.0)
GAPS = (10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)  # seconds between requests, on average
SHAPE_RATE = 10.0
YEAR_RATE = 1000.0
YEAR = 365 * traffic.DAY
SERVERLESS = ("openfaas_ce", "openfaas_pro", "knative")
IMAGE_LABEL = {"tflite": "slim TFLite image", "tensorflow": "TensorFlow image"}
P99_TARGETS_MS = (10.0, 100.0, 1000.0)


def replica_for(policy: str, image: str, replicas: dict[str, inputs.Replica]) -> inputs.Replica:
    """The function runs under the serverless policies, the server Deployment under the others."""
    role = "function" if policy in SERVERLESS else "server"
    return replicas[inputs.IMAGES[image][role]]


def _horizon(rate: float) -> float:
    """Long enough for a few hundred requests, at most a week; an hour at busy rates."""
    return 3600.0 if rate >= 1 else min(7 * traffic.DAY, max(3600.0, 300 / rate))


def run_grid(replicas: dict[str, inputs.Replica], prices: Prices, progress: Callable) -> dict[str, list[dict]]:
    jobs: list[tuple[str, Callable[[], Result]]] = []
    for image in IMAGE_LABEL:
        for name, policy in policies.POLICIES.items():
            replica = replica_for(name, image, replicas)
            for rate in RATES:
                model = engine.simulate if rate <= 100 else aggregate.simulate
                jobs.append(("rates", lambda m=model, r=rate, p=policy, rp=replica: m(
                    traffic.steady(r), p, rp, _horizon(r), prices=prices)))
            for shape, make in traffic.SHAPES.items():
                horizon = traffic.DAY if shape == "diurnal" else 3600.0
                jobs.append(("shapes", lambda mk=make, h=horizon, p=policy, rp=replica: engine.simulate(
                    mk(SHAPE_RATE), p, rp, h, prices=prices)))
            if name in ("openfaas_pro", "knative"):
                for gap in GAPS:
                    jobs.append(("gaps", lambda g=gap, p=policy, rp=replica: engine.simulate(
                        traffic.steady(1 / g), p, rp, 300 * g, prices=prices)))
            jobs.append(("year", lambda p=policy, rp=replica: aggregate.simulate(
                traffic.diurnal(YEAR_RATE), p, rp, YEAR, step=300.0, prices=prices)))
    results: dict[str, list[dict]] = {"rates": [], "shapes": [], "gaps": [], "year": []}
    for kind, job in progress(jobs, "simulations"):
        result = job()
        row = result.as_dict()
        row["image_kind"] = "tensorflow" if result.image == "tf" else "tflite"
        results[kind].append(row)
    return results


def cheapest(rows: list[dict]) -> list[dict[str, Any]]:
    """Per image and rate: the cheapest serverless and server-side policy that dropped at most 1%."""
    out = []
    for image in IMAGE_LABEL:
        for rate in RATES:
            at = [r for r in rows if r["image_kind"] == image and r["mean_rate"] == rate and r["answered"]
                  and r["dropped"] <= 0.01 * r["requests"]]
            out.append({"image": image, "rate": rate,
                        "serverless": min((r for r in at if r["policy"] in SERVERLESS),
                                          key=lambda r: r["cost_per_million"], default=None),
                        "server": min((r for r in at if r["policy"] not in SERVERLESS),
                                      key=lambda r: r["cost_per_million"], default=None)})
    return out


def zero_pays_below(rows: list[dict], image: str, saving: float = 0.05) -> float | None:
    """The lowest rate from which scaling to zero (Knative, OpenFaaS Pro) saves less than `saving`
    against keeping one replica always on: above it, the two cost the same."""
    for rate in RATES:
        held = [r["mean_replicas"] for r in rows if r["image_kind"] == image and r["mean_rate"] == rate
                and r["policy"] in ("knative", "openfaas_pro")]
        if held and min(held) >= 1 - saving:
            return rate
    return None


def rates_text(rates: list[float]) -> str:
    return ", ".join(f"{x:g}" for x in rates) + " req/s" if rates else "no rate simulated"


def meets(rows: list[dict], image: str, target_ms: float) -> list[float]:
    """Rates at which a scale-to-zero policy kept its p99 within the target, nothing dropped."""
    return sorted({r["mean_rate"] for r in rows if r["image_kind"] == image and r["policy"] in
                   ("knative", "openfaas_pro") and r["p99_ms"] <= target_ms and r["dropped"] == 0})


def charts(results: dict[str, list[dict]]) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    for metric, label, file in (("cost_per_million", "cost per million requests ($, log)", "scaling-cost.png"),
                                ("p99_ms", "p99 latency (ms, log)", "scaling-p99.png")):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.6), sharey=True)
        for ax, image in zip(axes, IMAGE_LABEL, strict=True):
            for name, policy in policies.POLICIES.items():
                rows = sorted((r for r in results["rates"] if r["image_kind"] == image and r["policy"] == name
                               and math.isfinite(r[metric])), key=lambda r: r["mean_rate"])
                ax.plot([r["mean_rate"] for r in rows], [r[metric] for r in rows], marker="o", label=policy.label)
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
        for name in ("openfaas_pro", "knative"):
            rows = sorted((r for r in results["gaps"] if r["image_kind"] == image and r["policy"] == name),
                          key=lambda r: r["mean_rate"], reverse=True)
            ax.plot([1 / r["mean_rate"] for r in rows], [100 * r["cold_share"] for r in rows], marker="o",
                    linestyle="-" if image == "tflite" else "--",
                    label=f"{policies.POLICIES[name].label}, {IMAGE_LABEL[image]}")
    ax.set_xscale("log")
    ax.set_xlabel("mean gap between requests (s, log)")
    ax.set_ylabel("requests that waited for a cold start (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(DOCS / "scaling-cold.png", dpi=110)
    plt.close(fig)
    return names + ["scaling-cold.png"]


def _money(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"${x:,.2f}" if x >= 1 else f"${x:.3f}"


def markdown(data: dict[str, Any]) -> str:
    results, validation = data["results"], data["validation"]
    lines = ["# Serverless or server? The fleet, simulated", "",
             f"_Generated by `make simulate` (`python -m scripts.simulate`) on {data['date'][:10]}; every figure below "
             "comes from `docs/bench/simulation.json`. Do not edit by hand._", ""]
    lines += ["## The answer", ""]
    rates = results["rates"]
    for image in IMAGE_LABEL:
        edge = zero_pays_below(rates, image)
        lines.append(f"- **{IMAGE_LABEL[image]}**: scaling to zero pays below "
                     + (f"{edge:g} req/s on average" if edge else "every rate simulated")
                     + " (above, a replica stays up between requests and costs what an always-on one does); "
                     "a p99 within 1 s under scale to zero holds at " + rates_text(meets(rates, image, 1000)) + ".")
    lines += ["", "Every engine here bills what its replicas reserve, busy or idle, on the same nodes; so the "
              "serverless side saves only the replicas it does not hold (scale to zero, a minimum of one rather "
              "than the two a highly available Deployment keeps), and pays for it in requests that wait for a "
              "replica to start. OpenFaaS CE cannot scale to zero, and its alert (over 5 req/s per replica) "
              "holds five replicas of a service that answers over a thousand per second on one: it costs the most "
              "per request of all from 10 req/s up.", "",
              "| mean rate (req/s) | image | cheapest serverless policy | $/M | p99 ms | cheapest server policy | "
              "$/M | p99 ms |", "|---|---|---|---|---|---|---|---|"]
    table = cheapest(rates)
    for row in table:
        sl, sv = row["serverless"], row["server"]
        lines.append(f"| {row['rate']:g} | {IMAGE_LABEL[row['image']]} | "
                     + (f"{policies.POLICIES[sl['policy']].label} | {_money(sl['cost_per_million'])} | {sl['p99_ms']:,.1f}"
                        if sl else "none dropped under 1% | | ")
                     + " | " + (f"{policies.POLICIES[sv['policy']].label} | {_money(sv['cost_per_million'])} | "
                                f"{sv['p99_ms']:,.1f}" if sv else "none dropped under 1% | | ") + " |")
    lines += ["", "### Serverless is the better choice when ...", "",
              "| when | because (figures above and below) |", "|---|---|"]
    for image in IMAGE_LABEL:
        edge = zero_pays_below(rates, image)
        if edge:
            lines.append(f"| the mean rate stays below {edge:g} req/s ({IMAGE_LABEL[image]}) | scale to zero stops "
                         "paying for idle replicas; above that rate the replica stays up anyway |")
    cold = {(r["image_kind"], r["policy"], round(1 / r["mean_rate"])): r for r in results["gaps"]}
    for image in IMAGE_LABEL:
        waits = [cold[(image, "knative", round(g))] for g in GAPS if (image, "knative", round(g)) in cold]
        if waits:
            worst = max(waits, key=lambda r: r["cold_share"])
            lines.append(f"| the users accept waiting for a cold start ({IMAGE_LABEL[image]}: p99 "
                         f"{worst['p99_ms']:,.0f} ms at a {1 / worst['mean_rate']:g} s gap under Knative) | with gaps "
                         f"longer than the scale-to-zero grace, {100 * worst['cold_share']:.0f}% of requests wait "
                         "for a replica to start |")
    for target in P99_TARGETS_MS:
        lines.append(f"| a p99 of {target:g} ms is the goal | met under scale to zero at "
                     + "; ".join(f"{IMAGE_LABEL[i]}: {rates_text(meets(rates, i, target))}" for i in IMAGE_LABEL) + " |")
    lines += ["", "How far the slim image moves the line: with a p99 goal of 1 s, scale to zero serves the slim "
              f"image at {rates_text(meets(rates, 'tflite', 1000))} and the TensorFlow image at "
              f"{rates_text(meets(rates, 'tensorflow', 1000))}. The reference report assumed cold starts of about 2 s; "
              "measured here, a replica of the slim "
              f"image starts in {data['inputs']['fn']['cold_docker_median_s']:.2f} s with the image on the node and "
              f"{data['inputs']['fn']['cold_pull_median_s']:.2f} s on a fresh node, the TensorFlow image in "
              f"{data['inputs']['tf']['cold_docker_median_s']:.2f} s and "
              f"{data['inputs']['tf']['cold_pull_median_s']:.1f} s; "
              f"one core answers {data['inputs']['fn']['capacity_rps']:,.0f} req/s with the slim image and "
              f"{data['inputs']['tf']['capacity_rps']:,.0f} with TensorFlow, so the TensorFlow fleet needs that many "
              "times the replicas.", ""]
    lines += ["![cost per million requests against the mean rate](scaling-cost.png)", "",
              "![p99 latency against the mean rate](scaling-p99.png)", "",
              "![share of cold-start waits against the gap between requests](scaling-cold.png)", ""]
    lines += [f"## Traffic shapes (mean {SHAPE_RATE:g} req/s; diurnal over a day, the others over an hour)", "",
              "| shape | policy | image | p50 ms | p95 ms | p99 ms | max ms | cold waits | dropped | replica-s | "
              "GB-s | $/M |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results["shapes"]:
        lines.append(f"| {r['traffic']} | {policies.POLICIES[r['policy']].label} | {IMAGE_LABEL[r['image_kind']]} | "
                     f"{r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['p99_ms']:.1f} | {r['max_ms']:,.0f} | "
                     f"{100 * r['cold_share']:.2f}% | {r['dropped']:,} | {r['replica_seconds']:,.0f} | "
                     f"{r['gb_seconds']:,.0f} | {_money(r['cost_per_million'])} |")
    lines += ["", f"## A year of diurnal traffic at {YEAR_RATE:g} req/s (aggregate model)", "",
              "| policy | image | requests | mean replicas | cost per year | $/M | p99 ms | dropped |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results["year"]:
        lines.append(f"| {policies.POLICIES[r['policy']].label} | {IMAGE_LABEL[r['image_kind']]} | "
                     f"{r['requests']:.2e} | {r['mean_replicas']:.2f} | {_money(r['cost'])} | "
                     f"{_money(r['cost_per_million'])} | {r['p99_ms']:.1f} | {r['dropped']:.2e} |")
    lines += ["", "## Checked against reality (same run)", ""]
    one = validation.get("one_replica")
    if one:
        lines += ["One replica of the function container (host network, one core), open-loop Poisson load "
                  f"(`scripts/openloop.py`; medians of {len(one[0].get('runs', [1]))} interleaved runs) against the "
                  "request-level simulation of that replica at the same rate, its capacity "
                  f"({one[0]['capacity_rps']:,.0f} req/s) and unloaded latency measured in the same run "
                  "(goal: within 25%):", "",
                  "| load | rate (req/s) | measured p50 (runs) | simulated p50 | measured p99 (runs) | simulated p99 "
                  "| within 25% |",
                  "|---|---|---|---|---|---|---|"]
        for row in one:
            m, s = row["measured"], row["simulated"]
            lines.append(f"| {row['load']:.0%} | {row['rate']:,.0f} | {m['p50_ms']:.2f} ms ({_spread(row, 'p50_ms')}) | "
                         f"{s['p50_ms']:.2f} ms | {m['p99_ms']:.2f} ms ({_spread(row, 'p99_ms')}) | {s['p99_ms']:.2f} ms | "
                         f"p50 {'yes' if row['p50_ok'] else 'NO'}, p99 {'yes' if row['p99_ok'] else 'NO'} |")
        lines += ["", "Beside each median, the range of the runs: on this machine (a VM on a shared host) one "
                  "load's latency can move between runs minutes apart by more than the 25% asked of the model."]
    zero = validation.get("scale_from_zero")
    if zero:
        lines += ["", f"Scale from zero: `docker run` to first prediction, {2 * len(zero['measured_s'])} runs "
                  "interleaved; the simulation's path from zero replicas, fed the odd runs' cold starts, answers "
                  f"first in {zero['simulated_median_s']:.3f} s (median), the even runs measured "
                  f"{zero['measured_median_s']:.3f} s: {'within' if zero['ok'] else 'NOT within'} 25%."]
    agg = validation.get("aggregate")
    if agg:
        fine, coarse = agg["request_level"], agg["aggregate"]
        lines += ["", f"Aggregate against request-level, a day of diurnal traffic at {agg['rate']:g} req/s "
                  f"({policies.POLICIES[agg['policy']].label}, slim image): cost {_money(coarse['cost'])} against "
                  f"{_money(fine['cost'])} ({'within' if agg['cost_ok'] else 'NOT within'} 5%), p99 "
                  f"{coarse['p99_ms']:.2f} ms against {fine['p99_ms']:.2f} ms ({'within' if agg['p99_ok'] else 'NOT within'}"
                  f" 5%); {agg['seconds']['aggregate']:.1f} s against {agg['seconds']['request_level']:.1f} s to compute."]
    lines += ["", "## What went in", "", "| replica | service (1 core) | unloaded p50 | memory request | cold start "
              "(image on node) | cold start (fresh node: pull) | sources |", "|---|---|---|---|---|---|---|"]
    for kind, r in data["inputs"].items():
        lines.append(f"| {kind} | {r['capacity_rps']:,.0f} req/s | {r['unloaded_p50_ms']:.2f} ms | "
                     f"{r['memory_gb'] * 1024:.0f} MiB | {r['cold_docker_median_s']:.2f} s | "
                     f"{r['cold_pull_median_s']:.2f} s | "
                     + "; ".join(r["sources"].values()) + " |")
    lines += ["", f"Prices: {data['prices']}. Each replica reserves one vCPU (the core it was measured on) and its "
              "memory request; a replica costs the same busy or idle. Policies (`scripts/fleet/policies.py`, the table "
              "the deploy files are tested against):", ""]
    lines += [f"- **{p.label}** ({p.engine}; decides every {p.tick:g} s; {p.min_replicas}-{p.max_replicas} replicas): "
              f"{p.source}." for p in policies.POLICIES.values()]
    lines += ["", "Model: one FIFO queue in front of the fleet (the gateway, the activator or a Service), each replica "
              "serving one request at a time on its core, requests held while a replica starts and dropped after "
              f"{engine.TIMEOUT:g} s; a replica on a node that has never run the image pays the pull "
              f"({engine.NODES} nodes). Request-level runs at up to 100 req/s, the aggregate model above "
              "(`scripts/fleet/aggregate.py`). Round-robin balancing without a shared queue, which OpenFaaS CE does "
              "through a Kubernetes Service, waits longer at high load than this model says.", ""]
    return "\n".join(lines)


def summarise_inputs(replicas: dict[str, inputs.Replica]) -> dict[str, Any]:
    import numpy as np

    return {kind: {"capacity_rps": r.capacity, "unloaded_p50_ms": float(np.median(r.unloaded)) * 1000,
                   "memory_gb": r.memory_gb, "cold_docker_median_s": float(np.median(r.cold_docker)),
                   "cold_pull_median_s": float(np.median(r.cold_pull)), "sources": r.sources}
            for kind, r in replicas.items()}


def write(results: dict[str, list[dict]], validation: dict[str, Any], replicas: dict[str, inputs.Replica],
          prices: Prices) -> list[Path]:
    data = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "prices": prices.source,
            "inputs": summarise_inputs(replicas), "results": results, "validation": validation}
    out = [DOCS / "bench" / "simulation.json", DOCS / "scaling.md"]
    out[0].write_text(json.dumps(data, indent=1, default=float) + "\n")
    out[1].write_text(markdown(data))
    return out + [DOCS / name for name in charts(results)]


def load() -> dict[str, Any]:
    """What the last `make simulate` wrote (docs/bench/simulation.json)."""
    return json.loads((DOCS / "bench" / "simulation.json").read_text())


def render() -> list[Path]:
    """docs/scaling.md and the charts again from docs/bench/simulation.json."""
    data = load()
    (DOCS / "scaling.md").write_text(markdown(data))
    return [DOCS / "scaling.md"] + [DOCS / name for name in charts(data["results"])]


def _spread(row: dict, key: str) -> str:
    values = [run[key] for run in row.get("runs", [])]
    return f"{min(values):.2f}–{max(values):.2f}" if values else "one run"

