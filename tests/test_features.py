from __future__ import annotations

import numpy as np
import pytest

from convert import data, train
from fn.record import encoding, features
from fn.record.features import EXAMPLE
from tests.helpers import with_


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
    # rows count from 1: the first record sent is row 1 (problems.detail)
    assert sorted((d["row"], d["field"]) for d in e.value.details) == [(2, "ram"), (3, "os"), (3, "weight")]
    assert "2 of 3 rows are invalid" in e.value.message
    with pytest.raises(features.ValidationError) as e:
        features.check_records([EXAMPLE, with_(ram=-1)])
    assert e.value.message == "1 of 2 rows is invalid"


def test_missing_optional_is_imputed_with_training_median(predictor):
    x_missing, _ = encoding.encode(predictor.spec, features.check_records([with_(weight=...)]))
    median = predictor.spec["impute"]["weight"]
    x_median, _ = encoding.encode(predictor.spec, features.check_records([with_(weight=median)]))
    np.testing.assert_array_equal(x_missing, x_median)


@pytest.fixture(scope="module")
def specs(dataset):
    """The training rows' specification under each brand encoding."""
    records, _ = data.load(dataset)
    train_idx, _ = train.split(len(records))
    return {e: encoding.fit_spec([records[i] for i in train_idx], e) for e in encoding.BRAND_ENCODINGS}


def test_unknown_brand_encodes_as_others_with_warning(specs):
    spec = specs["one_hot"]
    x_unknown, warnings = encoding.encode(spec, features.check_records([with_(device_brand="Fairphone")]))
    x_others, _ = encoding.encode(spec, features.check_records([with_(device_brand="Others")]))
    np.testing.assert_array_equal(x_unknown, x_others)
    assert warnings[0][0]["field"] == "device_brand" and warnings[0][0]["code"] == "unknown_value"
    assert "Fairphone" in warnings[0][0]["message"]


def test_brand_case_is_ignored(specs):
    a, w = encoding.encode(specs["one_hot"], features.check_records([with_(device_brand="samsung")]))
    b, _ = encoding.encode(specs["one_hot"], features.check_records([EXAMPLE]))
    np.testing.assert_array_equal(a, b)
    assert w == [[]]


def test_a_dropped_brand_has_no_columns_and_no_warning(specs):
    spec = specs["dropped"]
    assert not any(c.startswith("brand=") for c in spec["columns"])
    a, w = encoding.encode(spec, features.check_records([with_(device_brand="Fairphone")]))
    b, _ = encoding.encode(spec, features.check_records([EXAMPLE]))
    np.testing.assert_array_equal(a, b)
    assert w == [[]] and a.shape == (1, len(spec["columns"]))


def test_one_hots_and_flags_enter_as_0_or_1_and_numbers_standardised(dataset, specs):
    """A rare brand's 1 stays 1 (standardised, it was near 20); the numbers have mean 0, sd 1."""
    records, _ = data.load(dataset)
    train_idx, _ = train.split(len(records))
    for spec in specs.values():
        x, _ = encoding.encode(spec, [records[i] for i in train_idx])
        numbers = len(features.NUMERIC)
        assert set(np.unique(x[:, :-numbers])) == {0.0, 1.0}
        assert (x[:, :-numbers].sum(axis=1) == (2 if spec["brand_encoding"] == "one_hot" else 1)
                + x[:, -numbers - 2:-numbers].sum(axis=1)).all()  # one brand, one os, the flags
        np.testing.assert_allclose(x[:, -numbers:].mean(axis=0), 0, atol=1e-5)
        np.testing.assert_allclose(x[:, -numbers:].std(axis=0), 1, atol=1e-4)
    with pytest.raises(ValueError, match="brand_encoding"):
        encoding.fit_spec([records[0]], "grouped")


def test_training_and_serving_encode_identically(dataset, predictor):
    """The dataset's rows as training loads them and as a client would send them."""
    records, _ = data.load(dataset)
    as_trained, _ = encoding.encode(predictor.spec, records)
    sent = [data.as_sent(r) for r in records]
    as_served, _ = encoding.encode(predictor.spec, features.check_records(sent))
    np.testing.assert_array_equal(as_trained, as_served)
    assert as_trained.shape == (len(records), len(predictor.spec["columns"]))


def test_spec_fit_on_training_rows_only(dataset, predictor):
    assert predictor.spec["dataset_sha256"] == data.sha256(dataset)
    assert "Others" in predictor.spec["brands"] and "Others" in predictor.spec["os"]
