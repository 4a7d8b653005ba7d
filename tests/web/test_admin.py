"""Admin pages (issue 6): the unit tree, CSV import with a preview, users, categories and
deadlines, dispatch rules, the audit trail — through the routes, as an admin."""
from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from portal.domain.access import Role
from portal.domain.deadlines import Urgency, from_local
from portal.domain.lifecycle import Action, Status, replay
from portal.extensions import db
from portal.models import AuditEntry, Category, DispatchRule, Setting, Ticket, TicketEvent, Unit, User
from tests.conftest import TEST_PASSWORD

DATA = Path(__file__).resolve().parents[1] / "data"
HEADER = "code,name,tier,kind,parent_code\n"


@pytest.fixture
def admin(login_as):
    return login_as("admin")


def unit(code: str) -> Unit:
    return db.session.scalar(select(Unit).where(Unit.code == code))


def units_table() -> list[tuple]:
    return sorted(tuple(r) for r in db.session.execute(
        select(Unit.code, Unit.name, Unit.parent_id, Unit.tier, Unit.active, Unit.path)))


def audit_actions() -> list[str]:
    return list(db.session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def page(resp) -> str:
    return resp.get_data(as_text=True)


# --- access: admins only; everyone else 404, anonymous to the login page -----------------------------

ADMIN_GETS = ["/admin/", "/admin/units", "/admin/units/1", "/admin/units/1/node?expanded=1", "/admin/units/import",
              "/admin/units/export.csv", "/admin/users", "/admin/users/{uid}", "/admin/categories", "/admin/categories/1",
              "/admin/rules", "/admin/audit"]
ADMIN_POSTS = ["/admin/units/new", "/admin/units/1/rename", "/admin/units/1/move", "/admin/units/1/deactivate",
               "/admin/units/1/activate", "/admin/units/1/review", "/admin/units/import", "/admin/units/import/apply", "/admin/users",
               "/admin/users/{uid}", "/admin/users/{uid}/deactivate", "/admin/users/{uid}/activate",
               "/admin/users/{uid}/reset-password", "/admin/users/{uid}/force-change", "/admin/users/{uid}/reset-totp",
               "/admin/categories", "/admin/categories/1", "/admin/settings/deadlines", "/admin/rules",
               "/admin/rules/1/delete"]
WHO = ["anonymous", "operator", "dispatcher", "chaoyang", "chaoyang.leader", "jianwai", "jianwai.leader", "scjgj",
       "water", "admin"]
ROUTES = [(u, "GET") for u in ADMIN_GETS] + [(u, "POST") for u in ADMIN_POSTS]


@pytest.mark.parametrize("who", WHO)
def test_access_table(client, login_as, users, now, who):
    """Every admin route × every role: admin 200/303/…, other staff 404, anonymous → login."""
    from portal.services.dispatch_rules import save
    save(None, now, category=db.session.get(Category, 1), area=unit("110105"), unit=unit("110105001"))
    db.session.commit()
    uid = users["water"].id
    if who != "anonymous":
        login_as(who)
    for url, method in ROUTES:
        resp = client.open(url.format(uid=uid), method=method, data={})
        if who == "anonymous":
            assert resp.status_code == 302 and "/login" in resp.headers["Location"], (url, method)
        elif who == "admin":
            assert resp.status_code not in (302, 401, 403, 404), (url, method, resp.status_code)
        else:
            assert resp.status_code == 404, (who, url, method, resp.status_code)
    if who != "admin":     # nobody else changed anything
        assert audit_actions() == ["rule.create"]


# --- the unit tree -------------------------------------------------------------------------------------

def test_tree_shows_the_center_open_and_expands_a_district_with_htmx_and_without(client, admin):
    chaoyang = unit("110105")
    body = page(client.get("/admin/units"))
    assert "朝阳区" in body and "建外街道" not in body
    assert 'aria-expanded="true"' in body
    frag = page(client.get(f"/admin/units/{chaoyang.id}/node?expanded=1", headers={"HX-Request": "true"}))
    assert "<html" not in frag and "建外街道" in frag and 'aria-expanded="true"' in frag
    collapsed = page(client.get(f"/admin/units/{chaoyang.id}/node?expanded=0", headers={"HX-Request": "true"}))
    assert "建外街道" not in collapsed and 'aria-expanded="false"' in collapsed
    # no JavaScript: the toggle is a link to the page with that node open
    assert "建外街道" in page(client.get(f"/admin/units?open={chaoyang.id}"))


def test_search_by_name_and_by_code(client, admin):
    assert "建外街道" in page(client.get("/admin/units?q=建外"))
    frag = page(client.get("/admin/units?q=110105001", headers={"HX-Request": "true",
                                                                  "HX-Target": "unit-search-results"}))
    assert "<html" not in frag and "建外街道" in frag
    assert "没有找到匹配的单位" in page(client.get("/admin/units?q=不存在的单位"))


def test_create_rename_move_are_audited(client, admin):
    chaoyang, haidian = unit("110105"), unit("110108")
    resp = client.post("/admin/units/new", data={"code": "110105099", "name": "测试街道", "kind": "street",
                                                 "parent": chaoyang.id})
    assert resp.status_code == 303
    new = unit("110105099")
    assert new.tier == 3 and new.path == f"{chaoyang.path}{new.id}/"
    client.post(f"/admin/units/{new.id}/rename", data={"name": "新名街道"})
    client.post(f"/admin/units/{new.id}/move", data={"parent": haidian.id})
    db.session.expire_all()
    assert new.name == "新名街道" and new.parent_id == haidian.id and new.path == f"{haidian.path}{new.id}/"
    assert audit_actions()[-3:] == ["unit.create", "unit.rename", "unit.move"]
    move = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "unit.move"))
    assert move.detail["before"]["parent"] == "110105" and move.detail["after"]["parent"] == "110108"
    assert move.user_id == db.session.scalar(select(User.id).where(User.username == "admin"))


