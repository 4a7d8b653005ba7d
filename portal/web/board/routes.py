"""/board: the month's ranking per group, city-wide figures, a page per unit.

Everything on the ranking tables is read from the month's snapshot (frozen, else
provisional). No citizen's name or phone is read here at all.
"""
from __future__ import annotations

import time
from collections import OrderedDict

from flask import abort, current_app, render_template, request, url_for
from markupsafe import Markup
from flask_babel import get_locale, gettext as _
from sqlalchemy import select

from ...domain import months
from ...domain.deadlines import utcnow
from ...domain.lifecycle import N_
from ...domain.scoring import GROUP_OF_KIND, GROUPS
from ...extensions import db
from ...models import Category, Unit
from ...services import ranking
from ..htmx import is_htmx
from . import bp
from .charts import bar_chart, line_chart

GROUP_LABELS = {"street": N_("街道（乡镇）"), "district": N_("区"), "department": N_("市级部门"),
                "enterprise": N_("公共服务企业")}
CLASS_LABELS = {"advanced": (N_("先进"), "badge-done"), "progress": (N_("进步"), "badge-new"),
                "rectification": (N_("整改"), "badge-warn"), "governance": (N_("治理"), "badge-wait")}
RATE_SERIES = [("response_rate", N_("响应率"), "chart-line-1"), ("resolution_rate", N_("解决率"), "chart-line-2"),
               ("satisfaction_rate", N_("满意率"), "chart-line-3")]


def _month_arg(now):
    """(month, error message): the requested month if valid, else the default and why."""
    raw = request.args.get("month")
    if raw:
        try:
            return months.checked(raw, now), None
        except months.BadMonth as exc:
            return None, _(str(exc))
    current = months.current(now)
    if ranking.snapshot(current) is not None:
        return current, None
    available = ranking.months_available()
    return (available[0] if available else current), None


def _categories(ids) -> dict[int, Category]:
    ids = list(ids)
    if not ids:
        return {}
    from sqlalchemy.orm import selectinload
    return {c.id: c for c in db.session.scalars(select(Category).where(Category.id.in_(ids))
                                                .options(selectinload(Category.parent)))}


def _top_categories(snap, previous) -> list[dict]:
    now_counts = dict((c, n) for c, n in (snap.figures or {}).get("categories", []))
    before = dict((c, n) for c, n in (previous.figures or {}).get("categories", [])) if previous else {}
    top = sorted(now_counts.items(), key=lambda x: (-x[1], x[0]))[:10]
    cats = _categories(c for c, _ in top)
    locale = str(get_locale())
    return [{"name": cats[c].full_name(locale) if c in cats else "?", "n": n,
             "change": (n - before.get(c, 0)) if previous else None} for c, n in top]


def _districts_chart(snap):
    rows = (snap.figures or {}).get("districts", [])
    names = {u.id: u.name for u in db.session.scalars(select(Unit).where(Unit.id.in_([d for d, _ in rows])))} \
        if rows else {}
    items = sorted(((names.get(d, "?"), n) for d, n in rows), key=lambda x: (-x[1], x[0]))
    return bar_chart(items) if items else None


def _context(month: str):
    snap = ranking.snapshot(month)
    ctx = {"month": month, "snap": snap, "groups": [], "group_labels": GROUP_LABELS, "class_labels": CLASS_LABELS}
    ctx.update(_figures(month, snap))
    return ctx


def _figures(month: str, snap) -> dict:
    """What the board shows around its tables: the month list, the city's totals and trend, the top
    categories, the districts' chart. All of it is read from the snapshots and named from the unit
    and category lists, so it is kept in this app's memory per month and language until a snapshot
    is written or removed or a unit or category changes (``ranking.snapshots_stamp``): a view then
    costs two small statements, not eight."""
    return _kept("board_figures", (month, str(get_locale()), ranking.snapshots_stamp()),
                 lambda: _figures_counted(month, snap))


def _figures_counted(month: str, snap) -> dict:
    ctx: dict = {"months": _month_choices(month)}
    if snap is None:
        return ctx
    ctx["totals"] = ranking.city_totals(snap)
    trend = ranking.city_trend(month, 12)
    labels = [m[2:] for m, _ in trend]
    ctx["trend"] = trend
    ctx["trend_chart"] = line_chart(labels, [(_(label), css, [f[key] if f else None for _, f in trend])
                                             for key, label, css in RATE_SERIES])
    previous = ranking.snapshot(months.previous(month))
    ctx["top_categories"] = _top_categories(snap, previous)
    ctx["districts_chart"] = _districts_chart(snap)
    return ctx


CACHE_SIZE = 64


def _kept(name: str, key, build):
    """``build()``, kept under ``key`` in this app's memory (the newest ``CACHE_SIZE`` of ``name``)."""
    cache: OrderedDict = current_app.extensions.setdefault(name, OrderedDict())
    if key not in cache:
        cache[key] = build()
        while len(cache) > CACHE_SIZE:
            cache.popitem(last=False)
    return cache[key]


def _repeats(snap) -> dict[int, tuple[int, int]]:
    """{unit id: (repeat requests, requests)} received in the snapshot's month (issue 7's repeat
    rate, shown beside the three rates; it is not part of the composite score). A snapshot
    written by an earlier version has them counted on its first view, then kept per snapshot."""
    if snap is None:
        return {}
    if "repeats" in (snap.figures or {}):
        return ranking.snapshot_repeats(snap)
    return _kept("board_repeats", (snap.id, snap.computed_at), lambda: ranking.snapshot_repeats(snap))


