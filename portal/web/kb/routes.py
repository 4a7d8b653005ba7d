"""知识库 editor (list, search, create, edit, retire, restore) and the repeat rate per unit.

Center staff only: anyone else gets 404, as for any page outside their scope. Routes
commit once; ``services.kb`` checks, audits and flushes.
"""
from __future__ import annotations

import re
from datetime import datetime

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import joinedload, load_only

from ...domain.deadlines import from_local, to_local, utcnow
from ...extensions import db
from ...models import Category, KbArticle, Unit
from ...services import kb as kb_service, repeats, search
from ...services.tickets import InvalidInput
from . import bp
from .forms import ArticleForm, ConfirmForm

#: rows a list shows: the most relevant (or most recently updated) first; 100 rows cost a view
#: more to render than its search (docs/benchmarks/queues-and-load.md, ninth session)
LIST_LIMIT = 50
#: what a list row shows of an article, loaded with the list in its one statement: the category,
#: its parent and the unit joined (loaded row by row, a list of 100 articles ran a statement per
#: distinct category, parent and unit; loaded after it, three more round trips), and none of the
#: long columns (the answer and the segmented words, kilobytes an article) that the list never shows
_LIST_LOADS = (load_only(KbArticle.id, KbArticle.question, KbArticle.keywords, KbArticle.category_id,
                         KbArticle.owner_unit_id, KbArticle.valid_from, KbArticle.valid_to, KbArticle.active,
                         raiseload=True),
               joinedload(KbArticle.category).joinedload(Category.parent), joinedload(KbArticle.owner_unit))


@bp.before_request
@login_required
def _center_only():
    """Signed-in center staff only (404 for everyone else)."""
    if not kb_service.may_edit(current_user.actor()):
        abort(404)


def _article_or_404(article_id: int) -> KbArticle:
    article = db.session.get(KbArticle, article_id)
    if article is None:
        abort(404)
    return article


def _choices(form: ArticleForm) -> None:
    cats = list(db.session.scalars(select(Category).where(Category.active).order_by(Category.code)))
    names = {c.id: c.name for c in cats}
    form.category.choices = [("", _("不限"))] + [
        (str(c.id), f"{names.get(c.parent_id, '')} / {c.name}" if c.parent_id else c.name) for c in cats]
    units = db.session.scalars(select(Unit).where(Unit.active, Unit.tier <= 2).order_by(Unit.tier, Unit.code))
    form.owner_unit.choices = [("", _("未指定"))] + [(str(u.id), u.name) for u in units]


def _fields(form: ArticleForm) -> kb_service.ArticleFields:
    def as_id(value):
        return int(value) if (value or "").isdigit() else None
    return kb_service.ArticleFields(
        question=form.question.data or "", answer=form.answer.data or "", keywords=form.keywords.data or "",
        category_id=as_id(form.category.data), owner_unit_id=as_id(form.owner_unit.data),
        valid_from=form.valid_from.data, valid_to=form.valid_to.data)


@bp.route("/kb/")
def index():
    q = (request.args.get("q") or "").strip()[:200]
    retired = request.args.get("retired") == "1"
    if q:
        articles = search.search_kb(q, include_retired=retired, limit=LIST_LIMIT, options=_LIST_LOADS)
    else:
        stmt = (select(KbArticle).options(*_LIST_LOADS)
                .order_by(KbArticle.updated_at.desc(), KbArticle.id.desc()).limit(LIST_LIMIT))
        if not retired:
            stmt = stmt.where(KbArticle.active.is_(True))
        articles = list(db.session.scalars(stmt))
    return render_template("kb/index.html", articles=articles, q=q, retired=retired,
                           today=to_local(utcnow()).date(), limit=LIST_LIMIT)


def _edit(article: KbArticle | None):
    form = ArticleForm(obj=None)
    _choices(form)
    if request.method == "GET" and article is not None:
        form.question.data, form.answer.data, form.keywords.data = article.question, article.answer, article.keywords
        form.category.data = str(article.category_id or "")
        form.owner_unit.data = str(article.owner_unit_id or "")
        form.valid_from.data, form.valid_to.data = article.valid_from, article.valid_to
    error = None
    if form.validate_on_submit():
        try:
            actor, now = current_user.actor(), utcnow()
            if article is None:
                article = kb_service.create_article(actor, now, _fields(form))
            else:
                kb_service.update_article(article, actor, now, _fields(form))
            db.session.commit()
        except InvalidInput as exc:
            db.session.rollback()
            error = _(str(exc))
        else:
            flash(_("知识库条目已保存。"), "success")
            return redirect(url_for("kb.index", q=article.question[:30]), code=303)
    status = 400 if request.method == "POST" else 200
    return render_template("kb/edit.html", form=form, article=article, error=error), status


@bp.route("/kb/new", methods=["GET", "POST"])
def new():
    return _edit(None)


@bp.route("/kb/<int:article_id>/edit", methods=["GET", "POST"])
def edit(article_id: int):
    return _edit(_article_or_404(article_id))


@bp.route("/kb/<int:article_id>/<any(retire, restore):op>", methods=["POST"])
def set_active(article_id: int, op: str):
    article = _article_or_404(article_id)
    if ConfirmForm().validate_on_submit():
        kb_service.set_active(article, current_user.actor(), utcnow(), op == "restore")
        db.session.commit()
        flash(_("已恢复：%(q)s", q=article.question) if op == "restore" else _("已停用：%(q)s", q=article.question),
              "success")
    return redirect(url_for("kb.index", retired="1" if op == "retire" else None), code=303)


# --- repeat rate ---------------------------------------------------------------------------

def _month(value: str | None, now: datetime) -> tuple[str, datetime, datetime, bool]:
    """('2026-11', start, end as naive UTC, ok) for a YYYY-MM month in Beijing time; this month if absent or bad."""
    local = to_local(now).replace(tzinfo=None)
    year, month, ok = local.year, local.month, True
    if value:
        m = re.fullmatch(r"(\d{4})-(\d{2})", value.strip())
        if m and 2000 <= int(m.group(1)) <= 2100 and 1 <= int(m.group(2)) <= 12:
            year, month = int(m.group(1)), int(m.group(2))
        else:
            ok = False
    start = datetime(year, month, 1)
    end = datetime(year + 1, 1, 1) if month == 12 else datetime(year, month + 1, 1)
    return f"{year:04d}-{month:02d}", from_local(start), from_local(end), ok


@bp.route("/repeats")
def repeat_rates():
    """重复反映率: per unit, the requests received this month that it holds and how many repeat an earlier one."""
    label, start, end, ok = _month(request.args.get("month"), utcnow())
    rates = repeats.repeat_rates(start, end)
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_(list(rates))))} if rates else {}
    rows = sorted(((units[uid], r, n) for uid, (r, n) in rates.items() if uid in units),
                  key=lambda row: (-(row[1] / row[2]), -row[2], row[0].code))
    total_r, total_n = sum(row[1] for row in rows), sum(row[2] for row in rows)
    return render_template("kb/repeats.html", rows=rows, month=label, bad_month=not ok,
                           total=(total_r, total_n)), 200