def test_moving_a_district_moves_its_streets_paths(client, admin):
    chaoyang, jianwai = unit("110105"), unit("110105001")
    # a tier-2 unit moves only under the center; under a district is refused (tier rule)
    resp = client.post(f"/admin/units/{chaoyang.id}/move", data={"parent": unit("110108").id}, follow_redirects=True)
    assert "层级不符" in page(resp)
    db.session.expire_all()
    assert jianwai.path.startswith(chaoyang.path)


@pytest.mark.parametrize("case", ["own descendant", "tier-3 parent of tier-2", "itself"])
def test_bad_moves_are_refused_and_change_nothing(client, admin, case):
    chaoyang, jianwai = unit("110105"), unit("110105001")
    subject, parent, message = {
        "own descendant": (chaoyang, jianwai, "不能把单位移到它自己或它的下级单位之下"),
        "tier-3 parent of tier-2": (unit("110108"), jianwai, "层级不符"),
        "itself": (chaoyang, chaoyang, "不能把单位移到它自己或它的下级单位之下"),
    }[case]
    before = units_table()
    resp = client.post(f"/admin/units/{subject.id}/move", data={"parent": parent.id}, follow_redirects=True)
    assert message in page(resp)
    db.session.expire_all()
    assert units_table() == before
    assert "unit.move" not in audit_actions()


def test_duplicate_code_and_wrong_parent_tier_on_create(client, admin):
    before = units_table()
    resp = client.post("/admin/units/new", data={"code": "110105001", "name": "重复", "kind": "street",
                                                 "parent": unit("110105").id}, follow_redirects=True)
    assert "编码已存在" in page(resp)
    resp = client.post("/admin/units/new", data={"code": "X1", "name": "街道挂在街道下", "kind": "street",
                                                 "parent": unit("110105001").id}, follow_redirects=True)
    assert "层级不符" in page(resp)
    resp = client.post("/admin/units/new", data={"code": "X2", "name": "第二个中心", "kind": "center",
                                                 "parent": ""}, follow_redirects=True)
    assert "热线中心只能有一个" in page(resp)
    db.session.expire_all()
    assert units_table() == before


def test_deactivate_is_refused_while_the_unit_holds_open_requests(client, admin, make_ticket):
    t = make_ticket(Status.HANDLING, unit="110105002")
    chaowai = unit("110105002")
    resp = client.post(f"/admin/units/{chaowai.id}/deactivate", data={}, follow_redirects=True)
    assert "该单位还有在办诉求" in page(resp)
    db.session.expire_all()
    assert chaowai.active and t.handling_unit_id == chaowai.id


