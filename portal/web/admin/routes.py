"""Admin pages (系统管理): the unit tree and its CSV import/export, users, categories and
deadlines, dispatch rules, the audit trail.

Admins only: anyone else signed in gets 404, anonymous users go to the login page. The
two-factor gate is global (``web/auth/routes.py: _gate``), so it covers these pages and
admin pages other blueprints add. Every change goes through a service that writes an
audit entry; the route commits once.
"""
from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from ...domain.access import KINDS_BY_TIER, Role, Tier
from ...domain.deadlines import Urgency, from_local, utcnow
from ...domain.hierarchy import HierarchyError
from ...domain.lifecycle import N_
from ...extensions import db
from ...models import AuditEntry, Category, DispatchRule, Unit, User
from ...services import admin_units, admin_users, categories, dispatch_rules, settings
from ...services.tickets import InvalidInput
from ..htmx import is_htmx
from . import bp

#: the preview carries the file on in a form field (base64, +33 %), under Flask's 500 kB
#: MAX_FORM_MEMORY_SIZE; Beijing's 390 units are 17 kB
MAX_CSV = 300 * 1024
KIND_LABELS = {"district": N_("区"), "department": N_("委办局"), "enterprise": N_("公共服务企业"),
               "street": N_("街道"), "township": N_("乡镇"), "area": N_("地区办事处"),
               "other": N_("其他（开发区等）"), "center": N_("热线中心")}


@bp.before_request
@login_required
def _admins_only():
    if current_user.role is not Role.ADMIN:
        abort(404)


def _uid() -> int:
    return current_user.id


def _fail(exc: Exception) -> None:
    db.session.rollback()
    flash(_(str(exc)), "error")


def _unit_arg(name: str) -> Unit | None:
    value = request.form.get(name, "").strip()
    return db.session.get(Unit, int(value)) if value.isdigit() else None


#: admin pages other blueprints add (issues 5, 8, 9): linked once they exist
OTHER_PAGES = [("/admin/jobs", N_("定时任务运行记录")), ("/admin/ranking", N_("排名设置")),
               ("/admin/channels", N_("渠道与接口")), ("/admin/outbox", N_("通知发送"))]


def _endpoint_for(path: str) -> str | None:
    from flask import current_app
    from werkzeug.exceptions import HTTPException
    from werkzeug.routing import RequestRedirect
    try:
        endpoint, _args = current_app.url_map.bind("localhost").match(path, method="GET")
    except RequestRedirect as redirect_:
        try:
            endpoint, _args = current_app.url_map.bind("localhost").match(
                redirect_.new_url.split("localhost", 1)[-1], method="GET")
        except HTTPException:
            return None
    except HTTPException:
        return None
    return endpoint


@bp.route("/")
def home():
    others = [(endpoint, label) for path, label in OTHER_PAGES if (endpoint := _endpoint_for(path))]
    return render_template("admin/home.html", others=others)


# --- units ---------------------------------------------------------------------------------------

def _open_ids() -> set[int]:
    raw = request.args.get("open", "")
    return {int(x) for x in raw.split(",") if x.isdigit()}


def _tree_context(open_ids: set[int]) -> dict:
    center = db.session.scalar(select(Unit).where(Unit.tier == Tier.CENTER).order_by(Unit.id))
    open_ids = set(open_ids) | ({center.id} if center else set())
    kids: dict[int, list[Unit]] = {}
    for uid in open_ids:
        kids[uid] = admin_units.children(uid)
    shown = [center.id] if center else []
    for lst in kids.values():
        shown += [u.id for u in lst]
    return {"root": center, "kids": kids, "open_ids": open_ids, "counts": admin_units.child_counts(shown)}


@bp.route("/units")
def units():
    q = request.args.get("q", "").strip()
    ctx = _tree_context(_open_ids())
    results = admin_units.search(q) if q else None
    if is_htmx() and request.headers.get("HX-Target") == "unit-search-results":
        return render_template("admin/_unit_search.html", q=q, results=results)
    return render_template("admin/units.html", q=q, results=results, kinds=_kind_choices(),
                           parents=_parent_choices(), **ctx)


