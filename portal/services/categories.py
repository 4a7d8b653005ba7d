"""The two-level category tree, seeded from the categories in Beijing's reports (DOMAIN.md)."""
from __future__ import annotations

from sqlalchemy import select

from ..domain.deadlines import Urgency
from ..extensions import db
from ..models import Category, CategoryDeadline

#: (code, 中文, English, [(code, 中文, English), ...])
SEED: list[tuple[str, str, str, list[tuple[str, str, str]]]] = [
    ("SCGL", "市场管理", "Market management", [
        ("SCGL-WLXF", "网络消费纠纷", "Online shopping disputes"),
        ("SCGL-PXTF", "培训机构退费", "Training schools not refunding"),
        ("SCGL-JGWF", "价格违法", "Illegal pricing")]),
    ("HJBH", "环境保护", "Environmental protection", [
        ("HJBH-LTSK", "露天烧烤", "Open-air barbecue"),
        ("HJBH-DLYC", "道路扬尘", "Road dust"),
        ("HJBH-ZSWR", "噪声污染", "Noise pollution")]),
    ("JTGL", "交通管理", "Traffic management", [
        ("JTGL-TCSF", "停车收费不合理", "Unreasonable parking fees"),
        ("JTGL-XHD", "信号灯故障", "Broken traffic signals"),
        ("JTGL-WZTC", "违章停车", "Illegal parking")]),
    ("WFJS", "违法建设", "Illegal construction", [
        ("WFJS-WJ", "违章建筑", "Unauthorised buildings"),
        ("WFJS-ZYGG", "占用公共空间", "Occupying public space")]),
    ("WYGL", "物业管理", "Property management", [
        ("WYGL-FWC", "物业服务差", "Poor property service"),
        ("WYGL-TCLX", "小区停车混乱", "Parking chaos in estates"),
        ("WYGL-WYF", "物业收费", "Property fees")]),
    ("JSGL", "建设管理", "Construction management", [
        ("JSGL-YJSG", "夜间施工扰民", "Night-time construction noise"),
        ("JSGL-SGAQ", "施工安全", "Construction site safety")]),
    ("SZSS", "市政设施", "Municipal facilities", [
        ("SZSS-LD", "路灯不亮", "Street lights out"),
        ("SZSS-DLJS", "道路积水", "Waterlogged roads"),
        ("SZSS-JG", "井盖破损", "Broken manhole covers")]),
    ("SRHW", "市容环卫", "City appearance and sanitation", [
        ("SRHW-LJQY", "垃圾清运不及时", "Garbage not cleared"),
        ("SRHW-GGCS", "公共厕所", "Public toilets")]),
    ("NCGL", "农村管理", "Rural management", [
        ("NCGL-TDBC", "土地补偿", "Land compensation"),
        ("NCGL-NCHJ", "农村人居环境", "Village environment")]),
    ("GGAQ", "公共安全", "Public safety", [
        ("GGAQ-GQSP", "过期食品", "Expired food"),
        ("GGAQ-XFTD", "消防通道堵塞", "Blocked fire exits")]),
    ("XFWQ", "消费者权益", "Consumer rights", [
        ("XFWQ-YFK", "预付卡纠纷", "Prepaid card disputes"),
        ("XFWQ-SPZL", "商品质量", "Product quality")]),
    ("ZFGJJ", "住房公积金", "Housing provident fund", [
        ("ZFGJJ-TQ", "公积金提取", "Withdrawals"),
        ("ZFGJJ-DK", "公积金贷款", "Loans")]),
    ("FDCKF", "房地产开发与销售", "Housing development and sales", [
        ("FDCKF-BZ", "办理房产证", "Property deeds"),
        ("FDCKF-JF", "延期交房", "Late handover")]),
    ("YQFK", "疫情防控", "Epidemic control", [
        ("YQFK-ZC", "防控政策咨询", "Control policy questions")]),
    ("LDBZ", "劳动与工资", "Labour and wages", [
        ("LDBZ-TQGZ", "拖欠工资", "Unpaid wages"),
        ("LDBZ-SB", "社会保险", "Social insurance")]),
    ("JY", "教育", "Education", [
        ("JY-YEY", "幼儿园入园", "Kindergarten places"),
        ("JY-RX", "中小学入学", "School enrolment")]),
    ("WSJK", "卫生健康", "Health", [
        ("WSJK-YY", "医院服务", "Hospital service"),
        ("WSJK-YB", "医疗保障", "Medical insurance")]),
]


