"""/submit: the form, its htmx fragments, the receipt, photos, rate limits, and every bad input
(the response names the problem and nothing is stored)."""
from __future__ import annotations

import io
import os

import pytest
from PIL import Image
from sqlalchemy import func, select

from portal.domain.intake import RequesterType
from portal.domain.lifecycle import Status
from portal.extensions import db
from portal.models import Attachment, Category, KbArticle, OutboxMessage, Ticket

CONTENT = "小区门口的路灯已经连续一周不亮了，晚上出行很不方便，请尽快安排维修。"
GOOD_CREDIT_CODE = "91110000802100433B"


@pytest.fixture
def app_config(tmp_path):
    return {"UPLOAD_DIR": str(tmp_path / "uploads")}


@pytest.fixture
def upload_dir(app):
    return app.config["UPLOAD_DIR"]


def count(model=Ticket) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(model))


def category(code: str) -> Category:
    return db.session.scalar(select(Category).where(Category.code == code))


@pytest.fixture
def form(app, units):
    """A complete, valid submission; tests change one thing."""
    def _form(**changes):
        data = {
            "requester_type": "citizen", "kind": "complaint", "urgency": "normal",
            "category_parent": "", "category": str(category("SZSS-LD").id),
            "district": str(units["110105"].id), "street": str(units["110105001"].id),
            "address": "建国门外大街1号", "content": CONTENT, "name": "王小明", "phone": "139 1234 5678",
            "email": "", "consent_publish": "y",
        }
        data.update(changes)
        return {k: v for k, v in data.items() if v is not None}
    return _form


def jpeg_with_gps(size=(64, 48)) -> bytes:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"            # Make
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (39.0, 54.0, 27.0), "E", (116.0, 23.0, 17.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    data = buf.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)   # the original does carry GPS
    return data


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", (10, 10), (0, 0, 255, 128)).save(buf, "PNG")
    return buf.getvalue()


def post(client, data, files=()):
    payload = dict(data)
    if files:
        payload["photos"] = [(io.BytesIO(content), name) for name, content in files]
    return client.post("/submit", data=payload, content_type="multipart/form-data")


# --- the page ---------------------------------------------------------------------------------

def test_form_has_every_part_and_works_without_js(client):
    html = client.get("/submit").get_data(as_text=True)
    for name in ("requester_type", "enterprise_name", "credit_code", "kind", "urgency", "category",
                 "district", "street", "address", "content", "photos", "anonymous", "name", "phone", "email",
                 "consent_publish"):
        assert f'name="{name}"' in html, name
    for label in ("咨询", "求助", "投诉", "举报", "建议", "表扬"):
        assert label in html
    # without JS every subcategory and street is there, grouped under its parent
    assert '<optgroup label="市政设施">' in html and "路灯不亮" in html
    assert '<optgroup label="朝阳区">' in html and "建外街道" in html
    assert 'enctype="multipart/form-data"' in html and 'method="post"' in html
    # every input has a label
    for field_id in ("content", "phone", "email", "name", "address", "category", "district", "street", "photos"):
        assert f'for="{field_id}"' in html, field_id
    assert 'hx-trigger="keyup changed delay:500ms' in html


def test_home_shows_submit_and_track(client):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/submit"' in html and 'href="/track"' in html


# --- a good submission ------------------------------------------------------------------------

def test_submit_creates_request_and_redirects_to_receipt(client, form, units):
    before = count()
    resp = post(client, form())
    assert resp.status_code == 303
    assert resp.headers["Location"].endswith("/submit/receipt")
    assert count() == before + 1
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.status is Status.SUBMITTED
    assert t.citizen_phone == "+8613912345678"          # E.164
    assert t.citizen_name == "王小明" and t.consent_publish is True
    assert t.street_id == units["110105001"].id and t.district_id == units["110105"].id
    assert t.locale == "zh"
    html = client.get("/submit/receipt").get_data(as_text=True)
    assert t.tracking_no in html and t.query_code in html
    assert "接下来会怎样" in html and "@media print" not in html   # print rules live in the stylesheet
    assert "7 天内答复您" in html
    # one receipt notification, not two
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)
                             .where(OutboxMessage.ticket_id == t.id, OutboxMessage.topic == "receipt")) == 1