def test_deactivate_moves_open_requests_in_one_step_through_perform(client, admin, make_ticket, users):
    handling = make_ticket(Status.HANDLING, unit="110105002")
    pending = make_ticket(Status.EXTENSION_PENDING, unit="110105002")
    done = make_ticket(Status.CLOSED, unit="110105002")
    chaowai, jianwai = unit("110105002"), unit("110105001")
    resp = client.post(f"/admin/units/{chaowai.id}/deactivate", data={"transfer_to": jianwai.id,
                                                                     "note": "朝外街道并入建外街道"})
    assert resp.status_code == 303
    db.session.expire_all()
    assert not chaowai.active
    for t in (handling, pending):
        assert t.status is Status.DISPATCHED and t.handling_unit_id == jianwai.id
        assert t.signed_at is None and t.pending_due_at is None
        last = t.events[-1]
        assert last.action is Action.TRANSFER and last.actor_role is Role.ADMIN
        assert last.data == {"from": "110105002", "to": "110105001"} and last.note == "朝外街道并入建外街道"
        assert replay(e.action for e in t.events) is t.status
    assert done.status is Status.CLOSED and done.handling_unit_id == chaowai.id   # history stays
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "unit.deactivate"))
    assert sorted(entry.detail["moved"]) == sorted([handling.tracking_no, pending.tracking_no])


def test_feedback_review_settings(client, admin, make_ticket, users):
    chaoyang, jianwai = unit("110105"), unit("110105001")
    client.post(f"/admin/units/{jianwai.id}/review", data={"leader_approval": "1"})
    resp = client.post(f"/admin/units/{jianwai.id}/review", data={"reviews_children": "1"}, follow_redirects=True)
    assert "只有第 2 级单位" in page(resp)
    client.post(f"/admin/units/{chaoyang.id}/review", data={"reviews_children": "1"})
    db.session.expire_all()
    assert jianwai.requires_leader_approval and chaoyang.reviews_child_feedback
    # the street's feedback now waits for its leader
    t = make_ticket(Status.FED_BACK, unit="110105001")
    assert [e.action for e in t.events][-2:] == [Action.SUBMIT_FEEDBACK, Action.APPROVE_FEEDBACK]
    assert audit_actions().count("unit.review") == 2


def test_deactivate_refuses_a_unit_with_active_sub_units_and_the_center(client, admin):
    resp = client.post(f"/admin/units/{unit('110105').id}/deactivate", data={}, follow_redirects=True)
    assert "启用中的下级单位" in page(resp)
    resp = client.post(f"/admin/units/{unit('BJ12345').id}/deactivate", data={}, follow_redirects=True)
    assert "热线中心不能停用" in page(resp)


# --- CSV import through the web: preview, then apply in one transaction ------------------------------------

def upload(client, data: bytes, deactivate: bool = False, name: str = "units.csv"):
    form = {"file": (__import__("io").BytesIO(data), name)}
    if deactivate:
        form["deactivate_missing"] = "1"
    return client.post("/admin/units/import", data=form, content_type="multipart/form-data")


def apply_from(client, preview_resp):
    body = page(preview_resp)
    fields = dict(re.findall(r'name="(payload|digest|deactivate_missing)" value="([^"]*)"', body))
    return client.post("/admin/units/import/apply", data=fields)


def test_a_whole_other_city_through_preview_and_apply(client, admin):
    data = (DATA / "haibin_units.csv").read_bytes()
    before = units_table()
    preview = upload(client, data, deactivate=True)
    body = page(preview)
    assert preview.status_code == 200
    assert "新增 14，改名 1，移动 0，重新启用 0" in body       # the center takes the new code and name
    assert "海滨市东港区" in body and "BJ12345" in body
    assert "朝阳区" in body                                 # listed under 停用
    db.session.expire_all()
    assert units_table() == before                         # the preview wrote nothing
    resp = apply_from(client, preview)
    assert resp.status_code == 303
    db.session.expire_all()
    active = set(db.session.scalars(select(Unit.code).where(Unit.active)))
    codes = {line.split(",")[0] for line in data.decode().splitlines()[1:]}
    assert active == codes
    center = unit("HB12345")
    assert center.name == "海滨市12345市民服务热线中心" and unit("BJ12345") is None
    street = unit("HB01002")
    assert street.parent.code == "HB01" and street.path == f"{center.path}{street.parent_id}/{street.id}/"
    # the staff of the old center (operators, the admin) still belong to the one center
    assert db.session.scalar(select(User).where(User.username == "admin")).unit_id == center.id
    assert "unit.import" in audit_actions()
    # and the new city's tree is what the admin now sees
    assert "海滨市西湾区" in page(client.get("/admin/units"))


