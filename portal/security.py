"""Production hardening (issue 9): security headers, cookie flags, generic error pages with
an error id, a database outage answered with 503, and a log filter that keeps phones, names
and passwords out of every log line.

``init_security(app)`` is called once by ``create_app``.
"""
from __future__ import annotations

import logging
import re
import secrets

from flask import Flask, g, make_response, render_template, request
from flask_babel import gettext as _

log = logging.getLogger("portal.errors")

#: A CSP with no 'unsafe-inline' and no 'unsafe-eval': every script, style and image is a
#: file served by the portal itself. htmx's indicator <style> is switched off in base.html
#: (meta htmx-config) and its rules live in portal.css.
CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}

#: Blueprints whose every page is for signed-in staff: never cached by a browser or a proxy.
STAFF_BLUEPRINTS = frozenset({"staff", "admin", "auth", "dashboard", "governance", "kb"})


def init_security(app: Flask) -> None:
    from flask_talisman import Talisman

    https = bool(app.config.get("HTTPS"))
    if app.config.get("PROXY_FIX"):
        from werkzeug.middleware.proxy_fix import ProxyFix
        hops = int(app.config["PROXY_FIX"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    Talisman(
        app,
        force_https=https,                      # behind TLS: redirect plain http to https
        strict_transport_security=True,         # Talisman sends HSTS only on a secure request
        strict_transport_security_max_age=365 * 24 * 3600,
        strict_transport_security_include_subdomains=False,
        session_cookie_secure=https,
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        frame_options="DENY",
        content_security_policy=CSP,
        referrer_policy="same-origin",
        x_content_type_options=True,
        permissions_policy={"geolocation": "()", "camera": "()", "microphone": "()"},
    )
    app.config["SESSION_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SECURE"] = https
    app.config["REMEMBER_COOKIE_SAMESITE"] = "Lax"
    # a database error must never carry a citizen's name or phone into a log line; a pooled
    # connection that died with a database restart is replaced before it is used
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    options.setdefault("hide_parameters", True)
    options.setdefault("pool_pre_ping", True)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options

    @app.after_request
    def _no_store(response):
        from flask_login import current_user
        staff_page = request.blueprint in STAFF_BLUEPRINTS
        try:
            signed_in = current_user.is_authenticated
        except Exception:   # the user could not be loaded (database down): treat as staff page
            signed_in = True
        if staff_page or signed_in:
            response.headers["Cache-Control"] = "no-store"
        if 400 <= response.status_code < 500 and g.get("request_id"):
            # the error page shows this id; 5xx are logged (with the traceback) by their handler
            log.info("http %s error_id=%s %s %s", response.status_code, g.request_id, request.method, request.path)
        return response

    register_error_pages(app)
    install_log_redaction()


def install_session_teardown(app: Flask) -> None:
    """Call after ``db.init_app``: end the request's session first, swallowing a database error.

    When the database goes away after the response was built, Flask-SQLAlchemy's own teardown
    (rollback on a dead connection) would raise and turn a finished response into a 500.
    Teardown functions run in reverse order, so this one runs before Flask-SQLAlchemy's, which
    then finds nothing left to close.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from .extensions import db

    @app.teardown_appcontext
    def _remove_session(exc):
        try:
            db.session.remove()
        except SQLAlchemyError as error:
            log.warning("database session could not be closed cleanly: %s", type(error).__name__)
            try:
                db.session.remove()
            # the connection is gone; the pool discards it
            except SQLAlchemyError:  # nosec B110
                pass


def _render_error(status: int, message: str):
    """The generic page: no traceback, an id that is also in the log line."""
    from .extensions import db, login_manager
    try:
        db.session.rollback()
    # the connection is already gone; nothing to undo
    except Exception:  # nosec B110
        pass
    if "_login_user" not in g or status == 503:
        g._login_user = login_manager.anonymous_user()   # rendering must not touch the database
    from .web.htmx import is_htmx
    template = "errors/_message.html" if is_htmx() else "errors/error.html"
    response = make_response(render_template(template, status=status, message=message, request_id=error_id()),
                             status)
    if status == 503:
        response.headers["Retry-After"] = "30"
    return response


def new_request_id() -> str:
    """12 hex digits that staff can find in the log: drawn again while they hold a run of seven
    digits, which the log's privacy filter would mask as a phone number (a CI run drew one)."""
    while True:
        rid = secrets.token_hex(6)
        if not re.search(r"\d{7}", rid):
            return rid


def error_id() -> str:
    if not g.get("request_id"):
        g.request_id = new_request_id()
    return g.request_id


def register_error_pages(app: Flask) -> None:
    from sqlalchemy.exc import DBAPIError, OperationalError
    from werkzeug.exceptions import HTTPException

    def _database_down(exc):
        log.error("database unavailable error_id=%s %s %s: %s", error_id(), request.method, request.path,
                  type(exc).__name__)
        return _render_error(503, _("系统暂时无法访问，请稍后再试。"))

    def _is_disconnect(exc) -> bool:
        return isinstance(exc, OperationalError) or bool(getattr(exc, "connection_invalidated", False))

    @app.errorhandler(Exception)
    def _unhandled(exc):
        if isinstance(exc, HTTPException):     # 404, 405 … have their own handlers or pass through
            return exc
        if isinstance(exc, DBAPIError) and _is_disconnect(exc):
            return _database_down(exc)
        log.error("internal error error_id=%s %s %s", error_id(), request.method, request.path, exc_info=exc)
        return _render_error(500, _("系统出现错误，请稍后再试。"))

    @app.errorhandler(500)
    def _internal(exc):
        original = getattr(exc, "original_exception", None)
        if original is not None:
            return _unhandled(original)
        log.error("internal error error_id=%s %s %s", error_id(), request.method, request.path)
        return _render_error(500, _("系统出现错误，请稍后再试。"))


# ---------------------------------------------------------------------------------------------
# log redaction

REDACTED = "[已隐去]"
#: mainland mobiles (optionally +86 / 86), landlines with an area code, e-mail addresses
_PHONE = re.compile(r"(?<![\w.])(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)"
                    r"|(?<![\w.])0\d{2,3}-?\d{7,8}(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
#: key=value / key: value / "key": "value" for personal and secret fields
_KEYS = r"(?:citizen_name|citizen_phone|citizen_email|contact_name|name|phone|mobile|email|password\w*|passwd|secret|token|recipient)"
_FIELD = re.compile(r"(?i)(['\"]?\b" + _KEYS + r"['\"]?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s,;&)}\]]+)")
#: SQLAlchemy error text quotes the statement's parameters
_PARAMS = re.compile(r"\[parameters: .*?\]", re.S)


def redact(text: str) -> str:
    if not text:
        return text
    text = _PARAMS.sub("[parameters: " + REDACTED + "]", text)
    text = _FIELD.sub(lambda m: m.group(1) + REDACTED, text)
    text = _EMAIL.sub(REDACTED, text)
    return _PHONE.sub(REDACTED, text)


_installed = False


def install_log_redaction() -> None:
    """Every log record of the process (Flask, gunicorn, SQLAlchemy, ours) is redacted when
    it is created, so no handler or formatter can write the raw text."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: keep the record as logging would
            return record
        record.msg, record.args = redact(message), None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
