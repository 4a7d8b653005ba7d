"""Issue 9 · the Content-Security-Policy in Chromium: the citizen's htmx cascades, the receipt's
print button and the handler's htmx action panel all work under the CSP, and the browser
reports no violation (htmx injects no <style>, nothing inline runs)."""
from __future__ import annotations

import pytest

from portal.domain.lifecycle import Status
from tests.browser.test_citizen import fill_form
from tests.browser.test_queues import fresh, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config(tmp_path):
    return {"UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def violations(page):
    """Every CSP violation the browser reports, from the console and from the DOM event."""
    seen: list[str] = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    page.add_init_script("document.addEventListener('securitypolicyviolation',"
                         " e => console.error('Content Security Policy violation: ' + e.violatedDirective))")
    return seen


def test_citizen_path_runs_under_the_csp(live_server, page, violations):
    resp = page.goto(live_server + "/submit")
    assert "unsafe-inline" not in resp.headers["content-security-policy"]
    assert page.evaluate("typeof window.htmx") == "object"                   # the script file loaded
    assert page.evaluate("document.querySelectorAll('style').length") == 0   # htmx injected no <style>
    fill_form(page)                                                          # htmx cascades under the CSP
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/submit/receipt")
    print_button = page.get_by_role("button", name="打印回执")
    assert print_button.is_visible()                                         # portal.js wired it up
    assert violations == []


def test_handler_htmx_panel_runs_under_the_csp(live_server, page, make_ticket, violations):
    t = make_ticket(Status.HANDLING)
    sign_in(page, live_server, "jianwai")
    page.goto(f"{live_server}/staff/tickets/{t.id}")
    page.evaluate("window.__marker = 1")
    page.locator("summary", has_text="反馈").first.click()
    page.get_by_label("答复市民").fill("经现场核实，路灯线路老化，已更换，目前恢复照明。")
    page.locator("details.action[open] button[type=submit]").click()
    page.locator("#ticket-body .flash-success").wait_for()
    assert page.evaluate("window.__marker") == 1                             # swapped by htmx, no reload
    assert fresh(t).status is Status.FED_BACK
    assert violations == []


def test_an_inline_script_would_be_blocked(live_server, page, violations):
    """The check above can fail: an inline script injected into a served page is refused."""
    page.goto(live_server + "/")
    page.evaluate("""() => { const s = document.createElement('script');
                             s.textContent = 'window.__ran = true'; document.body.appendChild(s); }""")
    assert page.evaluate("window.__ran === undefined")
    page.wait_for_function("() => true")
    assert any("Content Security Policy" in v for v in violations)
