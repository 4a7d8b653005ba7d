"""Two-factor sign-in (TOTP): required for admins, available to all staff; the gate is global."""
from __future__ import annotations

import re
import time

import pyotp
import pytest
from flask import Blueprint
from sqlalchemy import select

from portal.domain.access import Role
from portal.extensions import db
from portal.models import AuditEntry, User
from portal.services import totp
from portal.services.users import create_user
from tests.conftest import TEST_PASSWORD, TEST_TOTP_SECRET


@pytest.fixture
def fresh_admin(app, users, now):
    """An admin who has not set up two-factor sign-in yet."""
    create_user(now, username="admin2", display_name="新管理员", role=Role.ADMIN, unit=users["admin"].unit,
                password=TEST_PASSWORD)
    db.session.commit()
    return users["admin2"]


@pytest.fixture
def other_admin_page(app):
    """An admin page another engineer's blueprint adds (here: /admin/jobs), unaware of the gate."""
    bp = Blueprint("jobs_admin", __name__)

    @bp.route("/admin/jobs")
    def index():
        return "job runs"

    app.register_blueprint(bp)
    return "/admin/jobs"


def sign_in(client, username):
    return client.post("/login", data={"username": username, "password": TEST_PASSWORD})


def code_for(user, offset: int = 0) -> str:
    return pyotp.TOTP(totp.secret_of(user)).at(time.time() + offset * 30)


def test_an_admin_without_totp_is_sent_to_enrolment_before_any_page(client, fresh_admin, other_admin_page):
    resp = sign_in(client, "admin2")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/two-factor")
    for url in ("/admin/", "/admin/users", "/staff/", other_admin_page):
        resp = client.get(url)
        assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/two-factor"), url
    resp = client.post("/admin/users", data={"username": "sneaky", "role": "admin", "unit": 1})
    assert resp.status_code == 303 and db.session.scalar(select(User).where(User.username == "sneaky")) is None
    # htmx requests are redirected the htmx way
    resp = client.get("/admin/units", headers={"HX-Request": "true"})
    assert resp.status_code == 204 and resp.headers["HX-Redirect"].endswith("/account/two-factor")
    # public pages stay open
    assert client.get("/").status_code == 200


def test_enrolment_shows_a_qr_code_and_needs_a_valid_code(client, fresh_admin, other_admin_page):
    sign_in(client, "admin2")
    body = client.get("/account/two-factor").get_data(as_text=True)
    assert "<svg" in body and "<script" not in body.split("<main", 1)[1] and "style=" not in body
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', body).group(1)
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == "admin2"))
    assert user.totp_secret and secret not in user.totp_secret       # stored encrypted
    assert totp.secret_of(user) == secret and not user.totp_enabled
    resp = client.post("/account/two-factor", data={"code": "000000"})
    assert resp.status_code == 400 and client.get("/admin/").status_code == 303
    resp = client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    assert resp.status_code == 303
    db.session.expire_all()
    assert user.totp_enabled
    assert client.get("/admin/").status_code == 200 and client.get(other_admin_page).status_code == 200
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.enable_totp")).user_id == user.id


def test_sign_in_with_a_code_and_a_code_works_once(client, users):
    admin = users["admin"]
    resp = sign_in(client, "admin")
    assert resp.headers["Location"].endswith("/login/code")
    assert client.get("/admin/").status_code == 302          # not signed in yet
    assert client.post("/login/code", data={"code": "123456"}).status_code == 401
    code = pyotp.TOTP(TEST_TOTP_SECRET).now()
    resp = client.post("/login/code", data={"code": code})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/staff/")
    assert client.get("/admin/").status_code == 200
    client.post("/logout")
    sign_in(client, "admin")
    assert client.post("/login/code", data={"code": code}).status_code == 401     # replay refused


def test_five_wrong_codes_lock_the_account(client, users):
    sign_in(client, "admin")
    for _ in range(5):
        client.post("/login/code", data={"code": "000000"})
    db.session.expire_all()
    assert users["admin"].locked_until is not None
    resp = client.post("/login/code", data={"code": code_for(users["admin"])})   # the pending step is gone
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")
    assert client.get("/admin/").status_code == 302
    assert sign_in(client, "admin").status_code == 401


def test_the_code_step_needs_the_password_step_first(client):
    resp = client.get("/login/code")
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/login")


def test_other_staff_may_enrol_and_then_need_a_code(client, login_as, users):
    login_as("jianwai")
    assert client.get("/staff/").status_code == 200               # not required for handlers
    body = client.get("/account/two-factor").get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]+)</code>', body).group(1)
    client.post("/account/two-factor", data={"code": pyotp.TOTP(secret).now()})
    client.post("/logout")
    resp = sign_in(client, "jianwai")
    assert resp.headers["Location"].endswith("/login/code")
    login_as("jianwai")                                            # the fixture completes the step
    assert client.get("/staff/").status_code == 200


def test_an_admin_resets_a_lost_second_factor(client, login_as, users, now):
    create_user(now, username="admin2", display_name="管理员二", role=Role.ADMIN, unit=users["admin"].unit,
                password=TEST_PASSWORD)
    totp.set_secret(users["admin2"], pyotp.random_base32())
    db.session.commit()
    login_as("admin")
    assert client.post(f"/admin/users/{users['admin2'].id}/reset-totp").status_code == 303
    client.post("/logout")
    resp = sign_in(client, "admin2")
    assert resp.headers["Location"].endswith("/account/two-factor")


def test_admin_home_links_other_admin_pages_once_they_exist(client, login_as, other_admin_page):
    login_as("admin")
    assert 'href="/admin/jobs"' in client.get("/admin/").get_data(as_text=True)


def test_a_changed_secret_key_cannot_read_the_secret(app, users):
    user = users["admin"]
    assert totp.secret_of(user) == TEST_TOTP_SECRET
    app.config["SECRET_KEY"] = "another-key"
    assert totp.secret_of(user) is None


def test_the_command_line_resets_a_lost_second_factor(app, client, users):
    result = app.test_cli_runner().invoke(args=["portal", "reset-two-factor", "admin"])
    assert result.exit_code == 0, result.output
    db.session.expire_all()
    assert not users["admin"].totp_enabled and users["admin"].totp_secret is None
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.reset_totp")).user_id is None
    assert sign_in(client, "admin").headers["Location"].endswith("/account/two-factor")
    assert app.test_cli_runner().invoke(args=["portal", "reset-two-factor", "nobody"]).exit_code != 0
