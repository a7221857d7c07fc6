"""The page end to end in headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium), at a desktop's size (1280x900) and a phone's (390x844): fill the form as a person
would, submit, read the price and its range, and hold them equal to the API's answer for the
same record; the optional fields start empty, every field left out is named in the answer, a
decimal comma is read as one, the chart has labelled axes readable on a phone, and nothing is
wider than a phone's screen."""

from __future__ import annotations

import re
import shutil

import pytest
import requests

from fn.record.fields import NUMERIC
from scripts import browser

OPTIONAL = [f.name for f in NUMERIC if not f.required]


@pytest.fixture(scope="module")
def session():
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("chromium and chromium-driver are needed for the page's test (.ci/run installs them)")
    driver = browser.chromium()
    yield driver
    driver.quit()


@pytest.fixture(params=list(browser.SIZES))
def sized(request, session):
    """The session at each of the two sizes."""
    browser.viewport(session, request.param)
    return session


def api(url: str, device: dict[str, str]) -> dict:
    return requests.post(url + "/", json=browser.as_record(device), timeout=10).json()


@pytest.mark.parametrize("target", ["fn_url", "baseline_url"])
def test_the_page_prices_a_device_as_the_api_does(request, session, target, tmp_path):
    url = request.getfixturevalue(target)
    browser.viewport(session, "desktop")
    shown = browser.price_in_page(session, url + "/", browser.DEVICE)
    assert "error" not in shown, shown
    answer = api(url, browser.DEVICE)
    assert shown["price"] == answer["used_price"]
    assert (shown["low"], shown["high"]) == (answer["used_price_range"]["low"], answer["used_price_range"]["high"])
    imputed = [w["field"] for w in answer["warnings"] if w["code"] == "imputed"]
    assert imputed == ["ram", "weight"]  # DEVICE leaves these two out
    assert len(shown["imputed"]) == 1 and "RAM (4 GB)" in shown["imputed"][0] and "Weight (160 g)" in shown["imputed"][0]
    assert len(shown["reasons"]) == 5 and "Price when new" in shown["reasons"][0]
    assert shown["curve"].startswith("Price falls from")
    assert browser.screenshot(session, tmp_path / "page.png") > 10_000


def test_optional_fields_start_empty_with_the_typical_value_as_placeholder(session, fn_url):
    from selenium.webdriver.common.by import By

    from fn.model.tflite import Predictor

    medians = Predictor().spec["impute"]  # the committed model's, which fn_url serves
    session.get(fn_url + "/")
    for name in OPTIONAL:
        field = session.find_element(By.ID, f"f-{name}")
        assert field.get_attribute("value") == "", name
        assert field.get_attribute("placeholder") == f"typical: {medians[name]:g}", name
    for f in NUMERIC:
        if f.required and f.name != "normalized_new_price":
            assert session.find_element(By.ID, f"f-{f.name}").get_attribute("value") != "", f.name


def test_a_device_priced_as_the_page_loads_names_every_field_it_imputed(session, fn_url):
    """Pick Apple and leave the rest as it loads: every optional field is imputed, and the answer
    says so for each one (it used to price the example's 13 MP, 64 GB, 4000 mAh silently)."""
    browser.viewport(session, "desktop")
    shown = browser.price_in_page(session, fn_url + "/", {"device_brand": "Apple", "os": "iOS"})
    assert "error" not in shown, shown
    labels = {"rear_camera_mp": "Rear camera", "front_camera_mp": "Front camera", "internal_memory": "Storage",
              "ram": "RAM", "battery": "Battery", "weight": "Weight"}
    assert set(labels) == set(OPTIONAL)
    assert len(shown["imputed"]) == 1
    for label in labels.values():
        assert label + " (" in shown["imputed"][0], label
    assert not any("Rear camera" in reason for reason in shown["reasons"])  # the median adds nothing


def test_a_decimal_comma_is_a_decimal_mark(session, fn_url):
    device = browser.DEVICE | {"ram": "4,5", "screen_size": "15,34"}
    browser.viewport(session, "desktop")
    shown = browser.price_in_page(session, fn_url + "/", device)
    assert "error" not in shown, shown
    record = browser.as_record(device)
    assert (record["ram"], record["screen_size"]) == (4.5, 15.34)
    assert shown["price"] == api(fn_url, device)["used_price"]
    assert shown["price"] != api(fn_url, device | {"ram": "45"})["used_price"]
    assert not any("RAM" in w for w in shown["imputed"])