def test_import_preview_adds_renames_and_moves(client, admin):
    data = (HEADER + "110105,朝阳区（新）,2,district,BJ12345\n"
            "110105001,建外街道,3,street,110108\n"
            "110105099,新设街道,3,street,110105\n").encode()
    body = page(upload(client, data))
    assert "新增 1，改名 1，移动 1" in body
    assert "朝阳区 → 朝阳区（新）" in body and "110105 → 110108" in body
    apply_from(client, upload(client, data))
    db.session.expire_all()
    assert unit("110105001").parent.code == "110108" and unit("110105099").parent.code == "110105"


@pytest.mark.parametrize("case", ["wrong header", "cycle", "tier-3 parent of tier-2", "duplicate code",
                                  "latin-1", "utf-16"])
def test_bad_files_name_the_lines_and_apply_nothing(client, admin, case):
    data, expect = {
        "wrong header": ("编码,名称,层级,类型,上级\nX,Y,2,district,BJ12345\n".encode(), "表头应为"),
        "cycle": ((HEADER + "A1,甲,3,street,B1\nB1,乙,3,street,A1\n").encode(), "形成循环"),
        "tier-3 parent of tier-2": ((HEADER + "X2,新区,2,district,110105001\n").encode(), "层级不符"),
        "duplicate code": ((HEADER + "X1,甲,2,district,BJ12345\nX1,乙,2,district,BJ12345\n").encode(), "重复"),
        "latin-1": ((HEADER + "X1,Caf\xe9,2,district,BJ12345\n").encode("latin-1") + b"\xff\xfe\x00", "编码无法识别"),
        "utf-16": ((HEADER + "X1,甲,2,district,BJ12345\n").encode("utf-16"), "编码无法识别"),
    }[case]
    before = units_table()
    resp = upload(client, data)
    body = page(resp)
    assert resp.status_code == 422 and expect in body and "未做任何更改" in body
    if case in ("cycle", "tier-3 parent of tier-2", "duplicate code"):
        assert "第 2 行" in body or "第 3 行" in body
    assert 'name="payload"' not in body                       # no apply button
    db.session.expire_all()
    assert units_table() == before


def test_apply_rechecks_the_file(client, admin):
    """A forged apply (the digest does not match) or a file broken since the preview changes nothing."""
    before = units_table()
    bad = (HEADER + "A1,甲,3,street,B1\nB1,乙,3,street,A1\n").encode()
    import base64
    import hashlib
    resp = client.post("/admin/units/import/apply", data={"payload": base64.b64encode(bad).decode(),
                                                          "digest": hashlib.sha256(bad).hexdigest()})
    assert resp.status_code == 422 and "形成循环" in page(resp)
    resp = client.post("/admin/units/import/apply", data={"payload": base64.b64encode(bad).decode(),
                                                          "digest": "0" * 64})
    assert resp.status_code == 400
    db.session.expire_all()
    assert units_table() == before


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig", "utf-8"])
def test_gbk_and_bom_files_as_excel_saves_them(client, admin, encoding):
    data = (HEADER + "110105098,朝阳区测试街道,3,street,110105\n").encode(encoding)
    resp = upload(client, data)
    assert resp.status_code == 200 and "朝阳区测试街道" in page(resp)
    apply_from(client, resp)
    db.session.expire_all()
    assert unit("110105098").name == "朝阳区测试街道"


def test_import_refuses_to_deactivate_a_unit_holding_open_requests(client, admin, make_ticket):
    make_ticket(Status.HANDLING, unit="110105002")
    data = (DATA / "haibin_units.csv").read_bytes()
    resp = upload(client, data, deactivate=True)
    assert resp.status_code == 422 and "110105002" in page(resp) and "在办诉求" in page(resp)