@bp.route("/units/<int:unit_id>/node")
def unit_node(unit_id: int):
    """One tree node, expanded (with its children) or collapsed: the htmx toggle's fragment."""
    unit = db.session.get(Unit, unit_id) or abort(404)
    expanded = request.args.get("expanded") == "1"
    open_ids = {unit.id} if expanded else set()
    kids = {unit.id: admin_units.children(unit.id)} if expanded else {}
    shown = [unit.id] + [u.id for u in kids.get(unit.id, [])]
    if not is_htmx():
        return redirect(url_for("admin.units", open=unit.id if expanded else None), code=303)
    return render_template("admin/_unit_node.html", unit=unit, kids=kids, open_ids=open_ids,
                           counts=admin_units.child_counts(shown))


def _kind_choices() -> list[tuple[str, str]]:
    return [(k, _(KIND_LABELS[k])) for t in (2, 3) for k in sorted(KINDS_BY_TIER[t])]


def _parent_choices() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.tier.in_([1, 2]), Unit.active)
                                   .order_by(Unit.tier, Unit.code)))


@bp.route("/units/new", methods=["POST"])
def unit_create():
    try:
        unit = admin_units.create_unit(_uid(), utcnow(), code=request.form.get("code", ""),
                                       name=request.form.get("name", ""), kind=request.form.get("kind", ""),
                                       parent=_unit_arg("parent"))
    except InvalidInput as exc:
        _fail(exc)
        return redirect(url_for("admin.units"), code=303)
    db.session.commit()
    flash(_("已新建单位 %(n)s。", n=unit.name), "success")
    return redirect(url_for("admin.unit", unit_id=unit.id), code=303)


@bp.route("/units/<int:unit_id>")
def unit(unit_id: int):
    unit = db.session.get(Unit, unit_id) or abort(404)
    parents = list(db.session.scalars(select(Unit).where(Unit.tier == unit.tier - 1, Unit.active)
                                      .order_by(Unit.code))) if unit.tier > 1 else []
    targets = list(db.session.scalars(select(Unit).where(Unit.tier.in_([2, 3]), Unit.active, Unit.id != unit.id)
                                      .order_by(Unit.tier, Unit.code)))
    staff = db.session.scalar(select(func.count()).select_from(User).where(User.unit_id == unit.id, User.active))
    return render_template("admin/unit.html", unit=unit, parents=parents, targets=targets,
                           open_count=admin_units.open_count(unit), staff=staff,
                           kids=admin_units.children(unit.id), kind_labels=KIND_LABELS)


def _unit_change(unit_id: int, change, done: str):
    unit = db.session.get(Unit, unit_id) or abort(404)
    try:
        result = change(unit)
    except InvalidInput as exc:
        _fail(exc)
    else:
        db.session.commit()
        flash(done if result is None else done % {"n": result}, "success")
    return redirect(url_for("admin.unit", unit_id=unit_id), code=303)


@bp.route("/units/<int:unit_id>/rename", methods=["POST"])
def unit_rename(unit_id: int):
    return _unit_change(unit_id, lambda u: admin_units.rename_unit(_uid(), utcnow(), u, request.form.get("name", "")),
                        _("名称已修改。"))


@bp.route("/units/<int:unit_id>/move", methods=["POST"])
def unit_move(unit_id: int):
    return _unit_change(unit_id, lambda u: admin_units.move_unit(_uid(), utcnow(), u, _unit_arg("parent")),
                        _("已移动到新的上级单位。"))


@bp.route("/units/<int:unit_id>/deactivate", methods=["POST"])
def unit_deactivate(unit_id: int):
    target = _unit_arg("transfer_to")
    return _unit_change(unit_id, lambda u: admin_units.deactivate_unit(
        current_user.actor(), utcnow(), u, target, request.form.get("note", "").strip()[:200]),
        _("单位已停用，移交在办诉求 %(n)s 件。"))


@bp.route("/units/<int:unit_id>/review", methods=["POST"])
def unit_review(unit_id: int):
    return _unit_change(unit_id, lambda u: admin_units.set_review(
        _uid(), utcnow(), u, leader_approval=request.form.get("leader_approval") == "1",
        reviews_children=request.form.get("reviews_children") == "1"), _("已保存。"))


@bp.route("/units/<int:unit_id>/activate", methods=["POST"])
def unit_activate(unit_id: int):
    return _unit_change(unit_id, lambda u: admin_units.activate_unit(_uid(), utcnow(), u), _("单位已启用。"))


