"""The citizen's whole path in Chromium: submit with a photo → receipt → track → (the staff steps,
driven through the services) → the reply → rate → the rating. Accessibility (axe-core) on every
citizen page in both languages, and the same form without JavaScript."""
from __future__ import annotations

import pytest
from PIL import Image
from sqlalchemy import select

from portal.domain.deadlines import utcnow
from portal.domain.lifecycle import Action, Status
from portal.extensions import db
from portal.models import KbArticle, Ticket
from portal.services.tickets import perform
from tests.browser.conftest import axe_violations

pytestmark = pytest.mark.browser
CONTENT = "小区东门外的路灯已经连续一周不亮了，晚上出行很不方便，请尽快安排维修。"
REPLY = "经核实，路灯线路老化，已于今日更换，恢复照明。"


@pytest.fixture
def app_config(tmp_path):
    # CSRF on, as in production: the forms and htmx's posts (the suggestions) carry their token
    return {"UPLOAD_DIR": str(tmp_path / "uploads"), "WTF_CSRF_ENABLED": True}


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "street-light.jpg"
    Image.new("RGB", (120, 90), (250, 200, 0)).save(path, "JPEG")
    return path


def ticket_by_number(number: str) -> Ticket:
    db.session.rollback()          # end this thread's read snapshot: the server wrote since
    return db.session.scalar(select(Ticket).where(Ticket.tracking_no == number))


def drive_to_feedback(number: str, units, users) -> None:
    """The center and the street, through the one service (as the staff pages would)."""
    t = ticket_by_number(number)
    perform(t, Action.ACCEPT, users.actor("operator"), utcnow())
    perform(t, Action.DISPATCH, users.actor("dispatcher"), utcnow(), unit=units["110105001"])
    perform(t, Action.SIGN, users.actor("jianwai"), utcnow())
    perform(t, Action.FEEDBACK, users.actor("jianwai"), utcnow(), reply=REPLY)
    db.session.commit()


def _value(model, **by) -> str:
    db.session.rollback()
    return str(db.session.scalar(select(model.id).filter_by(**by)))


def fill_form(page, photo=None, js=True):
    """Fills the form by option values, so it works in either language."""
    from portal.models import Category, Unit
    page.check("#kind-2")                                 # 投诉
    if js:   # the cascades load with htmx
        page.select_option("#category_parent", value=_value(Category, code="SZSS"))
        page.wait_for_function("() => !document.querySelector('#category optgroup')")
        page.select_option("#district", value=_value(Unit, code="110105"))
        page.wait_for_function("() => !document.querySelector('#street optgroup')")
    page.select_option("#category", value=_value(Category, code="SZSS-LD"))     # 路灯不亮
    page.select_option("#district", value=_value(Unit, code="110105"))          # 朝阳区
    page.select_option("#street", value=_value(Unit, code="110105001"))         # 建外街道
    page.fill("#address", "建国门外大街1号院东门")
    page.fill("#name", "李小龙")
    page.fill("#phone", "139 1234 5678")
    if photo is not None:
        page.set_input_files("#photos", str(photo))
    page.fill("#content", CONTENT)


def test_whole_path_submit_track_reply_rate(live_server, page, photo, units, users, now):
    db.session.add(KbArticle(question="路灯不亮由谁负责维修？", answer="城市道路路灯由区城市管理委员会负责维修。",
                             keywords="路灯", active=True, created_at=now, updated_at=now))
    db.session.commit()
    page.goto(live_server + "/")
    page.get_by_role("link", name="我要反映").click()
    page.wait_for_url("**/submit")
    fill_form(page, photo)
    page.locator("#content").press("End")                 # a key up: the suggestions load beside the form
    page.wait_for_selector("#suggestions >> text=路灯不亮由谁负责维修？")
    page.get_by_role("button", name="确认提交").click()
    page.wait_for_url("**/submit/receipt")
    number = page.locator("#tracking-no").inner_text().strip()
    code = page.locator("#query-code").inner_text().strip()
    t = ticket_by_number(number)
    assert t.status is Status.SUBMITTED and t.query_code == code and len(t.attachments) == 1
    assert "李小龙" not in page.content() and "13912345678" not in page.content()

    page.goto(live_server + "/track")                      # a fresh lookup, as from another day
    page.fill("#tracking_no", number)
    page.fill("#secret", code.lower())
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"**/track/{number}")
    assert "待受理" in page.locator("h1").inner_text()
    img = page.locator("ul.photos img").first
    img.wait_for()
    assert page.evaluate("(img) => img.complete && img.naturalWidth === 120", img.element_handle())

    drive_to_feedback(number, units, users)
    page.reload()
    assert REPLY in page.locator("#reply-title + p + p").inner_text()
    assert "建外街道" in page.locator("#timeline").inner_text()

    page.get_by_label("已解决", exact=True).check()
    page.get_by_label("满意", exact=True).check()
    page.fill("#comment", "修得很快，谢谢！")
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert "感谢您的评价" in page.locator(".flashes").inner_text()
    rating = page.locator(".rating-done").inner_text()
    assert "已解决" in rating and "满意" in rating and "修得很快" in rating
    assert "已回访" in page.locator("h1").inner_text()
    assert ticket_by_number(number).status is Status.CALLED_BACK