def test_export_round_trips(client, admin):
    resp = client.get("/admin/units/export.csv")
    data = resp.get_data()
    assert data.startswith("\ufeff".encode()) and data.decode("utf-8-sig").startswith(HEADER)
    assert "110105001,建外街道,3,street,110105" in data.decode("utf-8-sig")
    body = page(upload(client, data))
    assert "文件与现有层级一致" in body


# --- users ------------------------------------------------------------------------------------------

def test_create_user_shows_a_temporary_password_once_and_forces_a_change(client, admin):
    resp = client.post("/admin/users", data={"username": "new.handler", "display_name": "新承办人",
                                             "role": "handler", "unit": unit("110105001").id})
    body = page(resp)
    password = re.search(r'<code class="secret">([^<]+)</code>', body).group(1)
    user = db.session.scalar(select(User).where(User.username == "new.handler"))
    assert user.must_change_password and password not in page(client.get(f"/admin/users/{user.id}"))
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert password not in str(entry.detail)
    # the new user signs in and is held at the password page until it is changed
    client.post("/logout")
    resp = client.post("/login", data={"username": "new.handler", "password": password})
    assert resp.headers["Location"].endswith("/account/password")
    assert client.get("/staff/").headers["Location"].endswith("/account/password")
    resp = client.post("/account/password", data={"current": password, "new": "a-brand-new-pass",
                                                   "repeat": "a-brand-new-pass"})
    assert resp.status_code == 303
    assert client.get("/staff/").status_code == 200


def test_reset_password_and_force_change(client, admin, users):
    jianwai = users["jianwai"]
    body = page(client.post(f"/admin/users/{jianwai.id}/reset-password"))
    password = re.search(r'<code class="secret">([^<]+)</code>', body).group(1)
    db.session.expire_all()
    assert jianwai.must_change_password
    client.post("/logout")
    assert client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD}).status_code == 401
    resp = client.post("/login", data={"username": "jianwai", "password": password})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/account/password")
    assert "user.reset_password" in audit_actions() and password not in str(
        [e.detail for e in db.session.scalars(select(AuditEntry))])


def test_force_change_at_next_login(client, login_as, users):
    login_as("admin")
    client.post(f"/admin/users/{users['chaowai'].id}/force-change")
    db.session.expire_all()
    assert users["chaowai"].must_change_password
    client.post("/logout")
    resp = client.post("/login", data={"username": "chaowai", "password": TEST_PASSWORD})
    assert resp.headers["Location"].endswith("/account/password")


def test_change_role_and_unit_with_rules(client, admin, users):
    jianwai = users["jianwai"]
    resp = client.post(f"/admin/users/{jianwai.id}", data={"display_name": "x", "role": "operator",
                                                           "unit": unit("110105001").id}, follow_redirects=True)
    assert "必须属于热线中心" in page(resp)
    client.post(f"/admin/users/{jianwai.id}", data={"display_name": "陈静", "role": "leader",
                                                    "unit": unit("110105002").id})
    db.session.expire_all()
    assert jianwai.role is Role.LEADER and jianwai.unit.code == "110105002"
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "user.update")).one()
    assert entry.detail["before"]["role"] == "handler" and entry.detail["after"]["unit"] == "110105002"


def test_the_last_admin_cannot_be_deactivated_or_demoted(client, admin, users, now):
    me = users["admin"]
    resp = client.post(f"/admin/users/{me.id}/deactivate", follow_redirects=True)
    assert "最后一个启用的系统管理员" in page(resp)
    resp = client.post(f"/admin/users/{me.id}", data={"display_name": "x", "role": "handler",
                                                      "unit": me.unit_id}, follow_redirects=True)
    assert "最后一个启用的系统管理员" in page(resp)
    db.session.expire_all()
    assert me.active and me.role is Role.ADMIN
    # with a second admin, the first may go
    from portal.services.users import create_user
    create_user(now, username="admin2", display_name="管理员二", role=Role.ADMIN, unit=me.unit,
                password=TEST_PASSWORD)
    db.session.commit()
    other = users["admin2"]
    assert client.post(f"/admin/users/{other.id}/deactivate").status_code == 303
    db.session.expire_all()
    assert not other.active


