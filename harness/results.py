"""docs/results.md and the README's headline table, rendered from what `make report` measured
(docs/bench/report-sizes.json, coldstart-*.json, report-load.json) and what the other commands
wrote there (concurrency, soak, fuzz). Every figure comes from those files, the machine's description too:
rendering again gives the same text."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness import ROOT, tables
from harness.launch import FLOOR, IMAGES, TARGETS
from harness.load import concurrency_markdown

BENCH = ROOT / "docs" / "bench"
REFERENCE_REPORT = {"avg_s": 0.2439, "max_s": 1.2478, "throughput_rps": 39.65, "error_rate": 0.0,
                    "coldstart_s": 2.0, "image": "> 3 GB"}  # the student report we are beating, as it states them
COLLECTED = ("sizes", "coldstart-process", "coldstart-docker", "coldstart-pull", "load", "coldstart-openfaas",
             "concurrency", "soak", "fuzz")
# The files of what make report measures (scripts/report.py writes them): its own (report-NAME.json),
# and the cold starts under the cold-start command's names (coldstart-MODE.json, which the fleet
# simulation reads too).
FILES = {"sizes": "report-sizes.json", "load": "report-load.json"}


def file_name(name: str) -> str:
    """docs/bench's file for one of COLLECTED."""
    return FILES.get(name, f"{name}.json")


def load(name: str, bench: Path = BENCH) -> dict[str, Any] | None:
    path = bench / file_name(name)
    return json.loads(path.read_text()) if path.exists() else None


def collect(bench: Path = BENCH) -> dict[str, Any]:
    """Every file the documents read, by name (None where there is none)."""
    return {name: load(name, bench) for name in COLLECTED}


# One name per thing measured, in every chart and table: the targets as harness/launch.py names them.
NAMES = {key: target.name for target in TARGETS.values() for key in (target.image, target.build)}


def short(image_or_target: str) -> str:
    return image_or_target.replace("device-price-", "").replace(":latest", "")


