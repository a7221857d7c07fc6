"""Generated device rows in the dataset's format, for tests and for the parity check
when the real dataset is absent. The price rule is made up but learnable."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from convert.data import COLUMNS

BRANDS = ("Samsung", "Apple", "Huawei", "Nokia", "Others")
SYSTEMS = ("Android", "iOS", "Windows", "Others")


def rows(n: int, seed: int = 0) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        year = int(rng.integers(2013, 2021))
        new = float(rng.uniform(3.5, 7.5))
        days = int(rng.integers(90, 1100))
        row = {
            "device_brand": str(rng.choice(BRANDS)),
            "os": str(rng.choice(SYSTEMS)),
            "screen_size": round(float(rng.uniform(8, 30)), 2),
            "4g": str(rng.choice(["yes", "no"])),
            "5g": str(rng.choice(["yes", "no"])),
            "rear_camera_mp": round(float(rng.uniform(2, 48)), 1) if rng.random() > 0.05 else "",
            "front_camera_mp": round(float(rng.uniform(0, 32)), 1),
            "internal_memory": float(rng.choice([16, 32, 64, 128, 256])),
            "ram": float(rng.choice([1, 2, 3, 4, 6, 8])),
            "battery": float(rng.integers(1500, 8000)),
            "weight": float(rng.integers(100, 600)),
            "release_year": year,
            "days_used": days,
            "normalized_new_price": round(new, 4),
        }
        used = new - 0.4 - 0.0004 * days + 0.05 * (year - 2013) + float(rng.normal(0, 0.1))
        row["normalized_used_price"] = round(used, 4)
        out.append(row)
    return out


def write_csv(path: Path, n: int, seed: int = 0) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows(n, seed))
    return path


def records(n: int, seed: int = 0) -> list[dict[str, object]]:
    """As a client would send them: no target, optional blanks omitted."""
    out = []
    for row in rows(n, seed):
        row.pop("normalized_used_price")
        out.append({k: v for k, v in row.items() if v != ""})
    return out