def test_deactivated_user_cannot_sign_in_and_is_signed_out(client, login_as, users):
    login_as("admin")
    client.post(f"/admin/users/{users['jianwai'].id}/deactivate")
    client.post("/logout")
    assert client.post("/login", data={"username": "jianwai", "password": TEST_PASSWORD}).status_code == 401


def test_user_list_filters(client, admin):
    body = page(client.get("/admin/users?role=leader"))
    assert "jianwai.leader" in body and ">jianwai<" not in body and ">operator<" not in body
    body = page(client.get("/admin/users?unit=朝阳区"))
    assert "chaoyang.leader" in body and "jianwai" not in body
    body = page(client.get("/admin/users?q=chao"))
    assert "chaowai" in body and "chaoyang" in body and "scjgj" not in body
    body = page(client.get("/admin/users?active=0"))
    assert "共 0 个账号" in body


# --- categories, deadlines, working days ------------------------------------------------------------

def test_category_deadlines_and_inheritance(client, admin, make_ticket):
    cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
    client.post(f"/admin/categories/{cat.id}", data={"name": cat.name, "name_en": cat.name_en, "active": "1",
                                                     "sign_normal": "45", "feedback_normal": "48"})
    t = make_ticket(Status.DISPATCHED, unit="110105001")
    assert t.sign_due_at - t.dispatched_at == timedelta(minutes=45)
    assert t.feedback_due_at - t.dispatched_at == timedelta(hours=48)
    resp = client.post(f"/admin/categories/{cat.id}", data={"name": cat.name, "active": "1",
                                                            "sign_normal": "0", "feedback_normal": "48"},
                       follow_redirects=True)
    assert "时限必须是正整数" in page(resp)
    # both empty: back to the city default
    client.post(f"/admin/categories/{cat.id}", data={"name": cat.name, "active": "1"})
    t2 = make_ticket(Status.DISPATCHED, unit="110105001")
    assert t2.feedback_due_at - t2.dispatched_at == timedelta(days=7)
    assert "category.deadline" in audit_actions()


def test_new_categories_are_two_levels(client, admin):
    client.post("/admin/categories", data={"code": "GYSY", "name": "公用事业", "name_en": "Utilities"})
    top = db.session.scalar(select(Category).where(Category.code == "GYSY"))
    client.post("/admin/categories", data={"code": "GYSY-TD", "name": "停电", "parent": top.id})
    child = db.session.scalar(select(Category).where(Category.code == "GYSY-TD"))
    assert child.parent_id == top.id
    resp = client.post("/admin/categories", data={"code": "GYSY-TD-X", "name": "三级", "parent": child.id},
                       follow_redirects=True)
    assert "分类只有两级" in page(resp)


def test_working_days_setting_moves_the_due_times(client, admin, make_ticket):
    client.post("/admin/settings/deadlines", data={"working_days": "1"})
    assert db.session.get(Setting, "working_days").value == "1"
    # dispatched Wednesday 30 Sep 2026, 10:00 Beijing + 7 working days → 15 Oct, across National Day
    start = from_local(__import__("datetime").datetime(2026, 9, 30, 9, 20))
    t = make_ticket(Status.DISPATCHED, unit="110105001", start=start - timedelta(minutes=20))
    assert t.dispatched_at == from_local(__import__("datetime").datetime(2026, 9, 30, 9, 30))
    assert t.feedback_due_at == from_local(__import__("datetime").datetime(2026, 10, 15, 9, 30))
    assert "settings.working_days" in audit_actions()


# --- dispatch rules -----------------------------------------------------------------------------------