def targets_table(data: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(target, goal, measured, met) for each measurement target the project set itself."""
    sizes = data["sizes"]["images"]
    st = {m: data[f"coldstart-{m}"]["stats"] for m in ("process", "docker", "pull") if data.get(f"coldstart-{m}")}
    fn_img, tf_img = IMAGES["function"], IMAGES["tensorflow"]
    load_t = data["load"]["targets"]
    conc = data.get("concurrency")
    fn_size = sizes["function"]
    rows = [("function image size", "≤ 50 MB and ≤ 18 MB gzipped",
             f"{fn_size['mb']:.1f} MB, {fn_size['gzip_mb']:.1f} MB gzipped "
             f"({sizes['tensorflow']['mb'] / fn_size['mb']:.0f}× smaller than TensorFlow)",
             fn_size["mb"] <= 50 and fn_size["gzip_mb"] <= 18)]
    if "docker" in st:
        a, b = st["docker"][fn_img]["median"], st["docker"][tf_img]["median"]
        floor = st["docker"].get(FLOOR, {}).get("median")
        rows.append(("cold start, docker (median)", "within 0.05 s of `docker run` of a container that exits at once",
                     f"{a:.3f} s against a floor of {floor:.3f} s; TensorFlow {b / a:.1f}× slower" if floor
                     else f"{a:.3f} s (no floor measured)", floor is not None and a - floor <= 0.05))
    if "pull" in st:
        a, b = st["pull"][fn_img]["median"], st["pull"][tf_img]["median"]
        rows.append(("cold start, pull on a fresh node (median)", "≤ 1.0 s", f"{a:.2f} s; TensorFlow {b / a:.0f}× slower",
                     a <= 1.0))
    if "process" in st:
        a, b = st["process"]["function"]["median"], st["process"]["tensorflow"]["median"]
        floor = st["process"].get(FLOOR, {}).get("median")
        rows.append(("cold start, process (median)", "≤ 0.09 s",
                     f"{a:.3f} s, against {floor:.3f} s for a bare `import numpy, tflite_runtime` in the same run; "
                     f"TensorFlow {b / a:.0f}× slower" if floor else f"{a:.3f} s", a <= 0.09))
    woken = data.get("coldstart-openfaas")
    if woken:
        a, b = woken["scale_from_zero"]["median_s"], woken["docker_run"]["median_s"]
        rows.append(("cold start, scaled to zero and woken through the OpenFaaS gateway (median)",
                     "within 0.3 s of `docker run` of the same image, in one run",
                     f"{a:.2f} s against {b:.2f} s ({a - b:+.2f} s); the report: about "
                     f"{REFERENCE_REPORT['coldstart_s']:g} s", a - b <= 0.3))
    ref = load_t["function"]["reference_run"]["median"]
    floor = load_t["function"]["reference_run_client_ceiling"]["median"]
    rows.append(("the reference run (100 requests, 10 in flight)", "0 errors, average ≤ 5 ms",
                 f"{ref['error_rate']:.0%} errors, average {ref['avg_ms']:.2f} ms"
                 + f" (the same Python client gets {floor['avg_ms']:.2f} ms from GET /_/health: "
                   "it shares the 2 cores)",
                 ref["error_rate"] == 0 and ref["avg_ms"] <= 5))
    if conc:
        f8 = conc["targets"]["function (shipped: 1 worker, 1 thread)"]["8"]["median"]
        s8 = conc["targets"]["server (shipped: 2 workers, 1 thread each)"]["8"]["median"]
        rows.append(("function, 8 connections", "≥ 4,000 req/s, p99 ≤ 5 ms",
                     f"{f8['throughput_rps']:,.0f} req/s, p99 {f8['p99_ms']:.2f} ms",
                     f8["throughput_rps"] >= 4000 and f8["p99_ms"] <= 5))
        rows.append(("server (2 workers), 8 connections", "≥ 8,000 req/s, p99 ≤ 3 ms",
                     f"{s8['throughput_rps']:,.0f} req/s, p99 {s8['p99_ms']:.2f} ms",
                     s8["throughput_rps"] >= 8000 and s8["p99_ms"] <= 3))
        rows.append(("throughput against the reference report", "≥ 100× its 39.65 req/s",
                     f"{f8['throughput_rps'] / REFERENCE_REPORT['throughput_rps']:.0f}× (function), "
                     f"{s8['throughput_rps'] / REFERENCE_REPORT['throughput_rps']:.0f}× (server)",
                     f8["throughput_rps"] / REFERENCE_REPORT["throughput_rps"] >= 100))
    return rows


def headline(data: dict[str, Any]) -> str:
    sizes = data["sizes"]["images"]
    st = {m: data[f"coldstart-{m}"]["stats"] for m in ("docker", "pull") if data.get(f"coldstart-{m}")}
    load_t = data["load"]["targets"]
    woken = data.get("coldstart-openfaas")
    lines = ["| | image (gzipped) | cold start: scaled to zero, woken via the gateway | cold start: docker run "
             "| cold start: fresh node (pull) | reference run: avg / max | throughput, 8 connections |",
             "|---|---|---|---|---|---|---|"]
    for label in IMAGES:
        image = IMAGES[label]
        docker_s = st.get("docker", {}).get(image)
        pull_s = st.get("pull", {}).get(image)
        ref = load_t[label]["reference_run"]["median"]
        w8 = load_t[label]["wrk"]["8"]["median"]
        docker_text = f"{docker_s['median']:.2f} s" if docker_s else "–"
        pull_text = f"{pull_s['median']:.1f} s" if pull_s else "not measured"
        woken_text = (f"{woken['scale_from_zero']['median_s']:.2f} s" if woken and label == "function"
                      else "not measured" if label == "tensorflow" else "–")
        lines.append(f"| {label} | {sizes[label]['mb']:.0f} MB ({sizes[label]['gzip_mb']:.0f} MB) | {woken_text} "
                     f"| {docker_text} | {pull_text} | {ref['avg_ms']:.1f} / {ref['max_ms']:.1f} ms "
                     f"| {w8['throughput_rps']:,.0f} req/s |")
    r = REFERENCE_REPORT
    lines.append(f"| the student report (Flask, EKS) | {r['image']} | about {r['coldstart_s']:g} s | – | – "
                 f"| {r['avg_s'] * 1000:.0f} / {r['max_s'] * 1000:.0f} ms | {r['throughput_rps']} req/s (c≈10) |")
    woken_note = (f" Scaled to zero and woken: the report's scenario, on the real OpenFaaS CE gateway "
                  f"(faas-swarm, one node; {woken['date'][:10]}, `make rollout`), beside the same image's "
                  f"`docker run` in that run, {woken['docker_run']['median_s']:.2f} s." if woken else "")
    lines += ["", f"Medians on one {data['sizes']['cpus']}-core machine, {data['sizes']['date'][:10]}, containers read-only "
              f"with no capabilities.{woken_note} Details and charts in [docs/results.md](docs/results.md) "
              "(`make report`). Throughput here is the containers' as shipped, access log on: every log line "
              "passes through the container runtime's log driver on the same two cores. The concurrency table in "
              "[docs/benchmarks.md](docs/benchmarks.md) measures processes with the log going to /dev/null, in "
              "another run: the two differ by that and by the machine's drift between runs."]
    return "\n".join(lines)


def key_figures(data: dict[str, Any]) -> dict[str, str]:
    """The function's headline figures from one run's files, as text ("–" where not measured)."""
    sizes = (data.get("sizes") or {}).get("images", {}).get("function")
    fn_img = IMAGES["function"]

    def cold(mode: str, target: str) -> str:
        stats = (data.get(f"coldstart-{mode}") or {}).get("stats", {})
        return f"{stats[target]['median']:.3f} s" if target in stats else "–"

    return {
        "image": f"{sizes['mb']:.1f} MB" if sizes else "–",
        "image, gzipped": f"{sizes['gzip_mb']:.1f} MB" if sizes else "–",
        "cold start, pull (median)": cold("pull", fn_img),
        "cold start, docker (median)": cold("docker", fn_img),
        "docker floor (median)": cold("docker", FLOOR),
        "cold start, process (median)": cold("process", "function"),
        "process floor (median)": cold("process", FLOOR),
        "date": (data.get("sizes") or {}).get("date", "–")[:10],
    }


def before_and_after(data: dict[str, Any]) -> list[str]:
    """The function's figures from the run before this one (docs/bench/previous/) beside this run's."""
    previous = collect(BENCH / "previous")  # what make report measured the time before
    if not previous["sizes"]:
        return []
    before, now_ = key_figures(previous), key_figures(data)
    lines = ["", "## The function: this run against the one before", "",
             f"| figure | before ({before.pop('date')}) | now ({now_.pop('date')}) |", "|---|---|---|"]
    return lines + [f"| {k} | {before[k]} | {now_[k]} |" for k in now_]


def results_md(data: dict[str, Any]) -> str:
    out = ["# Results", "", f"Generated by `make report` (`python -m scripts.report`) on {data['sizes']['date']}.",
           f"Machine: {data['sizes']['machine']}. Versions: "
           + ", ".join(f"{k} {v}" for k, v in data["sizes"]["versions"].items()) + ".", "",
           "The machine is shared and noisy: every comparison ran in one session, targets interleaved, and the "
           "figures are medians.", "", "## Targets", "", "| target | goal | measured | met |", "|---|---|---|---|"]
    out += [f"| {t} | {g} | {m} | {'yes' if ok else '**no**'} |" for t, g, m, ok in targets_table(data)]
    out += before_and_after(data)
    out += ["", "## Image size", "", "![image sizes](image-sizes.png)", "", "| image | uncompressed | gzipped |",
            "|---|---|---|"]
    out += [f"| {v['image']} | {v['mb']:.1f} MB | {v['gzip_mb']:.1f} MB |" for v in data["sizes"]["images"].values()]
    out += ["", "## Cold start", "", "![cold start](coldstart.png)", "",
            "Seconds from start to the first successful prediction (`scripts/coldstart.py`). process: spawning the "
            "server; docker: `docker run` of a present image; pull: a node without the image or any of its layers, "
            "pulling from a registry on loopback (so the network is free: real pulls add transfer time).", ""]
    for mode in ("process", "docker", "pull"):
        c = data.get(f"coldstart-{mode}")
        if not c:
            continue
        out += [f"**{mode}** ({c['date'][:10]})", "", "| target | n | min | median | p90 | max |",
                "|---|---|---|---|---|---|"]
        for t, s in c["stats"].items():
            out.append(f"| {short(t)} | {s['n']} | {s['min']:.3f} | {s['median']:.3f} | {s['p90']:.3f} | {s['max']:.3f} |")
        for t, runs in c["runs"].items():
            if runs and "compressed_bytes" in runs[0]:
                out.append(f"\n{short(t)}: {runs[0]['compressed_bytes'] / 1e6:.1f} MB compressed pulled per run.")
        out.append("")
    woken = data.get("coldstart-openfaas")
    if woken:
        out += [f"**scaled to zero, woken through the OpenFaaS gateway** ({woken['date'][:10]}, "
                f"`make rollout`: the real CE gateway with faas-swarm on one node; the idler emulated "
                f"with `docker service scale`; seconds after the one request, medians of "
                f"{len(woken['docker_run']['runs'])} interleaved runs)", "",
                *tables.cold_starts(woken), ""]
    out += ["## Latency and throughput", "", "![latency and throughput](load.png)", "",
            "The reference report's run (100 requests, 10 in flight, python-requests keep-alive sessions; "
            "median of 3 runs), then wrk for 5 s at 1 and 8 connections (median of 3), each against the container.",
            "", "| target | run | req/s | avg ms | max ms | p50 | p90 | p99 | errors |",
            "|---|---|---|---|---|---|---|---|---|"]
    for label, t in data["load"]["targets"].items():
        rows = [("reference run", t["reference_run"]["median"]),
                ("same client, GET /_/health", t["reference_run_client_ceiling"]["median"])]
        rows += [(f"wrk, {c} conn.", t["wrk"][c]["median"]) for c in ("1", "8")]
        for run, m in rows:
            out.append(f"| {label} | {run} | {m['throughput_rps']:,.1f} | {m['avg_ms']:.2f} | {m['max_ms']:.2f} | "
                       f"{m['p50_ms']:.2f} | {m['p90_ms']:.2f} | {m['p99_ms']:.2f} | {m['error_rate']:.2%} |")
    r = REFERENCE_REPORT
    out += ["", f"The student report: average {r['avg_s'] * 1000:.1f} ms, max {r['max_s'] * 1000:.1f} ms, "
            f"{r['throughput_rps']} req/s, {r['error_rate']:.0%} errors (Flask, Keras)."]
    conc = data.get("concurrency")
    if conc:
        out += ["", "## Processes on loopback (`python -m scripts.bench_concurrency`)", "",
                f"{conc['tool']}; {conc['runs']} runs of {conc['duration_s']:g} s, {conc['date'][:10]}; "
                f"hypervisor steal after the run {conc['machine']['steal_percent_after']}%.", "",
                *concurrency_markdown(conc)]
    soak = data.get("soak")
    if soak:
        out += ["", "## Soak (`python -m scripts.soak`)", "", "| target | req/s | non-2xx | socket errors | p99 ms "
                "| RSS before → after | workers replaced | health p99 | verdict |", "|---|---|---|---|---|---|---|---|---|"]
        for name, s in soak.items():
            if not isinstance(s, dict):  # the date, a note
                continue
            ld = s["load"]
            out.append(f"| {name} ({s['connections']} conn., {s['duration_s']:g} s) | {ld['throughput_rps']:,.0f} | "
                       f"{ld['non2xx']} | {ld['socket_errors']} | {ld['p99_ms']:.1f} | {s['rss_before_mb']} → "
                       f"{s['rss_after_mb']} MB ({s['rss_change']:+.1%}) | {s['workers_replaced']} | "
                       f"{s['health_p99_ms']:.1f} ms | "
                       f"{'pass' if s['passed'] else '**fail**'} |")
    fuzz = data.get("fuzz")
    if fuzz:
        out += ["", "## Fuzzing (hypothesis, `FUZZ_CASES=10000`; see tests/test_robustness.py)", "",
                "| target | cases | answers by status | 5xx |", "|---|---|---|---|"]
        for name, f in fuzz.items():
            out.append(f"| {name} | {f['cases']:,} | {', '.join(f'{k}: {v}' for k, v in f['statuses'].items())} "
                       f"| {f['server_errors']} |")
    return "\n".join(out) + "\n"