def test_receipt_is_only_for_the_session_that_submitted(app, client, form):
    post(client, form())
    other = app.test_client()
    assert other.get("/submit/receipt").status_code == 404
    assert client.get("/submit/receipt").status_code == 200


def test_english_submission_is_remembered_for_notifications(client, form):
    client.get("/lang/en")
    assert post(client, form()).status_code == 303
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.locale == "en"
    msgs = db.session.scalars(select(OutboxMessage).where(OutboxMessage.ticket_id == t.id)).all()
    assert msgs and all(m.locale == "en" for m in msgs)


def test_landline_enterprise_and_anonymous(client, form):
    resp = post(client, form(phone="010-6512 3456", requester_type="enterprise", enterprise_name="某某科技有限公司",
                             credit_code=GOOD_CREDIT_CODE.lower(), anonymous="y", name="不该存的名字",
                             kind="consultation", street=""))
    assert resp.status_code == 303, resp.get_data(as_text=True)
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.citizen_phone == "+861065123456"
    assert t.requester_type is RequesterType.ENTERPRISE and t.credit_code == GOOD_CREDIT_CODE
    assert t.enterprise_name == "某某科技有限公司"
    assert t.citizen_name == "" and t.street_id is None


def test_a_citizen_does_not_store_enterprise_fields(client, form):
    assert post(client, form(enterprise_name="x", credit_code="bad")).status_code == 303
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.enterprise_name == "" and t.credit_code == ""


def test_html_payload_is_stored_as_text_and_shown_escaped(client, form):
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)> 路灯坏了一周了请修理'
    assert post(client, form(content=payload)).status_code == 303
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert t.content == payload
    html = client.get(f"/track/{t.tracking_no}").get_data(as_text=True)
    assert "&lt;script&gt;alert(" in html
    assert '<script>alert("x")' not in html and "<img src=x" not in html


# --- photos -------------------------------------------------------------------------------------

def test_photo_is_reencoded_without_exif_and_stored_outside_static(client, form, upload_dir):
    resp = post(client, form(), files=[("IMG_0001.JPG", jpeg_with_gps()), ("b.png", png_bytes())])
    assert resp.status_code == 303, resp.get_data(as_text=True)
    t = db.session.scalar(select(Ticket).order_by(Ticket.id.desc()))
    assert [a.mime for a in t.attachments] == ["image/jpeg", "image/png"]
    assert all(a.event_id == t.events[0].id for a in t.attachments)
    stored = sorted(os.listdir(upload_dir))
    assert sorted(a.stored_name for a in t.attachments) == stored
    assert not any("IMG_0001" in name for name in stored)
    data = open(os.path.join(upload_dir, t.attachments[0].stored_name), "rb").read()
    img = Image.open(io.BytesIO(data))
    assert img.format == "JPEG" and img.size == (64, 48)
    assert not img.getexif() and b"SecretCam" not in data and b"Exif" not in data
    assert "static" not in upload_dir


@pytest.mark.parametrize("name,content,message", [
    ("virus.jpg", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 4000, "只能上传 JPEG、PNG 或 WebP 格式的照片"),
    ("big.jpg", b"\xff\xd8\xff\xe0" + os.urandom(1024) * (20 * 1024), "每张照片不能超过 5 MB"),
    ("cut.jpg", jpeg_with_gps()[:200], "照片文件已损坏"),
    ("anim.gif", b"GIF89a" + b"\x00" * 100, "只能上传 JPEG、PNG 或 WebP 格式的照片"),
])
def test_bad_photo_is_refused_and_nothing_is_stored(client, form, upload_dir, name, content, message):
    before = count()
    resp = post(client, form(), files=[(name, content)])
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in html and "第 1 张照片" in html
    assert count() == before and count(Attachment) == 0
    assert not os.path.exists(upload_dir) or os.listdir(upload_dir) == []
    assert CONTENT in html                       # what the citizen typed is kept


