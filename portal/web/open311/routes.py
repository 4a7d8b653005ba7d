"""GeoReport v2 endpoints. Every error answers with the spec's body: a list of
``{code, description}`` (``<errors><error>…`` in XML) and the HTTP status in ``code``."""
from __future__ import annotations

from flask import jsonify, request, url_for
from flask_babel import force_locale, gettext
from werkzeug.exceptions import TooManyRequests

from ...domain.deadlines import utcnow
from ...domain.intake import RequestKind
from ...domain.lifecycle import N_
from ...extensions import db, limiter
from ...services import apikeys
from ...services import open311 as api
from ...services.open311 import ApiError
from ...services.tickets import InvalidInput
from . import bp
from .openapi import document
from .render import respond

FORMATS = ("json", "xml")
ANONYMOUS_RATE = "60/minute"


class Translator:
    """gettext in the API caller's language (Accept-Language: zh or en; Chinese by default)."""

    def __init__(self, locale: str):
        self.locale = locale

    def __call__(self, text: str, **fields) -> str:
        with force_locale(self.locale):
            return gettext(text, **fields) if fields else gettext(text)


def _tr() -> Translator:
    # cached on the request itself, not on g (an app context can outlive one request)
    tr = request.environ.get("portal.open311_tr")
    if tr is None:
        tr = request.environ["portal.open311_tr"] = Translator(request.accept_languages.best_match(["zh", "en"])
                                                                or "zh")
    return tr


def _fmt(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ApiError(404, N_("不支持的格式 %(fmt)s，请使用 .json 或 .xml"), fmt=fmt[:10])
    return fmt


def _error_fmt() -> str:
    path = request.path
    return "xml" if path.endswith(".xml") else "json"


def _errors(status: int, description: str):
    return respond(_error_fmt(), "errors", [{"code": status, "description": description}], status)


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError):
    db.session.rollback()
    return _errors(exc.status, _tr()(exc.description, **exc.fields))


@bp.errorhandler(InvalidInput)
def _invalid(exc: InvalidInput):
    db.session.rollback()
    return _errors(400, _tr()(str(exc)))


@bp.errorhandler(TooManyRequests)
def _too_many(exc):
    db.session.rollback()
    return _errors(429, _tr()(N_("请求过于频繁，请稍后再试")))


# --- the API key --------------------------------------------------------------------------

_UNSET = object()


def _presented_key() -> str | None:
    return request.form.get("api_key") or request.args.get("api_key") or None


def current_key():
    """The active key the caller presented (cached for the request), else None."""
    cached = request.environ.get("portal.open311_key", _UNSET)
    if cached is _UNSET:
        cached = request.environ["portal.open311_key"] = apikeys.active_key(_presented_key())
    return cached


def _rate_scope() -> str:
    key = current_key()
    return f"open311:key:{key.id}" if key is not None else f"open311:ip:{request.remote_addr}"


def _rate_value() -> str:
    key = current_key()
    return key.rate_limit if key is not None else ANONYMOUS_RATE


def _require_key():
    if not _presented_key():
        raise ApiError(403, N_("缺少 api_key"))
    key = current_key()
    if key is None:
        raise ApiError(403, N_("api_key 无效或已被吊销"))
    return key


def _optional_key():
    """GET methods need no key; a key that is presented must be valid (it widens what is shown)."""
    if _presented_key() is None:
        return None
    return _require_key()


# --- discovery and services -------------------------------------------------------------

@bp.get("/discovery.<fmt>")
def discovery(fmt: str):
    fmt = _fmt(fmt)
    body = {
        "changeset": api.CHANGESET,
        "contact": _tr()(N_("12345 市民服务热线")),
        "key_service": _tr()(N_("接口密钥由热线管理员按接入渠道发放")),
        "endpoints": [{
            "specification": api.SPECIFICATION,
            "url": url_for("open311.discovery", fmt=fmt, _external=True).rsplit("/", 1)[0],
            "changeset": api.CHANGESET,
            "type": "production",
            "formats": ["text/xml", "application/json"],
        }],
    }
    return respond(fmt, "discovery", body)


