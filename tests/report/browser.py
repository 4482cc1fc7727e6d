"""Headless Chromium (Debian's ``chromium`` + ``chromium-driver``) for the report tests.

The browser is driven through Selenium and the system chromedriver: Selenium's own
driver manager would try to download a browser, which must never happen here. The
flags keep Chromium from reaching the network (no component updates, sync,
background fetches or QUIC) and give each session a fresh profile directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INSTALL_SCRIPT = Path(__file__).with_name("install_chromium.sh")
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver",)

CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
)


@dataclass(frozen=True)
class Chromium:
    browser: Path
    driver: Path


def _first(paths: tuple[str, ...], env: str) -> Path | None:
    override = os.environ.get(env)
    for candidate in ((override,) if override else ()) + paths:
        if candidate and Path(candidate).is_file() and os.access(candidate, os.X_OK):
            return Path(candidate)
    return None


def find_chromium() -> Chromium | None:
    browser = _first(CHROMIUM_CANDIDATES, "CHROMIUM_BIN")
    driver = _first(DRIVER_CANDIDATES, "CHROMEDRIVER_BIN")
    if browser is None or driver is None:
        return None
    return Chromium(browser, driver)


def ensure_chromium() -> tuple[Chromium | None, str]:
    """Find Chromium, installing it with ``install_chromium.sh`` if absent.

    Returns the binaries, or ``None`` and what went wrong (for the skip message).
    """
    found = find_chromium()
    if found is not None:
        return found, ""
    if shutil.which("bash") is None:
        return None, "chromium not found and bash is missing to run install_chromium.sh"
    completed = subprocess.run(
        ["bash", str(INSTALL_SCRIPT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    found = find_chromium()
    if found is not None:
        return found, ""
    output = (completed.stdout + completed.stderr).strip()[-800:]
    return None, (
        "chromium/chromedriver not found at /usr/bin and could not be installed with "
        f"{INSTALL_SCRIPT.name} (exit {completed.returncode}): {output}"
    )


@contextmanager
def chromium_driver(chromium: Chromium, width: int = 1440, height: int = 900) -> Iterator[Any]:
    """A Selenium WebDriver for headless Chromium with browser console logging on."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="report-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium.browser)
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(executable_path=str(chromium.driver))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        driver.set_page_load_timeout(60)
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def full_page_screenshot(driver: Any, path: Path, width: int = 1440, max_height: int = 16000) -> None:
    """Resize the window to the page height and save one PNG of the whole page."""
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(width, min(max(height, 600), max_height))
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