@bp.route("/units/export.csv")
def units_export():
    return Response(admin_units.export_csv(), mimetype="text/csv; charset=utf-8",
                    headers={"Content-Disposition": "attachment; filename=units.csv"})


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@bp.route("/units/import", methods=["GET", "POST"])
def units_import():
    """Upload → preview (nothing written). The preview page carries the file on to apply."""
    if request.method == "GET":
        return render_template("admin/import.html")
    upload = request.files.get("file")
    data = upload.read(MAX_CSV + 1) if upload is not None else b""
    if not data:
        flash(_("请选择要导入的 CSV 文件"), "error")
        return render_template("admin/import.html"), 400
    if len(data) > MAX_CSV:
        flash(_("文件过大（不超过 300 KB）"), "error")
        return render_template("admin/import.html"), 400
    deactivate = request.form.get("deactivate_missing") == "1"
    preview = admin_units.preview_import(data, deactivate_missing=deactivate)
    return render_template("admin/import_preview.html", preview=preview, deactivate=deactivate,
                           payload=base64.b64encode(data).decode(), digest=_digest(data),
                           filename=upload.filename), (200 if preview.ok else 422)


@bp.route("/units/import/apply", methods=["POST"])
def units_import_apply():
    try:
        data = base64.b64decode(request.form.get("payload", ""), validate=True)
    except ValueError:
        abort(400)
    if not data or _digest(data) != request.form.get("digest"):
        abort(400)
    deactivate = request.form.get("deactivate_missing") == "1"
    try:
        result = admin_units.apply_import(_uid(), data, utcnow(), deactivate_missing=deactivate)
    except HierarchyError as exc:
        db.session.rollback()
        preview = admin_units.ImportPreview(problems=exc.problems)
        return render_template("admin/import_preview.html", preview=preview, deactivate=deactivate,
                               payload="", digest="", filename=""), 422
    db.session.commit()
    flash(_("导入完成：新增 %(a)s，改名 %(r)s，移动 %(m)s，停用 %(d)s。", a=len(result.added),
            r=len(result.renamed), m=len(result.moved), d=len(result.deactivated)), "success")
    return redirect(url_for("admin.units"), code=303)


# --- users ---------------------------------------------------------------------------------------

def _role_arg() -> Role | None:
    try:
        return Role(request.form.get("role", ""))
    except ValueError:
        return None


def _staff_units() -> list[Unit]:
    return list(db.session.scalars(select(Unit).where(Unit.active).order_by(Unit.tier, Unit.code)))


