"""The charts of docs/results.md (image sizes, cold starts, load), from the same data as the
text (harness/results.py): matplotlib, written as PNG."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from harness.results import NAMES


def charts(data: dict[str, Any], out: Path) -> list[str]:
    """The three charts in `out` (docs/); their file names."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    written = []

    def done(fig: Any, name: str) -> None:
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
        written.append(name)

    # Image sizes: linear MB with every value written on its bar; the x axis is split, since the
    # TensorFlow image is fifty times the others.
    sizes = data["sizes"]["images"]
    labels = list(sizes)
    small = max(v["mb"] for k, v in sizes.items() if k != "tensorflow") * 1.3
    fig, (near, far) = plt.subplots(1, 2, sharey=True, figsize=(9, 2.8), gridspec_kw={"width_ratios": [3, 2]})
    ys = range(len(labels))
    for ax in (near, far):
        for offset, key, label in ((-0.2, "mb", "uncompressed"), (0.2, "gzip_mb", "gzipped (what a node pulls)")):
            values = [sizes[k][key] for k in labels]
            bars = ax.barh([y + offset for y in ys], values, 0.38, label=label)
            ax.bar_label(bars, [f"{v:,.1f} MB" for v in values], fontsize=8, padding=2)
    near.set_xlim(0, small)
    far.set_xlim(sizes.get("tensorflow", {"gzip_mb": small})["gzip_mb"] * 0.8,
                 max(v["mb"] for v in sizes.values()) * 1.25)
    near.spines["right"].set_visible(False)
    far.spines["left"].set_visible(False)
    far.tick_params(left=False)
    near.set_yticks(list(ys), [NAMES.get(k, k) for k in labels])
    near.set_xlabel("MB")
    far.set_xlabel("MB (the axis continues)")
    near.set_title("Image size")
    far.legend(fontsize=8, loc="lower right")
    done(fig, "image-sizes.png")

    # Cold starts: the median as a bar with its run-to-run range, linear seconds, the same names
    # in every panel; a bar past the panel's axis (TensorFlow) is cut and labelled with its value.
    modes = [m for m in ("process", "docker", "pull") if data.get(f"coldstart-{m}")]
    fig, axes = plt.subplots(1, len(modes), figsize=(4.2 * len(modes), 3.2))
    for ax, mode in zip(axes if len(modes) > 1 else [axes], modes, strict=True):
        runs = data[f"coldstart-{mode}"]["runs"]
        names = list(runs)
        medians = [statistics.median(r["seconds"] for r in runs[n]) for n in names]
        lows = [m - min(r["seconds"] for r in runs[n]) for m, n in zip(medians, names, strict=True)]
        highs = [max(r["seconds"] for r in runs[n]) - m for m, n in zip(medians, names, strict=True)]
        slim = [m for m, n in zip(medians, names, strict=True) if NAMES.get(n, n) != "tensorflow"]
        top = max(slim) * 2.2 if slim and max(medians) > 4 * max(slim) else max(m + h for m, h in zip(medians, highs,
                                                                                                      strict=True)) * 1.3
        xs = range(len(names))
        cut = [m > top for m in medians]  # a cut bar shows no range: its value is written instead
        ax.bar(xs, [min(m, top) for m in medians], capsize=3,
               yerr=[[0 if c else v for c, v in zip(cut, lows, strict=True)],
                     [0 if c or m + h >= top else h for c, m, h in zip(cut, medians, highs, strict=True)]])
        for x, m in zip(xs, medians, strict=True):
            ax.text(x, min(m, top) * 1.01, f"{m:.2f} s" + (" (cut)" if m > top else ""), ha="center", va="bottom",
                    fontsize=8)
        ax.set_ylim(0, top * 1.12)
        ax.set_xticks(list(xs), [NAMES.get(n, n) for n in names], fontsize=8)
        ax.set_ylabel("seconds to first prediction")
        ax.set_title(f"cold start: {mode}")
    done(fig, "coldstart.png")

    # Load: throughput on a linear axis with values on the bars, the legend outside the plot.
    load_data = data["load"]["targets"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    width = 0.25
    for i, (label, t) in enumerate(load_data.items()):
        xs = [j + i * width for j in range(2)]
        values = [t["wrk"][c]["median"]["throughput_rps"] for c in ("1", "8")]
        bars = right.bar(xs, values, width, label=NAMES.get(label, label))
        right.bar_label(bars, [f"{v:,.0f}" for v in values], fontsize=7, padding=1)
        for c, marker in (("1", "o"), ("8", "s")):
            m = t["wrk"][c]["median"]
            left.plot([50, 90, 99], [m["p50_ms"], m["p90_ms"], m["p99_ms"]], marker=marker,
                      label=f"{NAMES.get(label, label)}, {c} conn.")
    left.set_yscale("log")
    left.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    left.set_xticks([50, 90, 99], ["p50", "p90", "p99"])
    left.set_ylabel("latency ms (log scale)")
    left.set_title("Latency percentiles (wrk)")
    left.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    right.set_xticks([j + width for j in range(2)], ["1 connection", "8 connections"])
    right.set_ylabel("requests/s")
    right.set_ylim(0, max(b.get_height() for b in right.patches) * 1.2)
    right.set_title("Throughput (wrk; containers, access log on)")
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    done(fig, "load.png")
    return written
