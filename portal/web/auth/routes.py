"""Staff sign-in. The session is cleared at login and at logout."""
from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from ...domain.deadlines import utcnow
from ...extensions import db
from ...models import User
from ...services.users import check_password
from . import bp
from .forms import LoginForm


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("staff.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        user = db.session.scalar(select(User).where(User.username == form.username.data.strip().lower()))
        if user is not None and user.active and check_password(user, form.password.data):
            lang = session.get("lang")
            session.clear()
            if lang:
                session["lang"] = lang
            user.last_login_at = utcnow()
            user.failed_logins = 0
            db.session.commit()
            login_user(user)
            session.permanent = True
            return redirect(url_for("staff.home"), code=303)
        error = _("用户名或密码不正确。")
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    return redirect(url_for("public.home"), code=303)
