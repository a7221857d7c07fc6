"""The page end to end in headless Chromium (Debian's chromium and chromium-driver, driven by
Selenium): fill the form as a person would, submit, read the price and its range, and hold
them equal to the API's answer for the same record; the screenshot goes to build/page.png."""

from __future__ import annotations

import shutil

import pytest
import requests

from scripts import browser


@pytest.fixture(scope="module")
def session():
    if not shutil.which("chromium") or not shutil.which("chromedriver"):
        pytest.fail("chromium and chromium-driver are needed for the page's test (.ci/run installs them)")
    driver = browser.chromium()
    yield driver
    driver.quit()


@pytest.mark.parametrize("target", ["fn_url", "baseline_url"])
def test_the_page_prices_a_device_as_the_api_does(request, session, target):
    url = request.getfixturevalue(target)
    shown = browser.price_in_page(session, url + "/", browser.DEVICE)
    assert "error" not in shown, shown
    api = requests.post(url + "/", json=browser.as_record(browser.DEVICE), timeout=10).json()
    assert shown["price"] == api["used_price"]
    assert (shown["low"], shown["high"]) == (api["used_price_range"]["low"], api["used_price_range"]["high"])
    assert shown["warnings"] == [w["message"] for w in api["warnings"]]  # ram left out: imputed
    assert len(shown["reasons"]) == 5 and "Price when new" in shown["reasons"][0]
    assert shown["curve"].startswith("Price falls from")
    browser.SCREENSHOT.parent.mkdir(exist_ok=True)
    assert session.save_screenshot(str(browser.SCREENSHOT)) and browser.SCREENSHOT.stat().st_size > 10_000


def test_a_bad_value_is_shown_in_the_api_words(session, fn_url):
    shown = browser.price_in_page(session, fn_url + "/", browser.DEVICE | {"days_used": "30000"})
    assert "Days used: must be between 0 and 20000" in shown["error"]


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
