"""The rendering step: docs/scaling.md and its charts from docs/bench/simulation.json (written by
scripts/fleet/grid.py), and the README's one line. No simulation runs here.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

from scripts.fleet import charts, decide, grid, prices, tables

DOCS = grid.inputs.BENCH.parent
DEPLOY = DOCS / "deploy.md"  # its "which engine, when" section: engines(), written by scripts/simulate.py
IMAGE_LABEL = {"tflite": "slim TFLite image", "tensorflow": "TensorFlow image"}


def rate_text(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "?"
    return f"{x:,.0f}" if x >= 10 else f"{x:.2g}"


def _range(s: dict[str, Any] | None) -> str | None:
    """A crossover as its range over the sweep, with the inputs that move it most; None where the
    costs do not cross between two simulated rates (a kind stops meeting the goal instead)."""
    if not s or s["low"] is None:
        return None
    if s["high"] / s["low"] <= 1.05:  # no input of the sweep moves it
        return f"about {rate_text(s['baseline'] or s['low'])} req/s"
    movers = s["moved_by"] or [n for n in (s.get("low_by"), s.get("high_by")) if n and n != "baseline"][:2]
    return (f"about {rate_text(s['baseline'] or s['low'])} req/s ({rate_text(s['low'])}–{rate_text(s['high'])} over "
            "the sweep" + (f"; moved most by: {'; '.join(dict.fromkeys(movers))})" if movers else ")"))


def _short(edge: str) -> str:
    """A crossover already given in full: its baseline only."""
    return edge.split(" (", 1)[0]


def band_lines(results: dict[str, list[dict]], image: str, goal_ms: float) -> list[str]:
    """The answer for one image and p99 goal: its bands, each crossover as a range."""
    found = decide.bands(decide.winners(results["rates"], image, goal_ms))
    sens = decide.sensitivity(results, image, goal_ms)
    edges = [_range(sens.get((a["kind"], b["kind"]))) for a, b in zip(found, found[1:], strict=False)]
    parts = []
    for i, band in enumerate(found):
        rates = band["rates"]
        low = edges[i - 1] if i else None
        high = edges[i] if i < len(edges) else None
        first, last = f"{rates[0]:g} req/s", f"{rates[-1]:g} req/s"
        if len(found) == 1:
            where = f"at every rate simulated ({first} to {last})"
        elif i == 0:
            where = f"below {high}" if high else f"up to {last}"
        elif i == len(found) - 1:
            where = f"above {_short(low)}" if low else f"from {first}"
        elif len(rates) == 1 and not (low or high):
            where = f"at {first}"
        else:  # its lower edge was given in full at the band before
            where = f"from {_short(low) if low else first} to {high or last}"
        options = list(dict.fromkeys(r["top"][1].label for r in band["rows"] if r["top"]))
        parts.append(f"{where}: **{band['kind']}**" + (f" ({', '.join(options)})" if options else ""))
    return parts


def _options(rows: list[dict[str, Any]]) -> str:
    names = list(dict.fromkeys(r["top"][1].label for r in rows if r["top"]))
    return f" ({', '.join(names)})" if names else ""


def _ties(rows: list[dict[str, Any]]) -> str:
    ties = [f"{r['rate']:g} req/s ({' or '.join(r['tied'])})" for r in rows if len(r["tied"]) > 1]
    return f" (ties within {decide.TIE:.0%} at {', '.join(ties)})" if ties else ""


def _rates(rows: list[dict[str, Any]]) -> str:
    return f"{rows[0]['rate']:g}" + (f"–{rows[-1]['rate']:g}" if len(rows) > 1 else "") + " req/s"


def three(results: dict[str, list[dict]], image: str, goal_ms: float) -> str:
    """One image and p99 goal in (at most) three bands: the cheapest family at the lowest rates,
    at the highest, and what lies between, each edge as its range over the sweep."""
    found = decide.summary_sensitivity(results, image, goal_ms)
    bands = found["bands"]
    rows = bands["rows"]
    if bands["high"] is None:
        return f"at every rate simulated ({_rates(rows)}): **{bands['low']}**{_options(rows)}"
    middle = bands["middle"]
    low_rows = rows[:rows.index(middle[0])] if middle else [r for r in rows if r["top"] and
                                                           decide.KINDS[r["top"][1].kind] == bands["low"]]
    high_rows = rows[rows.index(middle[-1]) + 1:] if middle else rows[len(low_rows):]
    low = _range(found["low_edge"]) or f"{low_rows[-1]['rate']:g} req/s and below"
    parts = [f"below {low}: **{bands['low']}**{_options(low_rows)}{_ties(low_rows)}"]
    if middle:
        runs: list[list[dict[str, Any]]] = []
        for r in middle:
            family = decide.KINDS[r["top"][1].kind] if r["top"] else "none meets the goal"
            if runs and runs[-1][0] == family:
                runs[-1][1].append(r)
            else:
                runs.append([family, [r]])
        high = _range(found["high_edge"]) or f"{high_rows[0]['rate']:g} req/s"
        parts.append(f"from {_short(low)} to {high}: " + "; ".join(
            f"{family}{_options(rs)} at {_rates(rs)}" for family, rs in runs) + _ties(middle))
        parts.append(f"above {_short(high)}: **{bands['high']}**{_options(high_rows)}{_ties(high_rows)}")
    else:
        parts.append(f"above {_short(low)}: **{bands['high']}**{_options(high_rows)}{_ties(high_rows)}")
    if found["changed_under"]:
        parts.append("the lowest or highest band changes under: " + "; ".join(found["changed_under"]))
    return "; ".join(parts)


def answer(results: dict[str, list[dict]]) -> list[str]:
    lines = []
    for image in IMAGE_LABEL:
        for goal in decide.GOALS_MS:
            lines.append(f"- **{IMAGE_LABEL[image]}, p99 within {goal:g} ms**: {three(results, image, goal)}.")
    lines += ["", "Band by band, rate by rate (a tie where the cheapest of two families are within "
              f"{decide.TIE:.0%}):", ""]
    for image in IMAGE_LABEL:
        for goal in decide.GOALS_MS:
            lines.append(f"- {IMAGE_LABEL[image]}, p99 within {goal:g} ms: " + "; ".join(
                band_lines(results, image, goal)) + ".")
    return lines


def engines(data: dict[str, Any]) -> str:
    """docs/deploy.md's "which engine, when": the same bands, for the engineer choosing a deploy file."""
    lines = [f"From the fleet simulation ([scaling.md](scaling.md), `make simulate`, {data['date'][:10]}): the whole "
             "bill, fleets sized to the load, each crossover as the range its sensitivity sweep gives; the options in "
             "brackets are the cheapest simulated in each band.", ""]
    for image in IMAGE_LABEL:
        for goal in decide.GOALS_MS:
            lines.append(f"- {IMAGE_LABEL[image]}, p99 within {goal:g} ms: {three(data['results'], image, goal)}.")
    if data.get("fallbacks"):
        lines += ["", "Until the platforms' cold starts are measured, stand-ins are used: " + "; ".join(
            data["fallbacks"]) + "."]
    return "\n".join(lines)


