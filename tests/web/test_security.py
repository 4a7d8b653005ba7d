"""Issue 9 · security: headers (CSP without 'unsafe-inline', HSTS only over HTTPS, nosniff,
frame-ancestors, Referrer-Policy), cookie flags, no-store on staff pages, the generic error page
whose id is in the log line, a database outage answered with 503, and no phone, name or
password in any log line while the app is driven."""
from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from portal import create_app
from portal.extensions import db
from portal.models import Ticket
from portal.security import redact
from tests.conftest import TEST_PASSWORD, _config

ROOT = Path(__file__).resolve().parents[2]
NAME, PHONE, EMAIL = "欧阳秀英", "13987654321", "xiuying.ouyang@example.com"


def csp(resp) -> dict[str, str]:
    policy = resp.headers["Content-Security-Policy"]
    return {part.split()[0]: " ".join(part.split()[1:]) for part in policy.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/submit", "/track", "/login", "/no-such-page"])
def test_public_pages_carry_the_security_headers(client, path):
    resp = client.get(path)
    policy = csp(resp)
    assert "unsafe-inline" not in resp.headers["Content-Security-Policy"]
    assert "unsafe-eval" not in resp.headers["Content-Security-Policy"]
    assert policy["default-src"] == "'self'" and policy["script-src"] == "'self'" and policy["style-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    assert resp.headers["Referrer-Policy"] == "same-origin"
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert "Strict-Transport-Security" not in resp.headers          # plain http: no HSTS


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/").headers
    secure = client.get("/", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    proxied = client.get("/", headers={"X-Forwarded-Proto": "https"})
    assert "Strict-Transport-Security" in proxied.headers


def test_cookies_are_http_only_and_lax_and_not_secure_over_plain_http(client, login_as):
    resp = client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD})
    cookie = resp.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


class TestHttpsConfig:
    @pytest.fixture
    def app_config(self):
        return {"HTTPS": True}

    def test_plain_http_is_redirected_and_cookies_are_secure(self, client):
        resp = client.get("/track")
        assert resp.status_code in (301, 302) and resp.headers["Location"].startswith("https://")
        resp = client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD},
                           base_url="https://localhost")
        assert resp.status_code == 303
        cookie = resp.headers["Set-Cookie"]
        assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert resp.headers["Strict-Transport-Security"]


def test_staff_pages_are_not_stored_public_pages_may_be(client, login_as):
    assert "no-store" not in client.get("/").headers.get("Cache-Control", "")
    assert "no-store" in client.get("/login").headers["Cache-Control"]
    login_as("jianwai")
    for path in ("/staff/", "/staff/intake/phone", "/"):
        resp = client.get(path)
        assert resp.headers["Cache-Control"] == "no-store", path


class TestCookiesOnlyWhereAFormPosts:
    @pytest.fixture
    def app_config(self):
        return {"WTF_CSRF_ENABLED": True}

    @pytest.mark.parametrize("path", ["/", "/board", "/board/cases", "/topics/"])
    def test_reading_a_public_page_sets_no_cookie(self, client, path):
        """A reader gets no session cookie (nothing to protect on a page without a POST form), so
        a shared cache can keep the page and no visitor is marked."""
        resp = client.get(path)
        assert resp.status_code == 200 and "Set-Cookie" not in resp.headers, path
        assert "X-CSRFToken" not in resp.get_data(as_text=True)

    @pytest.mark.parametrize("path", ["/submit", "/track"])
    def test_pages_with_a_form_that_posts_carry_their_token(self, client, path):
        resp = client.get(path)
        assert 'name="csrf_token"' in resp.get_data(as_text=True) and "Set-Cookie" in resp.headers


def test_staff_pages_send_the_token_with_every_htmx_request(client, login_as):
    login_as("jianwai")
    assert '<body hx-headers=\'{"X-CSRFToken": "' in client.get("/staff/").get_data(as_text=True)


TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_templates_have_no_inline_script_style_or_handler(template):
    html = template.read_text(encoding="utf-8")
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), "inline <script>"
    assert not re.search(r"<style\b", html), "inline <style>"
    assert not re.search(r"\sstyle\s*=", html), "style= attribute"
    assert not re.search(r"\son[a-z]+\s*=", html), "on*= handler"
    assert not re.search(r"\shx-on[:-]", html), "hx-on needs eval"
    assert "javascript:" not in html


def test_htmx_indicator_styles_are_off_and_in_the_stylesheet(client):
    html = client.get("/").get_data(as_text=True)
    assert '<meta name="htmx-config" content=\'{"includeIndicatorStyles": false}\'>' in html
    css = (ROOT / "static/css/portal.css").read_text(encoding="utf-8")
    assert ".htmx-request .htmx-indicator" in css


@pytest.fixture
def boom(app):
    """A route that fails the way a bug would, with a citizen's data in the exception."""
    def _boom():
        raise RuntimeError(f"citizen_name={NAME} phone {PHONE}")
    app.add_url_rule("/_boom", "boom", _boom)
    return "/_boom"


