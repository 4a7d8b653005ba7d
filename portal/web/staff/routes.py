"""Staff pages: the queue of each tier, a request's page and its actions, phone intake.

Scope: every lookup goes through ``load_ticket_for`` (404 outside the user's scope);
every action goes through ``perform``, which checks the permission rule again.
"""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from ...domain.access import CENTER_ROLES, Role, Tier, can
from ...domain.deadlines import to_local, utcnow
from ...domain.intake import Channel, RequestKind
from ...domain.access import NotPermitted
from ...domain.lifecycle import N_, TRANSITIONS, Action, IllegalTransition, Status
from ...domain.privacy import mask_phone
from ...extensions import db
from ...models import AuditEntry, Category, KbArticle, Ticket, TicketEvent, Unit
from ...services import queues, reference, repeats, search
from ...services.intake import normalize_phone
from ...services.tickets import (Conflict, InvalidInput, create_ticket, facts_for, load_ticket_for, perform,
                                 visible_clause)
from ..htmx import is_htmx, render_page_or_partial
from . import bp
from .actions import SPECS, STAFF_ACTIONS
from .forms import BulkSignForm, PhoneIntakeForm

A = Action


@bp.before_request
@login_required
def _signed_in():
    """Every staff page needs a signed-in user; scope is checked per query."""


@bp.after_request
def _after(response):
    queues.note_own_change(session)     # this user's next queue page counts the tabs at once
    return response


def _actor():
    return current_user.actor()


# --- queue ------------------------------------------------------------------------------

def _queue_context(tab: str | None):
    actor = _actor()
    tabs = queues.tabs_for(actor)
    if not tabs:
        return None
    keys = [t.key for t in tabs]
    tab = tab if tab in keys else keys[0]
    now = utcnow()
    path = current_user.unit.path
    filters = queues.parse_filters(request.args)
    counts = queues.counts(actor, now, path, fresh=queues.own_change_pending(session))
    rows, total = queues.rows(actor, tab, filters, now, path, tab_counts=counts)
    sign_ok = queues.signable(actor, rows)
    return {
        "tabs": tabs, "tab": tab, "counts": counts, "rows": rows, "total": total,
        "filters": filters, "now": now, "countdowns": {t.id: queues.countdown(t, now) for t in rows},
        "pages": max(1, -(-total // queues.PAGE_SIZE)), **_filter_lists(actor),
        "can_bulk_sign": bool(sign_ok), "sign_ok": sign_ok,
        # a request's address without its id, built once rather than by url_for in each of the 30 rows
        "ticket_href": url_for("staff.ticket", ticket_id=0).removesuffix("0"),
    }


@bp.route("/")
def home():
    if current_user.role is Role.ADMIN:
        return render_template("staff/admin_home.html")
    ctx = _queue_context(request.args.get("tab"))
    return render_page_or_partial("staff/home.html", "staff/_queue.html", **ctx)


@bp.route("/counts")
def counts():
    """The tab bar, polled by htmx to keep the counts fresh."""
    actor = _actor()
    tabs = queues.tabs_for(actor)
    tab = request.args.get("tab") or (tabs[0].key if tabs else "")
    return render_template("staff/_tabs.html", tabs=tabs, tab=tab,
                           counts=queues.counts(actor, utcnow(), current_user.unit.path,
                                                fresh=queues.own_change_pending(session)),
                           filters=queues.parse_filters(request.args))


@bp.route("/bulk-sign", methods=["POST"])
def bulk_sign():
    """签收所选: sign several requests at once; each is checked and recorded on its own."""
    form = BulkSignForm()
    actor, now = _actor(), utcnow()
    done = failed = 0
    for ticket_id in (form.ids.data or [])[:100]:
        ticket = load_ticket_for(actor, ticket_id)
        if ticket is None or not can(actor, A.SIGN, facts_for(ticket)):
            failed += 1
            continue
        try:
            perform(ticket, A.SIGN, actor, now)
            db.session.commit()
            done += 1
        except Conflict:
            db.session.rollback()
            failed += 1
    if done:
        flash(_("已签收 %(n)s 件。", n=done), "success")
    if failed:
        flash(_("%(n)s 件未能签收（已被他人处理或无权签收）。", n=failed), "error")
    if not done and not failed:
        flash(_("请先勾选要签收的诉求。"), "error")
    return redirect(request.form.get("next") or url_for("staff.home", tab="to_sign"), code=303)


# --- a request ----------------------------------------------------------------------------

def load_ticket_or_404(ticket_id: int) -> Ticket:
    if current_user.role is Role.ADMIN:
        abort(404)
    ticket = load_ticket_for(_actor(), ticket_id)
    if ticket is None:
        abort(404)
    return ticket


def _filter_lists(actor) -> dict:
    """The filter form's categories, districts (the center) and streets (a district), as plain
    values kept per process until a unit or category changes (``services.reference``): two ORM
    queries on every queue page before."""
    reference.current()
    lists = {"categories": reference.derived("staff.top_categories", lambda: [
                 reference.CategoryRow(c.id, c.parent_id, c.name, c.name_en) for c in _top_categories()]),
             "districts": [], "streets": []}
    if actor.role in CENTER_ROLES:
        lists["districts"] = reference.derived("staff.districts", lambda: [
            reference.PlaceRow(d.id, d.parent_id, d.name) for d in _districts()])
    elif actor.role in (Role.HANDLER, Role.LEADER) and actor.tier == Tier.UNIT:
        lists["streets"] = reference.derived(("staff.streets", actor.unit_id), lambda: [
            reference.PlaceRow(u.id, u.parent_id, u.name) for u in queues.street_choices(actor)])
    return lists


def _top_categories() -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.parent_id.is_(None)).order_by(Category.position)))