def readme_line(data: dict[str, Any]) -> str:
    """The README's one line on serverless or server (scripts/figures.py writes it from
    simulation.json as written: priced again here, as docs/scaling.md is)."""
    results = grid.reprice(copy.deepcopy(data["results"]), data.get("reuse", 0.0))
    parts = [f"{IMAGE_LABEL[image]}: " + three(results, image, 1000.0).replace("**", "") for image in IMAGE_LABEL]
    return ("**Serverless or server** ([docs/scaling.md](docs/scaling.md), `make simulate`), the whole bill, fleets "
            "sized to the load, p99 within 1 s: " + " — ".join(parts) + ".")


def decision_table(results: dict[str, list[dict]], goal_ms: float) -> list[str]:
    lines = [f"| mean rate (req/s) | image | cheapest (p99 ≤ {goal_ms:g} ms) | $/M | p99 ms | tied within "
             f"{decide.TIE:.0%} | " + " | ".join(decide.FAMILIES) + " |",
             "|---" * (6 + len(decide.FAMILIES)) + "|"]
    for image in IMAGE_LABEL:
        for r in decide.winners(results["rates"], image, goal_ms):
            top = r["top"]
            cells = [f"{b[1].label} {tables.money(b[0])}" if (b := r["best"].get(kind)) else "none meets the goal"
                     for kind in decide.FAMILIES]
            lines.append(f"| {r['rate']:g} | {IMAGE_LABEL[image]} | " + (
                f"{top[1].label} | {tables.money(top[0])} | {tables.ms(top[2]['p99_ms'])} | "
                f"{', '.join(r['tied']) if len(r['tied']) > 1 else 'no'}"
                if top else "none | | | ") + " | " + " | ".join(cells) + " |")
    return lines


