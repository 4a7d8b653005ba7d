"""提交诉求: the submit form, its htmx fragments (subcategories, streets, suggestions) and the receipt.

Without JavaScript the form still works: the subcategory and street lists hold every
option grouped by parent (<optgroup>), the form posts, and a 303 leads to the receipt.
"""
from __future__ import annotations

from datetime import timedelta

from flask import abort, redirect, render_template, request, session, url_for
from flask_babel import get_locale, gettext as _
from sqlalchemy import select

from ...domain.access import Actor, Role, Tier
from ...domain.deadlines import Urgency, to_local, utcnow
from ...domain.intake import Channel, RequesterType, RequestKind
from ...extensions import db, limiter
from ...models import Category, Ticket, Unit
from ...services import attachments, reference
from ...services.intake import kb_suggestions, similar_open_requests, submit_request
from ...services.tickets import InvalidInput, deadline_rule
from ..fields import KeptChoices, KeptGroups
from ..htmx import is_htmx
from . import bp
from .forms import SubmitForm
from .guard import RECEIPT_KEY, count_hit, limit_of, over_limit, prove, too_many

CITIZEN = Actor(Role.CITIZEN)


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def fill_choices(form: SubmitForm, locale: str) -> None:
    """Category → subcategory and district → street, from the lists kept per process
    (``services.reference``). A chosen parent narrows the second list; without one, the second
    list has every option grouped under its parent."""
    ref = reference.current()
    categories = reference.derived("categories_by_id", lambda: {c.id: c for c in ref.categories})
    chosen = categories.get(_int(form.category.data))
    parent_id = _int(form.category_parent.data)
    if chosen is not None and chosen.parent_id is not None:
        parent_id = chosen.parent_id              # the subcategory decides (no-JS users may mix them)
    parents = reference.derived("parents", lambda: frozenset(c.id for c in ref.categories if c.parent_id is None))
    if parent_id not in parents:
        parent_id = None
    form.category_parent.data = str(parent_id) if parent_id else ""
    form.category_parent.choices = reference.derived(("category_parent", locale), lambda: KeptChoices(
        [("", _("全部大类"))] + [(str(c.id), c.display(locale)) for c in ref.categories if c.parent_id is None]))
    form.category.choices = reference.derived(("category", locale, parent_id),
                                              lambda: _category_choices(ref, locale, parent_id))
    district_id = _int(form.district.data)
    if district_id not in reference.derived("district_ids", lambda: frozenset(d.id for d in ref.districts)):
        district_id = None
    form.district.choices = reference.derived(("district", locale), lambda: KeptChoices(
        [("", _("请选择"))] + [(str(d.id), d.name) for d in ref.districts]))
    form.street.choices = reference.derived(("street", locale, district_id),
                                            lambda: _street_choices(ref, district_id))


def _category_choices(ref: reference.Reference, locale: str, parent_id: int | None):
    """A parent's subcategories, or every subcategory grouped under its parent."""
    pick = ("", _("请选择"))
    if parent_id:
        return KeptChoices([pick] + [(str(c.id), c.display(locale)) for c in ref.categories
                                     if c.parent_id == parent_id])
    parents = {c.id: c for c in ref.categories if c.parent_id is None}
    groups = KeptGroups({None: [pick]} | {p.display(locale): [] for p in parents.values()})
    for c in ref.categories:
        if c.parent_id in parents:
            groups[parents[c.parent_id].display(locale)].append((str(c.id), c.display(locale)))
    return groups


def _street_choices(ref: reference.Reference, district_id: int | None):
    """A district's streets, or every street grouped under its district."""
    unknown = ("", _("不清楚，不选择"))
    if district_id:
        return KeptChoices([unknown] + [(str(s.id), s.name) for s in ref.streets if s.parent_id == district_id])
    names = {d.id: d.name for d in ref.districts}
    groups = KeptGroups({None: [unknown]})
    for s in ref.streets:
        groups.setdefault(names[s.parent_id], []).append((str(s.id), s.name))
    return groups


def _check_choices(form: SubmitForm) -> tuple[Category | None, Unit | None, Unit | None]:
    """The errors a choice can have, on the field that has them. Checked against the database, not
    the lists as kept (``reference``): a unit or category deactivated a moment ago is refused."""
    category = district = street = None
    if not form.category.data:
        form.category.errors.append(_("请选择诉求分类"))
    else:
        category = _active(Category, form.category.data)
        if category is not None and category.parent_id is not None and _active(Category, category.parent_id) is None:
            category = None
        if category is None:
            form.category.errors.append(_("所选分类不存在"))
        elif category.parent_id is None:
            form.category.errors.append(_("请选择二级诉求分类"))
            category = None
    if not form.district.data:
        form.district.errors.append(_("请选择所在区"))
    else:
        district = _active(Unit, form.district.data)
        if district is None or district.kind != "district" or district.tier != Tier.UNIT:
            form.district.errors.append(_("所选区不存在"))
            district = None
    if form.street.data:
        street = _active(Unit, form.street.data)
        if street is None or street.tier != Tier.STREET or _active(Unit, street.parent_id) is None:
            form.street.errors.append(_("所选街道（乡镇）不存在"))
            street = None
        elif district is not None and street.parent_id != district.id:
            form.street.errors.append(_("所选街道（乡镇）不属于所选的区"))
            street = None
    return category, district, street


