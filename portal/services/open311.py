"""Open311 GeoReport v2 (issue 8): categories as services, requests in and out.

The web layer (``portal.web.open311``) parses the HTTP request and renders JSON or XML; this
module checks the input, creates requests through ``create_ticket`` and builds the records
the spec describes. Nothing here ever puts a citizen's name or phone into a record: texts
are passed through ``privacy.redact`` with the requester's names, and what another channel
sent is shown only to that channel's key, or when the citizen agreed to publication.
"""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from ..domain.access import Actor, Role
from ..domain.deadlines import to_local
from ..domain.intake import RequestKind
from ..domain.lifecycle import TERMINAL, N_, Status
from ..domain.privacy import redact
from ..extensions import db
from ..models import ApiKey, Category, Open311Request, Ticket, Unit
from .intake import normalize_phone
from .tickets import create_ticket

MAX_DESCRIPTION = 4000
MIN_DESCRIPTION = 10
WINDOW = timedelta(days=90)
MAX_RECORDS = 1000
MAX_IDS = 1000
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-12-02T00:00:00+08:00"


class ApiError(Exception):
    """An Open311 error: the HTTP status and the body's ``code``/``description`` (a Chinese
    source text for gettext, with optional format fields)."""

    def __init__(self, status: int, description: str, **fields):
        super().__init__(description)
        self.status, self.description, self.fields = status, description, fields


# --- services --------------------------------------------------------------------------

def services() -> list[Category]:
    """Every active second-level category whose parent is active: one Open311 service each."""
    parent = Category.__table__.alias("parent")
    stmt = (select(Category).join(parent, parent.c.id == Category.parent_id)
            .where(Category.active, parent.c.active)
            .order_by(parent.c.position, parent.c.id, Category.position, Category.id))
    return list(db.session.scalars(stmt))


def service(code: str) -> Category | None:
    cat = db.session.scalar(select(Category).where(Category.code == code))
    if cat is None or cat.parent is None or not cat.active or not cat.parent.active:
        return None
    return cat


def districts() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.kind == "district", Unit.active).order_by(Unit.code)))


# --- POST requests ---------------------------------------------------------------------

@dataclass
class NewRequest:
    service: Category
    description: str
    lat: float | None = None
    long: float | None = None
    address_string: str = ""
    name: str = ""
    phone: str = ""
    email: str = ""
    media_url: str = ""
    kind: RequestKind = RequestKind.COMPLAINT
    district: Unit | None = None
    attributes: dict = field(default_factory=dict)


_EMAIL = re.compile(r"^[^@\s<>\"']{1,64}@[A-Za-z0-9.-]{1,190}\.[A-Za-z]{2,24}$")
_FLOAT = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _float(text: str, low: float, high: float, name: str) -> float:
    if not _FLOAT.match(text.strip()):
        raise ApiError(400, N_("%(name)s 不是有效的数字"), name=name)
    value = float(text)
    if not low <= value <= high:
        raise ApiError(400, N_("%(name)s 超出范围"), name=name)
    return value


