"""What a request is (诉求类型) and where it came from (渠道)."""
from __future__ import annotations

import enum

from .lifecycle import N_


class RequestKind(str, enum.Enum):
    CONSULTATION = "consultation"   # 咨询
    HELP = "help"                   # 求助
    COMPLAINT = "complaint"         # 投诉
    REPORT = "report"               # 举报
    SUGGESTION = "suggestion"       # 建议
    PRAISE = "praise"               # 表扬

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


class Channel(str, enum.Enum):
    WEB = "web"
    PHONE = "phone"
    WECHAT = "wechat"
    APP = "app"
    API = "api"
    # other channels that feed the one queue through the Open311 API (issue 8)
    WEIBO = "weibo"
    MESSAGE_BOARD = "msgboard"      # 人民网留言板 and other message boards
    MEDIA = "media"
    HOTLINE = "hotline"             # other hotlines' systems

    @property
    def label(self) -> str:
        return CHANNEL_LABELS[self]


class RequesterType(str, enum.Enum):
    CITIZEN = "citizen"
    ENTERPRISE = "enterprise"


KIND_LABELS = {
    RequestKind.CONSULTATION: N_("咨询"), RequestKind.HELP: N_("求助"), RequestKind.COMPLAINT: N_("投诉"),
    RequestKind.REPORT: N_("举报"), RequestKind.SUGGESTION: N_("建议"), RequestKind.PRAISE: N_("表扬"),
}
CHANNEL_LABELS = {
    Channel.WEB: N_("网站"), Channel.PHONE: N_("电话"), Channel.WECHAT: N_("微信"),
    Channel.APP: N_("移动应用"), Channel.API: N_("接口"),
    Channel.WEIBO: N_("微博"), Channel.MESSAGE_BOARD: N_("留言板"), Channel.MEDIA: N_("媒体"),
    Channel.HOTLINE: N_("其他热线"),
}
