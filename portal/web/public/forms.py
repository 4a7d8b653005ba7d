"""Citizen forms: submit, track lookup, supplement, rating.

Choices are filled by the route from the database. Every message is a Chinese msgid.
"""
from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, MultipleFileField, RadioField, StringField, TextAreaField
from wtforms.validators import Length, Optional, ValidationError

from ...domain.deadlines import Urgency
from ...domain.intake import RequesterType, RequestKind
from ...domain.tracking import normalize_tracking_number
from ...services.intake import normalize_credit_code, normalize_phone, valid_credit_code
from ..fields import SelectField

MAX_CONTENT = 2000
MIN_CONTENT = 10
_EMAIL = re.compile(r"^[^@\s<>\"']+@[^@\s<>\"']+\.[^@\s<>\"']+$")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class SubmitForm(FlaskForm):
    requester_type = RadioField(
        _l("以什么身份反映"),
        choices=[(RequesterType.CITIZEN.value, _l("个人")), (RequesterType.ENTERPRISE.value, _l("企业"))],
        default=RequesterType.CITIZEN.value, validate_choice=False)
    enterprise_name = StringField(_l("企业名称"), filters=[_strip], validators=[Length(max=200, message=_l("企业名称过长"))],
                                  render_kw={"autocomplete": "organization", "maxlength": 200})
    credit_code = StringField(_l("统一社会信用代码"), filters=[normalize_credit_code],
                              render_kw={"autocomplete": "off", "maxlength": 18, "autocapitalize": "characters",
                                         "spellcheck": "false"})
    kind = RadioField(_l("诉求类型"), choices=[(k.value, _l(k.label)) for k in RequestKind],
                      default=RequestKind.COMPLAINT.value, validate_choice=False)
    urgency = RadioField(_l("紧急程度"),
                         choices=[(Urgency.NORMAL.value, _l("一般")), (Urgency.URGENT.value, _l("紧急"))],
                         default=Urgency.NORMAL.value, validate_choice=False)
    category_parent = SelectField(_l("诉求大类（可选，用于筛选）"), validate_choice=False)
    category = SelectField(_l("诉求小类"), validate_choice=False)
    district = SelectField(_l("所在区"), validate_choice=False)
    street = SelectField(_l("街道或乡镇（可选）"), validate_choice=False)
    address = StringField(_l("详细地址（可选）"), filters=[_strip],
                          validators=[Length(max=200, message=_l("详细地址不能超过 200 字"))],
                          render_kw={"autocomplete": "street-address", "maxlength": 200})
    content = TextAreaField(_l("诉求内容"), filters=[_strip], render_kw={"rows": 7, "maxlength": MAX_CONTENT})
    photos = MultipleFileField(_l("照片（可选，最多 3 张）"),
                               render_kw={"accept": "image/jpeg,image/png,image/webp"})
    anonymous = BooleanField(_l("不留姓名（匿名反映）"))
    name = StringField(_l("姓名（可选）"), filters=[_strip], validators=[Length(max=64, message=_l("姓名不能超过 64 字"))],
                       render_kw={"autocomplete": "name", "maxlength": 64})
    phone = StringField(_l("联系电话"), filters=[_strip],
                        render_kw={"autocomplete": "tel", "inputmode": "tel", "type": "tel", "maxlength": 32})
    email = StringField(_l("电子邮箱（可选）"), filters=[_strip],
                        validators=[Optional(), Length(max=254, message=_l("电子邮箱过长"))],
                        render_kw={"autocomplete": "email", "inputmode": "email", "type": "email", "maxlength": 254})
    consent_publish = BooleanField(_l("同意在公示栏匿名公开本诉求及办理结果"))

    #: filled by validate_phone: the number in E.164
    phone_e164: str = ""

    def validate_requester_type(self, field):
        if field.data not in {r.value for r in RequesterType}:
            raise ValidationError(_l("请选择以个人还是企业身份反映"))

    def validate_kind(self, field):
        if field.data not in {k.value for k in RequestKind}:
            raise ValidationError(_l("请选择诉求类型"))

    def validate_urgency(self, field):
        if field.data not in {u.value for u in Urgency}:
            raise ValidationError(_l("请选择紧急程度"))

    def validate_enterprise_name(self, field):
        if self.requester_type.data == RequesterType.ENTERPRISE.value and not field.data:
            raise ValidationError(_l("请填写企业名称"))

    def validate_credit_code(self, field):
        if self.requester_type.data != RequesterType.ENTERPRISE.value:
            return
        if not field.data:
            raise ValidationError(_l("请填写统一社会信用代码"))
        if len(field.data) != 18:
            raise ValidationError(_l("统一社会信用代码应为 18 位"))
        if not valid_credit_code(field.data):
            raise ValidationError(_l("统一社会信用代码有误：校验位不符，请核对"))

    def validate_content(self, field):
        if not MIN_CONTENT <= len(field.data or "") <= MAX_CONTENT:
            raise ValidationError(_l("诉求内容应为 10 至 2000 字"))

    def validate_phone(self, field):
        if not field.data:
            raise ValidationError(_l("请填写联系电话，以便承办单位联系和回访"))
        e164 = normalize_phone(field.data)
        if e164 is None:
            raise ValidationError(_l("请填写正确的手机号码或带区号的固定电话"))
        self.phone_e164 = e164

    def validate_email(self, field):
        if field.data and not _EMAIL.match(field.data):
            raise ValidationError(_l("电子邮箱格式不正确"))


class TrackForm(FlaskForm):
    tracking_no = StringField(_l("受理编号"), filters=[_strip],
                              render_kw={"autocomplete": "off", "inputmode": "numeric", "maxlength": 24,
                                         "spellcheck": "false"})
    secret = StringField(_l("查询码或联系电话后 4 位"), filters=[_strip],
                         render_kw={"autocomplete": "off", "maxlength": 12, "autocapitalize": "characters",
                                    "spellcheck": "false"})

    def validate_tracking_no(self, field):
        if not field.data:
            raise ValidationError(_l("请填写受理编号"))
        if normalize_tracking_number(field.data) is None:
            raise ValidationError(_l("受理编号有误：请核对位数和最后一位校验码"))

    def validate_secret(self, field):
        if not field.data:
            raise ValidationError(_l("请填写查询码或联系电话后 4 位"))


class SupplementForm(FlaskForm):
    text = TextAreaField(_l("补充内容"), filters=[_strip], render_kw={"rows": 4, "maxlength": MAX_CONTENT})

    def validate_text(self, field):
        if not field.data:
            raise ValidationError(_l("请填写补充内容"))
        if len(field.data) > MAX_CONTENT:
            raise ValidationError(_l("补充内容不能超过 2000 字"))


class RateForm(FlaskForm):
    resolved = RadioField(_l("您的问题解决了吗？"), choices=[("yes", _l("已解决")), ("no", _l("未解决"))],
                          validate_choice=False)
    satisfied = RadioField(_l("您对办理结果满意吗？"), choices=[("yes", _l("满意")), ("no", _l("不满意"))],
                           validate_choice=False)
    comment = TextAreaField(_l("评价说明（可选）"), filters=[_strip],
                            validators=[Length(max=500, message=_l("评价说明不能超过 500 字"))],
                            render_kw={"rows": 3, "maxlength": 500})

    def validate_resolved(self, field):
        if field.data not in ("yes", "no"):
            raise ValidationError(_l("请选择是否解决"))

    def validate_satisfied(self, field):
        if field.data not in ("yes", "no"):
            raise ValidationError(_l("请选择是否满意"))
