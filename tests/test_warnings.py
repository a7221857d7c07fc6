"""What a person is told about their record: warnings that name the field (and speak of the field
sent, in its unit), the new price in money, and the hard limits that still refuse."""

from __future__ import annotations

import math

import pytest

from convert import data
from fn.record import advice, features
from fn.record.features import EXAMPLE
from tests.helpers import with_

# -- warnings ------------------------------------------------------------------------------

def codes(plane, record) -> dict[str, str]:
    return {w["code"]: w["field"] for w in plane.predictions([record], False)[0]["warnings"]}


def test_each_warning_names_its_field(plane):
    assert codes(plane, EXAMPLE) == {}
    assert codes(plane, with_(days_used=20000))["outside_training_range"] == "days_used"
    assert codes(plane, with_(ram=None))["imputed"] == "ram"
    median = f'{plane.model.spec["impute"]["ram"]:g} GB'  # the training median, as feature_spec.json has it
    assert median in plane.predictions([with_(ram=None)], False)[0]["warnings"][0]["message"]
    assert codes(plane, with_(screen_size=6.1))["likely_inches"] == "screen_size"
    assert "likely_inches" not in codes(plane, with_(screen_size=6.1, os="Others"))  # a feature phone
    # a price above the new one is flagged (this model may never give one: checked on the rule itself)
    clean = features.check_records([with_(normalized_new_price=3.0)])[0]
    above = advice.record_warnings(plane.model.spec, clean, 3.1)
    assert [w["field"] for w in above if w["code"] == "above_new_price"] == ["normalized_new_price"]
    assert codes(plane, with_(os="Symbian"))["unknown_value"] == "os"
    # a brand is named unknown only where it can move the price (the committed model may drop it)
    brand_used = plane.model.spec["brand_encoding"] == "one_hot"
    assert ("unknown_value" in codes(plane, with_(device_brand="Fairphone"))) == brand_used
    assert set(advice.CODES) >= {w["code"] for w in plane.predictions([with_(weight=10000, battery=100000)], False)[0]
                                 ["warnings"]}


def test_warnings_never_refuse_and_hard_limits_still_do(plane):
    answer = plane.predictions([with_(days_used=20000, weight=None, screen_size=6.1)], False)[0]
    assert answer["used_price"] > 0
    assert {w["code"] for w in answer["warnings"]} >= {"outside_training_range", "imputed", "likely_inches"}
    with pytest.raises(features.ValidationError):
        plane.predictions([with_(days_used=20001)], False)


# -- the new price in money ----------------------------------------------------------------

def test_new_price_in_money_equals_its_log(plane):
    money = {k: v for k, v in EXAMPLE.items() if k != "normalized_new_price"} | {"new_price": math.exp(5.3)}
    a, b = plane.predictions([money], False)[0], plane.predictions([EXAMPLE], False)[0]
    assert a["normalized_used_price"] == pytest.approx(b["normalized_used_price"], abs=1e-6)
    assert a["new_price"] == b["new_price"] == round(math.exp(5.3), 2)
    clean = features.check_records([money | {"new_price": 20.0}])[0]
    above = advice.record_warnings(plane.model.spec, clean, math.log(20.0) + 0.1)
    assert [w["field"] for w in above if w["code"] == "above_new_price"] == ["new_price"]


@pytest.mark.parametrize("sent, field, reason", [
    ({"new_price": 200.0}, "new_price", "not both"),
    ({"normalized_new_price": None}, "normalized_new_price", "or send new_price"),
    ({"normalized_new_price": None, "new_price": 0}, "new_price", "greater than 0"),
])
def test_new_price_errors_name_the_field(plane, sent, field, reason):
    with pytest.raises(features.ValidationError) as e:
        plane.predictions([with_(**sent)], False)
    assert [(d["field"], reason in d["reason"]) for d in e.value.details] == [(field, True)]


# -- units and the field sent --------------------------------------------------------------

@pytest.mark.parametrize("change, field, reason", [
    ({"ram": 4096}, "ram", "must be between 0.001 and 128 GB"),
    ({"weight": 0.18}, "weight", "must be between 10 and 10000 g"),
    ({"normalized_new_price": None, "new_price": 1e7}, "new_price",
     "must be between 1 and 3,269,017 in the dataset's currency"),
    ({"normalized_new_price": 900}, "normalized_new_price", "send it as new_price"),
    ({"days_used": 30000}, "days_used", "days"),
])
def test_range_messages_carry_the_unit(change, field, reason):
    _, problems = features.check_record(with_(**change))
    assert [p["field"] for p in problems] == [field] and reason in problems[0]["reason"]


def test_warnings_speak_of_the_field_sent(plane):
    money = with_(normalized_new_price=..., new_price=100000)
    (w,) = [w for w in plane.predictions([money], False)[0]["warnings"] if w["code"] == "outside_training_range"]
    assert w["field"] == "new_price" and "normalized" not in w["message"] and "100,000" in w["message"]


def test_tablet_screens_in_inches_are_flagged_and_the_rule_spares_the_data(plane, dataset):
    for size in (10.1, 12.9):
        assert codes(plane, with_(screen_size=size, weight=480.0))["likely_inches"] == "screen_size"
        assert "likely_inches" not in codes(plane, with_(screen_size=size, weight=160.0))  # a phone of that size
    records, _ = data.load(dataset)
    flagged = sum(advice.likely_inches(features.check_records([data.as_sent(r)])[0]) == "a tablet" for r in records)
    assert flagged <= 0.005 * len(records), f"the tablet rule flags {flagged} of {len(records)} training rows"
