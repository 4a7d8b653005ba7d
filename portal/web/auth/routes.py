"""Staff sign-in. The session is cleared at login; logout ends every session of the user;
30 minutes without a request signs the user out."""
from __future__ import annotations

import time

from flask import current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from ...domain.deadlines import to_local, utcnow
from ...extensions import db
from ...services.auth import end_sessions, sign_in
from . import bp
from .forms import LoginForm

SEEN = "_seen"


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
            session.clear()                       # no session fixation: a fresh session at login
            login_user(result.user)
            session.permanent = True
            session[SEEN] = time.time()
            if result.user.must_change_password:
                flash(_("请尽快修改初始密码。"), "error")
            return redirect(url_for("staff.home"), code=303)
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