def tables_html(ctx: dict) -> Markup:
    """The ranking tables, rendered once per snapshot and language and kept in this app's memory
    (a snapshot never changes: a refresh writes a new one with a new ``computed_at``)."""
    snap = ctx["snap"]
    if snap is None:
        return Markup(render_template("board/_tables.html", **ctx))

    def render() -> str:
        rows = ranking.board_rows(snap)
        return render_template("board/_tables.html", **{**ctx, "groups": [(g, rows[g]) for g in GROUPS if g in rows],
                                                         "repeats": _repeats(snap)})
    return Markup(_kept("board_tables", (snap.id, snap.month, snap.computed_at, str(get_locale())), render))


def _month_choices(selected: str) -> list[str]:
    choices = set(ranking.months_available()) | {selected}
    return sorted(choices, reverse=True)


@bp.route("/board")
def index():
    now = utcnow()
    month, error = _month_arg(now)
    if error:
        fallback = months.current(now)
        return render_template("board/index.html", error=error, month=None, snap=None, groups=[],
                               months=_month_choices(fallback), group_labels=GROUP_LABELS,
                               class_labels=CLASS_LABELS), 400
    ctx = _context(month)
    if is_htmx():
        return tables_html(ctx)
    return render_template("board/index.html", error=None, tables=tables_html(ctx), **ctx)


@bp.route("/board/tables")
def tables():
    """Polled by htmx: 204 while the month's snapshot is the one the page shows, else the new tables."""
    now = utcnow()
    try:
        month = months.checked(request.args.get("month", ""), now)
    except months.BadMonth as exc:
        return _(str(exc)), 400
    snap = ranking.snapshot(month)
    since = request.args.get("since", "")
    if snap is None or snap.computed_at.isoformat() == since:
        return "", 204
    return tables_html(_context(month))


@bp.route("/board/units/<code>")
def unit(code: str):
    now = utcnow()
    u = db.session.scalar(select(Unit).where(Unit.code == code))
    if u is None or u.kind not in GROUP_OF_KIND:
        abort(404)
    month, error = _month_arg(now)
    if error:
        return render_template("board/unit.html", unit=u, error=error, month=None, row=None, trend=[],
                               chart=None, categories=[], class_labels=CLASS_LABELS,
                               group_labels=GROUP_LABELS), 400
    trend = ranking.unit_trend(u.id, month, 12)
    row = trend[-1][1]
    labels = [m[2:] for m, _ in trend]
    chart = line_chart(labels, [(_(label), css, [getattr(r, key) if r else None for _, r in trend])
                                for key, label, css in RATE_SERIES]
                       + [(_("综合得分"), "chart-line-4", [r.composite if r else None for _, r in trend])])
    snap = ranking.snapshot(month)
    top = ranking.unit_top_categories(u.id, month, snap=snap)
    cats = _categories(c for c, _ in top)
    locale = str(get_locale())
    categories = [(cats[c].full_name(locale) if c in cats else "?", n) for c, n in top]
    return render_template("board/unit.html", unit=u, error=None, month=month, row=row, trend=trend, chart=chart,
                           categories=categories, class_labels=CLASS_LABELS, group_labels=GROUP_LABELS,
                           snap=snap, group=GROUP_OF_KIND[u.kind], repeat=_repeats(snap).get(u.id))


def unit_url(unit: Unit, month: str | None) -> str:
    return url_for("board.unit", code=unit.code, month=month)


#: the pages of the unsearched cases kept per language (the first few: what nearly every view asks for)
CASES_KEPT_PAGES = 10


def cases_html(q: str, page: int) -> Markup:
    """The list of cases (``board/_cases.html``) for a search and a page.

    An unsearched page among the first ``CASES_KEPT_PAGES`` is kept, per language, in this app's
    memory for ``PUBLIC_CASES_SECONDS`` while the newest published case stays the same: a case
    published since shows at the next view; a change to an older one (a reopened request, a
    rating given after closing, retention's masking) within that time. At 10,000,000 requests a
    view otherwise counts up to 10,001 cases, reads and redacts 20, and renders them (13 ms of a
    worker's time in process; docs/benchmarks/queues-and-load.md)."""
    from ...services import publicity
    ttl = current_app.config["PUBLIC_CASES_SECONDS"]
    locale = str(get_locale())
    keep = ttl > 0 and not q and page <= CASES_KEPT_PAGES
    if keep:
        kept: dict = current_app.extensions.setdefault("board_cases", {})
        stamp = publicity.newest_stamp()
        hit = kept.get((page, locale))
        if hit is not None and hit[0] == stamp and time.monotonic() - hit[1] < ttl:
            return hit[2]
    found = publicity.cases(q, page)
    html = Markup(render_template("board/_cases.html", rows=found.cases, total=found.total, more=found.more, q=q,
                                  page=found.page, pages=found.pages, locale=locale))
    if keep:
        kept[(page, locale)] = (stamp, time.monotonic(), html)
    return html


@bp.route("/board/cases")
def cases():
    """公示: closed cases whose citizens consented; searchable and paged. No name or phone."""
    from ...services import publicity
    q = (request.args.get("q") or "").strip()[:50]
    try:
        page = max(1, int(request.args.get("page", 1)))
    except ValueError:
        page = 1
    html = cases_html(q, page)
    if is_htmx():
        return html
    return render_template("board/cases.html", cases_html=html, q=q, search_within=publicity.SEARCH_WITHIN)