def check_new_request(form: dict[str, str], attributes: dict[str, list[str]]) -> NewRequest:
    """The POSTed fields checked in the spec's order; raises ``ApiError`` (400/404)."""
    code = (form.get("service_code") or "").strip()
    if not code:
        raise ApiError(400, N_("缺少 service_code"))
    cat = service(code)
    if cat is None:
        raise ApiError(404, N_("service_code %(code)s 不存在"), code=code[:40])

    lat_text, long_text = (form.get("lat") or "").strip(), (form.get("long") or "").strip()
    address = (form.get("address_string") or "").strip()
    lat = long = None
    if lat_text or long_text:
        if not (lat_text and long_text):
            raise ApiError(400, N_("lat 和 long 必须同时提供"))
        lat, long = _float(lat_text, -90, 90, "lat"), _float(long_text, -180, 180, "long")
    if len(address) > 200:
        raise ApiError(400, N_("address_string 不能超过 200 个字符"))
    if lat is None and not address:
        if (form.get("address_id") or "").strip():
            raise ApiError(400, N_("不支持 address_id，请提供 lat/long 或 address_string"))
        raise ApiError(400, N_("缺少位置：请提供 lat 和 long，或 address_string"))

    description = (form.get("description") or "").replace("\r\n", "\n").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ApiError(400, N_("description 不能超过 4000 个字符"))
    if len(description) < MIN_DESCRIPTION:
        raise ApiError(400, N_("description 至少需要 10 个字符"))

    first, last = (form.get("first_name") or "").strip(), (form.get("last_name") or "").strip()
    name = (f"{first} {last}".strip() if (first + last).isascii() else last + first)[:64]
    phone = ""
    if (form.get("phone") or "").strip():
        phone = normalize_phone(form["phone"]) or ""
        if not phone:
            raise ApiError(400, N_("phone 不是有效的中国大陆手机或固定电话号码"))
    email = (form.get("email") or "").strip()
    if email and (len(email) > 254 or not _EMAIL.match(email)):
        raise ApiError(400, N_("email 格式不正确"))
    media_url = (form.get("media_url") or "").strip()
    if media_url:
        parts = urlsplit(media_url)
        if len(media_url) > 500 or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(400, N_("media_url 必须是 http 或 https 网址（不超过 500 个字符）"))

    kind, district, kept = RequestKind.COMPLAINT, None, {}
    for attr_code, values in attributes.items():
        if attr_code not in ("kind", "district"):
            raise ApiError(400, N_("该服务没有属性 %(code)s"), code=attr_code[:40])
        if len(values) != 1:
            raise ApiError(400, N_("属性 %(code)s 只能有一个值"), code=attr_code)
        value = values[0].strip()
        if attr_code == "kind":
            try:
                kind = RequestKind(value)
            except ValueError:
                raise ApiError(400, N_("属性 %(code)s 的值无效"), code=attr_code) from None
        else:
            district = db.session.scalar(select(Unit).where(Unit.code == value, Unit.kind == "district",
                                                            Unit.active))
            if district is None:
                raise ApiError(400, N_("属性 %(code)s 的值无效"), code=attr_code)
        kept[attr_code] = value
    return NewRequest(service=cat, description=description, lat=lat, long=long, address_string=address, name=name,
                      phone=phone, email=email, media_url=media_url, kind=kind, district=district, attributes=kept)


def submit(key: ApiKey, now: datetime, req: NewRequest, locale: str = "zh") -> tuple[Ticket, Open311Request]:
    """Create the request through ``create_ticket`` with the key's channel. Flushes, never commits."""
    address = req.address_string or f"{req.lat:.6f},{req.long:.6f}"
    ticket = create_ticket(Actor(Role.CITIZEN), now, category=req.service, kind=req.kind, content=req.description,
                           channel=key.channel, district=req.district, address=address[:200],
                           citizen_name=req.name, citizen_phone=req.phone, citizen_email=req.email,
                           locale=locale, max_content=MAX_DESCRIPTION)
    extra = Open311Request(ticket_id=ticket.id, api_key_id=key.id, token=secrets.token_hex(16), lat=req.lat,
                           long=req.long, address_string=req.address_string, media_url=req.media_url,
                           attributes=req.attributes, created_at=now)
    db.session.add(extra)
    key.last_used_at = now
    db.session.flush()
    return ticket, extra


def token(value: str) -> Open311Request | None:
    if not value or len(value) > 64:
        return None
    return db.session.scalar(select(Open311Request).where(Open311Request.token == value))


# --- GET requests ----------------------------------------------------------------------

_W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$")


def parse_w3(text: str, name: str) -> datetime:
    """A w3 datetime with its zone (the spec requires one) → naive UTC."""
    text = text.strip()
    if not _W3.match(text):
        raise ApiError(400, N_("%(name)s 必须是带时区的 W3C 日期时间，例如 2026-11-01T00:00:00+08:00"), name=name)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return value.astimezone(timezone.utc).replace(tzinfo=None)
    except (ValueError, OverflowError):      # OverflowError: 0001-01-01T00:00+08:00 is before year 1 in UTC
        raise ApiError(400, N_("%(name)s 必须是带时区的 W3C 日期时间，例如 2026-11-01T00:00:00+08:00"),
                       name=name) from None


def _positive(text: str | None, name: str, default: int, high: int) -> int:
    if text is None or not text.strip():
        return default
    if not text.strip().isdigit() or not 1 <= int(text) <= high:
        raise ApiError(400, N_("%(name)s 必须是 1 至 %(high)s 的整数"), name=name, high=high)
    return int(text)


@dataclass
class Query:
    ids: list[str] | None = None
    codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: set[str] | None = None
    page: int = 1
    page_size: int = MAX_RECORDS


