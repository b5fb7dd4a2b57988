"""The page at ``/`` in real headless Chromium (Debian's chromium + chromium-driver): paste a
document, see translated spans highlighted with their source on hover, removed chrome apart.

Skipped when Chromium is not installed, unless TRANSNORM_REQUIRE_BROWSER=1 (CI sets it)."""

from __future__ import annotations

import os
import shutil

import pytest
from conftest import SEEDS

pytestmark = pytest.mark.slow  # headless Chromium against a real server

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("TRANSNORM_REQUIRE_BROWSER") == "1":
            pytest.fail("Chromium and chromedriver are required (apt-get install chromium chromium-driver)")
        pytest.skip("Chromium not installed")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium')}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def _paste(driver, text: str) -> None:
    """What a paste does: the text lands in the textarea and a paste event fires."""
    driver.execute_script(
        """
        const area = document.getElementById('input');
        area.focus();
        area.value = arguments[0];
        const data = new DataTransfer();
        data.setData('text/plain', arguments[0]);
        area.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        """,
        text,
    )


def _wait_for_status(driver) -> str:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, 60).until(lambda d: d.find_element("id", "status").text not in ("", "working…"))
    return driver.find_element("id", "status").text


def test_paste_shows_translated_spans_highlighted(browser, server):
    browser.get(server + "/")
    assert browser.title == "transnorm"
    _paste(browser, next(SEEDS.glob("003_*.txt")).read_text(encoding="utf-8"))
    status = _wait_for_status(browser)
    assert status.startswith("complete"), status
    marks = browser.find_elements("css selector", "#out mark.tr")
    assert len(marks) >= 25
    for mark in marks:
        assert mark.get_attribute("lang") == "en-x-mtfrom-zh"
        title = mark.get_attribute("title")
        assert title.startswith("zh → en: ") and any("\u4e00" <= c <= "\u9fff" for c in title)
        assert not any("\u4e00" <= c <= "\u9fff" for c in mark.text)
    out = browser.find_element("id", "out").text
    assert "Koltunov stepped down" in out
    assert browser.find_element("id", "downloads").is_displayed()
    assert browser.find_element("id", "dl-json").get_attribute("href").startswith("blob:")
    assert not browser.find_element("id", "warnings-section").is_displayed()


def test_untranslatable_text_is_marked_and_warned_about(browser, server):
    browser.get(server + "/")
    _paste(browser, "An English line.\n日本政府は来週、新たな経済対策を発表する予定だ。\n")
    status = _wait_for_status(browser)
    assert status.startswith("incomplete"), status
    (mark,) = browser.find_elements("css selector", "#out mark.un")
    assert mark.get_attribute("lang") == "ja" and "no-model" in mark.get_attribute("title")
    assert browser.find_element("id", "warnings-section").is_displayed()
    warnings = [li.text for li in browser.find_elements("css selector", "#warnings li")]
    assert warnings == ["no installed package translates ja into English"]


def test_paste_shows_removed_chrome_apart(browser, server):
    browser.get(server + "/")
    _paste(browser, next(SEEDS.glob("004_*.txt")).read_text(encoding="utf-8"))
    _wait_for_status(browser)
    removed = [li.text for li in browser.find_elements("css selector", "#removed li")]
    assert "chrome: Озвучить текст" in removed
    assert "upstream-mt-notice: Переведено сервисом «Яндекс Переводчик»" in removed
    assert "Озвучить текст" not in browser.find_element("id", "out").text
    notices = browser.find_element("id", "notices").text
    assert "Yandex Translate" in notices


def test_error_is_shown_not_swallowed(browser, server):
    browser.get(server + "/")
    browser.find_element("id", "chrome").send_keys("keep")
    browser.execute_script("document.getElementById('input').value = 'x'.repeat(200000);")
    browser.find_element("id", "go").click()
    status = _wait_for_status(browser)
    assert "too large" in status.lower() or "limit" in status.lower(), status


def test_the_download_bar_is_hidden_until_a_document_is_processed(browser, server):
    """Regression: a CSS rule (display: flex) overrode ``hidden``: the bar showed before anything was done."""
    browser.get(server + "/")
    assert not browser.find_element("id", "downloads").is_displayed()


def test_a_dropped_html_page_is_read_as_a_page(browser, server):
    """A dropped .html file goes to the service as the page's bytes (text/html): its text is what a reader
    sees, its chrome is removed apart, and the download gives the page back."""
    page = (
        "<!DOCTYPE html><html lang=en><head><title>A page</title><style>p{color:red}</style></head><body>"
        "<nav><a href=/>Home</a> <a href=/world>World</a></nav>"
        "<p>An English paragraph about the talks.</p><script>var x = 1;</script>"
        "<p>据新华社报道，国务院周一宣布了新的经济政策。</p></body></html>"
    )
    browser.get(server + "/")
    browser.execute_script(
        """
        const area = document.getElementById('input');
        const data = new DataTransfer();
        data.items.add(new File([arguments[0]], 'article.html', {type: 'text/html'}));
        area.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));
        """,
        page,
    )
    _wait_for_status(browser)
    out = browser.find_element("id", "out").text
    assert "An English paragraph about the talks." in out and "A page" in out
    assert "<p>" not in out and "var x" not in out and "color:red" not in out
    removed = [li.text for li in browser.find_elements("css selector", "#removed li")]
    assert "chrome: Home World" in removed or {"chrome: Home", "chrome: World"} <= set(removed), removed
    assert browser.find_element("id", "downloads").is_displayed()
