"""End to end in the Dagster UI: `dagster dev` on loopback, headless Chromium materializes the demo.

Starts `dagster dev -w workspace.yaml` (repo root) with a temporary DAGSTER_HOME and demo folder,
clicks "Materialize all", waits for the run to succeed, then reads the generator's accuracy
metadata and its check results from the asset pages. Set SYNTH_DAGSTER_SCREENSHOT_DIR=docs to
refresh the screenshots of docs/dagster.md.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="needs Debian's chromium and chromium-driver"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, check: Callable[[], object], timeout: float, every: float = 1.0) -> object:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = check()
            if value:
                return value
        except (WebDriverException, OSError) as exc:  # page still loading, server still starting
            last_error = exc
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({last_error})")


@pytest.fixture
def dagster_dev(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    home, demo = tmp_path / "dagster_home", tmp_path / "demo"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "SYNTH_DAGSTER_DEMO_DIR": str(demo),
        "SYNTH_DAGSTER_DEMO_FAST": os.environ.get("SYNTH_DAGSTER_DEMO_FAST", "1"),  # 0: the full demo
        "NO_PROXY": "127.0.0.1,localhost",
    }
    log = (tmp_path / "dagster-dev.log").open("wb")
    dagster = Path(sys.executable).with_name("dagster")
    proc = subprocess.Popen(
        [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: the webserver, daemon and runs stop together
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(
            "dagster dev", lambda: urllib.request.urlopen(f"{url}/server_info", timeout=5).status == 200, 120
        )
        yield url, demo
    finally:
        for sig, grace in ((signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        log.close()


@pytest.fixture
def browser(tmp_path: Path, request):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tempfile.mkdtemp(dir=tmp_path)}",
        "--window-size=1600,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        # on failure, keep what the browser showed (pytest reports tmp_path)
        driver.save_screenshot(str(tmp_path / "last-page.png"))
        (tmp_path / "last-page.txt").write_text(_text(driver))
        driver.quit()


def _text(driver) -> str:
    return driver.find_element(By.TAG_NAME, "body").text


def _dismiss_welcome(driver) -> None:
    for button in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
        button.click()
    # any other dialog the UI opens on its own (news, tips) lies over the page: Escape closes it
    if driver.find_elements(By.CSS_SELECTOR, ".bp5-overlay-backdrop"):
        driver.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)


def test_materialize_the_demo_from_the_ui(dagster_dev, browser, tmp_path) -> None:
    url, demo = dagster_dev
    shots = Path(os.environ.get("SYNTH_DAGSTER_SCREENSHOT_DIR") or tmp_path)
    if not shots.is_absolute():
        shots = REPO / shots

    def materialize_button():
        _dismiss_welcome(browser)
        buttons = browser.find_elements(By.XPATH, "//button[normalize-space()='Materialize all']")
        return buttons[0] if buttons and buttons[0].is_enabled() else None

    # the global lineage: "Materialize all" there includes the source asset of the other group
    browser.get(f"{url}/asset-groups")
    _wait("the demo code location", materialize_button, 120)
    _wait("the lineage graph", lambda: "synthetic_data" in _text(browser), 60)

    def click_materialize() -> bool:
        # a dialog that opens late intercepts the click (a WebDriverException): dismiss it and retry
        button = materialize_button()
        if button is None:
            return False
        button.click()
        return True

    _wait("a click on 'Materialize all'", click_materialize, 60)
    _wait("the run to launch", lambda: "Launched run" in _text(browser), 60, every=0.5)

    def run_status() -> str | None:
        browser.get(f"{url}/runs")
        text = _text(browser)
        if "Failure" in text:
            raise AssertionError(f"the demo run failed:\n{text[-2000:]}")
        return "Success" if re.search(r"\bSuccess\b", text) else None

    _wait("the run to succeed", run_status, 300, every=3.0)

    # the generator's metadata: overall accuracy and its holdout reference
    browser.get(f"{url}/assets/flights_generator")
    text = str(
        _wait(
            "the accuracy metadata",
            lambda: "accuracy_holdout_reference" in _text(browser) and _text(browser),
            60,
        )
    )
    figures = {
        key: float(value)
        for key, value in re.findall(
            r"\n(accuracy|accuracy_holdout_reference|dcr_share)\n[^\n]*\n([0-9.]+)", text
        )
    }
    assert 0.0 < figures["accuracy"] <= 1.0
    assert 0.0 < figures["accuracy_holdout_reference"] <= 1.0
    assert 0.0 <= figures["dcr_share"] <= 1.0
    assert "flights-model-report.html" in text
    _dismiss_welcome(browser)
    heading = browser.find_elements(By.XPATH, "//*[normalize-space(text())='Metadata']")
    if heading:  # show the figures, not the status header
        browser.execute_script("arguments[0].scrollIntoView()", heading[0])
        time.sleep(0.5)
    browser.save_screenshot(str(shots / "dagster-ui-generator.png"))

    # the quality checks
    browser.get(f"{url}/assets/flights_generator?view=checks")
    checks = str(
        _wait("the check results", lambda: "identical_matches" in _text(browser) and _text(browser), 60)
    )
    for name in ("accuracy", "dcr_share", "identical_matches"):
        assert re.search(rf"\n{name}\nSucceeded\n", checks), f"check {name} did not succeed:\n{checks[:1500]}"
    assert "Passed" in checks
    browser.save_screenshot(str(shots / "dagster-ui-checks.png"))

    browser.get(f"{url}/locations/synth_dagster_demo/asset-groups/synthetic_data")
    _wait("the materialized lineage", lambda: "3 / 3 Passed" in _text(browser), 60)
    time.sleep(1.0)  # let the graph settle before the picture
    browser.save_screenshot(str(shots / "dagster-ui-lineage.png"))

    # and the files the run wrote
    assert (demo / "output" / "flights_synthetic.parquet").is_file()
    assert list((demo / "store").rglob("flights-model-report.html"))
    assert list((demo / "store").rglob("flights-data-report.html"))
