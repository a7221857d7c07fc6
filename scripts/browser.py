"""The page (fn/api/page.py) in a real browser: Debian's headless Chromium driven by Selenium.

    python -m scripts.browser [--out docs]

starts the function as a process, fills the form with a device as a person would (choosing from
the lists, typing into the fields, leaving RAM and weight empty), submits it, prints what the page
shows next to the API's answer for the same record, and saves the whole page at a desktop's size
(docs/page.png, 1280 px wide) and a phone's (docs/page-phone.png, 390 px). tests/test_page.py does
the same at both sizes and compares the two.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from harness import cli, launch
from harness.launch import TARGETS

# What headless Chromium needs here: no sandbox as root, no GPU, no network calls of its own.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,900", "--lang=en-US")
# A device as a person describes it: the new price in money, screen in cm, RAM and weight left
# out (not on the box): the answer says which typical values it used.
DEVICE = {"device_brand": "Apple", "os": "iOS", "4g": "yes", "5g": "yes", "screen_size": "15.4",
          "rear_camera_mp": "12", "front_camera_mp": "12", "internal_memory": "128", "ram": "",
          "battery": "2815", "weight": "", "release_year": "2020", "days_used": "200", "new_price": "900"}
# (width, height, mobile) of the viewports the page is checked and shown at.
SIZES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
SCREENSHOTS = {"desktop": launch.ROOT / "docs" / "page.png", "phone": launch.ROOT / "docs" / "page-phone.png"}


class BrowserMissing(Exception):
    pass


def chromium() -> Any:
    """A headless Chromium session through the system's chromedriver, in a fresh profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not browser or not driver:
        raise BrowserMissing("chromium and chromedriver are needed (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tempfile.mkdtemp(prefix='chromium-')}")
    return webdriver.Chrome(service=Service(driver), options=options)


def viewport(session: Any, size: str) -> None:
    """Emulate one of SIZES: a phone's is a mobile viewport (its meta viewport applies)."""
    width, height, mobile = SIZES[size]
    session.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                            {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile})


def screenshot(session: Any, path: Path) -> int:
    """The whole page, not only the viewport, as PNG at `path`; its size in bytes."""
    import base64

    width, height = session.execute_script(
        "return [document.documentElement.clientWidth, document.documentElement.scrollHeight]")
    shot = session.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}})
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.write_bytes(base64.b64decode(shot["data"]))


def number(text: str) -> float:
    """A figure as the page shows it (en-US grouping)."""
    return float(text.replace(",", ""))


def price_in_page(session: Any, url: str, device: dict[str, str], timeout: float = 20.0) -> dict[str, Any]:
    """Fill the form at `url` with `device` by keyboard and list choices, submit it, and read the
    answer: price, range, reasons, warnings; waits for the curve as well."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as shown
    from selenium.webdriver.support.select import Select
    from selenium.webdriver.support.ui import WebDriverWait

    session.get(url)
    for name, value in device.items():
        field = session.find_element(By.ID, f"f-{name}")
        if field.tag_name == "select":
            Select(field).select_by_visible_text(value)
        else:
            field.clear()
            if value:
                field.send_keys(value)
    session.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait = WebDriverWait(session, timeout)
    wait.until(shown.presence_of_element_located((By.CSS_SELECTOR, "#answer svg, #error")))
    errors = session.find_elements(By.ID, "error")
    if errors:
        return {"error": errors[0].text}
    text = {key: session.find_element(By.ID, key).text for key in ("price", "range-low", "range-high")}
    return {
        "price": number(text["price"]), "low": number(text["range-low"]), "high": number(text["range-high"]),
        "reasons": [row.text for row in session.find_elements(By.CSS_SELECTOR, "#reasons tr")],
        "warnings": [item.text for item in session.find_elements(By.CSS_SELECTOR, "#warnings li")],
        "imputed": [item.text for item in session.find_elements(By.CSS_SELECTOR, "#warnings li.w-imputed")],
        "curve": session.find_element(By.CSS_SELECTOR, "#answer svg").get_attribute("aria-label"),
    }


def as_record(device: dict[str, str]) -> dict[str, Any]:
    """The form's values as the page should send them: numbers as numbers (a lone decimal comma
    a decimal mark), empty fields left out."""
    text = ("device_brand", "os", "4g", "5g")
    return {k: (v if k in text else float(v.replace(",", "."))) for k, v in device.items() if v != ""}


def main(argv: list[str] | None = None) -> int:
    parser = cli.parser(__spec__, __file__, __doc__)
    parser.add_argument("--out", type=Path, default=None,
                        help="directory for page.png and page-phone.png (default docs/)")
    args = parser.parse_args(argv)
    paths = {size: (args.out / path.name if args.out else path) for size, path in SCREENSHOTS.items()}
    proc, url = launch.serve_process(TARGETS["function"])
    try:
        session = chromium()
        try:
            for size, path in paths.items():
                viewport(session, size)
                shown = price_in_page(session, url + "/", DEVICE)
                print(f"{size}: {shown}")
                print(f"screenshot: {path} ({screenshot(session, path):,} bytes)")
        finally:
            session.quit()
        _, body = launch.http("POST", url + "/", json.dumps(as_record(DEVICE)).encode())
        api = json.loads(body)
    finally:
        launch.stop_process(proc)
    print(f"API : used_price {api['used_price']}, range {api['used_price_range']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
