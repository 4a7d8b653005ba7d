"""查询: the tracking lookup, the citizen's view of a request, supplements and the online rating.

The credentials are POSTed, never put in a URL; the proven request id is kept in the
session. A wrong lookup gives the same answer (text and status) whether the number
exists or not, and counts against both the IP and the tracking number.
"""
from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from datetime import datetime

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from ...domain.access import Actor, Role, can
from ...domain.deadlines import utcnow
from ...domain.lifecycle import Action, IllegalTransition, Status
from ...domain.privacy import mask_phone, phone_tail
from ...domain.tracking import normalize_query_code, normalize_tracking_number
from ...extensions import db, limiter
from ...models import Category, Ticket, TicketEvent, TicketUnit, Unit
from ...services.intake import national_number
from ...services.tickets import InvalidInput, facts_for, perform
from . import bp
from .forms import RateForm, SupplementForm, TrackForm
from .guard import count_hit, forget, is_proven, limit_of, over_limit, prove, too_many

CITIZEN = Actor(Role.CITIZEN)
A = Action
_DUMMY_CODE = "XXXXXX"
NO_STORE = {"Cache-Control": "no-store"}


def credentials_match(ticket: Ticket | None, secret: str) -> bool:
    """The query code, or the last four digits of the phone given at submission. Takes the same
    path whether the ticket exists or not."""
    secret = (secret or "").strip()
    if re.fullmatch(r"\d{4}", secret):
        expected, given = (phone_tail(ticket.citizen_phone) if ticket is not None else ""), secret
    else:
        expected, given = (ticket.query_code if ticket is not None else _DUMMY_CODE), normalize_query_code(secret)
    same = hmac.compare_digest((expected or "\0").encode(), given.encode())
    return same and ticket is not None


@bp.route("/track", methods=["GET", "POST"])
@limiter.limit(limit_of("RATELIMIT_TRACK_IP"), methods=["POST"])
def track():
    form = TrackForm()
    if request.method != "POST":
        number = normalize_tracking_number(request.args.get("n"))
        if number:
            form.tracking_no.data = number
        return render_template("public/track.html", form=form), 200, NO_STORE
    if not form.validate():
        return render_template("public/track.html", form=form), 400, NO_STORE
    number = normalize_tracking_number(form.tracking_no.data)
    retry = over_limit("RATELIMIT_TRACK_NUMBER", "track-number", number)
    if retry:
        return too_many(retry)
    ticket = db.session.scalar(select(Ticket).where(Ticket.tracking_no == number))
    if not credentials_match(ticket, form.secret.data):
        count_hit("RATELIMIT_TRACK_NUMBER", "track-number", number)
        error = _("受理编号与查询码（或联系电话后 4 位）不匹配，请核对后重试。")
        return render_template("public/track.html", form=form, error=error), 400, NO_STORE
    prove(ticket.id)
    return redirect(url_for("public.ticket", tracking_no=ticket.tracking_no), code=303)


def _proven(tracking_no: str) -> Ticket | None:
    number = normalize_tracking_number(tracking_no)
    if number is None:
        return None
    # what the page shows and the permission rule reads, in three statements where lazy loads made
    # nine, each a round trip and an ORM pass (15 ms of CPU a page at 10,000,000 requests); a
    # rating's callbacks load when one is recorded
    ticket = db.session.scalar(select(Ticket).where(Ticket.tracking_no == number)
                               .options(selectinload(Ticket.attachments),
                                        selectinload(Ticket.units).joinedload(TicketUnit.unit),
                                        joinedload(Ticket.handling_unit).joinedload(Unit.parent),
                                        joinedload(Ticket.category).joinedload(Category.parent)))
    if ticket is None or not is_proven(ticket.id):
        return None
    return ticket


def _to_lookup(tracking_no: str):
    number = normalize_tracking_number(tracking_no)
    return redirect(url_for("public.track", n=number) if number else url_for("public.track"), code=303)


@dataclass
class Step:
    """One line of the public timeline."""
    at: datetime
    action: Action
    unit: str
    note: str
    data: dict


