from __future__ import annotations

import numpy as np
import pytest

from convert import data
from fn.record import features
from fn.record.features import EXAMPLE
from tests.cases import with_


def test_example_is_valid():
    clean, problems = features.check_record(EXAMPLE)
    assert problems == []
    assert clean["4g"] == 1.0 and clean["5g"] == 0.0 and clean["release_year"] == 2019.0


@pytest.mark.parametrize("change, field, reason", [
    ({"ram": -1}, "ram", "greater than 0"),
    ({"release_year": 1900}, "release_year", "between"),
    ({"screen_size": "12"}, "screen_size", "must be a number"),
    ({"ram": True}, "ram", "must be a number"),
    ({"5g": "maybe"}, "5g", "yes"),
    ({"os": ""}, "os", "non-empty"),
    ({"colour": "red"}, "colour", "not a known field"),
])
def test_check_record_names_field_and_reason(change, field, reason):
    _, problems = features.check_record(with_(**change))
    assert [p["field"] for p in problems] == [field]
    assert reason in problems[0]["reason"]


def test_check_records_lists_every_bad_row():
    with pytest.raises(features.ValidationError) as e:
        features.check_records([EXAMPLE, with_(ram=-1), with_(weight="x", os=...)])
    assert sorted((d["row"], d["field"]) for d in e.value.details) == [(1, "ram"), (2, "os"), (2, "weight")]
    assert "2 of 3 rows" in e.value.message


def test_missing_optional_is_imputed_with_training_median(predictor):
    x_missing, _ = features.encode(predictor.spec, features.check_records([with_(weight=...)]))
    median = predictor.spec["impute"]["weight"]
    x_median, _ = features.encode(predictor.spec, features.check_records([with_(weight=median)]))
    np.testing.assert_array_equal(x_missing, x_median)


def test_unknown_brand_encodes_as_others_with_warning(predictor):
    x_unknown, warnings = features.encode(predictor.spec, features.check_records([with_(device_brand="Fairphone")]))
    x_others, _ = features.encode(predictor.spec, features.check_records([with_(device_brand="Others")]))
    np.testing.assert_array_equal(x_unknown, x_others)
    assert warnings[0][0]["field"] == "device_brand" and warnings[0][0]["code"] == "unknown_value"
    assert "Fairphone" in warnings[0][0]["message"]


def test_brand_case_is_ignored(predictor):
    a, w = features.encode(predictor.spec, features.check_records([with_(device_brand="samsung")]))
    b, _ = features.encode(predictor.spec, features.check_records([EXAMPLE]))
    np.testing.assert_array_equal(a, b)
    assert w == [[]]


def test_training_and_serving_encode_identically(dataset, predictor):
    """The dataset's rows as training loads them and as a client would send them."""
    records, _ = data.load(dataset)
    as_trained, _ = features.encode(predictor.spec, records)
    sent = [data.as_sent(r) for r in records]
    as_served, _ = features.encode(predictor.spec, features.check_records(sent))
    np.testing.assert_array_equal(as_trained, as_served)
    assert as_trained.shape == (len(records), len(predictor.spec["columns"]))


def test_spec_fit_on_training_rows_only(dataset, predictor):
    assert predictor.spec["dataset_sha256"] == data.sha256(dataset)
    assert "Others" in predictor.spec["brands"] and "Others" in predictor.spec["os"]
