"""First-run data: the real hierarchy, the categories, demo staff for every tier and
a few hundred demo requests in every status, all made through the one service so
their trails are real."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from importlib import resources

from sqlalchemy import func, select

from ..domain.access import Actor, Role
from ..domain.deadlines import Urgency
from ..domain.intake import Channel, RequestKind
from ..domain.lifecycle import Action, Status
from ..extensions import db
from ..models import Category, Ticket, Unit, User
from .categories import seed_categories
from .tickets import create_ticket, perform
from .units import import_units
from .users import create_user, new_password

A = Action


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: Role
    unit_code: str


DEMO_DISTRICT = "110105"        # 朝阳区
DEMO_STREET = "110105001"       # 建外街道
DEMO_STREET_2 = "110105002"     # 朝外街道 (its leader approves feedback)
DEMO_ACCOUNTS = [
    DemoAccount("admin", "系统管理员", Role.ADMIN, "BJ12345"),
    DemoAccount("operator", "话务员 王芳", Role.OPERATOR, "BJ12345"),
    DemoAccount("dispatcher", "派单督办 李强", Role.DISPATCHER, "BJ12345"),
    DemoAccount("chaoyang", "朝阳区承办人 张伟", Role.HANDLER, DEMO_DISTRICT),
    DemoAccount("chaoyang.leader", "朝阳区负责人 刘洋", Role.LEADER, DEMO_DISTRICT),
    DemoAccount("jianwai", "建外街道承办人 陈静", Role.HANDLER, DEMO_STREET),
    DemoAccount("jianwai.leader", "建外街道负责人 赵磊", Role.LEADER, DEMO_STREET),
    DemoAccount("chaowai", "朝外街道承办人 孙丽", Role.HANDLER, DEMO_STREET_2),
    DemoAccount("chaowai.leader", "朝外街道负责人 周军", Role.LEADER, DEMO_STREET_2),
    DemoAccount("scjgj", "市场监管局承办人 吴敏", Role.HANDLER, "D-SCJGJ"),
    DemoAccount("water", "自来水集团承办人 郑浩", Role.HANDLER, "E-ZLS"),
]

CONTENTS = {
    "SCGL-WLXF": "在网上购买的电器收到后无法开机，商家拒绝退货，平台客服也不处理，请求帮助维权。",
    "SCGL-PXTF": "孩子报名的课外培训机构突然停课，预交的一年学费一万二千元至今未退，请相关部门督促退费。",
    "HJBH-LTSK": "小区门口每天晚上有露天烧烤摊，油烟很大，一直营业到凌晨，影响周边居民休息。",
    "HJBH-DLYC": "附近工地渣土车进出没有苫盖，道路扬尘严重，路过行人和车辆满身是土。",
    "JTGL-XHD": "路口的交通信号灯已经坏了两天，早晚高峰车辆拥堵，行人过马路很危险。",
    "JTGL-TCSF": "医院周边停车场收费明显高于公示标准，每小时收二十元，希望核查。",
    "WYGL-FWC": "小区物业长期不打扫楼道，电梯多次故障无人维修，业主多次反映没有结果。",
    "WYGL-TCLX": "小区内车辆乱停乱放，消防通道被占用，物业不管理，存在安全隐患。",
    "JSGL-YJSG": "附近工地每天夜里十一点以后还在施工，噪声很大，严重影响居民睡眠。",
    "SZSS-LD": "街道主路一排路灯已经连续一周不亮，晚上出行很不方便，请尽快维修。",
    "SZSS-DLJS": "下雨后路口积水很深，行人无法通过，排水口可能堵塞了，请安排疏通。",
    "SRHW-LJQY": "小区垃圾桶已经满了三天没有清运，气味很大，还招来很多蚊蝇。",
    "GGAQ-XFTD": "商场后门的消防通道堆满杂物，安全出口被锁，存在严重火灾隐患。",
    "LDBZ-TQGZ": "我在一家装修公司工作，公司已经拖欠我三个月工资共计一万八千元，请帮忙追讨。",
    "JY-YEY": "想咨询今年幼儿园入园报名的时间和需要准备的材料，以及非京籍儿童的入园政策。",
    "ZFGJJ-TQ": "想咨询租房提取住房公积金需要什么材料，每个月可以提取多少，是否可以网上办理。",
    "FDCKF-BZ": "购买的商品房已经入住五年，开发商一直没有办理房产证，请相关部门协调解决。",
}
REPLIES = [
    "经核实，情况属实。我街道已联系相关责任单位现场处置，问题已解决，感谢您的监督。",
    "您反映的问题已转交执法队现场检查，已责令整改，并将持续跟踪，如再发生请再次来电。",
    "经协调，商家已同意退款，款项将在七个工作日内退回原支付账户。",
    "已安排维修人员到场处理，目前已恢复正常，后续将加强日常巡查。",
]
ANSWER = "您好，您咨询的事项可通过“北京通”App 或政务服务网在线办理，所需材料为身份证和相关证明，办理时限为5个工作日。"
NAMES = ["张先生", "李女士", "王先生", "刘女士", "陈先生", "杨女士", "赵先生", "黄女士"]
ADDRESSES = ["建国门外大街1号院", "朝阳门外大街8号", "光华路甲10号", "东大桥路5号", "建外SOHO东区"]

#: final status → share of the demo requests
PLAN: list[tuple[Status, int]] = [
    (Status.SUBMITTED, 6), (Status.ACCEPTED, 4), (Status.ANSWERED, 8), (Status.INVALID, 2), (Status.MERGED, 2),
    (Status.DISPATCHED, 7), (Status.HANDLING, 10), (Status.RETURN_PENDING, 3), (Status.EXTENSION_PENDING, 3),
    (Status.FEEDBACK_REVIEW, 3), (Status.FED_BACK, 7), (Status.CALLED_BACK, 4), (Status.CLOSED, 41),
]


def is_seeded() -> bool:
    return bool(db.session.scalar(select(func.count()).select_from(Unit)))


def seed_all(now: datetime, *, demo_tickets: int = 300, rng_seed: int = 12345) -> dict[str, str]:
    """Seed an empty database. Returns {username: password} for the demo accounts."""
    data = resources.files("portal.data").joinpath("beijing_units.csv").read_bytes()
    import_units(data, now)
    seed_categories()
    by_code = {u.code: u for u in db.session.scalars(select(Unit))}
    by_code[DEMO_STREET_2].requires_leader_approval = True
    passwords: dict[str, str] = {}
    for acc in DEMO_ACCOUNTS:
        if acc.unit_code not in by_code:
            continue
        password = new_password()
        create_user(now, username=acc.username, display_name=acc.display_name, role=acc.role,
                    unit=by_code[acc.unit_code], password=password)
        passwords[acc.username] = password
    db.session.flush()
    if demo_tickets:
        DemoBuilder(now, random.Random(rng_seed)).build(demo_tickets)
        from .ranking_seed import seed_demo_rankings   # issue 5: last month frozen, this month provisional
        seed_demo_rankings(now)
    return passwords


class DemoBuilder:
    """Drives demo requests through ``perform`` with believable times over the last three months."""

    def __init__(self, now: datetime, rng: random.Random):
        self.now, self.rng = now, rng
        units = {u.code: u for u in db.session.scalars(select(Unit))}
        self.center = units["BJ12345"]
        self.district = units[DEMO_DISTRICT]
        self.street = units[DEMO_STREET]
        self.street2 = units[DEMO_STREET_2]
        self.others = [u for u in units.values() if u.tier == 3 and u.parent_id != self.district.id]
        self.units = units
        self.cats = {c.code: c for c in db.session.scalars(select(Category).where(Category.parent_id.isnot(None)))}
        users = {u.username: u for u in db.session.scalars(select(User))}
        self.operator = users["operator"].actor() if "operator" in users else Actor(Role.OPERATOR, self.center.id, 1)
        self.dispatcher = users["dispatcher"].actor() if "dispatcher" in users else Actor(
            Role.DISPATCHER, self.center.id, 1)
        self.users = users
        self.open_targets: list[Ticket] = []

    def actor_for(self, unit: Unit, leader: bool = False) -> Actor:
        for u in self.users.values():
            if u.unit_id == unit.id and (u.role is Role.LEADER) == leader:
                return u.actor()
        return Actor(Role.LEADER if leader else Role.HANDLER, unit.id, unit.tier)

    def build(self, n: int) -> None:
        total = sum(w for _, w in PLAN)
        plan: list[Status] = []
        for status, weight in PLAN:
            plan += [status] * max(1, round(n * weight / total))
        self.rng.shuffle(plan)
        # merges need an open request to merge into: do them last
        plan.sort(key=lambda s: s is Status.MERGED)
        for final in plan[:n] if len(plan) > n else plan:
            self.one(final)

    def one(self, final: Status) -> None:
        rng, now = self.rng, self.now
        early = final in (Status.SUBMITTED, Status.ACCEPTED, Status.DISPATCHED)
        if early:
            age = timedelta(hours=rng.uniform(1, 60))
        elif final in (Status.CLOSED, Status.ANSWERED, Status.INVALID, Status.MERGED):
            age = timedelta(days=rng.uniform(3, 90))
        else:   # open work is recent; some of it overdue
            age = timedelta(days=rng.uniform(0.5, 12))
        t = now - age
        code = rng.choice(list(CONTENTS))
        cat = self.cats[code]
        demo_area = rng.random() < 0.7
        street = (self.street2 if final is Status.FEEDBACK_REVIEW else
                  rng.choice([self.street, self.street, self.street2]) if demo_area else rng.choice(self.others))
        district = street.parent
        kind = RequestKind.CONSULTATION if final is Status.ANSWERED or code in ("JY-YEY", "ZFGJJ-TQ") else \
            rng.choice([RequestKind.COMPLAINT, RequestKind.HELP, RequestKind.REPORT, RequestKind.SUGGESTION])
        citizen = Actor(Role.CITIZEN)
        ticket = create_ticket(
            citizen if rng.random() < 0.5 else self.operator, t, category=cat, kind=kind,
            content=CONTENTS[code], channel=rng.choice([Channel.WEB, Channel.PHONE, Channel.PHONE, Channel.WECHAT]),
            urgency=Urgency.URGENT if rng.random() < 0.08 else Urgency.NORMAL, district=district, street=street,
            address=rng.choice(ADDRESSES), citizen_name=rng.choice(NAMES),
            citizen_phone=f"13{rng.randint(0, 9)}{rng.randint(10_000_000, 99_999_999)}",
            consent_publish=rng.random() < 0.6)
        step = self._clock(t, age)
        if final is Status.SUBMITTED:
            return
        if final is Status.ANSWERED:
            perform(ticket, A.ANSWER, self.operator, step(0.1), answer=ANSWER)
            return
        if final is Status.INVALID:
            perform(ticket, A.INVALIDATE, self.operator, step(0.1), reason="重复来电，内容与本人此前诉求一致")
            return
        if final is Status.MERGED:
            target = next((x for x in self.open_targets if x.status not in (Status.MERGED,)), None)
            if target is not None:
                perform(ticket, A.MERGE, self.operator, step(0.1), into=target, note="同一地点同一问题")
            return
        perform(ticket, A.ACCEPT, self.operator, step(0.05))
        if final is Status.ACCEPTED:
            self.open_targets.append(ticket)
            return
        via_district = demo_area and rng.random() < 0.35 and final is not Status.FEEDBACK_REVIEW
        first = self.district if via_district else street
        perform(ticket, A.DISPATCH, self.dispatcher, step(0.05), unit=first)
        if via_district:
            if final is Status.DISPATCHED and rng.random() < 0.5:
                return
            perform(ticket, A.REDISPATCH, self.actor_for(self.district), step(0.05), unit=street)
        if final is Status.DISPATCHED:
            self.open_targets.append(ticket)
            return
        handler = self.actor_for(street)
        if final is Status.RETURN_PENDING:
            perform(ticket, A.REQUEST_RETURN, handler, step(0.1), reason="该地址不在本街道辖区，应由相邻街道办理")
            return
        if rng.random() < 0.1:   # a return approved and dispatched again: ping-pong made visible
            perform(ticket, A.REQUEST_RETURN, handler, step(0.05), reason="不属于本单位职责")
            perform(ticket, A.APPROVE_RETURN, self.dispatcher, step(0.05))
            perform(ticket, A.DISPATCH, self.dispatcher, step(0.05), unit=street, note="经核实属于该街道辖区")
        # most units sign within the sign-for window (2 hours; 30 minutes when urgent), some late
        window = ticket.sign_due_at - ticket.dispatched_at
        late = rng.random() < 0.12
        sign_at = ticket.dispatched_at + (window * rng.uniform(1.1, 4.0) if late else window * rng.uniform(0.05, 0.9))
        perform(ticket, A.SIGN, handler, min(sign_at, self.now - timedelta(seconds=1)))
        step = self._clock(max(sign_at, step(0)), age)
        if rng.random() < 0.5:
            perform(ticket, A.NOTE, handler, step(0.1), note="已安排网格员到现场核实情况")
        if final is Status.HANDLING:
            self.open_targets.append(ticket)
            if rng.random() < 0.15:
                perform(ticket, A.SUPERVISE, self.dispatcher, step(0.1), level=1, note="请加快办理")
            return
        if final is Status.EXTENSION_PENDING:
            at = step(0.1)
            perform(ticket, A.REQUEST_EXTENSION, handler, at, due=max(ticket.feedback_due_at, at) + timedelta(days=5),
                    reason="需协调多个部门联合执法，申请延期5天")
            return
        if rng.random() < 0.1:
            at = step(0.1)
            if at < ticket.feedback_due_at:
                perform(ticket, A.REQUEST_EXTENSION, handler, at, due=ticket.feedback_due_at + timedelta(days=3),
                        reason="需等待检测结果")
                perform(ticket, A.APPROVE_EXTENSION, self.dispatcher, step(0.05))
        reply = rng.choice(REPLIES)
        if street.requires_leader_approval:
            perform(ticket, A.SUBMIT_FEEDBACK, handler, step(0.3), reply=reply)
            if final is Status.FEEDBACK_REVIEW:
                return
            perform(ticket, A.APPROVE_FEEDBACK, self.actor_for(street, leader=True), step(0.05))
        else:
            perform(ticket, A.FEEDBACK, handler, step(0.3), reply=reply, report=reply + "（已留存现场照片）")
        if final is Status.FED_BACK:
            return
        good = final is Status.CLOSED and rng.random() < 0.85
        perform(ticket, A.CALLBACK, self.operator, step(0.1), contacted=True, resolved=good or rng.random() < 0.3,
                satisfied=good, note="市民表示认可" if good else "市民表示问题仍未解决")
        if final is Status.CALLED_BACK:
            return
        if not good and rng.random() < 0.5:
            perform(ticket, A.REHANDLE, self.dispatcher, step(0.05), reason="市民不满意，请重新办理")
            perform(ticket, A.FEEDBACK if not street.requires_leader_approval else A.SUBMIT_FEEDBACK,
                    handler, step(0.1), reply="二次办理：" + reply)
            if street.requires_leader_approval:
                perform(ticket, A.APPROVE_FEEDBACK, self.actor_for(street, leader=True), step(0.02))
            perform(ticket, A.CALLBACK, self.operator, step(0.05), contacted=True, resolved=True, satisfied=True)
            good = True
        perform(ticket, A.CLOSE, self.operator, step(0.05), reason="" if good else "经多次协调，已依法依规答复")
        if ticket.consent_publish and rng.random() < 0.4:
            perform(ticket, A.RATE, citizen, step(0.05), requester=True, resolved=True, satisfied=good)

    def _clock(self, start: datetime, age: timedelta):
        """Each call moves time on by a share of the request's age, never past now."""
        state = {"t": start}

        def step(share: float) -> datetime:
            gap = age * share * self.rng.uniform(0.3, 1.0)
            state["t"] = min(self.now - timedelta(seconds=1), state["t"] + max(gap, timedelta(seconds=5)))
            return state["t"]
        return step
