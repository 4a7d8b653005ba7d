"""The home page in Chromium: Chinese first, English by the visible switch, sticky, accessible."""
import pytest

from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser


def test_home_renders_in_chinese_and_switches_to_english(live_server, page):
    page.goto(live_server + "/")
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator("h1").inner_text() == "12345 市民服务热线"
    assert page.title().endswith("12345 市民服务热线")

    page.get_by_role("link", name="English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "12345 Citizen Hotline"

    page.reload()                         # the choice sticks
    assert page.locator("h1").inner_text() == "12345 Citizen Hotline"
    page.get_by_role("link", name="中文").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "12345 市民服务热线"


def test_keyboard_reaches_the_switch_and_skip_link(live_server, page):
    page.goto(live_server + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip"
    page.keyboard.press("Enter")
    assert page.evaluate("location.hash") == "#main"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_home_and_login_have_no_axe_violations(live_server, page, lang):
    page.goto(f"{live_server}/lang/{lang}")
    for path in ("/", "/login"):
        page.goto(live_server + path)
        assert axe_violations(page) == [], path


def test_staff_sign_in_and_queue_accessible(live_server, page, make_ticket):
    from portal.domain.lifecycle import Status
    from tests.conftest import TEST_PASSWORD
    t = make_ticket(Status.DISPATCHED)
    page.goto(live_server + "/login")
    page.get_by_label("用户名").fill("jianwai")
    page.get_by_label("密码").fill(TEST_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    assert page.get_by_role("link", name=t.tracking_no).is_visible()
    assert axe_violations(page) == []
    page.get_by_role("link", name=t.tracking_no).click()
    page.wait_for_load_state()
    assert page.get_by_role("button", name="签收", exact=True).is_visible()
    assert axe_violations(page) == []
