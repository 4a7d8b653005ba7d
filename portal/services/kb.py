"""知识库: the articles center staff keep and operators answer from; the demo articles.

Create, edit, retire and restore an article; each change is checked here, recorded in the
audit log and flushed (never committed). The search columns follow the text in the same
flush (``models.kb``'s mapper event), so the search never sees a stale article.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select

from ..domain.access import CENTER_ROLES, Actor, NotPermitted, Tier
from ..domain.lifecycle import N_
from ..extensions import db
from ..models import AuditEntry, Category, KbArticle, Unit
from .tickets import InvalidInput

MAX_QUESTION = 200
MAX_ANSWER = 4000
MAX_KEYWORDS = 200


def may_edit(actor: Actor) -> bool:
    """Center staff (operators and dispatchers) keep the knowledge base."""
    return actor.role in CENTER_ROLES and actor.tier == Tier.CENTER


@dataclass
class ArticleFields:
    question: str
    answer: str
    keywords: str = ""
    category_id: int | None = None
    owner_unit_id: int | None = None
    valid_from: date | None = None
    valid_to: date | None = None


def _check(f: ArticleFields) -> ArticleFields:
    question, answer = (f.question or "").strip(), (f.answer or "").strip()
    keywords = "，".join(k for k in (w.strip() for w in (f.keywords or "").replace(",", "，").replace("、", "，")
                                    .replace(";", "，").replace("；", "，").split("，")) if k)
    if not 4 <= len(question) <= MAX_QUESTION:
        raise InvalidInput(N_("问题应为 4 至 200 字"))
    if not 10 <= len(answer) <= MAX_ANSWER:
        raise InvalidInput(N_("答案应为 10 至 4000 字"))
    if len(keywords) > MAX_KEYWORDS:
        raise InvalidInput(N_("关键词过长"))
    if f.category_id is not None and db.session.get(Category, f.category_id) is None:
        raise InvalidInput(N_("所选分类不存在"))
    if f.owner_unit_id is not None:
        unit = db.session.get(Unit, f.owner_unit_id)
        if unit is None or not unit.active:
            raise InvalidInput(N_("所选责任单位不存在"))
    if f.valid_from and f.valid_to and f.valid_to < f.valid_from:
        raise InvalidInput(N_("有效期止不能早于有效期起"))
    return ArticleFields(question, answer, keywords, f.category_id, f.owner_unit_id, f.valid_from, f.valid_to)


def _audit(actor: Actor, now: datetime, action: str, article: KbArticle, detail: dict) -> None:
    db.session.add(AuditEntry(at=now, user_id=actor.user_id, action=action, target_type="kb_article",
                              target_id=article.id, detail=detail))


def _guard(actor: Actor) -> None:
    if not may_edit(actor):
        raise NotPermitted("kb")


def create_article(actor: Actor, now: datetime, fields: ArticleFields) -> KbArticle:
    _guard(actor)
    f = _check(fields)
    article = KbArticle(question=f.question, answer=f.answer, keywords=f.keywords, category_id=f.category_id,
                        owner_unit_id=f.owner_unit_id, valid_from=f.valid_from, valid_to=f.valid_to,
                        active=True, created_at=now, updated_at=now)
    db.session.add(article)
    db.session.flush()
    _audit(actor, now, "kb_create", article, {"question": f.question})
    db.session.flush()
    return article


def update_article(article: KbArticle, actor: Actor, now: datetime, fields: ArticleFields) -> KbArticle:
    _guard(actor)
    f = _check(fields)
    before = {"question": article.question, "answer": article.answer, "keywords": article.keywords}
    for name in ("question", "answer", "keywords", "category_id", "owner_unit_id", "valid_from", "valid_to"):
        setattr(article, name, getattr(f, name))
    article.updated_at = now
    _audit(actor, now, "kb_update", article, {"before": before})
    db.session.flush()
    return article


def set_active(article: KbArticle, actor: Actor, now: datetime, active: bool) -> KbArticle:
    """Retire (停用) or restore an article; a retired one is neither suggested nor offered."""
    _guard(actor)
    article.active = active
    article.updated_at = now
    _audit(actor, now, "kb_restore" if active else "kb_retire", article, {})
    db.session.flush()
    return article


# --- demo articles --------------------------------------------------------------------------

#: (category code, owner unit code, question, keywords, answer)
SEED_ARTICLES = [
    ("JTGL-TCSF", "110105", "小区停车收费不合理，收费标准由谁核定？",
     "停车收费，收费标准，小区停车",
     "住宅小区停车收费由业主大会或物业服务企业按规定协商确定，并在小区显著位置公示收费标准。"
     "对收费标准有异议，可先向物业服务企业和业主委员会提出；认为存在价格违法的，可向所在区市场监督管理局举报。"),
    ("JTGL-TCSF", "D-SCJGJ", "医院、商场周边停车场收费高于公示标准怎么办？",
     "停车场，超标准收费，价格举报",
     "经营性停车场应明码标价，收费不得高于公示标准。请保留停车票据或付款记录，向停车场所在区市场监督管理局举报，"
     "或拨打12345反映，我们将转交市场监管部门核查。"),
    ("WYGL-TCLX", "110105", "小区停车位不足、车辆乱停占用消防通道，谁来管？",
     "小区停车，乱停乱放，消防通道",
     "小区内部停车秩序由物业服务企业负责管理；占用、堵塞消防通道的，可向所在街道或消防救援机构反映，"
     "物业应及时劝离并设置禁停标识。"),
    ("SZSS-LD", "110105", "路灯不亮由谁负责维修？",
     "路灯，照明，路灯维修",
     "城市道路路灯由区城市管理委员会负责维修，一般在接报后 3 个工作日内修复；小区内部路灯由物业服务企业负责。"),
    ("ZFGJJ-TQ", "", "租房提取住房公积金需要什么材料？",
     "租房提取，公积金，提取材料",
     "在北京无自有住房且租房自住的，可凭本人身份证件通过“北京公积金”App 或网上业务平台申请租房提取，"
     "每月可提取额度按有关规定执行，资金一般在 3 个工作日内到账。"),
    ("JY-YEY", "", "幼儿园入园报名的时间和材料是什么？",
     "幼儿园，入园报名，非京籍",
     "每年 5 月前后各区教委公布幼儿园招生报名时间。报名一般需要儿童户口簿或居住证、出生证明和预防接种证；"
     "非京籍儿童还需父母在京的居住证明，具体以所在区教委公告为准。"),
    ("LDBZ-TQGZ", "", "公司拖欠工资怎么维权？",
     "拖欠工资，欠薪，劳动监察",
     "可携带劳动合同、工资条、考勤记录等证据，向用人单位所在区人力资源和社会保障局劳动保障监察大队投诉，"
     "也可申请劳动人事争议仲裁。"),
    ("SCGL-PXTF", "D-SCJGJ", "培训机构停课不退费怎么办？",
     "培训机构，退费，预付费",
     "请保留合同、缴费凭证和停课通知，先与机构协商；协商不成，可向机构所在区市场监督管理局投诉，"
     "或通过法律途径解决。涉及学科类培训的，可同时向区教委反映。"),
    ("SRHW-LJQY", "110105", "小区垃圾多日未清运向哪里反映？",
     "垃圾清运，垃圾桶满溢",
     "小区内垃圾由物业服务企业负责归集，清运由区环卫部门或其委托单位负责。多日未清运的，可向所在街道反映，"
     "街道将督促物业和清运单位在 24 小时内处理。"),
    ("JSGL-YJSG", "110105", "夜间施工噪声扰民可以投诉吗？",
     "夜间施工，噪声，扰民",
     "除抢修、抢险等作业外，22 时至次日 6 时禁止产生噪声的建筑施工作业；确需连续施工的须取得证明并公示。"
     "无证明夜间施工的，可向所在区城市管理综合执法部门投诉。"),
]


def seed_kb(now: datetime) -> int:
    """The demo knowledge base (called from ``seed_all``); returns how many articles it added.
    Does nothing if there are already articles."""
    if db.session.scalar(select(KbArticle.id).limit(1)) is not None:
        return 0
    cats = {c.code: c.id for c in db.session.scalars(select(Category))}
    units = {u.code: u.id for u in db.session.scalars(select(Unit).where(Unit.tier <= 2))}
    start = (now - timedelta(days=30)).date()
    for cat, owner, question, keywords, answer in SEED_ARTICLES:
        db.session.add(KbArticle(question=question, answer=answer, keywords=keywords, category_id=cats.get(cat),
                                 owner_unit_id=units.get(owner), valid_from=start, valid_to=None, active=True,
                                 created_at=now, updated_at=now))
    db.session.flush()
    return len(SEED_ARTICLES)
