"""The calibrated price range: conformal ranks, coverage in each group on fresh rows, the
committed ranges reproducing their coverage, and the level asked for (in the body or the query)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import requests

from convert import calibrate, data, train
from fn.api.dataplane import Options
from fn.model import expected_error, intervals
from fn.model.tflite import MODEL_DIR
from fn.record import features
from fn.record.features import EXAMPLE
from tests.helpers import HTTP, LEVELS

# -- the calibrated range -------------------------------------------------------------------

def test_conformal_rank_is_the_finite_sample_one():
    assert intervals._rank(19, 0.9) == 18  # 19 residuals: the 90% range reaches the ceil(20 * 0.9) = 18th
    with pytest.raises(intervals.IntervalError, match="too few"):
        intervals._rank(5, 0.9)


def fold_members(rng, truth, k=5):
    """K members' predictions of `truth`: each off by its own small error."""
    return truth[:, None] + rng.normal(0, 0.01, (len(truth), k))


def test_cv_plus_ranges_cover_as_promised_in_each_group_on_fresh_rows():
    rng = np.random.default_rng(0)
    n, k = 8000, 5
    year = rng.integers(2013, 2021, n).astype(float)
    truth = rng.uniform(3, 7, n)
    actual = truth + rng.normal(0, np.where(year < 2016, 0.3, 0.1))  # older devices priced less surely
    members = fold_members(rng, truth, k)
    fold = rng.integers(0, k, n)
    oof = members[np.arange(n), fold]
    cal, fresh = slice(0, 4000), slice(4000, None)
    table = intervals.Intervals(intervals.fit(oof[cal], actual[cal], fold[cal], year[cal], "release_year"))
    records = [{"release_year": y, "os": "Android", "4g": 1.0, "5g": 0.0} for y in year[fresh]]
    scored = table.score(members[fresh], actual[fresh], records)
    for level in intervals.LEVELS:
        assert abs(scored[f"{level:g}"]["coverage"] - level) < 0.03
        for group in ("release_year=2013", "release_year=2020"):
            assert abs(scored[f"{level:g}"]["groups"][group]["coverage"] - level) < 0.05
    low, high = table.bounds(np.full((2, k), 5.0), 0.9, [{"release_year": 2013.0}, {"release_year": 2020.0}])
    assert high[0] - low[0] > 2 * (high[1] - low[1])  # Mondrian: each year its own reach
    far, _ = table.bounds(np.full((1, k), 5.0), 0.9, [{"release_year": 2035.0}])
    assert far[0] == low[1]  # a year beyond the data takes the nearest year's group


def test_a_rare_kind_that_errs_more_gets_a_wider_range_and_keeps_its_level():
    """The expected-error scale (calibrate.expected_error, expected_error.Scale): one device in ten runs
    another os and errs three times as much; without the scale its range holds its price well
    below the level, with it within a few points, and Android's too."""
    rng = np.random.default_rng(1)
    n, k = 8000, 5
    year = rng.integers(2013, 2021, n).astype(float)
    rare = rng.random(n) < 0.1
    truth = rng.uniform(3, 7, n)
    actual = truth + rng.normal(0, np.where(rare, 0.3, 0.1))
    members = fold_members(rng, truth, k)
    fold = rng.integers(0, k, n)
    oof = members[np.arange(n), fold]
    records = [{"release_year": y, "os": "Others" if r else "Android", "4g": 1.0, "5g": 0.0}
               for y, r in zip(year, rare, strict=True)]
    cal, fresh = slice(0, 4000), slice(4000, None)
    plain = intervals.Intervals(intervals.fit(oof[cal], actual[cal], fold[cal], year[cal], "release_year"))
    scaled = intervals.Intervals(calibrate.ranges_table(oof[cal], actual[cal], fold[cal], records[cal]))
    for level in intervals.LEVELS:
        before = plain.score(members[fresh], actual[fresh], records[fresh])[f"{level:g}"]["groups"]
        after = scaled.score(members[fresh], actual[fresh], records[fresh])[f"{level:g}"]["groups"]
        assert before["os=Others"]["coverage"] < level - 0.15
        for kind in ("os=Others", "os=Android"):
            assert abs(after[kind]["coverage"] - level) < 0.04
        assert after["os=Others"]["mean_relative_width"] > 2 * after["os=Android"]["mean_relative_width"]


