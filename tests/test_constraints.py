"""The committed model's promises about single fields (issue 36), checked in the served runtime on
every test row: a newer device is never worth less, each constrained spec never lowers the price,
a spec left free never steps the price down by more than FREE_STEP along its training range, and
the reasons never say a constrained field did what it cannot."""

from __future__ import annotations

import json

import numpy as np
import pytest

from convert import constraints, data, network, probe, train
from fn.api.body import Options
from fn.model.explain import FIELD_ORDER, Explainer
from fn.record import features

FREE_STEP = 0.02  # of the price: the largest step down a free field may take between neighbouring training values
ROUNDING = 1e-6  # float32 rounding of a log price, as test_train's days_used check allows


@pytest.fixture(scope="module")
def rows(dataset):
    records, _ = data.load(dataset)
    train_idx, test_idx = network.split(len(records))
    return [records[i] for i in train_idx], [records[i] for i in test_idx]


def log_prices(predictor, records, field, grid):
    return np.log(probe.response(predictor, records, field, np.asarray(grid, dtype=np.float64)))


def test_the_committed_model_is_constrained_as_training_chose(predictor):
    """The served metrics name the fields the network was built monotone in: the age always, and the
    specs docs/bench/constraint_choice.json chose by out-of-fold RMSE on the training rows."""
    choice = json.loads(constraints.CHOICE.read_text())
    assert list(train.SPEC_MONOTONE) == choice["constrained"]
    for field, figures in choice["fields"].items():  # free only where the constraint costs more than chance
        costs = figures["difference"]["low"] > 0
        assert figures["chosen"] == ("free" if costs else "non-decreasing"), field
        assert figures["difference"]["difference"] == pytest.approx(figures["constrained"] - figures["free"])
    assert predictor.metrics["encoding"]["monotone_fields"] == train.MONOTONE
    assert train.MONOTONE["release_year"] == 1 and train.MONOTONE["days_used"] == -1


def test_the_price_never_falls_as_release_year_rises(rows, predictor):
    """Every test row, release_year over the whole range the API accepts, all else equal."""
    _, test = rows
    year = features.NUMERIC_BY_NAME["release_year"]
    prices = log_prices(predictor, test, "release_year", np.arange(year.low, year.high + 1))
    assert np.diff(prices, axis=1).min() >= -ROUNDING
    assert (prices[:, -1] > prices[:, 0]).mean() > 0.5  # and a newer release is worth more


@pytest.mark.parametrize("field", constraints.SPECS)
def test_each_spec_field_keeps_its_promise(rows, predictor, field):
    """A constrained spec never lowers the price anywhere on its training range; a free one never
    steps it down by more than FREE_STEP between neighbouring training values (issue 36's 2%)."""
    train_rows, test = rows
    grid = probe.training_grid(field, train_rows)
    prices = np.exp(log_prices(predictor, test, field, grid))
    if field in train.SPEC_MONOTONE:
        assert np.diff(np.log(prices), axis=1).min() >= -ROUNDING
    else:
        worst = probe.steps_down(prices)
        assert worst.max() <= FREE_STEP, f"{field}: a step down of {worst.max():.1%} on test row {worst.argmax()}"


def test_reasons_never_contradict_a_constraint(rows, plane):
    """For each constrained field, a value above the reference device's never shows as lowering the
    price, and one below it never as raising it (reversed for days_used), on every test row."""
    _, test = rows
    sent = [data.as_sent(r) for r in test]
    answers = plane.predictions(sent, True, Options(explain=True))
    explainer = Explainer(plane.model)
    x, _ = plane.model.encoder.encode(features.check_records(sent))
    columns = plane.model.spec["columns"]
    checked = 0
    for field, sign in train.MONOTONE.items():
        at = network.column(field, columns)
        # +1 where the constraint lets the price only rise from the reference's value to the row's
        above = np.sign(x[:, at] - explainer.reference_x[0, at]) * sign
        shown = np.array([a["explanation"]["contributions"][field] for a in answers])
        prices = np.array([a["used_price"] for a in answers])
        assert (shown[above > 0] >= -ROUNDING * prices[above > 0]).all(), field
        assert (shown[above < 0] <= ROUNDING * prices[above < 0]).all(), field
        assert (np.abs(shown[above == 0]) <= ROUNDING * prices[above == 0]).all(), field
        checked += int((above != 0).sum())
    assert checked > len(test) and set(train.MONOTONE) <= set(FIELD_ORDER)


def test_the_probe_finds_no_newer_device_worth_less(dataset, predictor):
    """Issue 36's probe (python -m convert.probe) on the committed model: release_year and every
    constrained spec have no device falling."""
    records, _ = data.load(dataset)
    result = probe.probe(predictor, records[:probe.PROBE_ROWS])
    for field in ("release_year", *train.SPEC_MONOTONE):
        assert result[field]["falling"] == 0, field


def test_the_page_says_it(predictor):
    """The page a person prices with states the promise, from the served model's own spec."""
    from fn.api import page

    said = page.promise(predictor.spec)
    assert said in page.render(predictor.spec, predictor.version)
    assert "raising the release year, RAM" in said and "never lowers the price" in said
    assert "more days used never raises it" in said
    for field in train.MONOTONE:
        assert page.LABELS[field].lower() in said.lower(), field


def test_the_committed_probe_and_its_section_in_docs_are_current(dataset, predictor):
    """docs/bench/constraints_probe.json is the committed model's probe (python -m convert.probe
    --write), and docs/model.md renders it and the choice as convert.report does (scripts.render writes it)."""
    from convert import report
    from harness.render import rendered, stale

    records, _ = data.load(dataset)
    committed = json.loads(probe.OUT.read_text())
    free = [f for f in constraints.SPECS if f not in train.SPEC_MONOTONE]
    again = json.loads(json.dumps(probe.measure(predictor, records, free)))
    assert committed["model_version"] == predictor.version
    assert again["probe"] == committed["probe"]
    assert again["free_curves"].keys() == committed["free_curves"].keys()
    assert stale(rendered([report.SECTION])) == []