def _districts() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.kind == "district").order_by(Unit.code)))


def _category_choices():
    groups: dict[str, list] = {}
    for cat in db.session.scalars(select(Category).options(joinedload(Category.parent))
                                  .where(Category.parent_id.isnot(None), Category.active)
                                  .order_by(Category.parent_id, Category.position)):
        groups.setdefault(cat.parent.name, []).append((str(cat.id), cat.name))
    return groups


def _street_choices(include_blank=True):
    groups: dict[str, list] = {"": [("", _("（未指定）"))]} if include_blank else {}
    parents = {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.tier == 2))}
    for s in db.session.scalars(select(Unit).where(Unit.tier == 3, Unit.active).order_by(Unit.code)):
        groups.setdefault(parents.get(s.parent_id, ""), []).append((str(s.id), s.name))
    return groups


def _unit_choices():
    kinds = {"district": _("区"), "department": _("市级部门"), "enterprise": _("公共服务企业")}
    groups: dict[str, list] = {label: [] for label in kinds.values()}
    tier2 = list(db.session.scalars(select(Unit).where(Unit.tier == 2, Unit.active).order_by(Unit.code)))
    for u in tier2:
        groups[kinds[u.kind]].append((str(u.id), u.name))
    for name, streets in _street_choices(include_blank=False).items():
        groups[_("%(d)s · 街道乡镇", d=name)] = streets
    return groups


def dispatch_suggestions(ticket: Ticket) -> list[tuple[Unit, str]]:
    """Where to send it: the admin's dispatch rule first (category × area), then the street
    itself (直派街乡), its district, and where similar
    requests (same category and street) went before and were fed back."""
    out: list[tuple[Unit, str]] = []
    from ...services.dispatch_rules import suggestion
    ruled = suggestion(ticket.category, ticket.street, ticket.district)
    if ruled is not None:
        out.append((ruled, _("派单规则")))
    if ticket.street is not None and ticket.street.active:
        if ticket.street.id not in {u.id for u, _ in out}:
            out.append((ticket.street, _("诉求所在街道（乡镇）")))
        if ticket.street.parent is not None and ticket.street.parent.id not in {u.id for u, _ in out}:
            out.append((ticket.street.parent, _("所在区")))
    stmt = (select(Ticket.handling_unit_id, func.count().label("n")).where(
        Ticket.category_id == ticket.category_id, Ticket.street_id == ticket.street_id, Ticket.id != ticket.id,
        Ticket.status.in_([Status.FED_BACK, Status.CALLED_BACK, Status.CLOSED]),
        Ticket.handling_unit_id.isnot(None)).group_by(Ticket.handling_unit_id).order_by(func.count().desc()).limit(3))
    seen = {u.id for u, _ in out}
    for unit_id, n in db.session.execute(stmt).all():
        if unit_id not in seen:
            unit = db.session.get(Unit, unit_id)
            if unit is not None and unit.active:
                out.append((unit, _("同类诉求曾派往此单位 %(n)s 次", n=n)))
    return out


