"""Write the README's generated figures (between the figures markers) from the project's
own outputs: model/metrics.json, build/convert_report.json and docs/bench/*.json.

    python -m scripts.figures            (rewrites README.md in place)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: import the project from the repository root
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts import cli, readme

ROOT = Path(__file__).resolve().parent.parent


def block() -> str:
    from scripts import bench_concurrency

    metrics = json.loads((ROOT / "model" / "metrics.json").read_text())
    split = metrics["split"]
    net = metrics["network"]
    lines = [f"Test rows: {split['test_rows']} (train {split['train_rows']}, every one fitted by "
             f"{split['folds'] - 1} of the {split['folds']} fold members and calibrating the price ranges out of its "
             f"fold; split test_size={split['test_size']}, random_state={split['random_state']}). Baselines tuned by "
             "5-fold CV on the training rows; the last column is the network's test RMSE minus the baseline's, with "
             "its 95% paired bootstrap interval.", "",
             "| model | test RMSE | MAE | R² | network − baseline (95%) |", "|---|---|---|---|---|",
             f"| network (mean of {net['members']} fold members, committed) | {net['rmse']:.4f} | {net['mae']:.4f} | "
             f"{net['r2']:.3f} | |"]
    for name, m in metrics["baselines"].items():
        d = m["network_minus_baseline"]
        tuned = "" if m["cv_rmse"] is None else ", tuned"
        lines.append(f"| {name.replace('_', ' ')}{tuned} | {m['rmse']:.4f} | {m['mae']:.4f} | {m['r2']:.3f} | "
                     f"{d['difference']:+.4f} ({d['low']:+.4f} to {d['high']:+.4f}): {d['verdict']} |")
    members = metrics["network_members"]
    choice_path = ROOT / "docs" / "bench" / "brand_choice.json"  # python -m convert.train --compare-brands
    choice = json.loads(choice_path.read_text()) if choice_path.exists() else {}
    lines += ["", f"One fold member alone: test RMSE {members['rmse_mean']:.4f} ± {members['rmse_sd']:.4f} (sd over "
              f"{members['n']}). Out-of-fold RMSE on the training rows {net['out_of_fold_rmse']:.4f}"
              + ("; by brand encoding (`python -m convert.train --compare-brands`): "
                 + ", ".join(f"{k} {v:.4f}" for k, v in choice["out_of_fold_rmse"].items())
                 + f", so device_brand is {metrics['encoding']['brand']}" if choice else "")
              + f". `used_price` is a median-type price: the mean predicted price is {-net['mean_price_bias']:.1%} "
              f"below the mean real price on the test rows. Training took {metrics['training_seconds']:.0f} s for the "
              f"network and {metrics['baseline_seconds']:.0f} s for the baselines' tuning (one thread)."]
    ranges = metrics["intervals"]
    levels = list(ranges)
    lines += ["", f"Price ranges on the test rows (`model/intervals.json`, {metrics['intervals_method']}): "
              + "; ".join(f"{float(level):.0%} range covers {m['coverage']:.1%} of the real prices, mean width "
                          f"{m['mean_relative_width']:.0%} of the predicted price" for level, m in ranges.items())
              + ". By group (each with at least 50 test rows):", "",
              "| group | test rows | " + " | ".join(f"{float(v):.0%} coverage | {float(v):.0%} width" for v in levels)
              + " |", "|---|---|" + "---|---|" * len(levels)]
    for group, first in ranges[levels[0]]["groups"].items():
        cells = [f"{ranges[v]['groups'][group]['coverage']:.1%} | {ranges[v]['groups'][group]['mean_relative_width']:.0%}"
                 for v in levels]
        lines.append(f"| {group} | {first['rows']} | " + " | ".join(cells) + " |")
    person_path = ROOT / "docs" / "bench" / "person.json"
    if person_path.exists():  # make bench
        b = json.loads(person_path.read_text())
        p50 = b["p50_ms"]
        lines += ["", f"Reasons and page (`python -m scripts.bench_person`, {b['configuration']}, medians of "
                  f"{b['requests']} requests each, {b['date'][:10]}): one record explained "
                  f"{p50['container']['explained']:.2f} ms against {p50['container']['plain']:.2f} ms plain through "
                  f"the container ({b['explained_over_plain']['container']:.2f}×), {p50['process']['explained']:.2f} "
                  f"against {p50['process']['plain']:.2f} ms in process; the page is {b['page_bytes']:,} bytes."]
    process_path = ROOT / "docs" / "bench" / "person-process.json"
    if process_path.exists():  # python -m scripts.bench_person --process-only
        b = json.loads(process_path.read_text())
        p50 = b["p50_ms"]["process"]
        lines += ["", "Exact against sampled reasons (`python -m scripts.bench_person --process-only`, "
                  f"{b['configuration']}, medians of {b['requests']} requests each, {b['date'][:10]}, shared "
                  "machine): one record "
                  f"{p50['plain']:.2f} ms plain, {p50['explained']:.2f} ms with sampled Shapley values, "
                  f"{p50['explained_exact']:.2f} ms with exact ones."]
    report_path = ROOT / "build" / "convert_report.json"
    if report_path.exists():
        r = json.loads(report_path.read_text())
        lines += ["", f"Conversion: `{r['tflite_path']}` {r['tflite_bytes']:,} bytes ({r['precision']}; Keras file "
                  f"{r['keras_bytes']:,} bytes); max |TFLite − Keras| = {r['max_abs_diff']:.2e} on "
                  f"{r['rows_checked']} {r['rows_source']} rows, checked with {r['runtime']} {r['runtime_version']}."]
    sizes_path = ROOT / "docs" / "bench" / "sizes.json"
    if sizes_path.exists():  # measured by make report
        sizes = json.loads(sizes_path.read_text())
        lines += ["", f"Image sizes ({sizes['date'][:10]}):", "",
                  "| image | uncompressed | gzipped (`docker save \\| gzip`) |", "|---|---|---|"]
        lines += [f"| {label} (`{v['image']}`) | {v['mb']:.1f} MB | {v['gzip_mb']:.1f} MB |"
                  for label, v in sizes["images"].items()]
    bench_path = ROOT / "docs" / "bench" / "concurrency.json"
    if bench_path.exists():
        bench = json.loads(bench_path.read_text())
        lines += ["", f"Concurrency (`python -m scripts.bench_concurrency`, wrk on the same {bench['machine']['cpus']}-core "
                  f"machine, medians of {bench['runs']} runs of {bench['duration_s']:g} s, {bench['date'][:10]}):", "",
                  *bench_concurrency.markdown(bench)]
    for name, flag in (("observability.json", ""), ("observability-containers.json", " --containers")):
        path = ROOT / "docs" / "bench" / name
        if path.exists():  # make bench
            lines += ["", _observability(json.loads(path.read_text()), flag)]
    protocols_path = ROOT / "docs" / "bench" / "protocols.json"
    if protocols_path.exists():  # make bench
        b = json.loads(protocols_path.read_text())
        rps, us = b["single_record_8_connections_rps"], b["batch_1000_rows_us_per_row"]
        lines += ["", f"Protocols (`python -m scripts.bench_protocols`, {b['configuration']}, {b['date'][:10]}): "
                  f"one record at 8 connections, native {rps['native']:,.0f} req/s, Open Inference Protocol v2 "
                  f"{rps['v2']:,.0f} req/s ({b['v2_over_native_rps']:.2f}×); a 1,000-row batch, native "
                  f"{us['native']:.1f} µs per row, v2 {us['v2']:.1f} µs per row ({b['v2_over_native_us_per_row']:.2f}×)."]
    simulation_path = ROOT / "docs" / "bench" / "simulation.json"
    if simulation_path.exists():  # make simulate
        from scripts.fleet import report

        rates = json.loads(simulation_path.read_text())["results"]["rates"]
        edge = {image: report.zero_pays_below(rates, image) for image in report.IMAGE_LABEL}
        lines += ["", "Serverless or server ([docs/scaling.md](docs/scaling.md), `make simulate`): scaling to zero "
                  "pays below " + " and ".join(f"{edge[i]:g} req/s on average for the {report.IMAGE_LABEL[i]}"
                                              if edge[i] else f"every rate for the {report.IMAGE_LABEL[i]}"
                                              for i in report.IMAGE_LABEL)
                  + "; a p99 within 1 s under scale to zero holds at "
                  + " and ".join(f"{report.rates_text(report.meets(rates, i, 1000))} for the {report.IMAGE_LABEL[i]}"
                                 for i in report.IMAGE_LABEL) + "."]
    lines += ["", "_Generated by `python -m scripts.figures`._"]
    return "\n".join(lines)


def _observability(b: dict, flag: str) -> str:
    from scripts.bench_observability import PAIRS

    def loss(kind: str) -> str:
        on, off = PAIRS[kind]
        low, high = b["paired_loss_interval"][kind]
        text = (f"{kind} {b['paired_loss'][kind]:.1%} lost with metrics and the JSON access log (95% interval "
                f"{low:.1%} to {high:.1%}; median req/s on half a core {b['median_rps'][on]:,.0f} with, "
                f"{b['median_rps'][off]:,.0f} without)")
        if "log_driver" in b:
            d = b["log_driver"][kind]
            text += (f"; the log driver spent {d['us_per_line']:.1f} µs per line, {d['share']:.1%} of a request's CPU: "
                     f"{d['loss']:.1%} lost ({d['interval'][0]:.1%} to {d['interval'][1]:.1%}) if it had to share the "
                     "replica's core")
        return text

    return (f"Observability's cost (`python -m scripts.bench_observability{flag}`, {b['configuration']}, median of "
            f"{b['runs']} rounds of {b['duration_s']:g} s, {b['date'][:10]}): " + "; ".join(map(loss, PAIRS)) + ".")


def main(argv: list[str] | None = None) -> int:
    cli.parser(__spec__, __file__, __doc__).parse_args(argv)
    try:
        readme.replace_section("figures", block())
    except ValueError as e:
        print(f"figures: {e}", file=sys.stderr)
        return 1
    print(f"updated the figures in {readme.README}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