def _active(model, value):
    found = db.session.get(model, _int(value) or 0)
    return found if found is not None and found.active else None


def _check_photos(form: SubmitForm) -> list[attachments.PreparedPhoto]:
    files = [f for f in (form.photos.data or []) if f and getattr(f, "filename", "")]
    if len(files) > attachments.MAX_PHOTOS:
        form.photos.errors.append(_("最多上传 3 张照片"))
        return []
    prepared = []
    for n, f in enumerate(files, start=1):
        try:
            prepared.append(attachments.prepare(attachments.read_limited(f.stream)))
        except attachments.BadPhoto as exc:
            form.photos.errors.append(_("第 %(n)s 张照片（%(name)s）：%(problem)s", n=n, name=f.filename[-60:],
                                        problem=_(str(exc))))
    return prepared


def _suggest(content: str, street_id: int | None, category_id: int | None):
    articles = kb_suggestions(content or "", to_local(utcnow()).date(), category_id)
    similar = similar_open_requests(content or "", street_id)
    return articles, similar


def _render_form(form: SubmitForm, status: int = 200, error: str | None = None):
    articles, similar = ([], [])
    if request.method == "POST" and form.content.data:
        articles, similar = _suggest(form.content.data, _int(form.street.data), _int(form.category.data))
    return render_template("public/submit.html", form=form, error=error, articles=articles, similar=similar,
                           searched=bool(request.method == "POST" and form.content.data)), status


@bp.route("/submit", methods=["GET", "POST"])
@limiter.limit(limit_of("RATELIMIT_SUBMIT_IP"), methods=["POST"])
def submit():
    locale = str(get_locale())
    form = SubmitForm()
    fill_choices(form, locale)
    if request.method != "POST":
        return _render_form(form)
    valid = form.validate()
    category, district, street = _check_choices(form)
    photos = _check_photos(form)
    if not valid or any(f.errors for f in form):
        return _render_form(form, 400)
    retry = over_limit("RATELIMIT_SUBMIT_PHONE", "submit-phone", form.phone_e164)
    if retry:
        return too_many(retry)
    enterprise = form.requester_type.data == RequesterType.ENTERPRISE.value
    try:
        ticket = submit_request(
            CITIZEN, utcnow(), locale=locale, photos=photos,
            category=category, kind=RequestKind(form.kind.data), content=form.content.data, channel=Channel.WEB,
            urgency=Urgency(form.urgency.data), district=district, street=street, address=form.address.data or "",
            citizen_name="" if form.anonymous.data else (form.name.data or ""), citizen_phone=form.phone_e164,
            citizen_email=form.email.data or "", requester_type=RequesterType(form.requester_type.data),
            enterprise_name=form.enterprise_name.data if enterprise else "",
            credit_code=form.credit_code.data if enterprise else "", consent_publish=bool(form.consent_publish.data))
        stored = [a.stored_name for a in ticket.attachments]
    except InvalidInput as exc:
        db.session.rollback()
        return _render_form(form, 400, error=_(str(exc)))
    try:
        db.session.commit()
    except Exception:
        db.session.rollback()
        attachments.discard(stored)
        raise
    count_hit("RATELIMIT_SUBMIT_PHONE", "submit-phone", form.phone_e164)
    session[RECEIPT_KEY] = ticket.id
    prove(ticket.id)
    return redirect(url_for("public.receipt"), code=303)


@bp.route("/submit/receipt")
def receipt():
    """受理回执. Reachable only from the session that submitted (no id in the URL)."""
    ticket = db.session.get(Ticket, session.get(RECEIPT_KEY) or 0)
    if ticket is None:
        abort(404)
    rule = deadline_rule(ticket.category, ticket.urgency)
    response = render_template("public/receipt.html", t=ticket, rule=rule,
                               feedback_by=ticket.created_at + timedelta(hours=rule.feedback_hours),
                               feedback_days=rule.feedback_hours // 24 if rule.feedback_hours % 24 == 0 else None)
    return response, 200, {"Cache-Control": "no-store"}


# --- htmx fragments ---------------------------------------------------------------------------

def _fragment_form() -> SubmitForm:
    return SubmitForm(formdata=request.values, meta={"csrf": False})


@bp.route("/submit/subcategories")
def subcategories():
    if not is_htmx():
        return redirect(url_for("public.submit"), code=303)
    form = _fragment_form()
    form.category.data = ""
    fill_choices(form, str(get_locale()))
    return render_template("public/_category_field.html", form=form)


@bp.route("/submit/streets")
def streets():
    if not is_htmx():
        return redirect(url_for("public.submit"), code=303)
    form = _fragment_form()
    form.street.data = ""
    fill_choices(form, str(get_locale()))
    return render_template("public/_street_field.html", form=form)


@bp.route("/submit/suggestions", methods=["POST"])
@limiter.limit(limit_of("RATELIMIT_SUGGEST_IP"))
def suggestions():
    """Answered consultations and similar open requests at the same street, while the citizen types.
    POST, so what is typed never lands in an access log's query string."""
    if not is_htmx():
        return redirect(url_for("public.submit"), code=303)
    content = (request.form.get("content") or "")[:2000]
    articles, similar = _suggest(content, _int(request.form.get("street")), _int(request.form.get("category")))
    return render_template("public/_suggestions.html", articles=articles, similar=similar,
                           searched=len(content.strip()) >= 4)