def merge_suggestions(ticket: Ticket) -> list[tuple[Ticket, float]]:
    """Open requests at the same street whose text is nearly the same (the full-text search:
    at least half of this request's words), best match first, with the share of words."""
    return repeats.merge_candidates(ticket)


def _kb_query() -> str:
    return (request.args.get("kbq") or "").strip()[:200]


def answer_articles(ticket: Ticket) -> list[KbArticle]:
    """知识库 articles for a direct answer: the operator's search, else the request's own text."""
    return search.search_kb(_kb_query() or f"{ticket.title} {ticket.content}", today=to_local(utcnow()).date(),
                            limit=8)


def _build_form(action: Action, ticket: Ticket, formdata=None):
    spec = SPECS[action]
    form = spec.form(formdata=formdata, prefix=action.value)
    if formdata is None:
        form.version.data = str(ticket.version)
    if action is A.DISPATCH:
        form.unit.choices = _unit_choices()
        form.assist.choices = _unit_choices()
    elif action is A.REDISPATCH:
        streets = db.session.scalars(select(Unit).where(Unit.parent_id == current_user.unit_id, Unit.tier == 3,
                                                        Unit.active).order_by(Unit.code))
        form.unit.choices = [("", _("请选择"))] + [(str(u.id), u.name) for u in streets]
    elif action is A.ANSWER:
        articles = answer_articles(ticket)
        posted = (formdata or {}).get(f"{action.value}-article", "") if formdata is not None else ""
        if posted.isdigit() and int(posted) not in {a.id for a in articles}:
            chosen = db.session.get(KbArticle, int(posted))      # chosen from an earlier search
            if chosen is not None:
                articles.append(chosen)
        form.article.choices = [("", _("不使用知识库"))] + [(str(a.id), a.question) for a in articles]
        if formdata is None and _kb_query() and articles:
            form.article.data = str(articles[0].id)              # the best match of the operator's search
    elif action is A.ACCEPT:
        form.category.choices = _category_choices()
        form.street.choices = _street_choices()
        if formdata is None:
            form.kind.data, form.urgency.data = ticket.kind.value, ticket.urgency.value
            form.category.data = str(ticket.category_id)
            form.street.data = str(ticket.street_id or "")
            form.address.data = ticket.address
    return form


def _ticket_context(ticket: Ticket, forms: dict | None = None, open_action: Action | None = None):
    actor = _actor()
    facts = facts_for(ticket)
    permitted = [a for a in STAFF_ACTIONS if can(actor, a, facts)]
    forms = dict(forms or {})
    for a in permitted:
        forms.setdefault(a, _build_form(a, ticket))
    events = db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .options(joinedload(TicketEvent.unit), joinedload(TicketEvent.actor_unit))
                                .order_by(TicketEvent.seq)).all()
    earlier = []
    if ticket.citizen_phone:
        earlier = db.session.scalars(
            select(Ticket).where(Ticket.citizen_phone == ticket.citizen_phone, Ticket.id != ticket.id,
                                 visible_clause(actor, current_user.unit.path))
            .order_by(Ticket.created_at.desc()).limit(5)).all()
    now = utcnow()
    return {
        "t": ticket, "events": events, "facts": facts, "actor": actor, "permitted": permitted, "forms": forms,
        "specs": SPECS, "open_action": open_action, "earlier": earlier, "now": now,
        "countdown": queues.countdown(ticket, now),
        "suggestions": dispatch_suggestions(ticket) if A.DISPATCH in permitted else [],
        "merge_candidates": merge_suggestions(ticket) if A.MERGE in permitted else [],
        "kb_query": _kb_query(), "kb_articles": answer_articles(ticket) if A.ANSWER in permitted else [],
        "repeat_of": repeats.repeat_of(ticket), "repeated_by": repeats.repeats_of(ticket),
        "holder": ticket.handling_unit_id == actor.unit_id and actor.role in (Role.HANDLER, Role.LEADER),
    }


@bp.route("/tickets/<int:ticket_id>")
def ticket(ticket_id: int):
    t = load_ticket_or_404(ticket_id)
    open_action = A.ANSWER if "kbq" in request.args else None      # a knowledge base search keeps the answer open
    return render_template("staff/ticket.html", **_ticket_context(t, open_action=open_action))


