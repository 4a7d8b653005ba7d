"""Sign-in, scope (404 outside it), the queue and a request's page, HTMX fragments."""
import pytest
from sqlalchemy import select

from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import User
from tests.conftest import TEST_PASSWORD


def test_staff_pages_need_login(client, make_ticket):
    t = make_ticket(Status.DISPATCHED)
    for url in ("/staff/", f"/staff/tickets/{t.id}"):
        resp = client.get(url)
        assert resp.status_code == 302
        assert "/login" in resp.headers["Location"]


def test_login_wrong_password_is_refused(client):
    resp = client.post("/login", data={"username": "jianwai", "password": "wrong-password"})
    assert resp.status_code == 401
    assert "用户名或密码不正确" in resp.get_data(as_text=True)
    assert client.get("/staff/").status_code == 302


def test_login_unknown_user_and_empty_fields(client):
    assert client.post("/login", data={"username": "nobody", "password": TEST_PASSWORD}).status_code == 401
    resp = client.post("/login", data={"username": "", "password": ""})
    html = resp.get_data(as_text=True)
    assert "请输入用户名" in html and "请输入密码" in html
    assert 'aria-describedby="username-error"' in html and 'aria-invalid="true"' in html
    assert '"None"' not in html


def test_inactive_user_cannot_login(client, users):
    users["jianwai"].active = False
    db.session.commit()
    assert client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD}).status_code == 401


def test_logout_ends_session(client, login_as):
    login_as("jianwai")
    assert client.get("/staff/").status_code == 200
    assert client.post("/logout").status_code == 303
    assert client.get("/staff/").status_code == 302


def test_staff_pages_are_not_cached(client, login_as):
    login_as("jianwai")
    assert client.get("/staff/").headers["Cache-Control"] == "no-store"


def test_queue_shows_only_own_scope(client, login_as, make_ticket):
    mine = make_ticket(Status.DISPATCHED, unit="110105001")
    other = make_ticket(Status.DISPATCHED, unit="110108001")      # 海淀区 street
    login_as("jianwai")
    html = client.get("/staff/").get_data(as_text=True)
    assert mine.tracking_no in html
    assert other.tracking_no not in html


def test_district_sees_its_streets_requests(client, login_as, make_ticket):
    t = make_ticket(Status.HANDLING, unit="110105001")
    login_as("chaoyang")
    html = client.get("/staff/", query_string={"tab": "all"}).get_data(as_text=True)
    assert t.tracking_no in html
    assert t.tracking_no not in client.get("/staff/", query_string={"tab": "to_sign"}).get_data(as_text=True)
    assert client.get(f"/staff/tickets/{t.id}").status_code == 200


@pytest.mark.parametrize("username,expected", [
    ("jianwai", 200), ("jianwai.leader", 200), ("chaoyang", 200), ("operator", 200), ("dispatcher", 200),
    ("chaowai", 404),       # sibling street
    ("scjgj", 404),         # a city department
    ("admin", 404),         # admins keep config, not requests
])
def test_ticket_page_access_table(client, login_as, make_ticket, username, expected):
    t = make_ticket(Status.HANDLING, unit="110105001")
    login_as(username)
    assert client.get(f"/staff/tickets/{t.id}").status_code == expected


def test_unknown_ticket_is_404(client, login_as):
    login_as("operator")
    assert client.get("/staff/tickets/999999").status_code == 404


def test_ticket_page_shows_masked_contact_and_permitted_actions(client, login_as, make_ticket):
    t = make_ticket(Status.DISPATCHED, unit="110105001", citizen_name="张三丰", citizen_phone="13912345678")
    login_as("jianwai")
    html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "139****5678" in html and "13912345678" not in html
    assert "张**" in html and "张三丰" not in html
    actions = html.split("您现在可以进行的操作")[1].split("办理过程")[0]
    assert "签收" in actions and "申请退单" in actions
    assert "派单" not in actions
    login_as("chaoyang")           # the district sees it but does not hold it
    html = client.get(f"/staff/tickets/{t.id}").get_data(as_text=True)
    assert "当前没有需要您处理的操作" in html


def test_tabs_and_counts(client, login_as, make_ticket):
    a = make_ticket(Status.DISPATCHED)
    b = make_ticket(Status.HANDLING)
    login_as("jianwai")
    html = client.get("/staff/", query_string={"tab": "handling"}).get_data(as_text=True)
    assert b.tracking_no in html and a.tracking_no not in html
    tabs = html.split('id="tabs"')[1].split("</nav>")[0]
    assert "待签收\n          <span class=\"count\">1</span>" in tabs
    assert "办理中\n          <span class=\"count\">1</span>" in tabs


def test_queue_htmx_returns_fragment(client, login_as, make_ticket):
    t = make_ticket(Status.DISPATCHED)
    login_as("jianwai")
    resp = client.get("/staff/", headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert "<html" not in html and t.tracking_no in html


def test_login_session_is_cleared_and_bumped_epoch_logs_out(client, login_as, users):
    login_as("jianwai")
    user = db.session.scalar(select(User).where(User.username == "jianwai"))
    user.session_epoch += 1          # e.g. a password change elsewhere
    db.session.commit()
    assert client.get("/staff/").status_code == 302


class TestCsrf:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    def test_login_without_csrf_token_is_refused(self, client):
        resp = client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD})
        assert resp.status_code == 400
        assert "页面已过期" in resp.get_data(as_text=True)
        assert client.get("/staff/").status_code == 302
