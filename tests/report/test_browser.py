"""The report opened the way a person opens it: in a browser, from the file, offline.

Debian's headless Chromium loads the page; the test waits for the page's own
"all figures drawn" signal, then checks every figure drew an SVG of its real size,
that nothing was fetched from the network, and that the console stayed free of
errors. Full-page screenshots land in reports/test-artifacts/ for a human to look at.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segmentation.report import ReportResult
from tests.report.browser import Chromium, chromium_driver, full_page_screenshot
from tests.report.pages import figures

WAIT_SECONDS = 45

# Per figure: does it have the plot's SVG, something drawn in it, and a sane width?
_INSPECT = """
const out = [];
for (const div of document.querySelectorAll('.plotly-graph-div')) {
  const box = div.getBoundingClientRect();
  const parent = div.closest('section') || document.body;
  out.push({
    id: div.id,
    svg: div.querySelectorAll('svg.main-svg').length,
    marks: div.querySelectorAll(
      'g.trace, g.heatmaplayer image, g.sankey, g.hm, path.point, rect.bg').length,
    width: box.width,
    height: box.height,
    room: parent.getBoundingClientRect().width,
  });
}
return out;
"""


def _wait_for_plots(driver: Any) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    def state(d: Any) -> str | None:
        body = d.find_element("tag name", "body")
        failed = body.get_attribute("data-plots-failed")
        if failed:
            return f"failed: {failed}"
        return body.get_attribute("data-plots-drawn")

    return str(WebDriverWait(driver, WAIT_SECONDS, poll_frequency=0.2).until(state))


def _check_page(
    chromium: Chromium, report: ReportResult, shot: Path, *, click_view: str | None = None
) -> list[dict[str, Any]]:
    """Open the report at a laptop's window size, check it, save screenshots."""
    from selenium.webdriver.support.ui import WebDriverWait

    expected = figures(report.path.read_text(encoding="utf-8"))
    with chromium_driver(chromium, width=1366, height=800) as driver:
        driver.get(report.path.resolve().as_uri())
        drawn = _wait_for_plots(driver)
        assert drawn == str(len(expected)), f"page reports {drawn!r}, expected {len(expected)} figures"
        found = driver.execute_script(_INSPECT)
        resources = driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name)")
        layout = driver.execute_script(
            "const n = document.querySelector('nav.side').getBoundingClientRect();"
            "const m = document.querySelector('main').getBoundingClientRect();"
            "return {nav: n.right, main: m.left, page: document.documentElement.scrollWidth,"
            " view: window.innerWidth}"
        )
        driver.save_screenshot(str(shot.with_name(shot.stem + "-top.png")))
        if click_view is not None:
            # the navigation takes the reader to a view
            driver.find_element("css selector", f"nav.side a[href='#view-{click_view}']").click()
            WebDriverWait(driver, 10, poll_frequency=0.1).until(
                lambda d: (
                    abs(
                        d.execute_script(
                            f"return document.getElementById('view-{click_view}').getBoundingClientRect().top"
                        )
                    )
                    < 40
                )
            )
            driver.save_screenshot(str(shot.with_name(f"{shot.stem}-{click_view}.png")))
        console = driver.get_log("browser")
        full_page_screenshot(driver, shot)
    assert sorted(f["id"] for f in found) == sorted(expected)
    for fig in found:
        assert fig["svg"] >= 1, f"{fig['id']} has no plot SVG"
        assert fig["marks"] >= 1, f"{fig['id']} drew nothing"
        assert fig["height"] >= 150, fig
        # a figure sized before its grid row existed would overflow its section
        assert 250 <= fig["width"] <= fig["room"] + 1, fig
    # laptop width: navigation beside the content, no horizontal scrolling
    assert layout["nav"] <= layout["main"] + 1
    assert layout["page"] <= layout["view"], layout
    assert [r for r in resources if not r.startswith(("file:", "data:", "blob:"))] == []
    errors = [e for e in console if e.get("level") == "SEVERE"]
    assert errors == [], errors
    assert shot.stat().st_size > 50_000
    return found


def test_demo_report_draws_every_figure_in_chromium(
    chromium: Chromium, demo_report: ReportResult, artifacts: Path
) -> None:
    found = _check_page(chromium, demo_report, artifacts / "report.png", click_view="channel")
    assert len(found) >= 16  # RFM grid + five figures for each of three views


def test_report_with_history_and_sync_draws_every_figure_in_chromium(
    chromium: Chromium, synthetic_report: ReportResult, artifacts: Path
) -> None:
    found = _check_page(chromium, synthetic_report, artifacts / "report-history-sync.png")
    kinds = {f["id"].rsplit("-", 1)[-1] for f in found}
    assert {"sankey", "transitions", "drift", "history", "projection", "k"} <= kinds
