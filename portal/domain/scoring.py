"""三率四类: the three rates, the composite score, the ranking and the four classes. Pure.

Input is one ``Counts`` per unit and month (produced by the SQL aggregation in
``portal.services.ranking``); output is one ``Score`` per unit. Nothing here reads a
database or a clock.

Counting rules (where the counts come from; see ``services.ranking.aggregate``):

* **response rate (响应率)** = signed on time ÷ dispatched. A request counts in the month of
  its dispatch and to the unit it was dispatched to. When a district, department or
  enterprise re-dispatches it (转派) to a street, it counts to the street only, in the month
  of the re-dispatch (the last dispatch in effect). A request whose return was approved counts
  nowhere until it is dispatched again. "On time" = signed at or before the sign-for due time.
* **resolution rate (解决率)** = answered callbacks "resolved" ÷ answered callbacks;
  **satisfaction rate (满意率)** = answered "satisfied" ÷ answered. One rating per request
  (``services.tickets.rated_callback``: the latest center callback that reached the citizen,
  else the citizen's own online rating), taken as it stood at the end of the month; it counts
  in the month of that callback, to the unit that was handling the request at the callback.
  A callback that did not reach the citizen is not an answer.
* **composite** = the weighted sum of the rates a unit has, divided by the sum of those
  rates' weights (a unit with no callbacks is scored on its response rate alone); none
  when it has no rate at all.
* **rank** within a group (streets/townships; districts; departments; enterprises), only for
  units with at least ``min_volume`` dispatched requests (the others are listed, unranked).
  Order: composite, then satisfaction, then resolution, then response (higher first), then
  volume (more first). Units equal on all of these share a rank (1, 2, 2, 4).
* **classes**: advanced (先进类) = rank ≤ ``advanced_n``; rectification (整改类) = the last
  ``rectification_n`` ranks, never a unit that is also advanced; progress (进步类) = among
  ranked units not advanced that were ranked last month, the ``progress_n`` largest climbs
  (last rank − this rank > 0; ties by the better rank, then code); governance (治理类) = the
  ``governance_n`` largest volumes in the group (ties by code), whether ranked or not; it
  carries the month its streak began (``governance_since``) and stays flagged until it
  leaves the top ``governance_n``.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from .lifecycle import N_

GROUPS = ("street", "district", "department", "enterprise")
#: unit kind → ranking group; the center is not ranked
GROUP_OF_KIND = {"street": "street", "township": "street", "area": "street", "other": "street",
                 "district": "district", "department": "department", "enterprise": "enterprise"}


class BadSettings(ValueError):
    """Ranking settings that cannot be used (the message is shown to the admin)."""


@dataclass(frozen=True)
class Settings:
    """Weights in whole percent (must sum to 100), the minimum volume and the class sizes."""
    w_response: int = 10
    w_resolution: int = 45
    w_satisfaction: int = 45
    min_volume: int = 10
    advanced_n: int = 3
    progress_n: int = 3
    rectification_n: int = 3
    governance_n: int = 10

    def __post_init__(self):
        check_settings(self)


def check_settings(s: Settings) -> None:
    weights = (s.w_response, s.w_resolution, s.w_satisfaction)
    if any(not isinstance(w, int) or w < 0 for w in weights):
        raise BadSettings(N_("权重必须是非负整数（百分比）"))
    if sum(weights) != 100:
        raise BadSettings(N_("三项权重之和必须等于 100%"))
    for n in (s.min_volume, s.advanced_n, s.progress_n, s.rectification_n, s.governance_n):
        if not isinstance(n, int) or n < 0 or n > 10_000:
            raise BadSettings(N_("最低件数和各类名额必须是 0 到 10000 之间的整数"))


@dataclass(frozen=True)
class Counts:
    unit_id: int
    code: str
    group: str
    dispatched: int = 0
    signed_on_time: int = 0
    answered: int = 0
    resolved: int = 0
    satisfied: int = 0


@dataclass(frozen=True)
class Previous:
    """What last month's snapshot says about a unit."""
    rank: int | None
    governance: bool = False
    governance_since: str | None = None


@dataclass(frozen=True)
class Score:
    counts: Counts
    response_rate: float | None
    resolution_rate: float | None
    satisfaction_rate: float | None
    composite: float | None
    ranked: bool
    rank: int | None = None
    previous_rank: int | None = None
    advanced: bool = False
    progress: bool = False
    rectification: bool = False
    governance: bool = False
    governance_since: str | None = None
    classes: tuple[str, ...] = field(default=())

    @property
    def change(self) -> int | None:
        """Places climbed since last month (positive = better); none unless ranked both months."""
        if self.rank is None or self.previous_rank is None:
            return None
        return self.previous_rank - self.rank