def test_more_than_three_photos_is_refused(client, form):
    before = count()
    resp = post(client, form(), files=[(f"{i}.png", png_bytes()) for i in range(4)])
    assert resp.status_code == 400 and "最多上传 3 张照片" in resp.get_data(as_text=True)
    assert count() == before


def test_a_request_beyond_the_upload_allowance_gets_a_clear_page(client, form):
    before = count()
    resp = post(client, form(), files=[("huge.jpg", b"\xff\xd8" + b"\x00" * (26 * 1024 * 1024))])
    assert resp.status_code == 413
    assert "上传的文件过大" in resp.get_data(as_text=True)
    assert count() == before


# --- bad input: a clear message, nothing changed --------------------------------------------------

@pytest.mark.parametrize("changes,message", [
    ({"content": ""}, "诉求内容应为 10 至 2000 字"),
    ({"content": "太短了"}, "诉求内容应为 10 至 2000 字"),
    ({"content": "长" * 2001}, "诉求内容应为 10 至 2000 字"),
    ({"phone": "12345"}, "请填写正确的手机号码或带区号的固定电话"),
    ({"phone": "400-810-8888"}, "请填写正确的手机号码或带区号的固定电话"),
    ({"phone": "+1 650 253 0000"}, "请填写正确的手机号码或带区号的固定电话"),
    ({"phone": ""}, "请填写联系电话"),
    ({"email": "not-an-email"}, "电子邮箱格式不正确"),
    ({"requester_type": "enterprise", "enterprise_name": "某公司", "credit_code": "91110000802100433A"},
     "统一社会信用代码有误：校验位不符"),
    ({"requester_type": "enterprise", "enterprise_name": "某公司", "credit_code": "123"}, "统一社会信用代码应为 18 位"),
    ({"requester_type": "enterprise", "enterprise_name": "", "credit_code": GOOD_CREDIT_CODE}, "请填写企业名称"),
    ({"category": "999999"}, "所选分类不存在"),
    ({"category": "abc"}, "所选分类不存在"),
    ({"category": ""}, "请选择诉求分类"),
    ({"district": ""}, "请选择所在区"),
    ({"district": "999999"}, "所选区不存在"),
    ({"street": "999999"}, "所选街道（乡镇）不存在"),
    ({"kind": "spam"}, "请选择诉求类型"),
    ({"urgency": "panic"}, "请选择紧急程度"),
    ({"address": "址" * 201}, "详细地址不能超过 200 字"),
])
def test_bad_input_names_the_problem_and_changes_nothing(client, form, changes, message):
    before, outbox = count(), count(OutboxMessage)
    resp = post(client, form(**changes))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400
    assert message in html
    assert 'aria-invalid="true"' in html and "提交没有成功" in html
    assert count() == before and count(OutboxMessage) == outbox


def test_top_level_category_is_refused(client, form):
    before = count()
    resp = post(client, form(category=str(category("SZSS").id)))
    assert resp.status_code == 400 and "请选择二级诉求分类" in resp.get_data(as_text=True)
    assert count() == before


def test_street_outside_the_district_is_refused(client, form, units):
    before = count()
    resp = post(client, form(district=str(units["110105"].id), street=str(units["110101001"].id)))
    html = resp.get_data(as_text=True)
    assert resp.status_code == 400 and "所选街道（乡镇）不属于所选的区" in html
    assert 'aria-describedby="street-hint street-error"' in html
    assert count() == before