def sweep_table(results: dict[str, list[dict]]) -> list[str]:
    """The three bands under each moved input: where the lowest band ends and the highest begins."""
    lines = ["| image | p99 goal | input moved | lowest band | it ends at | highest band | it begins at |",
             "|---|---|---|---|---|---|---|"]
    for image in IMAGE_LABEL:
        for goal in decide.GOALS_MS:
            for name, (rows, moves) in decide.scenarios(results).items():
                b = decide.three_bands(decide.winners(rows, image, goal, moves))
                if b["high"] is None:
                    lines.append(f"| {IMAGE_LABEL[image]} | {goal:g} ms | {name} | {b['low']} | every rate | | |")
                    continue
                lines.append(f"| {IMAGE_LABEL[image]} | {goal:g} ms | {name} | {b['low']} | "
                             f"{rate_text(b['low_edge'])} req/s | {b['high']} | {rate_text(b['high_edge'])} req/s |")
    return lines + ["", "(? where the two families' costs do not cross between two simulated rates: one stops meeting "
                        "the goal, or a tie lies between.)"]


def markdown(data: dict[str, Any]) -> str:
    results = data["results"]
    scenarios = [n for n in decide.scenarios(results) if n != "baseline"]
    lines = ["# Serverless or server? The fleet, simulated", "",
             f"_Generated by `make simulate` (`python -m scripts.simulate`, then `--render`) on {data['date'][:10]}"
             + (f", every simulated span x{data['span_scale']:g} (a shortened run)" if data.get("span_scale", 1) != 1
                else "") + "; every figure below comes from `docs/bench/simulation.json`. Do not edit by hand._", ""]
    if data.get("fallbacks"):
        lines += ["**Inputs standing in for measurements not made yet** (the answer moves when they land):", ""]
        lines += [f"- {x}" for x in data["fallbacks"]] + [""]
    lines += ["## The answer, in bands", "",
              "The cheapest way to serve each image at each mean rate, the whole bill counted (per-pod Fargate "
              "rounding, the cluster's control plane, load balancer and NAT, egress, the front door, licences), "
              "fleets sized to the load, with each crossover as the range the sensitivity sweep gives it and the "
              "inputs that move it most. Rows whose cheapest options of different families cost within "
              f"{decide.TIE:.0%} of each other are called ties.", ""]
    lines += answer(results)
    lines += ["", f"The sweep moves one input at a time: {'; '.join(scenarios)}.", "",
              "## The bands under each moved input", ""] + sweep_table(results)
    for goal in decide.GOALS_MS:
        lines += ["", f"## The cheapest of each family, p99 within {goal:g} ms", ""] + decision_table(results, goal)
    lines += ["", "![cost per million requests against the mean rate](scaling-cost.png)", "",
              "![p99 latency against the mean rate](scaling-p99.png)", "",
              "![share of cold-start waits against the gap between requests](scaling-cold.png)", ""]
    lines += tables.every_rate(results["rates"]) + tables.startup(results["startup"])
    lines += tables.shapes(results["shapes"]) + tables.year(results["year"])
    lines += tables.validation(data["validation"]) + tables.inputs(data)
    return "\n".join(lines) + "\n"


def write(data: dict[str, Any], docs: Path = DOCS) -> list[Path]:
    path = docs / "scaling.md"
    path.write_text(markdown(data))
    return [path] + [docs / name for name in charts.draw(data["results"], docs)]


def load() -> dict[str, Any]:
    """docs/bench/simulation.json, every row priced at today's prices, with the dynamics check
    (docs/bench/dynamics.json, written apart) when it exists."""
    data = grid.load()
    grid.reprice(data["results"], data.get("reuse", 0.0))
    data["figures"] = {name: vars(fig) for name, fig in prices.FIGURES.items()}
    dynamics = grid.inputs.BENCH / "dynamics.json"
    if dynamics.exists():
        data["validation"]["dynamics"] = json.loads(dynamics.read_text())
    return data


def render() -> tuple[dict[str, Any], list[Path]]:
    """docs/scaling.md and its charts: the data rendered and the paths written."""
    data = load()
    return data, write(data)
