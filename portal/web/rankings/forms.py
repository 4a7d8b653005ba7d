from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import InputRequired, NumberRange, Regexp

_N = [InputRequired(_l("请填写")), NumberRange(min=0, max=10000, message=_l("请填写 0 到 10000 之间的整数"))]
_W = [InputRequired(_l("请填写")), NumberRange(min=0, max=100, message=_l("权重应在 0 到 100 之间"))]


class RankingSettingsForm(FlaskForm):
    effective_from = StringField(_l("生效月份（YYYY-MM）"),
                                 validators=[InputRequired(_l("请填写生效月份")),
                                             Regexp(r"^\d{4}-\d{2}$", message=_l("月份格式不正确，应为 YYYY-MM，例如 2026-11"))])
    w_response = IntegerField(_l("响应率权重（%）"), validators=_W)
    w_resolution = IntegerField(_l("解决率权重（%）"), validators=_W)
    w_satisfaction = IntegerField(_l("满意率权重（%）"), validators=_W)
    min_volume = IntegerField(_l("参与排名的最低派单量"), validators=_N)
    advanced_n = IntegerField(_l("先进类名额"), validators=_N)
    progress_n = IntegerField(_l("进步类名额"), validators=_N)
    rectification_n = IntegerField(_l("整改类名额"), validators=_N)
    governance_n = IntegerField(_l("治理类名额（按诉求量）"), validators=_N)

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        weights = [self.w_response.data, self.w_resolution.data, self.w_satisfaction.data]
        if ok and sum(weights) != 100:
            self.w_satisfaction.errors = list(self.w_satisfaction.errors) + [str(_l("三项权重之和必须等于 100%"))]
            return False
        return ok