def test_errors_are_tied_to_their_fields(client, form):
    html = post(client, form(content="", phone="1")).get_data(as_text=True)
    assert 'id="content-error"' in html and 'aria-describedby="content-hint content-error"' in html
    assert 'id="phone-error"' in html and 'href="#phone"' in html


class TestCsrf:
    @pytest.fixture
    def app_config(self, tmp_path):
        return {"WTF_CSRF_ENABLED": True, "UPLOAD_DIR": str(tmp_path / "uploads")}

    def test_missing_or_wrong_csrf_token_is_refused(self, client, form):
        before = count()
        resp = post(client, form())
        assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
        resp = post(client, form(csrf_token="forged"))
        assert resp.status_code == 400 and "页面已过期" in resp.get_data(as_text=True)
        assert count() == before

    def test_with_the_token_it_goes_through(self, client, form):
        import re
        html = client.get("/submit").get_data(as_text=True)
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html).group(1)
        assert post(client, form(csrf_token=token)).status_code == 303


# --- htmx fragments -----------------------------------------------------------------------------

HX = {"HX-Request": "true"}


def test_subcategories_fragment(client):
    parent = category("SZSS")
    resp = client.get(f"/submit/subcategories?category_parent={parent.id}", headers=HX)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert 'id="category-field"' in html and "路灯不亮" in html and "网络消费纠纷" not in html
    assert "<optgroup" not in html
    # without a parent: every group again
    assert "<optgroup" in client.get("/submit/subcategories?category_parent=", headers=HX).get_data(as_text=True)
    # not htmx: back to the form
    assert client.get(f"/submit/subcategories?category_parent={parent.id}").status_code == 303


def test_streets_fragment(client, units):
    html = client.get(f"/submit/streets?district={units['110105'].id}", headers=HX).get_data(as_text=True)
    assert "<html" not in html and 'id="street-field"' in html
    assert "建外街道" in html and "东华门街道" not in html


def test_suggestions_show_kb_answers_and_similar_requests_without_private_data(client, units, make_ticket, now):
    db.session.add(KbArticle(question="路灯不亮找谁维修？", answer="城市道路的路灯由区城管委负责维修，一般 3 天内修复。",
                             keywords="路灯,照明", active=True, created_at=now, updated_at=now))
    db.session.add(KbArticle(question="过期的解答：路灯", answer="旧答案", keywords="路灯", active=False,
                             created_at=now, updated_at=now))
    db.session.commit()
    make_ticket(Status.HANDLING, unit="110105001", consent_publish=True, citizen_name="赵大锤",
                citizen_phone="13700001111",
                content="我是赵大锤，电话13700001111，建外街道的路灯一直不亮，晚上出行很不方便。")
    make_ticket(Status.HANDLING, unit="110105001", consent_publish=False,
                content="这条街的路灯不亮已经很多天，晚上出行太黑了，秘密内容。")
    resp = client.post("/submit/suggestions", headers=HX,
                       data={"content": "门口路灯不亮，晚上出行不方便", "street": str(units["110105001"].id),
                             "category": ""})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "<html" not in html
    assert "路灯不亮找谁维修" in html and "区城管委" in html
    assert "过期的解答" not in html
    assert "同一街道正在办理的类似诉求" in html
    assert "赵大锤" not in html and "13700001111" not in html and "赵**" in html
    assert "秘密内容" not in html                 # no excerpt without consent to publish
    assert html.count("badge-work") == 2
    # another street: no similar requests
    other = client.post("/submit/suggestions", headers=HX,
                        data={"content": "门口路灯不亮，晚上出行不方便", "street": str(units["110105002"].id)})
    assert "类似诉求" not in other.get_data(as_text=True).split("</h2>", 1)[1]


# --- rate limits ----------------------------------------------------------------------------------