def rate(part: int, whole: int) -> float | None:
    """part ÷ whole, or None when there is nothing to divide (shown as "—")."""
    if whole <= 0:
        return None
    return part / whole


def composite(response: float | None, resolution: float | None, satisfaction: float | None,
              s: Settings) -> float | None:
    pairs = [(r, w) for r, w in ((response, s.w_response), (resolution, s.w_resolution),
                                 (satisfaction, s.w_satisfaction)) if r is not None]
    total = sum(w for _, w in pairs)
    if not pairs or total == 0:
        return None
    return sum(r * w for r, w in pairs) / total


def _score(c: Counts, s: Settings) -> Score:
    rr = rate(c.signed_on_time, c.dispatched)
    res = rate(c.resolved, c.answered)
    sat = rate(c.satisfied, c.answered)
    comp = composite(rr, res, sat, s)
    return Score(counts=c, response_rate=rr, resolution_rate=res, satisfaction_rate=sat, composite=comp,
                 ranked=comp is not None and c.dispatched >= s.min_volume)


def _key(sc: Score) -> tuple:
    """The ordering key; equal keys share a rank. Rounded so float noise never breaks a tie."""
    def r(x):
        return round(x if x is not None else -1.0, 9)
    return (-r(sc.composite), -r(sc.satisfaction_rate), -r(sc.resolution_rate), -r(sc.response_rate),
            -sc.counts.dispatched)


def rank(counts: Iterable[Counts], settings: Settings, month: str,
         previous: Mapping[int, Previous] | None = None) -> list[Score]:
    """Score, rank and classify every unit of one month; the list is in board order per group."""
    previous = previous or {}
    out: list[Score] = []
    by_group: dict[str, list[Score]] = {}
    for c in counts:
        by_group.setdefault(c.group, []).append(_score(c, settings))
    for group in sorted(by_group, key=lambda g: GROUPS.index(g) if g in GROUPS else len(GROUPS)):
        out.extend(_rank_group(by_group[group], settings, month, previous))
    return out


def _rank_group(scores: list[Score], s: Settings, month: str, previous: Mapping[int, Previous]) -> list[Score]:
    ranked = sorted((x for x in scores if x.ranked), key=lambda x: (_key(x), x.counts.code))
    ranks: dict[int, int] = {}
    for i, sc in enumerate(ranked):
        if i and _key(sc) == _key(ranked[i - 1]):
            ranks[sc.counts.unit_id] = ranks[ranked[i - 1].counts.unit_id]
        else:
            ranks[sc.counts.unit_id] = i + 1
    n = len(ranked)
    advanced = {u for u, r in ranks.items() if r <= s.advanced_n}
    # the last N places: ranks > n - N (a shared last place may make the class larger)
    rectification = {u for u, r in ranks.items() if r > n - s.rectification_n and u not in advanced}
    climbs = []
    for sc in ranked:
        u = sc.counts.unit_id
        prev = previous.get(u)
        if u in advanced or prev is None or prev.rank is None:
            continue
        climb = prev.rank - ranks[u]
        if climb > 0:
            climbs.append((-climb, ranks[u], sc.counts.code, u))
    progress = {u for *_, u in sorted(climbs)[:s.progress_n]}
    by_volume = sorted((x for x in scores if x.counts.dispatched > 0), key=lambda x: (-x.counts.dispatched,
                                                                                   x.counts.code))
    governance = {x.counts.unit_id for x in by_volume[:s.governance_n]}

    result = []
    for sc in ranked + sorted((x for x in scores if not x.ranked), key=lambda x: x.counts.code):
        u = sc.counts.unit_id
        prev = previous.get(u)
        gov = u in governance
        since = None
        if gov:
            since = prev.governance_since if (prev and prev.governance and prev.governance_since) else month
        classes = tuple(name for name, members in (("advanced", advanced), ("progress", progress),
                                                   ("rectification", rectification), ("governance", governance))
                        if u in members)
        result.append(replace(sc, rank=ranks.get(u), previous_rank=prev.rank if prev else None,
                              advanced=u in advanced, progress=u in progress, rectification=u in rectification,
                              governance=gov, governance_since=since, classes=classes))
    return result