@bp.route("/tickets/<int:ticket_id>/actions/<action>", methods=["POST"])
def ticket_action(ticket_id: int, action: str):
    t = load_ticket_or_404(ticket_id)
    try:
        act = Action(action)
    except ValueError:
        abort(404)
    if act not in SPECS:
        abort(404)
    if not can(_actor(), act, facts_for(t)):          # the route guard; perform() checks again
        if (t.status, act) not in TRANSITIONS:
            raise IllegalTransition(t.status, act)
        raise NotPermitted(act)
    form = _build_form(act, t, formdata=request.form)
    status = 200
    if form.validate():
        try:
            details = SPECS[act].details(form)
            perform(t, act, _actor(), utcnow(), expected_version=form.version.data or None, **details)
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            form.form_errors.append(_(str(exc)))
            status = 400
        else:
            if is_htmx():
                db.session.expire_all()
                return render_template("staff/_ticket_body.html", **_ticket_context(load_ticket_or_404(ticket_id)),
                                       done=act)
            flash(_("已完成：%(a)s", a=_(act.label)), "success")
            return redirect(url_for("staff.ticket", ticket_id=ticket_id), code=303)
    else:
        status = 400
    db.session.expire_all()
    t = load_ticket_or_404(ticket_id)
    ctx = _ticket_context(t, forms={act: form}, open_action=act)
    if is_htmx():
        return render_template("staff/_ticket_body.html", **ctx), 200
    return render_template("staff/ticket.html", **ctx), status


@bp.route("/tickets/<int:ticket_id>/phone", methods=["POST"])
def reveal_phone(ticket_id: int):
    """The handling unit's staff may see the full number; every view is recorded."""
    t = load_ticket_or_404(ticket_id)
    actor = _actor()
    if not (t.handling_unit_id == actor.unit_id and actor.role in (Role.HANDLER, Role.LEADER)):
        abort(404)
    db.session.add(AuditEntry(at=utcnow(), user_id=current_user.id, action="view_phone", target_type="ticket",
                              target_id=t.id, detail={"tracking_no": t.tracking_no}))
    db.session.commit()
    if is_htmx():
        return render_template("staff/_phone.html", t=t, full=True)
    return render_template("staff/ticket.html", **_ticket_context(t), full_phone=True)


# --- phone intake ----------------------------------------------------------------------------

@bp.route("/intake/phone", methods=["GET", "POST"])
def phone_intake():
    """电话受理: the operator types the caller's request; it is created and accepted at once."""
    actor = _actor()
    if actor.role not in CENTER_ROLES:
        abort(404)
    form = PhoneIntakeForm()
    form.category.choices = {"": [("", _("请选择"))], **_category_choices()}
    form.street.choices = _street_choices()
    error = None
    if form.validate_on_submit():
        category = db.session.get(Category, int(form.category.data)) if form.category.data.isdigit() else None
        street = db.session.get(Unit, int(form.street.data)) if (form.street.data or "").isdigit() else None
        try:
            phone = normalize_phone(form.citizen_phone.data)
            if phone is None:
                raise InvalidInput(N_("请填写正确的手机号码或带区号的固定电话"))
            now = utcnow()
            t = create_ticket(actor, now, category=category, kind=RequestKind(form.kind.data),
                              content=form.content.data, channel=Channel.PHONE, urgency=form.urgency.data,
                              district=street.parent if street else None, street=street, address=form.address.data,
                              citizen_name=form.citizen_name.data or "", citizen_phone=phone,
                              citizen_email=form.citizen_email.data or "", consent_publish=form.consent_publish.data)
            perform(t, A.ACCEPT, actor, now)
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            error = _(str(exc))
        else:
            flash(_("已受理，受理编号 %(n)s，查询码 %(c)s（请告知来电人）。", n=t.tracking_no, c=t.query_code), "success")
            return redirect(url_for("staff.ticket", ticket_id=t.id), code=303)
    return render_template("staff/phone_intake.html", form=form, error=error), 400 if request.method == "POST" else 200


@bp.app_template_global()
def masked_phone(ticket: Ticket) -> str:
    return mask_phone(ticket.citizen_phone)
