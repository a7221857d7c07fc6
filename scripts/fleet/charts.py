"""The charts of docs/scaling.md: cost and p99 against the mean rate, cold-start waits against the
gap between requests."""

from __future__ import annotations

import math
from pathlib import Path

from scripts.fleet import cost, decide, grid, policies

IMAGES = {"tflite": "slim TFLite image", "tensorflow": "TensorFlow image"}


def draw(results: dict[str, list[dict]], docs: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def series(image: str, policy: str, value) -> tuple[list[float], list[float]]:
        rows = sorted((r for r in results["rates"] if decide.image_of(r) == image and r["policy"] == policy),
                      key=lambda r: r["mean_rate"])
        points = [(r["mean_rate"], value(r)) for r in rows]
        points = [(x, y) for x, y in points if math.isfinite(y)]
        return [x for x, _ in points], [y for _, y in points]

    names = []
    for file, label, lines in (
            ("scaling-cost.png", "cost per million requests ($, log; the whole bill)",
             [(o.label, o.policy, lambda r, b=o.bill: cost.per_million(r, b), o.kind.startswith("managed"))
              for o in decide.OPTIONS]),
            ("scaling-p99.png", "p99 latency (ms, log)",
             [(p.label, n, lambda r: r["p99_ms"], p.kind == "managed serverless")
              for n, p in policies.POLICIES.items() if n in grid.GRID])):
        fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
        for ax, image in zip(axes, IMAGES, strict=True):
            for name, policy, value, managed in lines:
                xs, ys = series(image, policy, value)
                ax.plot(xs, ys, marker="o", label=name, linestyle="--" if managed else "-")
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_title(IMAGES[image])
            ax.set_xlabel("mean request rate (req/s, log)")
            ax.grid(True, which="major", alpha=0.3)
        axes[0].set_ylabel(label)
        axes[1].legend(loc="best", fontsize=7)
        fig.tight_layout()
        fig.savefig(docs / file, dpi=110)
        plt.close(fig)
        names.append(file)
    fig, ax = plt.subplots(figsize=(7.5, 4.4))
    for image in IMAGES:
        for name in grid.SCALE_TO_ZERO:
            rows = sorted((r for r in results["gaps"] if decide.image_of(r) == image and r["policy"] == name),
                          key=lambda r: r["mean_rate"], reverse=True)
            ax.plot([1 / r["mean_rate"] for r in rows], [100 * r["cold_share"] for r in rows], marker="o",
                    linestyle="-" if image == "tflite" else "--",
                    label=f"{policies.POLICIES[name].label}, {IMAGES[image]}")
    ax.set_xscale("log")
    ax.set_xlabel("mean gap between requests (s, log)")
    ax.set_ylabel("requests that waited for a cold start (%)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(docs / "scaling-cold.png", dpi=110)
    plt.close(fig)
    return names + ["scaling-cold.png"]