def test_the_served_expected_error_is_the_regression_it_was_fitted_as(predictor, dataset):
    """Scale.of sums each record's own weights (microseconds for one record); the regression was
    fitted on design()'s one-hot rows: the two agree, also for values beyond the listed ones."""
    records, _ = data.load(dataset)
    clean = features.check_records([data.as_sent(r) for r in records[:300]])
    clean[0] = clean[0] | {"release_year": 2031.0}
    clean[1] = clean[1] | {"os": "Others", "5g": 1.0}
    predicted = predictor.predict_members(predictor.encoder.encode(clean)[0]).mean(axis=1)
    scale = predictor.intervals.scale
    weights = np.concatenate([w for _, _, w in scale.field_weights] + [scale.price_weights])
    fitted = np.exp(scale.intercept + expected_error.design(clean, predicted, scale.values, scale.prices) @ weights)
    assert np.allclose(scale.of(clean, predicted), fitted, rtol=1e-12)
    assert scale.of(clean[:1], predicted[:1])[0] == scale.of(clean, predicted)[0]  # alone as in a batch
    late = [clean[0] | {"release_year": max(scale.values["release_year"])}]
    assert scale.of(clean[:1], predicted[:1]) == pytest.approx(scale.of(late, predicted[:1]))  # the nearest year
    # beyond the training rows' predicted prices the edge's error holds (the square would explode)
    assert scale.of(clean[:1], [40.0]) == scale.of(clean[:1], [scale.prices[1]])
    assert scale.of(clean[:1], [-5.0]) == scale.of(clean[:1], [scale.prices[0]])


def test_a_device_far_beyond_the_training_prices_gets_a_finite_range(plane):
    """Found by schemathesis: a new price of e^10 on a 93 cm screen predicted a log price the
    training rows never reached, and the expected error's square made the range infinite (a 500)."""
    far = EXAMPLE | {"normalized_new_price": 10.25, "screen_size": 93.2, "rear_camera_mp": 448.6}
    answer = plane.predictions([far], False)[0]
    span = answer["used_price_range"]
    assert math.isfinite(span["high"]) and span["low"] < answer["used_price"] < span["high"]
    json.dumps(answer, allow_nan=False)


def test_committed_ranges_reproduce_their_out_of_fold_coverage_on_the_training_rows(predictor, dataset):
    """The figure that chose the method (metrics.json "intervals_out_of_fold"), recomputed with the
    served runtime's members (member k's prediction of fold k's rows is the out-of-fold one): it
    holds each level within 2 points overall and every group of at least 50 training rows within
    7 points at 90%."""
    records, targets = data.load(dataset)
    train_idx, _ = train.split(len(records))
    clean = features.check_records([data.as_sent(records[i]) for i in train_idx])
    members = predictor.predict_members(predictor.encoder.encode(clean)[0])
    fold = calibrate.folds(train_idx, members.shape[1])
    oof = members[np.arange(len(fold)), fold]
    measured = calibrate.out_of_fold_coverage(oof, np.asarray(targets)[train_idx], fold, clean,
                                              predictor.intervals.price_edges)
    committed = json.loads((MODEL_DIR / "metrics.json").read_text())["intervals_out_of_fold"]
    for level, scored in measured.items():
        assert scored["rows"] == len(train_idx) and abs(scored["coverage"] - float(level)) <= 0.02
        assert scored["coverage"] == pytest.approx(committed[level]["coverage"], abs=0.005)
        assert {"os=Others", "5g=1", "release_year=2018"} <= set(scored["groups"])
        for name, group in scored["groups"].items():
            assert group["coverage"] == pytest.approx(committed[level]["groups"][name]["coverage"], abs=0.01)
            if level == "0.9":
                assert abs(group["coverage"] - 0.9) <= 0.07, name


def test_one_record_gets_the_range_it_gets_in_a_batch(predictor, dataset):
    """bounds() has a path for one record (the usual request) beside the grouped one for a batch:
    each test row alone, and a year no calibration row has, get what the batch gives them."""
    records, _ = data.load(dataset)
    _, test_idx = train.split(len(records))
    clean = features.check_records([data.as_sent(records[i]) for i in test_idx[:120]])
    clean[0] = clean[0] | {"release_year": 2031.0}
    members = predictor.predict_members(predictor.encoder.encode(clean)[0])
    table = predictor.intervals
    for level in table.levels:
        low, high = table.bounds(members, level, clean)
        alone = [table.bounds(members[i:i + 1], level, clean[i:i + 1]) for i in range(len(clean))]
        assert np.array_equal(low, [a[0][0] for a in alone]) and np.array_equal(high, [a[1][0] for a in alone])
        assert np.all(low < members.mean(axis=1)) and np.all(members.mean(axis=1) < high)


def test_a_batch_s_ranges_read_only_the_rows_that_can_hold_an_end_with_the_full_pass_s_bits(predictor):
    """Intervals._ends (a prefix of each cell's rows, largest error first) against _cv_plus over every
    row, bit for bit: members close together as the served model's are, far apart, and tied; scales
    small and large."""
    table, rng = predictor.intervals, np.random.default_rng(7)
    for g in range(len(table.residuals)):
        for spread in (0.0, 0.005, 0.05, 0.5, 5.0):
            members = rng.uniform(2, 7, (60, 1)) + rng.normal(0, spread, (60, table.members))
            scale = np.exp(rng.uniform(-3, 1.5, 60))
            for ranks in table.ranks.values():
                rank = ranks[g] - 1
                full = intervals._cv_plus(members.take(table.folds[g], axis=1),
                                          table.residuals[g][None, :] * scale[:, None], rank)
                pruned = table._ends(g, members, scale, rank)
                assert [a.tobytes() for a in pruned] == [a.tobytes() for a in full], (g, spread)


