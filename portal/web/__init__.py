"""Blueprints, error mapping, Jinja globals and per-request headers."""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, flash, g, make_response, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape

from ..domain.access import Actor, Role, can, permitted_actions
from ..domain.deadlines import to_local
from ..domain.lifecycle import IllegalTransition
from ..domain.privacy import mask_name, mask_phone
from ..extensions import db, login_manager
from ..security import new_request_id
from ..services.tickets import Conflict, InvalidInput, NotPermitted
from . import i18n
from .i18n import gettext as _

log = logging.getLogger("portal.web")


def register(app: Flask) -> None:
    from .admin import bp as admin_bp
    from .auth import bp as auth_bp
    from .governance import bp as governance_bp, public_bp as topics_bp
    from .public import bp as public_bp
    from .staff import bp as staff_bp
    from .health import bp as health_bp
    app.register_blueprint(health_bp)
    app.register_blueprint(public_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(staff_bp)
    from .board import bp as board_bp            # issue 5: public board
    app.register_blueprint(board_bp)
    from .rankings import bp as rankings_bp      # issue 5: job runs, ranking settings, a unit's rates
    app.register_blueprint(rankings_bp)
    app.register_blueprint(admin_bp)
    from .open311 import bp as open311_bp       # issue 8: Open311 API
    from .channels import bp as channels_bp     # issue 8: API keys, outbox, channel counts (admin)
    app.register_blueprint(open311_bp)
    app.register_blueprint(channels_bp)
    from .kb import bp as kb_bp              # issue 7: knowledge base editor, repeat rates
    app.register_blueprint(kb_bp)
    app.register_blueprint(governance_bp)
    app.register_blueprint(topics_bp)

    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(token: str):
        from ..models import User
        try:
            uid, epoch = (int(x) for x in token.split(":"))
        except ValueError:
            return None
        user = db.session.get(User, uid)
        return user if user is not None and user.session_epoch == epoch and user.active else None

    @app.before_request
    def _request_id():
        g.request_id = new_request_id()

    @app.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.blueprint in ("staff", "admin") or (current_user.is_authenticated and request.blueprint == "auth"):
            response.headers["Cache-Control"] = "no-store"
        response.vary.add("Cookie")
        return response

    @app.route("/lang/<code>")
    def set_language(code: str):
        target = request.args.get("next") or url_for("public.home")
        if urlsplit(target).netloc or not target.startswith("/"):
            target = url_for("public.home")
        response = make_response(redirect(target, code=303))
        if code in app.config["LANGUAGES"]:
            response.set_cookie(i18n.COOKIE, code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
        return response

    def _error(status: int, message: str):
        db.session.rollback()
        from .htmx import is_htmx
        template = "errors/_message.html" if is_htmx() else "errors/error.html"
        return render_template(template, status=status, message=message, request_id=g.get("request_id")), status

    @app.errorhandler(NotPermitted)
    def _not_permitted(exc):
        return _error(403, _("您没有权限进行此操作。"))

    @app.errorhandler(IllegalTransition)
    def _illegal(exc):
        return _error(409, _("该诉求当前状态下不能进行此操作，请刷新页面。"))

    @app.errorhandler(Conflict)
    def _conflict(exc):
        return _error(409, _("其他人刚刚处理了这件诉求，请刷新后再操作。"))

    @app.errorhandler(CSRFError)
    def _csrf(exc):
        return _error(400, _("页面已过期或请求来源无法验证，请刷新页面后重试。"))

    @app.errorhandler(404)
    def _404(exc):
        return _error(404, _("页面不存在。"))

    @app.errorhandler(405)
    def _405(exc):
        return _error(405, _("不支持该请求方式。"))

    @app.errorhandler(500)
    def _500(exc):
        log.error("internal error request_id=%s path=%s", g.get("request_id"), request.path)
        return _error(500, _("系统出现错误，请稍后再试。"))

    @app.context_processor
    def _globals():
        return {
            "current_locale": str(get_locale()),
            "Role": Role,
        }

    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.globals.update(
        can=can, permitted_actions=permitted_actions, mask_phone=mask_phone, mask_name=mask_name,
        actor_of=actor_of, has_endpoint=lambda name: name in app.view_functions,
    )
    app.jinja_env.filters["local"] = _local_time
    app.jinja_env.filters["tr"] = lambda text: _(text) if text else ""
    app.jinja_env.filters["countdown_text"] = countdown_text
    app.jinja_env.filters["status_badge"] = status_badge
    app.jinja_env.filters["countdown_cell"] = countdown_cell


def duration_text(minutes: int) -> str:
    """时长: "2天3小时", "3小时5分", "12分钟" (the absolute value)."""
    m = abs(minutes)
    if m >= 1440:
        return _("%(d)s天%(h)s小时", d=m // 1440, h=(m % 1440) // 60)
    if m >= 60:
        return _("%(h)s小时%(m)s分", h=m // 60, m=m % 60)
    return _("%(m)s分钟", m=m)


def countdown_text(cd) -> str:
    """A queue row's countdown in words: "剩余 …" before its deadline, "已超期 …" after. Python, not a
    macro: a queue page shows thirty of them, and a Jinja macro call with two translated strings
    cost more than the rest of the row."""
    return _("已超期 %(t)s", t=duration_text(cd.minutes)) if cd.overdue else _("剩余 %(t)s", t=duration_text(cd.minutes))


def status_badge(status) -> Markup:
    """A status as a badge. Python rather than a macro for the same reason as ``countdown_text``
    (and an f-string of escaped parts: ``Markup.format`` parses its format string on every call)."""
    return Markup(f'<span class="badge badge-{escape(status.badge)}">{escape(_(status.label) if status.label else "")}</span>')


def countdown_cell(cd) -> Markup:
    """The next deadline and the time left (or overdue), or a dash when there is none."""
    if not cd.due:
        return Markup("—")
    return Markup(f'<time datetime="{escape(cd.due.isoformat())}Z">{escape(_local_time(cd.due))}</time><br>\n'
                  f'<span class="countdown countdown-{escape(cd.level)}">{escape(countdown_text(cd))}</span>')


def actor_of(user) -> Actor:
    if user is not None and getattr(user, "is_authenticated", False):
        return user.actor()
    return Actor(Role.CITIZEN)


def _local_time(dt, fmt: str = "%Y-%m-%d %H:%M") -> str:
    local = to_local(dt)
    return local.strftime(fmt) if local else ""


def flash_error(exc: InvalidInput) -> None:
    flash(_(str(exc)), "error")