def test_not_resolved_tells_the_citizen_the_center_decides(live_server, page, make_ticket):
    t = make_ticket(Status.FED_BACK)
    page.goto(live_server + "/track")
    page.fill("#tracking_no", t.tracking_no)
    page.fill("#secret", t.citizen_phone[-4:])
    page.get_by_role("button", name="查询").click()
    page.wait_for_url(f"**/track/{t.tracking_no}")
    page.get_by_label("未解决").check()
    page.get_by_label("不满意").check()
    page.get_by_role("button", name="提交评价").click()
    page.wait_for_load_state()
    assert "热线中心将研判是否要求承办单位重新办理" in page.locator(".rating-done").inner_text()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_citizen_pages_have_no_axe_violations(live_server, page, photo, units, users, lang):
    page.goto(f"{live_server}/lang/{lang}")
    for path in ("/", "/submit", "/track"):
        page.goto(live_server + path)
        assert axe_violations(page) == [], path
    # the form with every error shown
    page.goto(live_server + "/submit")
    page.locator("form.submit-form button[type=submit]").click()
    page.wait_for_selector("#error-summary")
    assert axe_violations(page) == [], "submit with errors"
    # the receipt
    page.goto(live_server + "/submit")
    fill_form(page, photo)
    page.locator("form.submit-form button[type=submit]").click()
    page.wait_for_url("**/submit/receipt")
    assert axe_violations(page) == [], "receipt"
    number = page.locator("#tracking-no").inner_text().strip()
    code = page.locator("#query-code").inner_text().strip()
    # a failed lookup, then the timeline
    page.goto(live_server + "/track")
    page.fill("#tracking_no", number)
    page.fill("#secret", "0000")
    page.locator("main form button[type=submit]").click()
    page.wait_for_selector(".flash-error")
    assert axe_violations(page) == [], "lookup error"
    page.fill("#secret", code)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"**/track/{number}")
    assert axe_violations(page) == [], "timeline"
    drive_to_feedback(number, units, users)
    page.reload()
    assert axe_violations(page) == [], "timeline with the rating form"


def test_submit_and_track_without_javascript(browser, live_server, units):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        page.goto(live_server + "/submit")
        fill_form(page, js=False)
        page.get_by_role("button", name="确认提交").click()
        page.wait_for_url("**/submit/receipt")
        number = page.locator("#tracking-no").inner_text().strip()
        code = page.locator("#query-code").inner_text().strip()
        t = ticket_by_number(number)
        assert t.street.code == "110105001" and t.category.code == "SZSS-LD"
        assert t.citizen_phone == "+8613912345678"
        # a street from another district is caught on the server, the rest is kept
        page.goto(live_server + "/submit")
        fill_form(page, js=False)
        from portal.models import Unit
        page.select_option("#street", value=_value(Unit, code="110101001"))     # 东华门街道, 东城区
        page.get_by_role("button", name="确认提交").click()
        assert "所选街道（乡镇）不属于所选的区" in page.locator("#street-error").inner_text()
        assert page.locator("#content").input_value() == CONTENT
        # tracking and a supplement, with plain posts and 303s
        page.goto(live_server + "/track")
        page.fill("#tracking_no", number)
        page.fill("#secret", code)
        page.get_by_role("button", name="查询").click()
        page.wait_for_url(f"**/track/{number}")
        page.fill("#text", "补充：东门保安亭旁边那一根也不亮。")
        page.get_by_role("button", name="提交补充").click()
        page.wait_for_url(f"**/track/{number}")
        assert "东门保安亭旁边那一根也不亮" in page.locator("#timeline").inner_text()
    finally:
        context.close()


def test_keyboard_only_submit(live_server, page, units):
    """Tab reaches every control of the form in order; Space/Enter operate them."""
    page.goto(live_server + "/submit")
    page.locator("#requester_type-0").focus()
    seen = []
    for _ in range(40):
        page.keyboard.press("Tab")
        seen.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    for field_id in ("category_parent", "category", "district", "street", "address", "content", "photos",
                     "anonymous", "name", "phone", "email", "consent_publish"):
        assert field_id in seen, (field_id, seen)
