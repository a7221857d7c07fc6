"""The reasons for a price: Shapley contributions that add up, reproducible, exact against sampled,
and the same for a record alone or in a batch; over HTTP too."""

from __future__ import annotations

import math

import pytest
import requests

from fn.api import dataplane
from fn.api.dataplane import Options
from fn.model.explain import Explainer
from fn.record import features
from fn.record.features import EXAMPLE
from tests.helpers import HTTP, with_

# -- reasons --------------------------------------------------------------------------------

def test_contributions_add_up_to_the_price_less_the_reference(plane):
    records = [EXAMPLE, with_(device_brand="Apple", os="iOS", ram=6.0, days_used=100), with_(ram=None)]
    for answer in plane.predictions(records, True, Options(explain=True)):
        e = answer["explanation"]
        total = sum(e["contributions"].values())
        assert total == pytest.approx(math.exp(answer["normalized_used_price"]) - e["reference_price"], abs=1e-6)
        assert set(e["contributions"]) == set(features.FIELDS)


def test_a_field_at_its_reference_value_contributes_nothing(plane):
    explainer = Explainer(plane.model)
    reference = explainer.reference
    same_brand = with_(device_brand=reference["device_brand"], ram=reference["ram"])
    shares = plane.predictions([same_brand], False, Options(explain=True))[0]["explanation"]["contributions"]
    assert shares["device_brand"] == 0.0 and shares["ram"] == 0.0
    x, _ = plane.model.encoder.encode(features.check_records([reference]))
    _, (at_reference,) = explainer.contributions(x, plane.model.predict_matrix(x))
    assert max(abs(v) for v in at_reference.values()) < 1e-9


def test_exact_shapley_values_add_up_and_agree_with_the_sampled_ones(plane):
    explainer = Explainer(plane.model)
    records = features.check_records([EXAMPLE, with_(device_brand="Apple", os="iOS", ram=6.0, days_used=900)])
    x, _ = plane.model.encoder.encode(records)
    y = plane.model.predict_matrix(x)
    _, sampled = explainer.contributions(x, y)
    for i in range(len(records)):
        reference, exact = explainer.exact(x[i:i + 1], float(y[i]))
        assert sum(exact.values()) == pytest.approx(math.exp(y[i]) - math.exp(reference), abs=1e-6)
        if not plane.model.encoder.brand_width:
            assert exact["device_brand"] == 0.0  # a field without columns is a null player
        # the sampled orders estimate the same values
        spread = max(abs(v) for v in exact.values())
        assert max(abs(exact[f] - sampled[i][f]) for f in exact) < 0.25 * spread


def test_the_explanation_is_reproducible_and_a_plain_answer_has_none(plane):
    once = plane.predictions([EXAMPLE], False, Options(explain=True))[0]["explanation"]
    again = plane.predictions([EXAMPLE], False, Options(explain=True))[0]["explanation"]
    assert once == again
    assert "explanation" not in plane.predictions([EXAMPLE], False)[0]


def test_a_batch_past_one_chunk_is_explained_as_each_record_alone(plane):
    """Explanations are computed EXPLAIN_CHUNK records at a time: each record of a longer batch,
    in the middle of a chunk or at its edges, gets what it gets explained alone."""
    n = 2 * dataplane.EXPLAIN_CHUNK + 7
    records = [with_(days_used=90 + 3 * i, ram=[2.0, 4.0, 6.0, None][i % 4], device_brand=["Samsung", "Apple"][i % 2],
                     os=["Android", "iOS"][i % 2]) for i in range(n)]
    batch = plane.predictions(records, True, Options(explain=True))
    assert len(batch) == n
    for i in sorted({0, dataplane.EXPLAIN_CHUNK - 1, dataplane.EXPLAIN_CHUNK, dataplane.EXPLAIN_CHUNK + 1,
                     2 * dataplane.EXPLAIN_CHUNK, n - 1, *range(0, n, 17)}):
        alone = plane.predictions([records[i]], False, Options(explain=True))[0]["explanation"]
        explained = batch[i]["explanation"]
        assert explained["reference_price"] == alone["reference_price"], i
        assert explained["contributions"] == pytest.approx(alone["contributions"], rel=1e-6, abs=1e-9), i


@pytest.mark.parametrize("target", HTTP)
def test_explain_over_http(request, target):
    url = request.getfixturevalue(target)
    for r in (requests.post(url + "/?explain=true", json=EXAMPLE, timeout=10),
              requests.post(url + "/", json=EXAMPLE | {"explain": True}, timeout=10)):
        assert r.status_code == 200 and "contributions" in r.json()["explanation"]
    batch = requests.post(url + "/", json={"instances": [EXAMPLE, EXAMPLE], "explain": True}, timeout=10).json()
    assert all("explanation" in p for p in batch["predictions"])
