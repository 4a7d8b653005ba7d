"""Staff pages of proactive governance.

* hot-spot alerts: the center sees all; a unit's staff see their unit's and the units' below it
  (404 outside scope), and record what they did about the whole class;
* thresholds, topics and the dashboard: center staff only (operator, dispatcher); everyone else
  gets 404, as for the center's other pages.
"""
from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ...domain.access import CENTER_ROLES, UNIT_ROLES, Actor, NotPermitted, Tier
from ...domain.deadlines import to_local, utcnow
from ...domain.intake import CHANNEL_LABELS
from ...extensions import db
from ...models import Category, HotspotAlert, Ticket, Topic, TopicTask, Unit
from ...services import governance as gov
from ...services.tickets import InvalidInput, visible_clause
from . import bp, charts
from .forms import (AlertActionForm, PolicyForm, ResponsibilityForm, RuleForm, TaskForm, TaskStatusForm,
                    TopicForm)

DASHBOARD_DAYS = (7, 30, 90)


@bp.before_request
@login_required
def _signed_in():
    """Every page here needs a signed-in user; who sees what is checked per route."""


@bp.after_request
def _no_store(response):
    response.headers["Cache-Control"] = "no-store"
    return response


def _actor() -> Actor:
    return current_user.actor()


def _is_center(actor: Actor) -> bool:
    return actor.role in CENTER_ROLES and actor.tier == Tier.CENTER


def _center_only() -> Actor:
    actor = _actor()
    if not _is_center(actor):
        abort(404)
    return actor


def _scoped_staff() -> Actor:
    actor = _actor()
    if not (_is_center(actor) or actor.role in UNIT_ROLES):
        abort(404)
    return actor


def _unit_path() -> str | None:
    return current_user.unit.path if current_user.unit is not None else None