def test_a_comma_that_could_group_thousands_is_refused_in_words(session, fn_url):
    shown = browser.price_in_page(session, fn_url + "/", browser.DEVICE | {"battery": "4,500", "ram": "abc"})
    assert "Battery: “4,500” could be 4500 or 4.500" in shown["error"]
    assert "RAM: “abc” is not a number." in shown["error"]


def test_a_refusal_is_shown_in_a_persons_words(session, fn_url):
    shown = browser.price_in_page(session, fn_url + "/", browser.DEVICE | {"days_used": "30000"})
    assert "Days used must be between 0 days and 20,000 days." in shown["error"]
    shown = browser.price_in_page(session, fn_url + "/", browser.DEVICE | {"release_year": ""})
    assert "Release year is needed." in shown["error"]


def test_a_warning_is_shown_in_a_persons_words(session, fn_url):
    """The API's likely_inches warning (code and field names) becomes a sentence about the form."""
    device = browser.DEVICE | {"screen_size": "6,1"}
    assert "likely_inches" in [w["code"] for w in api(fn_url, device)["warnings"]]
    shown = browser.price_in_page(session, fn_url + "/", device)
    said = [w for w in shown["warnings"] if "inches" in w]
    assert said == ["A screen diagonal of 6.1 looks like inches, but this form takes centimetres "
                    "(6.1 in is 15.49 cm). Change it if you measured in inches."]
    assert not any("screen_size" in w or "send that" in w for w in shown["warnings"])
    device = browser.DEVICE | {"new_price": "5000"}  # the training range holds ln(price): shown as money
    assert "outside_training_range" in [w["code"] for w in api(fn_url, device)["warnings"]]
    shown = browser.price_in_page(session, fn_url + "/", device)
    said = [w for w in shown["warnings"] if "beyond" in w]
    assert len(said) == 1 and re.fullmatch(r"Price when new 5,000\.00 is beyond the devices the model learnt from "
                                           r"\([\d,]+\.\d\d to [\d,]+\.\d\d\), so the price is a rough guess\.", said[0])


def test_the_chart_has_labelled_axes_readable_and_nothing_overflows(sized, fn_url):
    from selenium.webdriver.common.by import By

    shown = browser.price_in_page(sized, fn_url + "/", browser.DEVICE)
    assert "error" not in shown, shown
    assert sized.find_element(By.ID, "axis-x").text == "Days used"
    assert sized.find_element(By.ID, "axis-y").text.startswith("Used price")
    for axis in ("tick-x", "tick-y"):
        labels = sized.find_elements(By.CSS_SELECTOR, f"#curve text.{axis}")
        assert len(labels) >= 3, axis
    # every label drawn at 12 px or more on screen, inside the chart
    sizes = sized.execute_script("""
        const svg = document.getElementById('curve'), box = svg.getBoundingClientRect();
        return [...svg.querySelectorAll('text')].map(t => { const r = t.getBoundingClientRect();
          return [r.height, r.left >= box.left - 0.5 && r.right <= box.right + 0.5, t.textContent]; });""")
    assert all(height >= 12 and inside for height, inside, _ in sizes), sizes
    width, scroll = sized.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollWidth]")
    assert scroll <= width, f"the page is {scroll} px wide on a {width} px screen"


def test_the_form_is_usable_with_the_keyboard(session, fn_url):
    """Every control has a label, and Tab walks brand -> os -> ... -> the button in reading order."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    session.get(fn_url + "/")
    controls = session.find_elements(By.CSS_SELECTOR, "form input, form select")
    for control in controls:
        assert session.find_elements(By.CSS_SELECTOR, f"label[for='{control.get_attribute('id')}']")
    session.execute_script("arguments[0].focus()", controls[0])
    order = [session.switch_to.active_element.get_attribute("id")]
    for _ in range(len(controls)):
        session.switch_to.active_element.send_keys(Keys.TAB)
        order.append(session.switch_to.active_element.get_attribute("id") or
                     session.switch_to.active_element.tag_name)
    assert order == [c.get_attribute("id") for c in controls] + ["button"]
    card = session.find_element(By.ID, "card").get_attribute("href")  # relative to the page, behind a gateway too
    assert card == fn_url + "/model" and requests.get(card, timeout=5).json()["known_limits"]
