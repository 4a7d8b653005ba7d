"""Rankings: the SQL aggregation per unit and month, the frozen monthly snapshot and the
provisional one for the current month, and the ranking settings.

Counting rules (the full statement is in ``portal/domain/scoring.py`` and docs/rankings.md):

* response: ``tickets.dispatched_at`` in the month, to ``tickets.handling_unit_id``. Both
  columns hold the dispatch in effect: a re-dispatch (转派) moves both to the street, an
  approved return clears both. On time = ``signed_at <= sign_due_at``.
* resolution / satisfaction: per request the one rating ``services.tickets.rated_callback``
  would pick (latest center callback that reached the citizen, else the citizen's online
  rating, else the latest center attempt) among the callbacks made before the month's end;
  it counts when it falls in the month and reached the citizen, to ``callbacks.unit_id``
  (the unit handling the request at that callback).

Everything is a GROUP BY; there is no Python loop over requests. Services flush; the
caller (job, CLI, route) commits.
"""
from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

from sqlalchemy import and_, case, delete, func, insert, select

from ..domain import months
from ..domain.lifecycle import N_
from ..domain.scoring import GROUP_OF_KIND, BadSettings, Counts, Previous, Score, Settings, rank
from ..extensions import db
from ..models import Callback, RankingRow, RankingSettings, RankingSnapshot, Setting, Ticket, Unit
from .tickets import InvalidInput


RANKED_KINDS = tuple(GROUP_OF_KIND)


# --- settings ----------------------------------------------------------------------------

def settings_for(month: str) -> Settings:
    """The settings in force for ``month``: the latest row effective from it or earlier, else defaults."""
    row = db.session.scalar(select(RankingSettings).where(RankingSettings.effective_from <= month)
                            .order_by(RankingSettings.effective_from.desc()).limit(1))
    if row is None:
        return Settings()
    return Settings(w_response=row.w_response, w_resolution=row.w_resolution, w_satisfaction=row.w_satisfaction,
                    min_volume=row.min_volume, advanced_n=row.advanced_n, progress_n=row.progress_n,
                    rectification_n=row.rectification_n, governance_n=row.governance_n)


def save_settings(now: datetime, effective_from: str, values: dict, user_id: int | None = None) -> RankingSettings:
    """Set the settings from a month on (replacing that month's row). A month already frozen
    keeps the settings it was frozen with; so only the current month or later may be set."""
    try:
        month = f"{months.parse(effective_from)[0]:04d}-{months.parse(effective_from)[1]:02d}"
    except months.BadMonth as exc:
        raise InvalidInput(str(exc)) from None
    if month < months.current(now):
        raise InvalidInput(N_("只能设置本月或以后月份的排名规则"))
    try:
        settings = Settings(**{k: int(values[k]) for k in asdict(Settings())})
    except (KeyError, TypeError, ValueError):
        raise InvalidInput(N_("请填写完整的排名规则")) from None
    except BadSettings as exc:
        raise InvalidInput(str(exc)) from None
    row = db.session.scalar(select(RankingSettings).where(RankingSettings.effective_from == month))
    if row is None:
        row = RankingSettings(effective_from=month)
        db.session.add(row)
    for key, value in asdict(settings).items():
        setattr(row, key, value)
    row.created_at, row.created_by_id = now, user_id
    db.session.flush()
    return row


def settings_history() -> list[RankingSettings]:
    return list(db.session.scalars(select(RankingSettings).order_by(RankingSettings.effective_from.desc())))


# --- aggregation -------------------------------------------------------------------------