def seed_categories() -> int:
    """Insert the seed categories that are missing (by code); returns how many were added."""
    have = set(db.session.scalars(select(Category.code)))
    added = 0
    for pos, (code, name, name_en, children) in enumerate(SEED):
        parent = db.session.scalar(select(Category).where(Category.code == code))
        if parent is None:
            parent = Category(code=code, name=name, name_en=name_en, position=pos, active=True)
            db.session.add(parent)
            added += 1
        for cpos, (ccode, cname, cname_en) in enumerate(children):
            if ccode not in have:
                db.session.add(Category(code=ccode, name=cname, name_en=cname_en, parent=parent,
                                        position=cpos, active=True))
                added += 1
    db.session.flush()
    # a category with a shorter clock than the default: broken signals and blocked fire exits are safety issues
    for code in ("JTGL-XHD", "GGAQ-XFTD"):
        cat = db.session.scalar(select(Category).where(Category.code == code))
        if cat is not None and not cat.deadlines:
            cat.deadlines.append(CategoryDeadline(urgency=Urgency.NORMAL, sign_minutes=60, feedback_hours=72))
    db.session.flush()
    return added


def top_level() -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.parent_id.is_(None), Category.active)
                                   .order_by(Category.position)))


def children_of(parent_id: int) -> list[Category]:
    return list(db.session.scalars(select(Category).where(Category.parent_id == parent_id, Category.active)
                                   .order_by(Category.position)))


# --- admin -------------------------------------------------------------------------------------

def _cat_snapshot(cat: Category) -> dict:
    return {"code": cat.code, "name": cat.name, "name_en": cat.name_en,
            "parent": cat.parent.code if cat.parent is not None else None, "active": cat.active,
            "deadlines": {d.urgency.value: [d.sign_minutes, d.feedback_hours] for d in cat.deadlines}}


def all_tree() -> list[tuple[Category, list[Category]]]:
    """Every category, active or not, as (top level, children)."""
    cats = list(db.session.scalars(select(Category).order_by(Category.position, Category.code)))
    tops = [c for c in cats if c.parent_id is None]
    return [(t, [c for c in cats if c.parent_id == t.id]) for t in tops]


def create_category(admin_id: int, now, *, code: str, name: str, name_en: str, parent: Category | None) -> Category:
    from ..domain.lifecycle import N_
    from . import audit
    from .tickets import InvalidInput
    code, name, name_en = (code or "").strip(), (name or "").strip(), (name_en or "").strip()
    if not code or len(code) > 32 or not name or len(name) > 64 or len(name_en) > 128:
        raise InvalidInput(N_("编码和名称不能为空，且不能过长"))
    if db.session.scalar(select(Category).where(Category.code == code)) is not None:
        raise InvalidInput(N_("编码已存在"))
    if parent is not None and parent.parent_id is not None:
        raise InvalidInput(N_("分类只有两级：上级必须是一级分类"))
    position = len(parent.children) if parent is not None else len(top_level())
    cat = Category(code=code, name=name, name_en=name_en, parent=parent, position=position, active=True)
    db.session.add(cat)
    db.session.flush()
    audit.record(admin_id, "category.create", "category", cat.id, now, after=_cat_snapshot(cat))
    return cat


def update_category(admin_id: int, now, cat: Category, *, name: str, name_en: str, active: bool) -> None:
    from ..domain.lifecycle import N_
    from . import audit
    from .tickets import InvalidInput
    name, name_en = (name or "").strip(), (name_en or "").strip()
    if not name or len(name) > 64 or len(name_en) > 128:
        raise InvalidInput(N_("名称不能为空，且不能过长"))
    before = _cat_snapshot(cat)
    cat.name, cat.name_en, cat.active = name, name_en, active
    db.session.flush()
    after = _cat_snapshot(cat)
    if after != before:
        audit.record(admin_id, "category.update", "category", cat.id, now, before=before, after=after)


def set_deadline(admin_id: int, now, cat: Category, urgency: Urgency, sign_minutes: int | None,
                 feedback_hours: int | None) -> None:
    """The category's own deadlines at one urgency; both empty → inherit (parent, then city default)."""
    from ..domain.lifecycle import N_
    from . import audit
    from .tickets import InvalidInput
    before = _cat_snapshot(cat)
    row = next((d for d in cat.deadlines if d.urgency is urgency), None)
    if sign_minutes is None and feedback_hours is None:
        if row is not None:
            cat.deadlines.remove(row)
    else:
        if not sign_minutes or not feedback_hours or sign_minutes <= 0 or feedback_hours <= 0 \
                or sign_minutes > 7 * 24 * 60 or feedback_hours > 90 * 24:
            raise InvalidInput(N_("时限必须是正整数：签收不超过 7 天，反馈不超过 90 天"))
        if row is None:
            cat.deadlines.append(CategoryDeadline(urgency=urgency, sign_minutes=sign_minutes,
                                                  feedback_hours=feedback_hours))
        else:
            row.sign_minutes, row.feedback_hours = sign_minutes, feedback_hours
    db.session.flush()
    after = _cat_snapshot(cat)
    if after != before:
        audit.record(admin_id, "category.deadline", "category", cat.id, now, before=before, after=after)