def test_dispatch_rule_is_the_first_suggestion_in_the_dispatch_form(client, login_as, make_ticket):
    login_as("admin")
    cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
    water = unit("E-ZLS")
    client.post("/admin/rules", data={"category": cat.parent_id, "area": unit("110105").id, "unit": water.id})
    assert db.session.scalar(select(func.count()).select_from(DispatchRule)) == 1
    t = make_ticket(Status.ACCEPTED, unit="110105001", street="110105001")
    login_as("dispatcher")
    body = page(client.get(f"/staff/tickets/{t.id}"))
    suggest = body[body.index("建议派往"):body.index("</ul>", body.index("建议派往"))]
    assert suggest.index("自来水") < suggest.index("建外街道")
    assert "派单规则" in suggest
    # a street's own rule wins over the district's
    login_as("admin")
    client.post("/admin/rules", data={"category": cat.id, "area": unit("110105001").id,
                                      "unit": unit("D-SCJGJ").id})
    login_as("dispatcher")
    body = page(client.get(f"/staff/tickets/{t.id}"))
    suggest = body[body.index("建议派往"):body.index("</ul>", body.index("建议派往"))]
    assert suggest.index("市场监") < suggest.index("建外街道") and "自来水" not in suggest
    rule = db.session.scalar(select(DispatchRule).where(DispatchRule.area_id == unit("110105001").id))
    login_as("admin")
    client.post(f"/admin/rules/{rule.id}/delete")
    assert [a for a in audit_actions() if a.startswith("rule.")] == ["rule.create", "rule.create", "rule.delete"]


def test_bad_dispatch_rule_is_refused(client, admin):
    cat = db.session.scalar(select(Category).where(Category.code == "SZSS-LD"))
    resp = client.post("/admin/rules", data={"category": cat.id, "area": unit("D-SCJGJ").id,
                                             "unit": unit("E-ZLS").id}, follow_redirects=True)
    assert "区域必须是区或街道" in page(resp)
    resp = client.post("/admin/rules", data={"category": cat.id, "area": unit("110105").id,
                                             "unit": unit("BJ12345").id}, follow_redirects=True)
    assert "承办单位必须是" in page(resp)
    assert db.session.scalar(select(func.count()).select_from(DispatchRule)) == 0


# --- audit ---------------------------------------------------------------------------------------------

def test_audit_page_lists_changes_with_filters(client, admin, users):
    client.post(f"/admin/units/{unit('110105001').id}/rename", data={"name": "建外街道办事处"})
    client.post(f"/admin/users/{users['water'].id}/force-change")
    body = page(client.get("/admin/audit"))
    assert "<td>单位改名</td>" in body and "<td>强制修改密码</td>" in body and "建外街道办事处" in body
    assert "共 2 条" in body
    body = page(client.get("/admin/audit?target=unit"))
    assert "<td>单位改名</td>" in body and "<td>强制修改密码</td>" not in body and "共 1 条" in body
    body = page(client.get("/admin/audit?action=user.force_change&user=admin"))
    assert "共 1 条" in body
    assert "共 0 条" in page(client.get("/admin/audit?user=jianwai"))
    assert "共 0 条" in page(client.get("/admin/audit?since=2099-01-01"))


def test_admin_home_links_every_admin_page(client, admin):
    body = page(client.get("/admin/"))
    for endpoint in ("/admin/units", "/admin/users", "/admin/categories", "/admin/rules", "/admin/audit",
                     "/admin/units/import"):
        assert f'href="{endpoint}"' in body
    # the pages other blueprints add (issues 5 and 8) are linked because they exist
    for endpoint in ("/admin/jobs", "/admin/ranking", "/admin/channels", "/admin/outbox"):
        assert f'href="{endpoint}"' in body


def test_a_file_too_large_is_refused(client, admin):
    data = (HEADER + "".join(f"X{i:06d},单位{i},2,district,BJ12345\n" for i in range(12000))).encode()
    assert len(data) > 300 * 1024
    resp = upload(client, data)
    assert resp.status_code == 400 and "文件过大" in page(resp)


def test_a_large_city_previews_and_applies(client, admin):
    """A file just under the limit survives the round trip through the preview form."""
    rows = "".join(f"Y{i:05d},测试区{i},2,district,BJ12345\n" for i in range(7000))
    data = (HEADER + rows).encode()
    assert 250 * 1024 < len(data) < 300 * 1024
    resp = apply_from(client, upload(client, data))
    assert resp.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Unit).where(Unit.code.like("Y%"))) == 7000


def test_deactivating_missing_units_refuses_to_orphan_a_listed_unit(client, admin):
    """With "deactivate missing", a unit whose parent is not in the file would hang under a stopped unit."""
    data = (HEADER + "BJ12345,北京市12345市民服务热线,1,center,\n110105001,建外街道,3,street,110105\n").encode()
    resp = upload(client, data, deactivate=True)
    assert resp.status_code == 422 and "第 3 行" in page(resp) and "110105" in page(resp)
