"""Which form each action takes, and how a valid form becomes the service's details."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from ...domain.deadlines import from_local
from ...domain.lifecycle import N_, Action
from ...domain.tracking import normalize_tracking_number
from ...extensions import db
from ...models import Category, KbArticle, Ticket, Unit
from ...services.tickets import InvalidInput
from . import forms as F

A = Action


@dataclass(frozen=True)
class ActionSpec:
    form: type
    details: Callable[[object], dict]
    #: a button with no fields (drawn inline) rather than a form to open
    one_click: bool = False
    #: shown in a warning colour
    danger: bool = False


def _unit(code_or_id: str) -> Unit:
    unit = db.session.get(Unit, int(code_or_id)) if str(code_or_id).isdigit() else None
    if unit is None:
        raise InvalidInput(N_("请选择承办单位"))
    return unit


def _yes(value: str | None) -> bool | None:
    return {"yes": True, "no": False}.get(value or "")


def _dispatch(form) -> dict:
    assists = [_unit(a) for a in (form.assist.data or []) if a]
    return {"unit": _unit(form.unit.data), "assist": assists, "note": form.note.data}


def _answer(form) -> dict:
    text = (form.answer.data or "").strip()
    article_id = int(form.article.data) if (form.article.data or "").isdigit() else None
    if article_id:
        article = db.session.get(KbArticle, article_id)
        if article is None or not article.active:
            raise InvalidInput(N_("知识库条目不存在"))
        text = text or article.answer
    return {"answer": text, "article_id": article_id}


def _merge(form) -> dict:
    number = normalize_tracking_number(form.into.data)
    into = db.session.scalar(select(Ticket).where(Ticket.tracking_no == number)) if number else None
    if into is None:
        raise InvalidInput(N_("请选择要合并到的另一件诉求"))
    return {"into": into, "note": form.note.data}


def _callback(form) -> dict:
    contacted = _yes(form.contacted.data)
    details = {"contacted": contacted, "note": form.note.data}
    if contacted:
        details.update(resolved=_yes(form.resolved.data), satisfied=_yes(form.satisfied.data))
    return details


def _accept(form) -> dict:
    details = {"kind": form.kind.data, "urgency": form.urgency.data, "address": form.address.data}
    if (form.category.data or "").isdigit():
        details["category"] = db.session.get(Category, int(form.category.data))
    if (form.street.data or "").isdigit():
        street = db.session.get(Unit, int(form.street.data))
        if street is None:
            raise InvalidInput(N_("所选街道（乡镇）不存在"))
        details.update(street=street, district=street.parent)
    return details


SPECS: dict[Action, ActionSpec] = {
    A.SIGN: ActionSpec(F.ConfirmForm, lambda f: {}, one_click=True),
    A.ACCEPT: ActionSpec(F.AcceptForm, _accept),
    A.ANSWER: ActionSpec(F.AnswerForm, _answer),
    A.INVALIDATE: ActionSpec(F.ReasonForm, lambda f: {"reason": f.reason.data}, danger=True),
    A.MERGE: ActionSpec(F.MergeForm, _merge),
    A.DISPATCH: ActionSpec(F.DispatchForm, _dispatch),
    A.REDISPATCH: ActionSpec(F.RedispatchForm, lambda f: {"unit": _unit(f.unit.data), "note": f.note.data}),
    A.NOTE: ActionSpec(F.NoteForm, lambda f: {"note": f.note.data}),
    A.REQUEST_RETURN: ActionSpec(F.ReasonForm, lambda f: {"reason": f.reason.data}, danger=True),
    A.APPROVE_RETURN: ActionSpec(F.OptionalNoteForm, lambda f: {"note": f.note.data}),
    A.REJECT_RETURN: ActionSpec(F.ReasonForm, lambda f: {"reason": f.reason.data}, danger=True),
    A.REQUEST_EXTENSION: ActionSpec(F.ExtensionForm, lambda f: {"due": from_local(f.due.data), "reason": f.reason.data}),
    A.APPROVE_EXTENSION: ActionSpec(F.ConfirmForm, lambda f: {}, one_click=True),
    A.REJECT_EXTENSION: ActionSpec(F.ReasonForm, lambda f: {"reason": f.reason.data}, danger=True),
    A.FEEDBACK: ActionSpec(F.FeedbackForm, lambda f: {"reply": f.reply.data, "report": f.report.data}),
    A.SUBMIT_FEEDBACK: ActionSpec(F.FeedbackForm, lambda f: {"reply": f.reply.data, "report": f.report.data}),
    A.APPROVE_FEEDBACK: ActionSpec(F.ConfirmForm, lambda f: {}, one_click=True),
    A.REJECT_FEEDBACK: ActionSpec(F.ReasonForm, lambda f: {"reason": f.reason.data}, danger=True),
    A.SEND_BACK: ActionSpec(F.ReasonForm, lambda f: {"reason": f.reason.data}, danger=True),
    A.CALLBACK: ActionSpec(F.CallbackForm, _callback),
    A.REHANDLE: ActionSpec(F.RehandleForm, lambda f: {"reason": f.reason.data,
                                                      "due": from_local(f.due.data) if f.due.data else None}),
    A.CLOSE: ActionSpec(F.CloseForm, lambda f: {"reason": f.reason.data}),
    A.SUPERVISE: ActionSpec(F.SuperviseForm, lambda f: {"level": f.level.data, "note": f.note.data}),
    A.TRANSFER_DISCIPLINE: ActionSpec(F.DisciplineForm, lambda f: {"note": f.note.data}, danger=True),
}
#: actions staff take on this page (citizens' SUPPLEMENT/RATE live on /track)
STAFF_ACTIONS = [a for a in Action if a in SPECS]
