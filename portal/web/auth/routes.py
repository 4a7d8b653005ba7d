"""Staff sign-in. The session is cleared at login; logout ends every session of the user;
30 minutes without a request signs the user out."""
from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ...domain.access import Role
from ...domain.deadlines import to_local, utcnow
from ...extensions import db
from ...models import User
from ...services import totp
from ...services.admin_users import change_own_password
from ...services.auth import LOCK_FOR, MAX_FAILURES, end_sessions, sign_in
from ...services.tickets import InvalidInput
from . import bp
from .forms import ChangePasswordForm, CodeForm, LoginForm

SEEN = "_seen"
#: the user who passed the password step and still owes a TOTP code: (id, session epoch, time)
PENDING = "_2fa_pending"
PENDING_FOR = 300
#: endpoints a signed-in user who must still change the password or enrol may reach
GATE_OPEN = frozenset({"auth.logout", "auth.change_password", "auth.totp_setup", "static", "set_language"})


@bp.before_app_request
def _idle_timeout():
    """Sign out a user idle for longer than PERMANENT_SESSION_LIFETIME (30 minutes)."""
    if not current_user.is_authenticated:
        return None
    now = time.time()
    seen = session.get(SEEN)
    limit = current_app.config["PERMANENT_SESSION_LIFETIME"]
    limit = limit.total_seconds() if hasattr(limit, "total_seconds") else float(limit)
    if seen is not None and now - seen > limit:
        logout_user()
        session.clear()
        flash(_("长时间未操作，已自动退出，请重新登录。"), "error")
        return redirect(url_for("auth.login"), code=303)
    if request.endpoint != "staff.counts":        # background polling is not activity
        session[SEEN] = now
    return None


@bp.before_app_request
def _gate():
    """The session-level gate, for every blueprint (today's and those added later): a user
    who must change the password goes to that page first; an admin without two-factor
    sign-in goes to enrolment first. Public pages stay open."""
    if not current_user.is_authenticated or request.endpoint in GATE_OPEN or request.blueprint == "public":
        return None
    if current_user.must_change_password:
        return _redirect_htmx_aware(url_for("auth.change_password"))
    if current_user.role is Role.ADMIN and not current_user.totp_enabled:
        return _redirect_htmx_aware(url_for("auth.totp_setup"))
    return None


def _redirect_htmx_aware(target: str):
    from ..htmx import is_htmx
    if is_htmx():
        resp = current_app.response_class("", status=204)
        resp.headers["HX-Redirect"] = target
        return resp
    return redirect(target, code=303)


def _finish_login(user: User):
    session.clear()                       # no session fixation: a fresh session at login
    login_user(user)
    session.permanent = True
    session[SEEN] = time.time()
    if user.must_change_password:
        return redirect(url_for("auth.change_password"), code=303)
    if user.role is Role.ADMIN and not user.totp_enabled:
        return redirect(url_for("auth.totp_setup"), code=303)
    return redirect(url_for("staff.home"), code=303)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        result = sign_in(form.username.data, form.password.data, utcnow())
        db.session.commit()
        if result.user is not None:
            if result.user.totp_enabled:
                session.clear()
                session[PENDING] = [result.user.id, result.user.session_epoch, time.time()]
                return redirect(url_for("auth.login_code"), code=303)
            return _finish_login(result.user)
        if result.locked_until is not None:
            error = _("登录失败次数过多，账号已临时锁定，请于 %(t)s 后再试。",
                      t=to_local(result.locked_until).strftime("%H:%M"))
        else:
            error = _("用户名或密码不正确。")
    status = 401 if error else (400 if request.method == "POST" else 200)
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    end_sessions(current_user._get_current_object())
    db.session.commit()
    logout_user()
    session.clear()
    return redirect(url_for("public.home"), code=303)


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not pending:
        return None
    uid, epoch, started = pending
    user = db.session.get(User, uid)
    if user is None or not user.active or user.session_epoch != epoch or time.time() - started > PENDING_FOR:
        session.pop(PENDING, None)
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():
    """The second step: a code from the authenticator app. Wrong codes count toward the same
    lock as wrong passwords."""
    user = _pending_user()
    if user is None:
        return redirect(url_for("auth.login"), code=303)
    form = CodeForm()
    error = None
    if form.validate_on_submit():
        now = utcnow()
        if user.locked_until is not None and user.locked_until > now:
            session.pop(PENDING, None)
            error = _("登录失败次数过多，账号已临时锁定，请于 %(t)s 后再试。",
                      t=to_local(user.locked_until).strftime("%H:%M"))
        elif totp.verify(user, form.code.data):
            user.failed_logins = 0
            db.session.commit()
            return _finish_login(user)
        else:
            user.failed_logins += 1
            if user.failed_logins >= MAX_FAILURES:
                user.locked_until = now + LOCK_FOR
                user.failed_logins = 0
                session.pop(PENDING, None)
            db.session.commit()
            error = _("验证码不正确或已使用，请输入验证器上的最新验证码。")
    status = 401 if error else (400 if request.method == "POST" else 200)
    return render_template("auth/login_code.html", form=form, error=error), status


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = ChangePasswordForm()
    error = None
    if form.validate_on_submit():
        if form.new.data != form.repeat.data:
            form.repeat.errors.append(_("两次输入的新密码不一致"))
        else:
            user = current_user._get_current_object()
            try:
                change_own_password(user, form.current.data, form.new.data, utcnow())
            except InvalidInput as exc:
                db.session.rollback()
                error = _(str(exc))
            else:
                db.session.commit()
                flash(_("密码已修改。"), "success")
                return _finish_login(user)
    status = 400 if (error or form.errors) else 200
    return render_template("auth/change_password.html", form=form, error=error), status


@bp.route("/account/two-factor", methods=["GET", "POST"])
@login_required
def totp_setup():
    """Enrol in two-factor sign-in: required for admins, available to all staff."""
    user = current_user._get_current_object()
    form = CodeForm()
    error = None
    if request.method == "POST" and request.form.get("start"):
        totp.start_enrolment(user)
        db.session.commit()
        return redirect(url_for("auth.totp_setup"), code=303)
    if form.validate_on_submit():
        if totp.confirm_enrolment(user, form.code.data):
            from ...services import audit
            audit.record(user.id, "user.enable_totp", "user", user.id, utcnow(), after={"totp": True})
            db.session.commit()
            flash(_("两步验证已开启，以后登录时需要输入验证码。"), "success")
            return redirect(url_for("staff.home"), code=303)
        db.session.rollback()
        error = _("验证码不正确，请输入验证器上显示的 6 位数字。")
    secret = None if user.totp_enabled else totp.secret_of(user)
    if not user.totp_enabled and secret is None:
        secret = totp.start_enrolment(user)
        db.session.commit()
    uri = totp.provisioning_uri(user, secret) if secret else None
    status = 400 if error else 200
    return render_template("auth/totp_setup.html", form=form, error=error, secret=secret,
                           qr=totp.qr_svg(uri) if uri else None, required=user.role is Role.ADMIN), status