def test_small_groups_join_a_neighbour():
    keys = np.array([2013.0] * 150 + [2014.0] * 20 + [2015.0] * 150)
    assert intervals._merge(keys, 100) == [[2013.0, 2014.0], [2015.0]]
    assert intervals._merge(keys[140:180], 100) == [[2013.0, 2014.0, 2015.0]]  # one group is left


def test_malformed_interval_table_is_refused():
    with pytest.raises(intervals.IntervalError):
        intervals.Intervals({"method": "x", "edges": [1.0], "reach": {"0.9": [0.1]}})
    good = intervals.fit(np.zeros(40), np.ones(40), np.arange(40) % 4, np.zeros(40), "release_year")
    with pytest.raises(intervals.IntervalError, match="beyond the members"):
        intervals.Intervals(good | {"members": 2})
    with pytest.raises(intervals.IntervalError, match="default level"):  # a model trained without the default
        intervals.Intervals(good | {"default_level": 0.95})
    with pytest.raises(intervals.IntervalError, match="one weight per value"):
        intervals.Intervals(good | {"expected_error": {"values": dict.fromkeys(expected_error.FIELDS, [1.0]),
                                                       "prices": [1.0, 2.0], "intercept": 0.0, "weights": [0.5]}})
    with pytest.raises(intervals.IntervalError, match="each calibration row's record"):
        intervals.fit(np.zeros(40), np.ones(40), np.arange(40) % 4, np.zeros(40), "release_year", scale={})


def test_committed_ranges_reproduce_their_coverage_on_the_test_rows(predictor, dataset):
    """The coverage in metrics.json, recomputed by the served runtime from the committed table,
    overall (within 2 points of each level) and for every reported group (os, 4g, 5g,
    release_year, price tercile with at least 50 test rows)."""
    records, targets = data.load(dataset)
    _, test_idx = train.split(len(records))
    clean = features.check_records([data.as_sent(records[i]) for i in test_idx])
    members = predictor.predict_members(predictor.encoder.encode(clean)[0])
    scored = predictor.intervals.score(members, np.asarray(targets)[test_idx], clean)
    committed = json.loads((MODEL_DIR / "metrics.json").read_text())["intervals"]
    for level, measured in scored.items():
        assert measured["coverage"] == pytest.approx(committed[level]["coverage"], abs=0.005)
        assert abs(measured["coverage"] - float(level)) <= 0.02
        assert measured["mean_relative_width"] == pytest.approx(committed[level]["mean_relative_width"], rel=0.01)
        assert set(measured["groups"]) == set(committed[level]["groups"])
        assert {"os=Android", "release_year=2013", "price_tercile=low"} <= set(measured["groups"])
        for name, group in measured["groups"].items():
            assert group["coverage"] == pytest.approx(committed[level]["groups"][name]["coverage"], abs=0.005)


def test_every_answer_has_its_range_at_the_level_asked(plane):
    for level in plane.model.intervals.levels:
        answer = plane.predictions([EXAMPLE], False, Options(level=level))[0]
        span = answer["used_price_range"]
        assert span["level"] == level and span["low"] < answer["used_price"] < span["high"]
    narrow = plane.predictions([EXAMPLE], False, Options(level=LEVELS[0]))[0]["used_price_range"]
    wide = plane.predictions([EXAMPLE], False, Options(level=LEVELS[-1]))[0]["used_price_range"]
    assert wide["low"] < narrow["low"] and narrow["high"] < wide["high"]


@pytest.mark.parametrize("target", HTTP)
def test_options_in_body_or_query_and_wrong_ones_named(request, target):
    url = request.getfixturevalue(target)
    level = LEVELS[0]
    by_body = requests.post(url + "/", json=EXAMPLE | {"level": level}, timeout=10).json()
    by_query = requests.post(url + f"/?level={level:g}", json=EXAMPLE, timeout=10).json()
    assert by_body["used_price_range"] == by_query["used_price_range"] and by_body["used_price_range"]["level"] == level
    unfitted = 0.5
    assert unfitted not in LEVELS
    for sent in ({"level": unfitted}, {"explain": "maybe"}):
        r = requests.post(url + "/", json=EXAMPLE | sent, timeout=10)
        assert r.status_code == 422
        assert r.json()["error"]["details"][0]["field"] == next(iter(sent))
