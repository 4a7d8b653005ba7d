"""/admin/jobs, /admin/ranking (admins only), /staff/rates (a unit's own staff)."""
from __future__ import annotations

from dataclasses import asdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from ...domain import months
from ...domain.access import Role
from ...domain.deadlines import utcnow
from ...domain.scoring import GROUP_OF_KIND
from ...extensions import db
from ...services import ranking, scheduler
from ...services.tickets import InvalidInput
from . import bp
from .forms import RankingSettingsForm


def _admin_only():
    """The role check the staff pages use; other roles get 404 (the page does not exist for them)."""
    if current_user.role is not Role.ADMIN:
        abort(404)


@bp.route("/admin/jobs")
@login_required
def jobs():
    _admin_only()
    from ...jobs import JOBS
    job = request.args.get("job") or None
    if job not in JOBS:
        job = None
    return render_template("rankings/jobs.html", runs=scheduler.recent_runs(200, job), jobs=JOBS, job=job,
                           heartbeat=scheduler.heartbeat_at())


@bp.route("/admin/ranking", methods=["GET", "POST"])
@login_required
def settings():
    _admin_only()
    now = utcnow()
    current = months.current(now)
    form = RankingSettingsForm()
    if request.method == "GET":
        form.process(data={"effective_from": months.shift(current, 1), **asdict(ranking.settings_for(current))})
    if form.validate_on_submit():
        try:
            ranking.save_settings(now, form.effective_from.data, {k: getattr(form, k).data for k in (
                "w_response", "w_resolution", "w_satisfaction", "min_volume", "advanced_n", "progress_n",
                "rectification_n", "governance_n")}, user_id=current_user.id)
        except InvalidInput as exc:
            form.effective_from.errors = list(form.effective_from.errors) + [_(str(exc))]
        else:
            db.session.commit()
            flash(_("排名规则已保存，自 %(m)s 起生效。", m=form.effective_from.data), "success")
            return redirect(url_for("rankings.settings"), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("rankings/settings.html", form=form, current=ranking.settings_for(current),
                           month=current, history=ranking.settings_history()), status


@bp.route("/staff/rates")
@login_required
def rates():
    """解释: the unit's own rates for a month and the exact requests behind each."""
    user = current_user
    if user.role not in (Role.HANDLER, Role.LEADER) or user.unit is None or user.unit.kind not in GROUP_OF_KIND:
        abort(404)
    now = utcnow()
    error = None
    month = months.current(now)
    if request.args.get("month"):
        try:
            month = months.checked(request.args["month"], now)
        except months.BadMonth as exc:
            error = _(str(exc))
    if error:
        return render_template("rankings/rates.html", error=error, month=None, unit=user.unit), 400
    detail = ranking.explain(user.unit_id, month)
    snap = ranking.snapshot(month)
    row = ranking.snapshot_row(snap, user.unit_id) if snap else None
    return render_template("rankings/rates.html", error=None, month=month, unit=user.unit, detail=detail, snap=snap,
                           row=row, months=months.last_n(months.current(now), 12)[::-1])


@bp.route("/staff/reports")
@login_required
def reports():
    """市民热线反映: daily / weekly / monthly, as a page, CSV or XLSX. Center staff and admins."""
    from flask import Response
    from flask_babel import get_locale
    from ...domain.access import CENTER_ROLES
    from ...services import reports as rep
    if current_user.role not in CENTER_ROLES and current_user.role is not Role.ADMIN:
        abort(404)
    now = utcnow()
    kind = request.args.get("period") if request.args.get("period") in rep.PERIODS else "daily"
    try:
        p = rep.parse(kind, request.args.get("date"), now)
    except rep.BadPeriod as exc:
        return render_template("rankings/reports.html", error=_(str(exc)), kind=kind, periods=rep.PERIODS,
                               report=None, day=""), 400
    report = rep.build(p, now, str(get_locale()))
    fmt = request.args.get("format")
    name = f"12345-{p.kind}-{p.first.isoformat()}"
    if fmt == "csv":
        return Response(rep.to_csv(report), mimetype="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if fmt == "xlsx":
        return Response(rep.to_xlsx(report),
                        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    return render_template("rankings/reports.html", error=None, kind=kind, periods=rep.PERIODS, report=report,
                           day=request.args.get("date") or p.first.isoformat())