def response_counts(start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """unit id → (dispatched, signed on time) for requests dispatched in [start, end)."""
    on_time = func.sum(case((and_(Ticket.signed_at.isnot(None), Ticket.signed_at <= Ticket.sign_due_at), 1),
                            else_=0))
    stmt = (select(Ticket.handling_unit_id, func.count(), on_time)
            .where(Ticket.dispatched_at >= start, Ticket.dispatched_at < end, Ticket.handling_unit_id.isnot(None))
            .group_by(Ticket.handling_unit_id))
    return {u: (int(n), int(ok or 0)) for u, n, ok in db.session.execute(stmt)}


def rated_callbacks(start: datetime, end: datetime):
    """A subquery: per request with a callback in [start, end), its one rated callback as of ``end``
    (rn = 1), by the rule of ``services.tickets.rated_callback``."""
    in_month = select(Callback.ticket_id).where(Callback.at >= start, Callback.at < end)
    preference = case((and_(Callback.source == "center", Callback.contacted.is_(True)), 0),
                      (Callback.source == "citizen", 1), else_=2)
    rn = func.row_number().over(partition_by=Callback.ticket_id, order_by=(preference, Callback.id.desc()))
    return (select(Callback.id, Callback.ticket_id, Callback.unit_id, Callback.contacted, Callback.resolved,
                   Callback.satisfied, Callback.at, rn.label("rn"))
            .where(Callback.at < end, Callback.ticket_id.in_(in_month))
            .subquery("rated"))


def callback_counts(start: datetime, end: datetime) -> dict[int, tuple[int, int, int]]:
    """unit id → (answered, resolved, satisfied) for the requests whose rating fell in [start, end)."""
    r = rated_callbacks(start, end)
    stmt = (select(r.c.unit_id, func.count(), func.sum(case((r.c.resolved.is_(True), 1), else_=0)),
                   func.sum(case((r.c.satisfied.is_(True), 1), else_=0)))
            .where(r.c.rn == 1, r.c.contacted.is_(True), r.c.at >= start, r.c.unit_id.isnot(None))
            .group_by(r.c.unit_id))
    return {u: (int(n), int(res or 0), int(sat or 0)) for u, n, res, sat in db.session.execute(stmt)}


def figures(month: str) -> dict:
    """City-wide volume of the month (requests dispatched in it) by category and by district, and
    each unit's repeat requests among those it received in the month (issue 7's repeat rate, shown
    beside the three rates) and each unit's most frequent categories (its public page): counted here
    with the snapshot, as the board's every other figure, and not on a view (at 10,000,000 requests
    the month's repeats take about half a second, a unit's categories 48 ms)."""
    start, end = months.bounds(month)
    in_month = _dispatched_in(start, end)
    cats = db.session.execute(select(Ticket.category_id, func.count()).where(*in_month)
                              .group_by(Ticket.category_id).order_by(func.count().desc(), Ticket.category_id))
    districts = db.session.execute(select(Ticket.district_id, func.count())
                                   .where(*in_month, Ticket.district_id.isnot(None))
                                   .group_by(Ticket.district_id).order_by(Ticket.district_id))
    from .repeats import repeat_rates
    return {"categories": [[c, int(n)] for c, n in cats], "districts": [[d, int(n)] for d, n in districts],
            "repeats": [[u, r, n] for u, (r, n) in sorted(repeat_rates(start, end).items())],
            "unit_categories": _units_top_categories(start, end)}


#: the categories a unit's public page shows (its most frequent in the month)
TOP_CATEGORIES = 5


def _dispatched_in(start: datetime, end: datetime) -> tuple:
    return Ticket.dispatched_at >= start, Ticket.dispatched_at < end


def _units_top_categories(start: datetime, end: datetime) -> dict[str, list[list[int]]]:
    """{unit id (a string, as JSON keys are): [[category id, n], ...]} for each unit's
    ``TOP_CATEGORIES`` most frequent categories of the requests dispatched in the month (one
    GROUP BY and a window, for every unit at once)."""
    n = func.count().label("n")
    per = (select(Ticket.handling_unit_id.label("unit_id"), Ticket.category_id.label("category_id"), n)
           .where(Ticket.handling_unit_id.isnot(None), *_dispatched_in(start, end))
           .group_by(Ticket.handling_unit_id, Ticket.category_id).subquery())
    place = func.row_number().over(partition_by=per.c.unit_id, order_by=(per.c.n.desc(), per.c.category_id))
    ranked = select(per.c.unit_id, per.c.category_id, per.c.n, place.label("place")).subquery()
    rows = db.session.execute(select(ranked.c.unit_id, ranked.c.category_id, ranked.c.n)
                              .where(ranked.c.place <= TOP_CATEGORIES)
                              .order_by(ranked.c.unit_id, ranked.c.place))
    out: dict[str, list[list[int]]] = {}
    for u, c, k in rows:
        out.setdefault(str(u), []).append([c, int(k)])
    return out


def snapshot_repeats(snap: RankingSnapshot) -> dict[int, tuple[int, int]]:
    """{unit id: (repeat requests, requests received)} of the snapshot's month, as counted when it
    was written; a snapshot written before the repeats were kept in it (migration-free: they live
    in ``figures``) is counted now."""
    kept = (snap.figures or {}).get("repeats")
    if kept is not None:
        return {u: (r, n) for u, r, n in kept}
    from .repeats import repeat_rates
    return repeat_rates(*months.bounds(snap.month))


def aggregate(month: str) -> list[Counts]:
    """Counts for every active ranked unit (tier 2 and 3), zero where a unit had nothing."""
    start, end = months.bounds(month)
    resp = response_counts(start, end)
    cbs = callback_counts(start, end)
    units = db.session.execute(select(Unit.id, Unit.code, Unit.kind, Unit.active)
                               .where(Unit.tier.in_((2, 3)), Unit.kind.in_(RANKED_KINDS)))
    out = []
    for uid, code, kind, active in units:
        d, ok = resp.get(uid, (0, 0))
        a, res, sat = cbs.get(uid, (0, 0, 0))
        if not active and not (d or a):
            continue
        out.append(Counts(unit_id=uid, code=code, group=GROUP_OF_KIND[kind], dispatched=d, signed_on_time=ok,
                          answered=a, resolved=res, satisfied=sat))
    return out


# --- snapshots ----------------------------------------------------------------------------

def snapshot(month: str, *, provisional: bool | None = None) -> RankingSnapshot | None:
    """The frozen snapshot of ``month``, else (unless provisional=False) its provisional one."""
    stmt = select(RankingSnapshot).where(RankingSnapshot.month == month)
    if provisional is not None:
        stmt = stmt.where(RankingSnapshot.provisional.is_(provisional))
    return db.session.scalars(stmt.order_by(RankingSnapshot.provisional)).first()


def _previous(month: str) -> dict[int, Previous]:
    prev = snapshot(months.previous(month))
    if prev is None:
        return {}
    rows = db.session.execute(select(RankingRow.unit_id, RankingRow.rank, RankingRow.governance,
                                     RankingRow.governance_since).where(RankingRow.snapshot_id == prev.id))
    return {u: Previous(rank=r, governance=bool(g), governance_since=s) for u, r, g, s in rows}


def compute(month: str) -> tuple[Settings, list[Score]]:
    settings = settings_for(month)
    return settings, rank(aggregate(month), settings, month, _previous(month))


def _write(month: str, provisional: bool, now: datetime) -> RankingSnapshot:
    settings, scores = compute(month)
    snap = RankingSnapshot(month=month, provisional=provisional, computed_at=now, settings=asdict(settings),
                           figures=figures(month))
    db.session.add(snap)
    db.session.flush()
    rows = [dict(snapshot_id=snap.id, unit_id=s.counts.unit_id, group=s.counts.group, position=i,
                 dispatched=s.counts.dispatched, signed_on_time=s.counts.signed_on_time,
                 answered=s.counts.answered, resolved=s.counts.resolved, satisfied=s.counts.satisfied,
                 response_rate=s.response_rate, resolution_rate=s.resolution_rate,
                 satisfaction_rate=s.satisfaction_rate, composite=s.composite, ranked=s.ranked, rank=s.rank,
                 previous_rank=s.previous_rank, advanced=s.advanced, progress=s.progress,
                 rectification=s.rectification, governance=s.governance, governance_since=s.governance_since)
            for i, s in enumerate(scores)]
    if rows:
        db.session.execute(insert(RankingRow), rows)
    return snap


def freeze(month: str, now: datetime) -> RankingSnapshot:
    """定榜: write the frozen snapshot of a month that has ended. Idempotent: if the month is
    already frozen the existing snapshot is returned unchanged. The month's provisional
    snapshot is removed."""
    _, end = months.bounds(month)
    if end > now:
        raise InvalidInput(N_("该月份尚未结束，不能定榜"))
    existing = snapshot(month, provisional=False)
    if existing is not None:
        return existing
    snap = _write(month, False, now)
    db.session.execute(delete(RankingSnapshot).where(RankingSnapshot.month == month,
                                                     RankingSnapshot.provisional.is_(True)))
    return snap


def refresh_provisional(now: datetime, month: str | None = None) -> RankingSnapshot:
    """The provisional board of the current month (or of another month not frozen yet), replaced."""
    month = month or months.current(now)
    if month > months.current(now):
        raise InvalidInput(N_("该月份尚未到来，没有排名数据"))
    if snapshot(month, provisional=False) is not None:
        raise InvalidInput(N_("该月份已定榜，不再计算临时排名"))
    old = snapshot(month, provisional=True)
    if old is not None:
        db.session.delete(old)
        db.session.flush()
    return _write(month, True, now)


def catch_up(now: datetime) -> RankingSnapshot | None:
    """At start: freeze last month if its snapshot is missing (the server was down on the 1st)."""
    last = months.previous(months.current(now))
    if snapshot(last, provisional=False) is None:
        return freeze(last, now)
    return None


# --- jobs: fn(now, month=None) -------------------------------------------------------------

def freeze_job(now: datetime, month: str | None = None) -> str:
    """定榜: freeze last month's ranking (1st of the month, 02:00 Beijing)."""
    month = month or months.previous(months.current(now))
    snap = freeze(month, now)
    return f"{month} frozen at {snap.computed_at:%Y-%m-%d %H:%M} UTC"


freeze_job.period_of = lambda now, month=None: month or months.previous(months.current(now))   # type: ignore[attr-defined]


def refresh_job(now: datetime, month: str | None = None) -> str:
    """临时排名: recompute the current month's provisional ranking (hourly)."""
    snap = refresh_provisional(now, month)
    n = db.session.scalar(select(func.count()).select_from(RankingRow).where(RankingRow.snapshot_id == snap.id))
    return f"{snap.month} provisional, {n} units"


refresh_job.period_of = lambda now, month=None: month or months.current(now)   # type: ignore[attr-defined]


# --- reading ------------------------------------------------------------------------------

def board_rows(snap: RankingSnapshot) -> dict[str, list[tuple[RankingRow, Unit]]]:
    """group → [(row, unit)] in board order."""
    stmt = (select(RankingRow, Unit).join(Unit, Unit.id == RankingRow.unit_id)
            .where(RankingRow.snapshot_id == snap.id).order_by(RankingRow.position))
    out: dict[str, list] = {}
    for row, unit in db.session.execute(stmt):
        out.setdefault(row.group, []).append((row, unit))
    return out


def city_totals(snap: RankingSnapshot) -> dict:
    """City-wide sums over the snapshot's units (a street's request is not counted again at its district:
    each request counts to one unit)."""
    d, ok, a, res, sat = db.session.execute(
        select(func.coalesce(func.sum(RankingRow.dispatched), 0), func.coalesce(func.sum(RankingRow.signed_on_time), 0),
               func.coalesce(func.sum(RankingRow.answered), 0), func.coalesce(func.sum(RankingRow.resolved), 0),
               func.coalesce(func.sum(RankingRow.satisfied), 0))
        .where(RankingRow.snapshot_id == snap.id)).one()
    from ..domain.scoring import rate
    return {"dispatched": int(d), "answered": int(a), "response_rate": rate(int(ok), int(d)),
            "resolution_rate": rate(int(res), int(a)), "satisfaction_rate": rate(int(sat), int(a))}


def unit_trend(unit_id: int, month: str, n: int = 12) -> list[tuple[str, RankingRow | None]]:
    """The unit's row in each of the n months ending with ``month`` (frozen, else provisional)."""
    wanted = months.last_n(month, n)
    stmt = (select(RankingSnapshot.month, RankingSnapshot.provisional, RankingRow)
            .join(RankingRow, RankingRow.snapshot_id == RankingSnapshot.id)
            .where(RankingRow.unit_id == unit_id, RankingSnapshot.month.in_(wanted)))
    found: dict[str, tuple[bool, RankingRow]] = {}
    for m, prov, row in db.session.execute(stmt):
        if m not in found or found[m][0]:   # frozen wins over provisional
            found[m] = (prov, row)
    return [(m, found[m][1] if m in found else None) for m in wanted]


def snapshots_stamp() -> tuple:
    """What changes whenever a page read from the snapshots could: the newest snapshot's id and
    how many there are (a write adds a row with a new id; a freeze removes the provisional one)
    and the unit and category lists' version (their names). One small statement."""
    from .reference import VERSION_KEY
    reference = select(Setting.value).where(Setting.key == VERSION_KEY).scalar_subquery()
    return tuple(db.session.execute(select(func.max(RankingSnapshot.id), func.count(RankingSnapshot.id),
                                           reference)).one())


def months_available() -> list[str]:
    return list(db.session.scalars(select(RankingSnapshot.month).distinct().order_by(RankingSnapshot.month.desc())))



def city_trend(month: str, n: int = 12) -> list[tuple[str, dict | None]]:
    """City-wide sums per month for the n months ending with ``month`` (frozen, else provisional)."""
    wanted = months.last_n(month, n)
    stmt = (select(RankingSnapshot.month, RankingSnapshot.provisional, func.sum(RankingRow.dispatched),
                   func.sum(RankingRow.signed_on_time), func.sum(RankingRow.answered),
                   func.sum(RankingRow.resolved), func.sum(RankingRow.satisfied))
            .join(RankingRow, RankingRow.snapshot_id == RankingSnapshot.id)
            .where(RankingSnapshot.month.in_(wanted))
            .group_by(RankingSnapshot.id, RankingSnapshot.month, RankingSnapshot.provisional))
    from ..domain.scoring import rate
    found: dict[str, tuple[bool, dict]] = {}
    for m, prov, d, ok, a, res, sat in db.session.execute(stmt):
        d, ok, a, res, sat = (int(v or 0) for v in (d, ok, a, res, sat))
        figures = {"dispatched": d, "response_rate": rate(ok, d), "resolution_rate": rate(res, a),
                   "satisfaction_rate": rate(sat, a)}
        if m not in found or found[m][0]:
            found[m] = (prov, figures)
    return [(m, found[m][1] if m in found else None) for m in wanted]


def unit_top_categories(unit_id: int, month: str, limit: int = TOP_CATEGORIES,
                        snap: RankingSnapshot | None = None) -> list[tuple[int, int]]:
    """(category id, n) of the requests dispatched to the unit in the month, most first: as the
    month's snapshot counted them when it was written, else (no snapshot, or one written before
    they were kept in its figures) counted now (48 ms a view at 10,000,000 requests)."""
    kept = (snap.figures or {}).get("unit_categories") if snap is not None and snap.month == month else None
    if kept is not None and limit <= TOP_CATEGORIES:
        return [(c, n) for c, n in kept.get(str(unit_id), [])[:limit]]
    start, end = months.bounds(month)
    stmt = (select(Ticket.category_id, func.count())
            .where(Ticket.handling_unit_id == unit_id, *_dispatched_in(start, end))
            .group_by(Ticket.category_id).order_by(func.count().desc(), Ticket.category_id).limit(limit))
    return [(c, int(n)) for c, n in db.session.execute(stmt)]


def snapshot_row(snap: RankingSnapshot, unit_id: int) -> RankingRow | None:
    return db.session.scalar(select(RankingRow).where(RankingRow.snapshot_id == snap.id,
                                                      RankingRow.unit_id == unit_id))


def explain(unit_id: int, month: str) -> dict:
    """The exact requests behind a unit's rates for a month, by the same conditions as the
    aggregation (so the lists' lengths are the counts): ``response`` rows
    (id, tracking no, dispatched, sign due, signed, on time) and ``callbacks`` rows
    (id, tracking no, at, source, resolved, satisfied)."""
    start, end = months.bounds(month)
    on_time = and_(Ticket.signed_at.isnot(None), Ticket.signed_at <= Ticket.sign_due_at)
    response = db.session.execute(
        select(Ticket.id, Ticket.tracking_no, Ticket.dispatched_at, Ticket.sign_due_at, Ticket.signed_at,
               case((on_time, True), else_=False))
        .where(Ticket.handling_unit_id == unit_id, Ticket.dispatched_at >= start, Ticket.dispatched_at < end)
        .order_by(Ticket.dispatched_at, Ticket.id)).all()
    r = rated_callbacks(start, end)
    callbacks = db.session.execute(
        select(Ticket.id, Ticket.tracking_no, r.c.at, Callback.source, r.c.resolved, r.c.satisfied)
        .join(Ticket, Ticket.id == r.c.ticket_id).join(Callback, Callback.id == r.c.id)
        .where(r.c.rn == 1, r.c.contacted.is_(True), r.c.at >= start, r.c.unit_id == unit_id)
        .order_by(r.c.at, Ticket.id)).all()
    return {"response": response, "callbacks": callbacks,
            "on_time": sum(1 for x in response if x[5]),
            "resolved": sum(1 for x in callbacks if x[4]), "satisfied": sum(1 for x in callbacks if x[5])}