@bp.get("/services.<fmt>")
def services(fmt: str):
    fmt = _fmt(fmt)
    tr = _tr()
    body = [{
        "service_code": cat.code,
        "service_name": cat.display(tr.locale),
        "description": cat.full_name(tr.locale),
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join(dict.fromkeys(k for k in (cat.name, cat.name_en, cat.parent.name, cat.parent.name_en)
                                            if k)),
        "group": cat.parent.display(tr.locale),
    } for cat in api.services()]
    return respond(fmt, "services", body)


@bp.get("/services/<code>.<fmt>")
def service_definition(code: str, fmt: str):
    fmt = _fmt(fmt)
    cat = api.service(code)
    if cat is None:
        raise ApiError(404, N_("service_code %(code)s 不存在"), code=code[:40])
    tr = _tr()
    body = {
        "service_code": cat.code,
        "attributes": [
            {"variable": True, "code": "kind", "datatype": "singlevaluelist", "required": False,
             "datatype_description": tr(N_("默认为投诉")), "order": 1, "description": tr(N_("诉求类型")),
             "values": [{"key": k.value, "name": tr(k.label)} for k in RequestKind]},
            {"variable": True, "code": "district", "datatype": "singlevaluelist", "required": False,
             "datatype_description": tr(N_("行政区划代码")), "order": 2, "description": tr(N_("诉求发生地所在的区")),
             "values": [{"key": u.code, "name": u.name} for u in api.districts()]},
        ],
    }
    return respond(fmt, "service_definition", body)


# --- requests ------------------------------------------------------------------------------

def _attributes() -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {}
    for name in request.form:
        if name.startswith("attribute[") and "]" in name:
            code = name[len("attribute["):name.index("]")]
            attrs.setdefault(code, []).extend(request.form.getlist(name))
    return attrs


@bp.post("/requests.<fmt>")
@limiter.limit(_rate_value, key_func=_rate_scope)
def create_request(fmt: str):
    fmt = _fmt(fmt)
    key = _require_key()
    checked = api.check_new_request(request.form.to_dict(), _attributes())
    now = utcnow()
    ticket, extra = api.submit(key, now, checked, locale=_tr().locale)
    db.session.commit()
    body = [{"service_request_id": ticket.tracking_no,
             "service_notice": _tr()(N_("已受理，请凭 service_request_id 查询办理进度")),
             "account_id": None}]
    return respond(fmt, "service_requests", body, headers={"X-Open311-Token": extra.token})


@bp.get("/requests.<fmt>")
def list_requests(fmt: str):
    fmt = _fmt(fmt)
    key = _optional_key()
    query = api.check_query(request.args.to_dict(), utcnow())
    tickets, more = api.find(query)
    extras = api.extras_for(tickets)
    tr = _tr()
    body = [api.record(t, extras.get(t.id), key, tr) for t in tickets]
    headers = {}
    if more:
        args = request.args.to_dict()
        args.pop("api_key", None)
        args.update(page=str(query.page + 1), page_size=str(query.page_size))
        headers["Link"] = f'<{url_for("open311.list_requests", fmt=fmt, _external=True, **args)}>; rel="next"'
    return respond(fmt, "service_requests", body, headers=headers)


@bp.get("/requests/<request_id>.<fmt>")
def get_request(request_id: str, fmt: str):
    fmt = _fmt(fmt)
    key = _optional_key()
    tickets, _ = api.find(api.Query(ids=[request_id], page_size=1))
    if not tickets:
        raise ApiError(404, N_("service_request_id %(id)s 不存在"), id=request_id[:40])
    extras = api.extras_for(tickets)
    return respond(fmt, "service_requests", [api.record(tickets[0], extras.get(tickets[0].id), key, _tr())])


@bp.get("/tokens/<token>.<fmt>")
def get_token(token: str, fmt: str):
    fmt = _fmt(fmt)
    extra = api.token(token)
    if extra is None:
        raise ApiError(404, N_("token %(token)s 不存在"), token=token[:40])
    ticket = db.session.get(api.Ticket, extra.ticket_id)
    return respond(fmt, "service_requests", [{"service_request_id": ticket.tracking_no, "token": extra.token}])


@bp.get("/openapi.json")
def openapi():
    resp = jsonify(document(url_for("open311.discovery", fmt="json", _external=True).rsplit("/", 1)[0]))
    resp.headers["Cache-Control"] = "no-cache"
    return resp
