"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright on loopback.

Needs /usr/bin/chromium (Debian package ``chromium``) and the ``playwright`` Python package;
Playwright's own browser download is never used. Without them these tests skip with the reason,
except under CI (``CI`` set), where they fail so a missing browser cannot pass unnoticed.
"""

from __future__ import annotations

import pytest
from web_support import CHROMIUM, CHROMIUM_ARGS, need_chromium, serve

TIMEOUT_MS = 60_000


@pytest.fixture(scope="module")
def base_url():
    need_chromium()
    from wormlab.engine.simulate import warm_up
    from wormlab.web.app import create_app

    warm_up()  # compile or load the kernel before the first click
    with serve(create_app()) as url:
        yield url


@pytest.fixture(scope="module")
def browser(base_url):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, base_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.goto(base_url + "/")
    pg.wait_for_selector("body[data-ready='1']", timeout=TIMEOUT_MS)
    yield pg
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


def run_and_wait(page, key: str) -> None:
    page.evaluate(f"document.getElementById('run-{key}').dataset.state = ''")
    page.click(f"#run-{key}-go")
    page.wait_for_selector(f"#run-{key}[data-state='done']", timeout=TIMEOUT_MS)
    page.wait_for_function(
        f"(() => {{ const m = document.getElementById('map-{key}'); return m.complete && m.naturalWidth > 0; }})()",
        timeout=TIMEOUT_MS)


def ever_infected_shown(page, key: str) -> int:
    return int(page.text_content(f"#summary-{key} td[data-key='ever infected']").replace(",", ""))


def test_default_run_draws_the_chart_and_the_map(page, tmp_path):
    assert page.title() == "wormlab dashboard"
    assert page.input_value("#A-vulnerable_hosts") == "400000"
    run_and_wait(page, "A")
    d = page.get_attribute("#chart-ever path.series-A", "d")
    assert d.startswith("M") and d.count("L") > 2000  # one point per simulated minute
    assert page.locator("#chart-ever g.observed").count() == 2  # the 2001 observations
    assert page.locator("#chart-rate path.series-A").count() == 1
    assert page.locator("#chart-ever g.marker-A").count() == 2  # patch alert, flood day
    assert page.evaluate("document.getElementById('map-A').naturalWidth") == 512
    assert 300_000 < ever_infected_shown(page, "A") < 400_000
    assert "done" in page.text_content("#status-A")
    # the map follows the time slider
    page.evaluate("(() => { const s = document.getElementById('map-minute'); s.value = 300;"
                  " s.dispatchEvent(new Event('input')); })()")
    assert "minute=300" in page.get_attribute("#map-A", "src")
    assert page.text_content("#map-time") == "19 Jul 15:00 UTC"
    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.read_bytes().startswith(b"\x89PNG") and shot.stat().st_size > 50_000


def test_a_defence_changes_the_curve_and_runs_compare(page):
    run_and_wait(page, "A")
    before_d = page.get_attribute("#chart-ever path.series-A", "d")
    before = ever_infected_shown(page, "A")
    page.fill("#B-patch_rate_per_h", "1")
    page.fill("#B-patch_from_h", "2")
    run_and_wait(page, "B")
    after_d = page.get_attribute("#chart-ever path.series-B", "d")
    after = ever_infected_shown(page, "B")
    assert after < before / 2 and after_d != before_d
    assert page.get_attribute("#chart-ever path.series-A", "d") == before_d  # A stays for comparison
    legend = page.text_content("#legend-ever")
    assert "run A" in legend and "run B" in legend


def test_bad_input_shows_a_clear_message(page):
    page.fill("#A-vulnerable_hosts", "5000000")
    page.click("#run-A-go")
    page.wait_for_function("document.getElementById('error-A').textContent.length > 0", timeout=TIMEOUT_MS)
    message = page.text_content("#error-A")
    assert "vulnerable hosts: 5,000,000 is out of range" in message and "1,000,000" in message
    assert page.is_visible("#error-A")
    page.fill("#A-vulnerable_hosts", "400000")
    page.fill("#A-probe_rate_per_s", "-2")
    page.click("#run-A-go")
    page.wait_for_function("document.getElementById('error-A').textContent.includes('probe rate')",
                           timeout=TIMEOUT_MS)
    assert page.locator("#chart-ever path.series-A").count() == 0  # nothing ran


def test_missing_browser_fails_under_ci_and_skips_elsewhere(monkeypatch):
    import web_support

    monkeypatch.setattr(web_support, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="/nonexistent/chromium is missing"):
        web_support.need_chromium()
    monkeypatch.delenv("CI")
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        web_support.need_chromium()
