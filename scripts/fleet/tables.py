"""The detail tables of docs/scaling.md: every policy at every rate, start-up, traffic shapes, a year,
the checks against real runs and what went in (scripts/fleet/report.py assembles them)."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from scripts.fleet import cost, engine, grid, policies, prices

IMAGE = {"fn": "slim TFLite image", "server": "slim TFLite image", "tf": "TensorFlow image"}


def money(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"${x:,.2f}" if x >= 1 else f"${x:.3f}" if x >= 0.001 else f"${x:.2e}"


def ms(x: float) -> str:
    return "n/a" if not math.isfinite(x) else f"{x:,.1f}"


def label(r: dict[str, Any]) -> str:
    return policies.POLICIES[r["policy"]].label


def cap_note(r: dict[str, Any]) -> str:
    """A cap that binds: a raisable one as the replicas the load needs, priced at that size."""
    if not r["cap_binds"]:
        return ""
    if r["hard_cap"]:
        return f" (its cap of {r['cap']} binds and cannot be raised: not priced)"
    return f" (needs {r['peak_replicas']} replicas; the deploy file's cap is {r['cap']})"


def _rows(results: list[dict[str, Any]], unpriced: Callable[[dict[str, Any]], str],
          priced: Callable[[dict[str, Any]], str]) -> list[str]:
    return [unpriced(r) if r["cap_binds"] and r["hard_cap"] and not r["answered"] else priced(r) for r in results]


def _bill(r: dict[str, Any]) -> str:
    name = "fargate" if "fargate" in r["bills"] else "lambda" if "lambda" in r["bills"] else next(iter(r["bills"]))
    return f"{money(cost.per_million(r, name))} ({name})"


def every_rate(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["## Every policy at every rate (steady load, sized to it)", "",
             "| mean rate | image | policy | p50 ms | p99 ms | cold waits | lost (dropped + 429) | mean replicas | "
             "peak | $/M (its first bill) | every bill, $/M |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += _rows(rows, lambda r: (
        f"| {r['mean_rate']:g} | {IMAGE[r['image']]} | {label(r)} | its cap of {r['cap']} binds: not simulated "
        "| | | | | | | |"), lambda r: (
        f"| {r['mean_rate']:g} | {IMAGE[r['image']]} | {label(r)}{cap_note(r)} | {ms(r['p50_ms'])} | "
        f"{ms(r['p99_ms'])} | {100 * r['cold_share']:.2f}% | {r['lost']:,} | {r['mean_replicas']:.2f} | "
        f"{r['peak_replicas']} | {_bill(r)} | "
        + "; ".join(f"{k} {money(cost.per_million(r, k))}" for k in r["bills"]) + " |"))
    return lines + [""]


def startup(rows: list[dict[str, Any]]) -> list[str]:
    lines = ["## Start-up: a step in load", "",
             "Idle for a minute, then the rate at once: each policy from its minimum (zero for the scale-to-zero "
             "ones); self-hosted and server replicas start as new Fargate pods (provisioning, pull, start).", "",
             "| step | image | policy | first answer s | p99 ms | cold waits | lost | replicas at +5 s, +30 s, +120 s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "replicas_at" not in r:
            lines.append(f"| {r['mean_rate']:g} req/s | {IMAGE[r['image']]} | {label(r)} | its cap binds | | | | |")
            continue
        at = r["replicas_at"]
        lines.append(f"| {r['mean_rate']:g} req/s | {IMAGE[r['image']]} | {label(r)}{cap_note(r)} | "
                     f"{r['first_answer_s']:.2f} | {ms(r['p99_ms'])} | {100 * r['cold_share']:.2f}% | {r['lost']:,} | "
                     f"{at['5']}, {at['30']}, {at['120']} |")
    return lines + [""]


def shapes(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"## Traffic shapes (mean {grid.SHAPE_RATE:g} req/s; diurnal over a day, the others over an hour)", "",
             "| shape | policy | image | p50 ms | p95 ms | p99 ms | max ms | cold waits | lost | mean replicas | $/M |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    lines += _rows(rows, lambda r: f"| {r['traffic']} | {label(r)} | {IMAGE[r['image']]} | its cap binds | | | | | | | |",
                   lambda r: (f"| {r['traffic']} | {label(r)}{cap_note(r)} | {IMAGE[r['image']]} | {ms(r['p50_ms'])} | "
                              f"{ms(r['p95_ms'])} | {ms(r['p99_ms'])} | {r['max_ms']:,.0f} | "
                              f"{100 * r['cold_share']:.2f}% | {r['lost']:,} | {r['mean_replicas']:.2f} | {_bill(r)} |"))
    return lines + [""]


def year(rows: list[dict[str, Any]]) -> list[str]:
    lines = [f"## A year of diurnal traffic at {grid.YEAR_RATE:g} req/s ({grid.DAYS} identical simulated days)", "",
             "| policy | image | requests a year | mean replicas | cost a year (its first bill) | p99 ms | lost a year |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        scale = grid.DAYS * grid.traffic.DAY / r["horizon_s"]
        first = "fargate" if "fargate" in r["bills"] else next(iter(r["bills"]))
        lines.append(f"| {label(r)}{cap_note(r)} | {IMAGE[r['image']]} | {r['requests'] * scale:.3g} | "
                     f"{r['mean_replicas']:.2f} | {money(r['bills'][first] * scale)} ({first}) | {ms(r['p99_ms'])} | "
                     f"{r['lost'] * scale:,.0f} |")
    return lines + [""]


def validation(validation: dict[str, Any]) -> list[str]:
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


def inputs(data: dict[str, Any]) -> list[str]:
    lines = ["", "## What went in", "", "| replica | service (1 core) | unloaded p50 | memory request | image (gzip) | "
             "cold start: self-hosted, image on node | new Fargate pod | Lambda | Cloud Run | sources |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for kind, r in data["inputs"].items():
        c = r["cold_median_s"]
        lines.append(f"| {kind} | {r['capacity_rps']:,.0f} req/s | {r['unloaded_p50_ms']:.2f} ms | "
                     f"{r['memory_gb'] * 1024:.0f} MiB | {r['image_gb'] * 1000:.0f} MB | {c['node']:.2f} s | "
                     f"{c['fargate']:.2f} s | {c['lambda']:.2f} s | {c['cloud_run']:.2f} s | "
                     + "; ".join(r["sources"].values()) + " |")
    sfz = (data.get("platform_coldstarts") or {}).get("openfaas")
    if sfz:
        # a step the start did not have (`healthy`: the function runs no check) is left out
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in sfz["scale_from_zero"].get("breakdown_median_s", {}).items()
                          if v is not None)
        lines += ["", f"Scale from zero through the real gateway: median {sfz['scale_from_zero']['median_s']:.2f} s "
                  f"({parts}); `docker run` {sfz['docker_run']['median_s']:.2f} s in the same run."]
    lam = (data.get("platform_coldstarts") or {}).get("lambda")
    if lam:
        lines += ["", f"Lambda under the runtime interface emulator: cold start median {lam['lambda']['median_s']:.2f} s "
                  f"(its INIT {lam['lambda'].get('init_ms_median', math.nan):.0f} ms; the process alone "
                  f"{lam['function']['median_s']:.2f} s); an invocation {lam['invocation']['duration_ms_median']:.1f} "
                  f"ms, at most {lam['invocation'].get('max_memory_mb', math.nan):.0f} MB."]
    gw = data.get("gateway")
    lines += ["", "The OpenFaaS gateway's hop, measured: " + (
        f"{gw['added_s'] * 1000:.2f} ms added to the median answer, {gw['added_p99_s'] * 1000:.1f} ms at the p99, "
        f"{gw['cpu_s'] * 1000:.2f} ms of the gateway's and provider's CPU per request (billed); source: {gw['source']}."
        if gw else "not measured yet (docs/bench/gateway.json): the OpenFaaS rows have no hop.")]
    lines += ["", "Prices and published figures (`scripts/fleet/prices.py`; free tiers and savings plans left out):", "",
              "| figure | value | what | source | read |", "|---|---|---|---|---|"]
    for name, fig in data["figures"].items():
        lines.append(f"| {name} | {fig['value']:g} {fig['unit']} | {fig['what']} | {fig['source']} | {fig['read']} |")
    slim = cost.replica_pod("hpa_cpu", policies.CPU_REQUEST, policies.MEMORY_REQUEST_MB / 1024)
    kn = cost.replica_pod("knative", policies.CPU_REQUEST, policies.MEMORY_REQUEST_MB / 1024)
    lines += ["", f"Pods on Fargate, each rounded on its own: a slim replica is a {cost.fargate_task(*slim)[0]:g} vCPU / "
              f"{cost.fargate_task(*slim)[1]:g} GB task ({money(cost.fargate_hour(*slim))}/hour); under Knative, with "
              f"its queue-proxy, a {cost.fargate_task(*kn)[0]:g} vCPU task ({money(cost.fargate_hour(*kn))}/hour); "
              f"OpenFaaS's pods {money(cost.pods_hour('openfaas'))}/hour, Knative's {money(cost.pods_hour('knative'))}"
              f"/hour; the cluster's fixed costs {money(cost.fixed_hour())}/hour (sources: {prices.PODS_SOURCE}).", "",
              "Policies (`scripts/fleet/policies.py`, the table the deploy files are tested against):", ""]
    lines += [f"- **{p.label}** ({p.kind}; {p.engine}; decides every {p.tick:g} s; {p.min_replicas}-{p.max_replicas} "
              f"replicas{', a cap that cannot be raised' if p.hard_cap else ''}): {p.source}."
              for p in policies.POLICIES.values()]
    lines += ["", "Model: requests wait in one FIFO queue in front of the fleet and each replica serves one at a time "
              f"on its core; where the platform forwards every request to a pod a pod holding max_inflight "
              f"({policies.MAX_INFLIGHT}) refuses with 429; a request waiting over {engine.TIMEOUT:g} s is dropped (a "
              "client gives up), which a new Fargate pod's start can exceed. Lambda starts an environment for every "
              "request that finds none free and answers 429 past its quota or scaling rate; a request goes to the "
              "environment free longest, so at a steady rate idle ones are seldom reclaimed and the peak count "
              "overstates what Lambda holds (its bill does not depend on it). Cloud Run's 100 ms "
              "rounding applies to each busy period of an instance. The ALB is billed one new connection per request "
              "(a public API's clients), its binding capacity dimension.", ""]
    return lines
