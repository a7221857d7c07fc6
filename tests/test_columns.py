"""The request path's vectorised steps (fn/record/columns.py and its users) against the per-record
rules they stand for: on random records, right and wrong in every way the per-record check
names, the columns pass exactly the records check_record passes, with the same values, refuse
the others with the same problems, and a record answered in a batch is answered as alone."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from fn.api.cents import cents
from fn.model.expected_error import Listing, counted_as
from fn.record import advice, columns, features
from fn.record.columns import Columns
from fn.record.features import EXAMPLE, NUMERIC
from tests.cases import with_

# What a field may be sent as, right or wrong: each value a record below takes for some field.
ODD = [None, ..., True, False, "", " ", "x" * 65, "15.34", "yes", " No ", "maybe", 0, -1, 1, 2019.5, 1e300, 10 ** 400,
       math.nan, math.inf, [], {}, 3.0]


def _random_record(rng: random.Random) -> object:
    if rng.random() < 0.03:
        return rng.choice([7, [], "x", None])
    record = dict(EXAMPLE)
    for spec in NUMERIC:  # plausible values, inside and outside the accepted and the training ranges
        if rng.random() < 0.5:
            record[spec.name] = rng.choice([spec.low, spec.high, (spec.low + spec.high) / 2, spec.low - 1,
                                            spec.high + 1, round(rng.uniform(spec.low, spec.high), 2)])
            if spec.integer and rng.random() < 0.8:
                record[spec.name] = int(record[spec.name])
    for _ in range(rng.choice([0, 0, 1, 2])):
        name = rng.choice([*record, "new_price", "ram_gb", "normalized_used_price"])
        value = rng.choice(ODD + [rng.uniform(1, 5000)])
        if value is ...:
            record.pop(name, None)
        else:
            record[name] = value
    if rng.random() < 0.2:  # the new price as money, alone as it should be
        record.pop("normalized_new_price", None)
        record["new_price"] = rng.choice([350.0, 20, 3_000_000.0, 1e7, 0.5])
    record["device_brand"] = rng.choice([record.get("device_brand"), " sAMSUNG ", "Fairphone", "Apple"])
    return record


def _same(a: Columns, b: Columns) -> None:
    assert a.brand == b.brand and a.os == b.os
    for name in ("flags", "numbers", "money"):
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and np.array_equal(x, y, equal_nan=True), name
        assert x.tobytes() == y.tobytes() or np.isnan(x).any(), name  # the same bits, not only equal values


@pytest.mark.parametrize("seed", range(40))
def test_columns_check_as_check_record_does(seed):
    rng = random.Random(seed)
    # past FEW rows: a batch of at most FEW is checked by check_records itself
    records = [_random_record(rng) for _ in range(rng.choice([columns.FEW + 1, 12, 30]))]
    for batch in (True, False):
        try:
            expected = Columns.of(features.check_records(records, batch))
        except features.ValidationError as e:
            with pytest.raises(features.ValidationError) as got:
                columns.check(records, batch)
            assert (got.value.message, got.value.details) == (e.message, e.details)
            continue
        _same(columns.check(records, batch), expected)


def test_valid_records_pass_the_columns_without_the_per_record_check(monkeypatch):
    """The fast pass alone decides a valid batch (the per-record check is for the rows it doubts)."""
    monkeypatch.setattr(columns, "check_record", lambda *a: pytest.fail("a valid row was checked one by one"))
    rows = [EXAMPLE, with_(ram=8, **{"4g": True, "5g": " NO "}), with_(weight=None, battery=...),
            with_(normalized_new_price=..., new_price=120)] * 3  # past FEW rows: the arrays' pass
    checked = columns.check(rows)
    assert checked.numbers[3, columns.NEW] == math.log(120) and checked.brand[0] == "Samsung"


@pytest.mark.parametrize("listed", [[2013.0, 2014.0, 2016.0, 2020.0], [0.0, 1.0], [0.5, 0.25, 3.0], ["Android", "iOS"]])
def test_listing_counts_many_as_counted_as_counts_one(listed):
    values = (["Android", "iOS", "ios", "Others"] if isinstance(listed[0], str) else
              [2012, 2013, 2015, 2017.5, 2018, 2030, 0, 0.5, 1, 0.375, 1.625, 3.5, -1])
    many = Listing(listed).indices(values).tolist()
    assert many == [-1 if (at := counted_as(listed, v)) is None else at for v in values]


def _valid_records(seed: int, count: int) -> list[dict]:
    rng, rows = random.Random(seed), []
    while len(rows) < count:
        record = _random_record(rng)
        if isinstance(record, dict) and not features.check_record(record)[1]:
            rows.append(record)
    return rows


def test_batch_warnings_as_each_record_alone(predictor):
    rows = _valid_records(1, 300)
    rows += [with_(screen_size=6.1, os="iOS"), with_(screen_size=10.2, weight=480.0), with_(normalized_new_price=2.0)]
    checked = columns.check(rows)
    predicted = np.linspace(3.0, 6.0, len(rows))
    together = advice.warnings(predictor.spec, checked, predicted, [[] for _ in rows])
    alone = [advice.record_warnings(predictor.spec, r, p) for r, p in zip(features.check_records(rows),
                                                                          predicted.tolist(), strict=True)]
    assert together == alone
    assert sum(map(len, alone)) > 50  # warnings of every kind were met


def test_one_record_is_encoded_as_its_row_of_a_batch(predictor):
    """The single record's encoding in Python floats against the batch's arrays, bit for bit, with
    its warnings: every kind of valid record, unknown brands and systems, optional fields left out."""
    rows = _valid_records(4, 400) + [with_(os="Tizen"), with_(device_brand="Fairphone", weight=..., battery=...)]
    batch, notes = predictor.encoder.encode(columns.check(rows))
    for i, record in enumerate(rows):
        alone, alone_notes = predictor.encoder.encode(columns.check([record], False))
        assert alone.dtype == np.float32 and alone.tobytes() == batch[i:i + 1].tobytes(), record
        assert alone_notes == [notes[i]]
    assert sum(map(len, notes)) >= 2  # the unknown values warned


def test_a_record_in_a_batch_is_answered_as_alone(plane):
    rows = _valid_records(2, 200)
    together = plane.predictions(rows, True)
    for record, answer in zip(rows[:60], together, strict=False):
        assert plane.predictions([record], False)[0] == answer


def test_a_few_rows_are_answered_as_in_a_large_batch(plane):
    """A batch of at most FEW rows is checked, ranged and warned about row by row (columns.FEW): each
    size of it answers every row as the arrays of a large batch do, bit for bit."""
    rows = _valid_records(5, 200)
    rows[:3] = [with_(screen_size=6.1, os="iOS"), with_(release_year=2031), with_(normalized_new_price=2.0)]
    together, at = plane.predictions(rows, True), 0
    for size in range(2, columns.FEW + 1):
        assert plane.predictions(rows[at:at + size], True) == together[at:at + size], size
        at += size


def test_cents_round_as_round_does():
    """fn/api/cents.py against round(_, 2), bit for bit: prices across every range an answer holds,
    values at and a hair off a half cent, negative, tiny, huge, infinite and NaN."""
    rng = np.random.default_rng(3)
    prices = np.exp(rng.uniform(-5, 16, 20_000)).tolist()
    halves = [(k + 0.5) / 100 for k in rng.integers(0, 10 ** 9, 2_000).tolist()]
    near = [math.nextafter(v, side) for v in halves for side in (0.0, math.inf)]
    odd = [0.0, -0.0, 1e-300, -1.005, 2.675, 1.005, 0.125, 0.375, 99_999.995, 1e7 - 0.005, 1e7, 1e15 + 0.3,
           -123.455, math.inf, -math.inf, math.nan, 5e-3, 4.999e-3]
    values = prices + halves + near + odd + (-np.asarray(prices[:2000])).tolist()
    rng.shuffle(values)
    got, want = cents(values), [round(v, 2) for v in values]
    assert [v.hex() for v in got] == [v.hex() for v in want]
    assert cents(values[:3]) == want[:3]  # a few: round() itself