class TestSubmitLimits:
    @pytest.fixture
    def app_config(self, tmp_path):
        return {"RATELIMIT_SUBMIT_IP": "3 per hour", "RATELIMIT_SUBMIT_PHONE": "1 per day",
                "UPLOAD_DIR": str(tmp_path / "uploads")}

    def test_per_phone(self, client, form):
        assert post(client, form(phone="13912345678")).status_code == 303
        before = count()
        resp = post(client, form(phone="+86 139-1234-5678"))           # the same number, written differently
        assert resp.status_code == 429
        assert "操作过于频繁" in resp.get_data(as_text=True) and "Retry-After" in resp.headers
        assert count() == before
        assert post(client, form(phone="13800001111")).status_code == 303

    def test_per_ip_in_both_languages(self, client, form):
        for phone in ("13900000001", "13900000002", "13900000003"):
            assert post(client, form(phone=phone)).status_code == 303
        before = count()
        resp = post(client, form(phone="13900000004"))
        assert resp.status_code == 429 and "操作过于频繁" in resp.get_data(as_text=True)
        client.get("/lang/en")
        resp = post(client, form(phone="13900000005"))
        assert resp.status_code == 429 and '<html lang="en">' in resp.get_data(as_text=True)
        assert count() == before
        assert client.get("/submit").status_code == 200        # reading the form is not limited


# --- the lists, kept per process (services/reference.py) -------------------------------------------

def test_the_lists_show_a_change_made_in_another_process_at_once(client, units, database_url):
    """Another worker renames a street and closes one: this process's kept lists follow on the next view."""
    from sqlalchemy import create_engine
    from sqlalchemy.orm import Session
    from portal.models import Unit
    renamed, closed = units["110105001"].id, units["110101001"].id
    closed_option = f'<option value="{closed}">{units["110101001"].name}</option>'
    html = client.get("/submit").get_data(as_text=True)          # the lists are kept now
    assert "建外街道" in html and closed_option in html
    engine = create_engine(database_url)                   # another process's own connection and session
    with Session(engine) as other:
        other.get(Unit, renamed).name = "建外街道（新址）"
        other.get(Unit, closed).active = False
        other.commit()
    engine.dispose()
    html = client.get("/submit").get_data(as_text=True)
    assert "建外街道（新址）" in html
    assert closed_option not in html
    html = client.get(f"/submit/streets?district={units['110105'].id}", headers=HX).get_data(as_text=True)
    assert "建外街道（新址）" in html


def test_a_choice_withdrawn_since_the_lists_were_kept_is_refused(client, form, units):
    """The kept lists only fill the form: a submitted choice is checked against the database."""
    from sqlalchemy import text
    street = units["110105001"]
    assert "建外街道" in client.get("/submit").get_data(as_text=True)
    # closed by a statement that writes no version (an operator's SQL): the kept list still shows it
    db.session.execute(text("UPDATE units SET active = false WHERE id = :id"), {"id": street.id})
    db.session.execute(text("UPDATE categories SET active = false WHERE code = 'SZSS'"))
    db.session.commit()
    assert "建外街道" in client.get("/submit").get_data(as_text=True)
    before = count()
    html = post(client, form()).get_data(as_text=True)
    assert "所选街道（乡镇）不存在" in html and "所选分类不存在" in html     # SZSS-LD's parent is closed
    assert count() == before


def test_the_version_is_written_with_the_change_and_only_with_it(app, units):
    from portal.models import Setting
    from portal.services.reference import VERSION_KEY

    def version():
        db.session.expire_all()
        return db.session.get(Setting, VERSION_KEY).value
    first = version()
    units["110105001"].name = "改名"
    db.session.flush()
    db.session.rollback()
    assert version() == first                     # rolled back with the change
    category("SZSS-LD").position = 99
    db.session.commit()
    second = version()
    assert second != first
    db.session.get(Setting, VERSION_KEY)          # other writes leave it alone
    db.session.add(KbArticle(question="问", answer="答", keywords="", active=True,
                             created_at=units["110105"].created_at, updated_at=units["110105"].created_at))
    db.session.commit()
    assert version() == second