@bp.route("/users", methods=["GET", "POST"])
def users():
    if request.method == "POST":
        role = _role_arg()
        try:
            if role is None:
                raise InvalidInput(N_("请选择角色"))
            user, password = admin_users.create(_uid(), utcnow(), username=request.form.get("username", ""),
                                                display_name=request.form.get("display_name", ""), role=role,
                                                unit=_unit_arg("unit"))
        except InvalidInput as exc:
            _fail(exc)
            return redirect(url_for("admin.users"), code=303)
        db.session.commit()
        return render_template("admin/password_once.html", user=user, password=password, created=True)
    f = {k: request.args.get(k, "").strip() for k in ("q", "role", "unit", "active")}
    page = max(1, request.args.get("page", 1, type=int))
    rows, total = admin_users.listing(q=f["q"], role=f["role"], unit_q=f["unit"], active=f["active"], page=page)
    return render_template("admin/users.html", rows=rows, total=total, f=f, page=page,
                           roles=admin_users.STAFF_CHOICES, units=_staff_units())


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
def user(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    if request.method == "POST":
        role = _role_arg()
        try:
            if role is None:
                raise InvalidInput(N_("请选择角色"))
            admin_users.update(_uid(), utcnow(), user, display_name=request.form.get("display_name", ""),
                               role=role, unit=_unit_arg("unit"))
        except InvalidInput as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
        return redirect(url_for("admin.user", user_id=user_id), code=303)
    return render_template("admin/user.html", u=user, roles=admin_users.STAFF_CHOICES, units=_staff_units())


def _user_change(user_id: int, change, done: str):
    user = db.session.get(User, user_id) or abort(404)
    try:
        change(user)
    except InvalidInput as exc:
        _fail(exc)
    else:
        db.session.commit()
        flash(done, "success")
    return redirect(url_for("admin.user", user_id=user_id), code=303)


@bp.route("/users/<int:user_id>/deactivate", methods=["POST"])
def user_deactivate(user_id: int):
    return _user_change(user_id, lambda u: admin_users.deactivate(_uid(), utcnow(), u), _("账号已停用。"))


@bp.route("/users/<int:user_id>/activate", methods=["POST"])
def user_activate(user_id: int):
    return _user_change(user_id, lambda u: admin_users.activate(_uid(), utcnow(), u), _("账号已启用。"))


@bp.route("/users/<int:user_id>/force-change", methods=["POST"])
def user_force_change(user_id: int):
    return _user_change(user_id, lambda u: admin_users.force_change(_uid(), utcnow(), u),
                        _("该用户下次登录时必须修改密码。"))


@bp.route("/users/<int:user_id>/reset-totp", methods=["POST"])
def user_reset_totp(user_id: int):
    return _user_change(user_id, lambda u: admin_users.reset_totp(_uid(), utcnow(), u), _("两步验证已重置。"))


@bp.route("/users/<int:user_id>/reset-password", methods=["POST"])
def user_reset_password(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    password = admin_users.reset_password(_uid(), utcnow(), user)
    db.session.commit()
    return render_template("admin/password_once.html", user=user, password=password, created=False)


# --- categories and deadlines ------------------------------------------------------------------------

def _int_or_none(name: str) -> int | None:
    value = request.form.get(name, "").strip()
    if not value:
        return None
    if not value.isdigit():
        raise InvalidInput(N_("时限必须是正整数：签收不超过 7 天，反馈不超过 90 天"))
    return int(value)


@bp.route("/categories", methods=["GET", "POST"])
def categories_page():
    if request.method == "POST":
        pid = request.form.get("parent", "")
        parent = db.session.get(Category, int(pid)) if pid.isdigit() else None
        try:
            categories.create_category(_uid(), utcnow(), code=request.form.get("code", ""),
                                       name=request.form.get("name", ""), name_en=request.form.get("name_en", ""),
                                       parent=parent)
        except InvalidInput as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已新建分类。"), "success")
        return redirect(url_for("admin.categories_page"), code=303)
    return render_template("admin/categories.html", tree=categories.all_tree(), urgencies=list(Urgency),
                           working_days=settings.get(settings.WORKING_DAYS_KEY, "0") == "1")


@bp.route("/categories/<int:cat_id>", methods=["GET", "POST"])
def category(cat_id: int):
    cat = db.session.get(Category, cat_id) or abort(404)
    if request.method == "POST":
        try:
            categories.update_category(_uid(), utcnow(), cat, name=request.form.get("name", ""),
                                       name_en=request.form.get("name_en", ""),
                                       active=request.form.get("active") == "1")
            for urgency in Urgency:
                categories.set_deadline(_uid(), utcnow(), cat, urgency,
                                        _int_or_none(f"sign_{urgency.value}"),
                                        _int_or_none(f"feedback_{urgency.value}"))
        except InvalidInput as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("已保存。"), "success")
        return redirect(url_for("admin.category", cat_id=cat_id), code=303)
    rules = {d.urgency: d for d in cat.deadlines}
    return render_template("admin/category.html", cat=cat, rules=rules, urgencies=list(Urgency))


@bp.route("/settings/deadlines", methods=["POST"])
def deadline_settings():
    from ...services import audit
    value = "1" if request.form.get("working_days") == "1" else "0"
    before = settings.get(settings.WORKING_DAYS_KEY, "0")
    if value != before:
        settings.put(settings.WORKING_DAYS_KEY, value, utcnow())
        audit.record(_uid(), "settings.working_days", "settings", None, utcnow(),
                     before={"working_days": before}, after={"working_days": value})
    db.session.commit()
    flash(_("已保存。"), "success")
    return redirect(url_for("admin.categories_page"), code=303)


# --- dispatch rules -----------------------------------------------------------------------------------

@bp.route("/rules", methods=["GET", "POST"])
def rules():
    if request.method == "POST":
        cid = request.form.get("category", "")
        try:
            dispatch_rules.save(_uid(), utcnow(), category=db.session.get(Category, int(cid)) if cid.isdigit() else None,
                                area=_unit_arg("area"), unit=_unit_arg("unit"))
        except InvalidInput as exc:
            _fail(exc)
        else:
            db.session.commit()
            flash(_("派单规则已保存。"), "success")
        return redirect(url_for("admin.rules"), code=303)
    areas = list(db.session.scalars(select(Unit).where(Unit.active, Unit.tier.in_([2, 3]),
                                                       Unit.kind != "department", Unit.kind != "enterprise")
                                    .order_by(Unit.code)))
    targets = list(db.session.scalars(select(Unit).where(Unit.active, Unit.tier.in_([2, 3]))
                                      .order_by(Unit.tier, Unit.code)))
    return render_template("admin/rules.html", rules=dispatch_rules.listing(), tree=categories.all_tree(),
                           areas=areas, targets=targets)


@bp.route("/rules/<int:rule_id>/delete", methods=["POST"])
def rule_delete(rule_id: int):
    rule = db.session.get(DispatchRule, rule_id) or abort(404)
    dispatch_rules.delete(_uid(), utcnow(), rule)
    db.session.commit()
    flash(_("派单规则已删除。"), "success")
    return redirect(url_for("admin.rules"), code=303)


# --- audit -------------------------------------------------------------------------------------------

AUDIT_PAGE = 50
AUDIT_LABELS = {
    "unit.create": N_("新建单位"), "unit.rename": N_("单位改名"), "unit.move": N_("移动单位"),
    "unit.deactivate": N_("停用单位"), "unit.review": N_("修改反馈审核设置"), "unit.activate": N_("启用单位"), "unit.import": N_("导入单位层级"),
    "user.create": N_("新建账号"), "user.update": N_("修改账号"), "user.deactivate": N_("停用账号"),
    "user.activate": N_("启用账号"), "user.reset_password": N_("重置密码"), "user.force_change": N_("强制修改密码"),
    "user.reset_totp": N_("重置两步验证"), "user.enable_totp": N_("开启两步验证"),
    "user.change_password": N_("修改本人密码"), "category.create": N_("新建分类"), "category.update": N_("修改分类"),
    "category.deadline": N_("修改分类时限"), "settings.working_days": N_("时限计算方式"),
    "rule.create": N_("新建派单规则"), "rule.update": N_("修改派单规则"), "rule.delete": N_("删除派单规则"),
}
TARGET_LABELS = {"unit": N_("单位"), "user": N_("账号"), "category": N_("分类"), "dispatch_rule": N_("派单规则"),
                 "settings": N_("设置"), "ticket": N_("诉求")}


@bp.route("/audit")
def audit():
    f = {k: request.args.get(k, "").strip() for k in ("action", "user", "target", "since", "until")}
    stmt = select(AuditEntry)
    if f["action"]:
        stmt = stmt.where(AuditEntry.action == f["action"])
    if f["target"]:
        stmt = stmt.where(AuditEntry.target_type == f["target"])
    if f["user"]:
        stmt = stmt.join(User, User.id == AuditEntry.user_id).where(User.username == f["user"].lower())
    for key, op in (("since", "ge"), ("until", "lt")):
        if f[key]:
            try:
                day = from_local(datetime.strptime(f[key], "%Y-%m-%d"))
            except ValueError:
                f[key] = ""
                continue
            stmt = stmt.where(AuditEntry.at >= day if op == "ge" else AuditEntry.at < day + timedelta(days=1))
    page = max(1, request.args.get("page", 1, type=int))
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = list(db.session.scalars(stmt.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                   .limit(AUDIT_PAGE).offset((page - 1) * AUDIT_PAGE)))
    names = dict(db.session.execute(select(User.id, User.username).where(
        User.id.in_({r.user_id for r in rows if r.user_id}))).all()) if rows else {}
    actions = sorted(db.session.scalars(select(AuditEntry.action).distinct()))
    return render_template("admin/audit.html", rows=rows, f=f, page=page, total=total, names=names,
                           actions=actions, pages=max(1, -(-total // AUDIT_PAGE)), labels=AUDIT_LABELS,
                           targets=TARGET_LABELS)