def public_timeline(ticket: Ticket) -> list[Step]:
    # plain values, not TicketEvent objects: the page shows five fields of each event
    events = db.session.execute(
        select(TicketEvent.at, TicketEvent.action, Unit.name, TicketEvent.note, TicketEvent.data)
        .outerjoin(Unit, Unit.id == TicketEvent.unit_id)
        .where(TicketEvent.ticket_id == ticket.id, TicketEvent.public.is_(True)).order_by(TicketEvent.seq))
    steps = []
    for at, action, unit_name, note, raw in events:
        data = dict(raw or {})
        for key in ("due", "from"):
            if isinstance(data.get(key), str):
                try:
                    data[key] = datetime.fromisoformat(data[key])
                except ValueError:
                    data.pop(key)
        steps.append(Step(at, action, unit_name or "", note or "", data))
    return steps


def _render(ticket: Ticket, status: int = 200, supplement_form=None, rate_form=None, error=None):
    facts = facts_for(ticket, requester=True)
    can_rate = ticket.rated_at is None and ticket.fed_back_at is not None and can(CITIZEN, A.RATE, facts)
    can_supplement = can(CITIZEN, A.SUPPLEMENT, facts)
    html = render_template(
        "public/ticket.html", t=ticket, steps=public_timeline(ticket), can_rate=can_rate,
        can_supplement=can_supplement, supplement_form=supplement_form or SupplementForm(formdata=None),
        rate_form=rate_form or RateForm(formdata=None), error=error, Status=Status, Action=Action,
        masked_phone=mask_phone(national_number(ticket.citizen_phone)))
    return html, status, NO_STORE


@bp.route("/track/<tracking_no>")
def ticket(tracking_no: str):
    t = _proven(tracking_no)
    if t is None:
        return _to_lookup(tracking_no)
    return _render(t)


@bp.route("/track/<tracking_no>/supplement", methods=["POST"])
def supplement(tracking_no: str):
    t = _proven(tracking_no)
    if t is None:
        return _to_lookup(tracking_no)
    form = SupplementForm()
    if not form.validate():
        return _render(t, 400, supplement_form=form)
    try:
        perform(t, A.SUPPLEMENT, CITIZEN, utcnow(), requester=True, text=form.text.data)
    except InvalidInput as exc:
        db.session.rollback()
        form.text.errors.append(_(str(exc)))
        return _render(t, 400, supplement_form=form)
    except IllegalTransition:
        db.session.rollback()
        return _render(_proven(tracking_no), 409, error=_("该诉求已办结，不能再补充。"))
    db.session.commit()
    flash(_("补充内容已提交，承办单位和热线中心都能看到。"), "success")
    return redirect(url_for("public.ticket", tracking_no=t.tracking_no), code=303)


@bp.route("/track/<tracking_no>/rate", methods=["POST"])
def rate(tracking_no: str):
    t = _proven(tracking_no)
    if t is None:
        return _to_lookup(tracking_no)
    form = RateForm()
    if not form.validate():
        return _render(t, 400, rate_form=form)
    resolved = form.resolved.data == "yes"
    try:
        perform(t, A.RATE, CITIZEN, utcnow(), requester=True, resolved=resolved,
                satisfied=form.satisfied.data == "yes", comment=form.comment.data or "")
    except InvalidInput as exc:
        db.session.rollback()
        return _render(_proven(tracking_no), 400, error=_(str(exc)))
    except IllegalTransition:
        db.session.rollback()
        return _render(_proven(tracking_no), 409, error=_("该诉求现在不能评价。"))
    db.session.commit()
    if resolved:
        flash(_("感谢您的评价。"), "success")
    else:
        flash(_("感谢您的评价。您选择了“未解决”，热线中心将研判是否要求承办单位重新办理，结果会显示在本页。"), "success")
    return redirect(url_for("public.ticket", tracking_no=t.tracking_no), code=303)


@bp.route("/track/<tracking_no>/forget", methods=["POST"])
def forget_ticket(tracking_no: str):
    """结束查看: this browser no longer shows the request without the credentials."""
    t = _proven(tracking_no)
    if t is not None:
        forget(t.id)
    flash(_("已结束查看。再次查看需要重新输入受理编号和查询码。"), "success")
    return redirect(url_for("public.track"), code=303)