def test_an_error_shows_a_generic_page_with_an_id_that_is_in_the_log(client, boom, caplog):
    caplog.set_level(logging.INFO)
    resp = client.get(boom)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500
    assert "Traceback" not in html and "RuntimeError" not in html and NAME not in html
    error_id = re.search(r"错误编号：([0-9a-f]{12})", html).group(1)
    lines = [r for r in caplog.records if error_id in r.getMessage()]
    assert len(lines) == 1 and lines[0].levelno == logging.ERROR
    assert lines[0].exc_info is not None                 # the traceback is in the log, for staff
    assert NAME not in caplog.text and PHONE not in caplog.text


def test_a_404_page_has_an_id_that_is_in_the_log(client, caplog):
    caplog.set_level(logging.INFO)
    resp = client.get("/nothing-here")
    error_id = re.search(r"错误编号：([0-9a-f]{12})", resp.get_data(as_text=True)).group(1)
    assert any(error_id in r.getMessage() and "404" in r.getMessage() for r in caplog.records)


def test_htmx_error_is_a_fragment_with_the_id(client, boom):
    resp = client.get(boom, headers={"HX-Request": "true"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 500 and "<html" not in html and "错误编号" in html


@pytest.mark.parametrize("url", ["sqlite:////nonexistent-dir/for/portal.db",
                                 "postgresql+psycopg://postgres@127.0.0.1:1/portal?connect_timeout=2"])
def test_database_down_answers_503_with_the_generic_page(url, caplog):
    """Nothing listening / no file: every page that needs the database answers 503, never a traceback."""
    app = create_app(_config(url))
    client = app.test_client()
    caplog.set_level(logging.INFO)
    for path in ("/submit", "/staff/", "/"):
        resp = client.get(path)
        html = resp.get_data(as_text=True)
        if path == "/staff/":
            assert resp.status_code == 302          # not signed in: login first, no database needed
            continue
        assert resp.status_code == 503, (path, html[:300])
        assert resp.headers["Retry-After"] == "30"
        assert "Traceback" not in html and "OperationalError" not in html and "sqlite" not in html.lower()
        error_id = re.search(r"错误编号：([0-9a-f]{12})", html).group(1)
        assert any(error_id in r.getMessage() and "database unavailable" in r.getMessage() for r in caplog.records)
    with app.app_context():
        db.engine.dispose()


def test_redact_removes_phones_emails_names_and_passwords():
    text = redact(f"citizen_name={NAME} phone: +86 139-8765-4321 mail {EMAIL} password='hunter22' "
                  f"landline 010-65123456 [parameters: ('{NAME}', '{PHONE}')] tracking 2611160001234")
    for secret in (NAME, "139-8765-4321", EMAIL, "hunter22", "65123456", PHONE):
        assert secret not in text
    assert "tracking 2611160001234" in text        # tracking numbers (13 digits) are not phones


def test_driving_the_app_leaves_no_phone_name_or_password_in_the_logs(client, app, units, caplog):
    """Submit as a citizen, sign in (badly, then well), reveal the phone, deliver the SMS, fail."""
    from portal.jobs import run_job
    from portal.models import Category
    caplog.set_level(logging.DEBUG)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.INFO)      # even with SQL echo on
    try:
        cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
        resp = client.post("/submit", data={
            "requester_type": "citizen", "kind": "complaint", "urgency": "normal", "category_parent": "",
            "category": str(cat.id), "district": str(units["110105"].id), "street": str(units["110105001"].id),
            "address": "建国门外大街1号", "content": "小区门口的路灯已经连续一周不亮了，晚上出行很不方便，请尽快维修。",
            "name": NAME, "phone": PHONE, "email": EMAIL, "consent_publish": "y"})
        assert resp.status_code == 303, resp.get_data(as_text=True)[:400]
        ticket = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
        assert ticket.citizen_name == NAME
        client.post("/login", data={"username": "jianwai", "password": "wrong-" + TEST_PASSWORD})
        client.post("/login", data={"username": "operator", "password": TEST_PASSWORD})
        client.get(f"/staff/tickets/{ticket.id}")
        client.post(f"/staff/tickets/{ticket.id}/phone")
        run_job(app, "deliver_notifications")
        logging.getLogger("portal.test").warning("as a careless caller would: %s %s", PHONE, EMAIL)
        logging.getLogger("portal.test").info("form data %s", {"name": NAME, "password": TEST_PASSWORD})
    finally:
        logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    assert "notify" in caplog.text                       # the logs did capture the run
    for secret in (PHONE, EMAIL, TEST_PASSWORD, NAME):
        assert secret not in caplog.text, secret


def test_an_error_id_never_looks_like_a_phone_number(monkeypatch):
    """The log masks runs of digits that look like phones; an id drawn like one is drawn again."""
    from portal import security
    drawn = iter(["13812345678d", "1234567abcde", "a1b2c3d4e5f6"])
    monkeypatch.setattr(security.secrets, "token_hex", lambda n: next(drawn))
    assert security.new_request_id() == "a1b2c3d4e5f6"