@bp.app_template_global()
def governance_links() -> list[tuple[str, str]]:
    """The governance tabs this user may open (endpoint, label)."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    actor = _actor()
    if _is_center(actor):
        return [("governance.dashboard", _("数据看板")), ("governance.hotspots", _("热点预警")),
                ("governance.rules", _("预警阈值")), ("governance.topics", _("每月一题"))]
    if actor.role in UNIT_ROLES:
        return [("governance.hotspots", _("热点预警"))]
    return []


@bp.route("/")
def index():
    actor = _scoped_staff()
    return redirect(url_for("governance.dashboard" if _is_center(actor) else "governance.hotspots"), code=303)


# --- the dashboard ---------------------------------------------------------------------------------

@bp.route("/dashboard")
def dashboard():
    _center_only()
    try:
        days = int(request.args.get("days", 30))
    except ValueError:
        days = 30
    days = days if days in DASHBOARD_DAYS else 30
    now = utcnow()
    end = _date_arg("end")
    if end is not None and end < to_local(now).date():
        # a past period: the figures as of the end of that Beijing day
        now = gov.local_midnight_utc(end + timedelta(days=1)) - timedelta(seconds=1)
    d = gov.dashboard(now, days)
    max_district = max((n for _, n in d["by_district"]), default=0)
    return render_template(
        "governance/dashboard.html", d=d, days=days, choices=DASHBOARD_DAYS, now=now,
        end=d["period"].last_day.isoformat(),
        day_chart=charts.columns([(k[5:], n) for k, n in d["by_day"]]),
        week_chart=charts.columns([(k[5:], n) for k, n in d["by_week"]]),
        month_chart=charts.columns(d["by_month"]),
        channel_chart=charts.rows([(_(CHANNEL_LABELS[ch]), n) for ch, n in d["by_channel"]]),
        category_chart=charts.rows([(c.display(_locale()), n) for c, n in d["by_category"]]),
        street_chart=charts.rows([(u.name, n) for u, n in d["top_streets"]]),
        districts=[(u, n, charts.heat(n, max_district)) for u, n in d["by_district"]],
    )


def _date_arg(name: str) -> date | None:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


def _locale() -> str:
    from flask_babel import get_locale
    return str(get_locale())


# --- hot spots ---------------------------------------------------------------------------------------

@bp.route("/hotspots")
def hotspots():
    actor = _scoped_staff()
    status = request.args.get("status")
    status = status if status in gov.ALERT_STATUS_LABELS else None
    alerts = gov.list_alerts(actor, _unit_path(), status)
    cats = _category_names({a.category_id for a in alerts})
    return render_template("governance/hotspots.html", alerts=alerts, status=status, cats=cats,
                           counts=gov.alert_counts(actor, _unit_path()), is_center=_is_center(actor))


def _category_names(ids) -> dict[int, Category]:
    ids = [i for i in ids if i]
    if not ids:
        return {}
    return {c.id: c for c in db.session.scalars(select(Category).options(joinedload(Category.parent))
                                                .where(Category.id.in_(ids)))}


def _load_alert(alert_id: int) -> tuple[Actor, HotspotAlert]:
    actor = _scoped_staff()
    alert = gov.load_alert_for(actor, _unit_path(), alert_id)
    if alert is None:
        abort(404)
    return actor, alert


def _alert_page(actor: Actor, alert: HotspotAlert, form: AlertActionForm | None = None, status: int = 200):
    tickets = db.session.scalars(gov.alert_requests_stmt(alert).options(joinedload(Ticket.category)).limit(200)).all()
    visible = set(db.session.scalars(select(Ticket.id).where(Ticket.id.in_([t.id for t in tickets]),
                                                            visible_clause(actor, _unit_path()))))
    acted_by = None
    if alert.acted_by_id:
        from ...models import User
        acted_by = db.session.get(User, alert.acted_by_id)
    return render_template("governance/hotspot.html", alert=alert, tickets=tickets, visible=visible,
                           cats=_category_names([alert.category_id]), acted_by=acted_by,
                           form=form or AlertActionForm(), can_record=gov.may_record_action(actor)
                           and alert.status == "open"), status


@bp.route("/hotspots/<int:alert_id>")
def hotspot(alert_id: int):
    actor, alert = _load_alert(alert_id)
    return _alert_page(actor, alert)


@bp.route("/hotspots/<int:alert_id>/action", methods=["POST"])
def hotspot_action(alert_id: int):
    actor, alert = _load_alert(alert_id)
    if not gov.may_record_action(actor):
        raise NotPermitted("hotspot_action")
    form = AlertActionForm()
    if form.validate_on_submit():
        try:
            gov.record_alert_action(alert, actor, current_user, form.note.data, utcnow())
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            form.note.errors = [*form.note.errors, _(str(exc))]
        else:
            flash(_("已记录处置情况。"), "success")
            return redirect(url_for("governance.hotspot", alert_id=alert_id), code=303)
    return _alert_page(actor, alert, form, 400)


@bp.route("/hotspots/rules", methods=["GET", "POST"])
def rules():
    _center_only()
    current = gov.hotspot_rules()
    forms = {kind: RuleForm(prefix=kind, obj=current[kind] if request.method == "GET" else None)
             for kind in gov.KINDS}
    status = 200
    if request.method == "POST":
        if all(f.validate_on_submit() for f in forms.values()):
            try:
                for kind, f in forms.items():
                    gov.set_hotspot_rule(kind, f.min_count.data, f.window_days.data, f.active.data, current_user,
                                         utcnow())
                db.session.commit()
            except InvalidInput as exc:
                db.session.rollback()
                flash(_(str(exc)), "error")
                status = 400
            else:
                flash(_("已保存预警阈值。"), "success")
                return redirect(url_for("governance.rules"), code=303)
        else:
            status = 400
    return render_template("governance/rules.html", forms=forms, labels=gov.KIND_LABELS), status


@bp.route("/hotspots/run", methods=["POST"])
def run_detection():
    _center_only()
    result = gov.detect_hotspots(utcnow())
    db.session.commit()
    flash(_("检测完成：新增预警 %(r)s 条，更新 %(u)s 条。", r=result.raised, u=result.updated), "success")
    return redirect(url_for("governance.hotspots"), code=303)


# --- 每月一题 topics -------------------------------------------------------------------------------------

def _unit_choices(include_streets: bool = True) -> dict[str, list[tuple[str, str]]]:
    kinds = {"district": _("区"), "department": _("市级部门"), "enterprise": _("公共服务企业")}
    groups: dict[str, list] = {label: [] for label in kinds.values()}
    districts = {}
    for u in db.session.scalars(select(Unit).where(Unit.tier == 2, Unit.active).order_by(Unit.code)):
        groups.setdefault(kinds.get(u.kind, u.kind), []).append((str(u.id), u.name))
        districts[u.id] = u.name
    if include_streets:
        for s in db.session.scalars(select(Unit).where(Unit.tier == 3, Unit.active).order_by(Unit.code)):
            groups.setdefault(_("%(d)s · 街道乡镇", d=districts.get(s.parent_id, "")), []).append((str(s.id), s.name))
    return {k: v for k, v in groups.items() if v}


def _category_choices() -> dict[str, list[tuple[str, str]]]:
    loc = _locale()
    groups: dict[str, list] = {}
    tops = db.session.scalars(select(Category).where(Category.parent_id.is_(None)).order_by(Category.position))
    for top in tops:
        groups[top.display(loc)] = [(str(top.id), _("%(c)s（全部）", c=top.display(loc)))] + [
            (str(c.id), c.display(loc)) for c in top.children if c.active]
    return groups


def _unit_or_none(value) -> Unit | None:
    return db.session.get(Unit, int(value)) if str(value or "").isdigit() else None


def _topic_form(topic: Topic | None = None) -> TopicForm:
    form = TopicForm(obj=topic if request.method == "GET" else None)
    form.lead_unit.choices = {"": [("", _("请选择"))], **_unit_choices(include_streets=False)}
    form.categories.choices = _category_choices()
    if request.method == "GET":
        if topic is not None:
            form.lead_unit.data = str(topic.lead_unit_id)
            form.categories.data = [str(c.id) for c in topic.categories]
            form.month.data = str(topic.month or "")
        else:
            form.year.data = to_local(utcnow()).year
    return form


def _save_topic(form: TopicForm, topic: Topic | None):
    if not form.validate_on_submit():
        return None
    cats = list(db.session.scalars(select(Category).where(Category.id.in_(
        [int(c) for c in form.categories.data or [] if str(c).isdigit()]))))
    try:
        saved = gov.save_topic(topic, utcnow(), slug=form.slug.data, title=form.title.data, year=form.year.data,
                               month=int(form.month.data) if form.month.data else None,
                               lead_unit=_unit_or_none(form.lead_unit.data), keywords=form.keywords.data or "",
                               plan=form.plan.data or "", published=form.published.data, categories=cats)
        db.session.commit()
        return saved
    except InvalidInput as exc:
        db.session.rollback()
        form.form_errors.append(_(str(exc)))
        return None


@bp.route("/topics")
def topics():
    _center_only()
    rows = list(db.session.scalars(select(Topic).options(joinedload(Topic.lead_unit))
                                   .order_by(Topic.year.desc(), Topic.month, Topic.id)))
    return render_template("governance/topics.html", topics=rows,
                           progress=gov.topics_progress([t.id for t in rows]))


@bp.route("/topics/new", methods=["GET", "POST"])
def topic_new():
    _center_only()
    form = _topic_form()
    saved = _save_topic(form, None) if request.method == "POST" else None
    if saved is not None:
        flash(_("已创建题目。"), "success")
        return redirect(url_for("governance.topic", topic_id=saved.id), code=303)
    return render_template("governance/topic_form.html", form=form, topic=None), 400 if request.method == "POST" else 200


def _load_topic(topic_id: int) -> Topic:
    _center_only()
    topic = db.session.get(Topic, topic_id)
    if topic is None:
        abort(404)
    return topic


@bp.route("/topics/<int:topic_id>/edit", methods=["GET", "POST"])
def topic_edit(topic_id: int):
    topic = _load_topic(topic_id)
    form = _topic_form(topic)
    saved = _save_topic(form, topic) if request.method == "POST" else None
    if saved is not None:
        flash(_("已保存题目。"), "success")
        return redirect(url_for("governance.topic", topic_id=topic_id), code=303)
    return render_template("governance/topic_form.html", form=form, topic=topic), 400 if request.method == "POST" else 200


def _list_forms(formdata=None) -> dict:
    units = _unit_choices()
    task = TaskForm(formdata=formdata, prefix="task")
    task.owner_unit.choices = {"": [("", _("请选择"))], **units}
    task.status.choices = [(k, _(v)) for k, v in gov.TASK_STATUS_LABELS.items()]
    resp = ResponsibilityForm(formdata=formdata, prefix="resp")
    resp.unit.choices = {"": [("", _("请选择"))], **units}
    policy = PolicyForm(formdata=formdata, prefix="policy")
    policy.status.choices = [(k, _(v)) for k, v in gov.POLICY_STATUS_LABELS.items()]
    return {"task": task, "resp": resp, "policy": policy}


def _topic_page(topic: Topic, forms: dict | None = None, status: int = 200):
    all_forms = _list_forms()
    all_forms.update(forms or {})
    volume = gov.topic_monthly_volume(topic)
    status_forms = {}
    for task in topic.tasks:
        f = TaskStatusForm(prefix=f"t{task.id}", formdata=None)
        f.status.choices = [(k, _(v)) for k, v in gov.TASK_STATUS_LABELS.items()]
        f.status.data = task.status
        status_forms[task.id] = f
    return render_template("governance/topic.html", topic=topic, forms=all_forms, status_forms=status_forms,
                           progress=gov.topic_progress(topic.id), volume=volume,
                           chart=charts.columns([(k[5:], n) for k, n in volume])), status


@bp.route("/topics/<int:topic_id>")
def topic(topic_id: int):
    return _topic_page(_load_topic(topic_id))


def _list_add(topic_id: int, key: str, add):
    topic = _load_topic(topic_id)
    forms = _list_forms(request.form)
    form = forms[key]
    if form.validate():
        try:
            add(topic, form)
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            form.form_errors.append(_(str(exc)))
        else:
            flash(_("已添加。"), "success")
            return redirect(url_for("governance.topic", topic_id=topic_id) + f"#{key}-list", code=303)
    return _topic_page(topic, {key: form}, 400)


@bp.route("/topics/<int:topic_id>/tasks", methods=["POST"])
def topic_task_add(topic_id: int):
    return _list_add(topic_id, "task", lambda t, f: gov.add_task(
        t, utcnow(), title=f.title.data, owner_unit=_unit_or_none(f.owner_unit.data), due=f.due.data,
        status=f.status.data))


@bp.route("/topics/<int:topic_id>/responsibilities", methods=["POST"])
def topic_responsibility_add(topic_id: int):
    return _list_add(topic_id, "resp", lambda t, f: gov.add_responsibility(
        t, unit=_unit_or_none(f.unit.data), duty=f.duty.data))


@bp.route("/topics/<int:topic_id>/policies", methods=["POST"])
def topic_policy_add(topic_id: int):
    return _list_add(topic_id, "policy", lambda t, f: gov.add_policy(
        t, title=f.title.data, status=f.status.data, issued_on=f.issued_on.data))


@bp.route("/topics/<int:topic_id>/tasks/<int:task_id>/status", methods=["POST"])
def topic_task_status(topic_id: int, task_id: int):
    topic = _load_topic(topic_id)
    task = db.session.get(TopicTask, task_id)
    if task is None or task.topic_id != topic.id:
        abort(404)
    try:
        gov.set_task_status(task, request.form.get(f"t{task_id}-status", ""), utcnow())
        db.session.commit()
    except InvalidInput as exc:
        db.session.rollback()
        flash(_(str(exc)), "error")
        return _topic_page(topic, status=400)
    flash(_("已更新任务状态。"), "success")
    return redirect(url_for("governance.topic", topic_id=topic_id) + "#task-list", code=303)


# --- labels for the templates (the N_ strings are translated with _() there) --------------------------

@bp.app_template_global()
def kind_label(kind: str) -> str:
    return gov.KIND_LABELS.get(kind, kind)


@bp.app_template_global()
def alert_status_label(status: str) -> str:
    return gov.ALERT_STATUS_LABELS.get(status, status)


@bp.app_template_global()
def task_status_label(status: str) -> str:
    return gov.TASK_STATUS_LABELS.get(status, status)


@bp.app_template_global()
def policy_status_label(status: str) -> str:
    return gov.POLICY_STATUS_LABELS.get(status, status)