def _list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def check_query(args: dict[str, str], now: datetime) -> Query:
    """The spec's filters and defaults: ``service_request_id`` overrides the rest (which must
    still be well-formed); otherwise a window of at most 90 days (default: the latest 90) and
    at most 1,000 records a page."""
    page = _positive(args.get("page"), "page", 1, 1_000_000)
    page_size = _positive(args.get("page_size"), "page_size", MAX_RECORDS, MAX_RECORDS)
    end = parse_w3(args["end_date"], "end_date") if args.get("end_date") else None  # "" is absent; anything else a date
    start = parse_w3(args["start_date"], "start_date") if args.get("start_date") else None
    statuses = set(_list(args.get("status"))) or None
    if statuses and not statuses <= {"open", "closed"}:
        raise ApiError(400, N_("status 只能是 open 或 closed"))
    ids = _list(args.get("service_request_id"))
    if ids:
        if len(ids) > MAX_IDS:
            raise ApiError(400, N_("一次最多查询 1000 个 service_request_id"))
        return Query(ids=ids, page=page, page_size=page_size)
    # the window's other end, kept within datetime's years 1–9999 (a client may send either)
    if end is None:
        end = now if start is None else min(now, start + min(WINDOW, datetime.max - start))
    if start is None:
        start = end - min(WINDOW, end - datetime.min)
    if end < start:
        raise ApiError(400, N_("end_date 不能早于 start_date"))
    if end - start > WINDOW:
        raise ApiError(400, N_("查询时间范围不能超过 90 天"))
    codes = _list(args.get("service_code")) or None
    return Query(codes=codes, start=start, end=end, statuses=statuses, page=page, page_size=page_size)


def find(query: Query) -> tuple[list[Ticket], bool]:
    """The page of requests, newest first, and whether another page follows."""
    stmt = select(Ticket).options(selectinload(Ticket.handling_unit), selectinload(Ticket.district),
                                  selectinload(Ticket.street))
    if query.ids is not None:
        stmt = stmt.where(Ticket.tracking_no.in_(query.ids))
    else:
        stmt = stmt.where(Ticket.created_at >= query.start, Ticket.created_at <= query.end)
        if query.codes:
            stmt = stmt.join(Category, Category.id == Ticket.category_id).where(Category.code.in_(query.codes))
        if query.statuses == {"open"}:
            stmt = stmt.where(Ticket.status.not_in(list(TERMINAL)))
        elif query.statuses == {"closed"}:
            stmt = stmt.where(Ticket.status.in_(list(TERMINAL)))
    stmt = (stmt.order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .offset((query.page - 1) * query.page_size).limit(query.page_size + 1))
    rows = list(db.session.scalars(stmt))
    return rows[:query.page_size], len(rows) > query.page_size


def extras_for(tickets: list[Ticket]) -> dict[int, Open311Request]:
    if not tickets:
        return {}
    return {e.ticket_id: e for e in db.session.scalars(
        select(Open311Request).where(Open311Request.ticket_id.in_([t.id for t in tickets])))}


def w3(dt: datetime | None) -> str | None:
    """Naive UTC → w3 format in Beijing time with its offset."""
    local = to_local(dt)
    return local.isoformat(timespec="seconds") if local else None


def record(ticket: Ticket, extra: Open311Request | None, key: ApiKey | None, translate) -> dict:
    """One service request as the spec names its fields. ``translate`` turns a label into the
    caller's language. The requesting channel's own requests (and those the citizen agreed to
    publish) carry their text, reply and place; others only their category, status, unit,
    district and times. Texts are redacted of names, phones, e-mails and id numbers."""
    own = key is not None and extra is not None and extra.api_key_id == key.id
    shown = own or ticket.consent_publish
    names = (ticket.citizen_name, ticket.enterprise_name)
    status_notes = translate(ticket.status.label)
    if shown and (ticket.reply or ticket.answer) and ticket.status in (
            Status.FED_BACK, Status.CALLED_BACK, Status.CLOSED, Status.ANSWERED):
        status_notes += "：" + redact(ticket.reply or ticket.answer, names)
    elif ticket.status in (Status.INVALID, Status.MERGED) and ticket.close_reason:
        status_notes += "：" + translate(ticket.close_reason)
    place = " ".join(u.name for u in (ticket.district, ticket.street) if u is not None)
    closed = ticket.status in TERMINAL
    return {
        "service_request_id": ticket.tracking_no,
        "status": "closed" if closed else "open",
        "status_notes": status_notes,
        "service_name": ticket.category.display(translate.locale),
        "service_code": ticket.category.code,
        "description": redact(ticket.content, names) if shown else None,
        "agency_responsible": ticket.handling_unit.name if ticket.handling_unit is not None else None,
        "service_notice": None,
        "requested_datetime": w3(ticket.created_at),
        "updated_datetime": w3(ticket.closed_at if closed and ticket.closed_at else ticket.updated_at),
        "expected_datetime": w3(ticket.feedback_due_at),
        "address": (redact(ticket.address, names) if shown and ticket.address else place) or None,
        "address_id": None,
        "zipcode": None,
        "lat": extra.lat if own and extra.lat is not None else None,
        "long": extra.long if own and extra.long is not None else None,
        "media_url": extra.media_url if own and extra.media_url else None,
    }
