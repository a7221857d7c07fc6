"""What a GET answers: the model card (metadata) for an API client, the page's HTML for a browser.
The page in a real browser is tests/test_page.py."""

from __future__ import annotations

import json

import pytest
import requests

from convert import data, train
from fn.model.tflite import MODEL_DIR
from fn.record import features
from tests.helpers import LEVELS

# -- the model card ------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["fn_url", "baseline_url", "fn_container"])
def test_model_card(request, target, dataset):
    card = requests.get(request.getfixturevalue(target) + "/model", timeout=10).json()
    metrics = json.loads((MODEL_DIR / "metrics.json").read_text())
    manifest = json.loads((MODEL_DIR / "manifest.json").read_text())
    assert card["test_scores"]["network"] == metrics["network"]
    assert card["price_ranges"]["test_rows"] == metrics["intervals"]
    assert card["price_ranges"]["training_rows_out_of_fold"] == metrics["intervals_out_of_fold"]
    records, _ = data.load(dataset)
    assert card["dataset_sha256"] == metrics["dataset_sha256"] == data.sha256(dataset)
    assert card["rows"]["test_rows"] == len(train.split(len(records))[1])
    assert card["tflite_vs_keras"]["max_abs_diff"] <= 1e-5 and card["model_version"] == manifest["model_version"]
    years = [r["release_year"] for r in records]
    assert any(f"{min(years):.0f}-{max(years):.0f}" in limit for limit in card["known_limits"])


# -- the page's HTML -------------------------------------------------------------------------

@pytest.mark.parametrize("target", ["fn_url", "baseline_url", "fn_container"])
def test_a_browser_gets_the_page_and_an_api_client_the_metadata(request, target):
    url = request.getfixturevalue(target)
    page = requests.get(url + "/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}, timeout=10)
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    text = page.text
    assert "https://" not in text and "http://" not in text.replace("http://www.w3.org/2000/svg", "")
    assert "<script src" not in text and "<link" not in text  # nothing fetched from elsewhere
    for name in [*features.FIELDS[:-1], "new_price"]:
        assert f'<label for="f-{name}">' in text and f'id="f-{name}"' in text
    assert "<option>Xiaomi</option>" in text and 'aria-live="polite"' in text
    assert requests.get(url + "/", timeout=10).json()["model_version"]  # curl's */* gets JSON
    assert requests.get(url + "/", headers={"Accept": "application/json"}, timeout=10).json()["levels"] == LEVELS
