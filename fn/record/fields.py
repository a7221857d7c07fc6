"""What a device record is: its fields, their types, units and accepted ranges, and an
example. The standard library only, so tools that merely send records (the cold-start
command under a bare python3) can import it; fn/features.py checks and encodes by it.

The dataset gives prices as natural logarithms, so used_price = exp(normalized_used_price) and
new_price = exp(normalized_new_price). A client may send
the new price as a person knows it instead, `new_price`, in the dataset's currency, which the
dataset does not name (CURRENCY).
"""

from __future__ import annotations

from dataclasses import dataclass

OTHERS = "Others"
YES_NO = {"yes": 1.0, "no": 0.0}
# The longest device_brand or os accepted (the dataset's longest is 10 characters).
MAX_TEXT = 64


@dataclass(frozen=True)
class Numeric:
    name: str
    low: float  # accepted range, inclusive; far wider than the data, narrow enough to catch nonsense
    high: float
    required: bool
    log: bool = False  # skewed quantities (GB, mAh, g) are encoded as log1p
    integer: bool = False
    unit: str = ""
    positive: bool = False  # zero is impossible (a phone with no screen)


# Required: the fields the dataset never leaves empty. Optional: the ones it does;
# a missing optional value is imputed with the training median, as in training.
NUMERIC = (
    Numeric("screen_size", 1.0, 100.0, True, unit="cm", positive=True),
    Numeric("rear_camera_mp", 0.0, 500.0, False, unit="MP"),
    Numeric("front_camera_mp", 0.0, 500.0, False, unit="MP"),
    Numeric("internal_memory", 0.001, 8192.0, False, log=True, unit="GB", positive=True),
    Numeric("ram", 0.001, 128.0, False, log=True, unit="GB", positive=True),
    Numeric("battery", 50.0, 100_000.0, False, log=True, unit="mAh", positive=True),
    Numeric("weight", 10.0, 10_000.0, False, log=True, unit="g", positive=True),
    Numeric("release_year", 2000, 2035, True, integer=True),
    Numeric("days_used", 0, 20_000, True, integer=True, unit="days"),
    Numeric("normalized_new_price", 0.0, 15.0, True, unit="ln(price)"),
)
NUMERIC_BY_NAME = {f.name: f for f in NUMERIC}
CURRENCY = "the dataset's currency (not named by the dataset)"
# The new price as a person knows it: the alternative to normalized_new_price (exactly one of
# the two), over the same accepted range (exp(0) to exp(15)).
NEW_PRICE = Numeric("new_price", 1.0, 3_269_017.0, False, unit="currency", positive=True)
ALTERNATIVE = {NEW_PRICE.name: "normalized_new_price"}
# Options a record may carry beside its fields: what to add to the answer.
OPTIONS = ("explain", "level")
CATEGORICAL = ("device_brand", "os")
FLAGS = ("4g", "5g")
FIELDS = ("device_brand", "os", "screen_size", "4g", "5g") + tuple(f.name for f in NUMERIC[1:])
KNOWN = frozenset(FIELDS) | {NEW_PRICE.name}  # every field a record may hold
REQUIRED = CATEGORICAL + FLAGS + tuple(f.name for f in NUMERIC if f.required)
TARGET = "normalized_used_price"
# A mid-range Android phone, as a client sends it (served in the schema, used by the demo and tests).
EXAMPLE = {
    "device_brand": "Samsung", "os": "Android", "screen_size": 15.34, "4g": "yes", "5g": "no",
    "rear_camera_mp": 13.0, "front_camera_mp": 8.0, "internal_memory": 64.0, "ram": 4.0,
    "battery": 4000.0, "weight": 180.0, "release_year": 2019, "days_used": 300,
    "normalized_new_price": 5.3,
}
