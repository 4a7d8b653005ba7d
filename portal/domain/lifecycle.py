"""The life of a request (受理 → 派单 → 签收 → 办理 → 反馈 → 回访 → 办结) as data.

Nothing here imports flask or sqlalchemy. ``TRANSITIONS`` is the whole state
machine; ``apply()`` is the only way to read it. The service
(``portal.services.tickets.perform``) is the only code that writes a ticket's
status, and it does so with the result of ``apply()``.

Self-transitions (``SUPERVISE``, ``NOTE``, ``SUPPLEMENT``, ``RATE``…) are
actions that change no status but still leave an event in the trail.
"""
from __future__ import annotations

import enum


def N_(text: str) -> str:
    """Marks a label for translation (pybabel -k N_); the template translates it."""
    return text


def NC_(context: str, text: str) -> str:
    """Marks a label with a context (pybabel -k NC_:1c,2); the template uses pgettext(context, text)."""
    return text


class IllegalTransition(Exception):
    """The action is not possible from the request's current status."""

    def __init__(self, status: "Status | None", action: "Action"):
        self.status = status
        self.action = action
        super().__init__(f"{action.value} is not allowed from {status.value if status else 'nothing'}")


class Status(str, enum.Enum):
    SUBMITTED = "submitted"                  # 待受理
    ACCEPTED = "accepted"                    # 待派单
    DISPATCHED = "dispatched"                # 待签收
    HANDLING = "handling"                    # 办理中
    RETURN_PENDING = "return_pending"        # 退单待审
    EXTENSION_PENDING = "extension_pending"  # 延期待审
    FEEDBACK_REVIEW = "feedback_review"      # 反馈待审核（领导/上级）
    FED_BACK = "fed_back"                    # 已反馈待回访
    CALLED_BACK = "called_back"              # 已回访
    CLOSED = "closed"                        # 已办结
    ANSWERED = "answered"                    # 直接答复办结
    INVALID = "invalid"                      # 无效
    MERGED = "merged"                        # 已合并

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def badge(self) -> str:
        return STATUS_BADGES[self]


class Action(str, enum.Enum):
    SUBMIT = "submit"                        # 提交（市民/话务员录入）
    ACCEPT = "accept"                        # 受理
    ANSWER = "answer"                        # 直接答复
    INVALIDATE = "invalidate"                # 无效
    MERGE = "merge"                          # 合并
    DISPATCH = "dispatch"                    # 派单
    REDISPATCH = "redispatch"                # 转派（二级 → 街乡）
    SIGN = "sign"                            # 签收
    NOTE = "note"                            # 办理进展
    REQUEST_RETURN = "request_return"        # 申请退单
    APPROVE_RETURN = "approve_return"        # 同意退单
    REJECT_RETURN = "reject_return"          # 驳回退单
    REQUEST_EXTENSION = "request_extension"  # 申请延期
    APPROVE_EXTENSION = "approve_extension"  # 同意延期
    REJECT_EXTENSION = "reject_extension"    # 驳回延期
    FEEDBACK = "feedback"                    # 反馈（双反馈）
    SUBMIT_FEEDBACK = "submit_feedback"      # 提交反馈待审核
    APPROVE_FEEDBACK = "approve_feedback"    # 审核通过反馈
    REJECT_FEEDBACK = "reject_feedback"      # 退回反馈
    SEND_BACK = "send_back"                  # 中心退回反馈
    CALLBACK = "callback"                    # 回访
    REHANDLE = "rehandle"                    # 重办
    CLOSE = "close"                          # 办结
    SUPERVISE = "supervise"                  # 督办
    TRANSFER_DISCIPLINE = "transfer_discipline"  # 纪检移送
    SUPPLEMENT = "supplement"                # 市民补充
    RATE = "rate"                            # 市民评价
    TRANSFER = "transfer"                    # 移交（管理员停用单位时移走其在办诉求）

    @property
    def label(self) -> str:
        return ACTION_LABELS[self]


S, A = Status, Action

OPEN: frozenset[Status] = frozenset({
    S.SUBMITTED, S.ACCEPTED, S.DISPATCHED, S.HANDLING, S.RETURN_PENDING,
    S.EXTENSION_PENDING, S.FEEDBACK_REVIEW, S.FED_BACK, S.CALLED_BACK,
})
TERMINAL: frozenset[Status] = frozenset({S.CLOSED, S.ANSWERED, S.INVALID, S.MERGED})
AT_CENTER: frozenset[Status] = frozenset({S.SUBMITTED, S.ACCEPTED})
#: statuses in which a unit holds the request and both due times are set
WITH_UNIT: frozenset[Status] = frozenset({
    S.DISPATCHED, S.HANDLING, S.RETURN_PENDING, S.EXTENSION_PENDING, S.FEEDBACK_REVIEW,
})
#: after feedback: the unit's part is done, the center calls back
AFTER_FEEDBACK: frozenset[Status] = frozenset({S.FED_BACK, S.CALLED_BACK})
#: the unit still holds the request and is expected to act on it
UNIT_WORKING: frozenset[Status] = frozenset({S.HANDLING, S.EXTENSION_PENDING})

INITIAL: Status = S.SUBMITTED


def _build() -> dict[tuple[Status, Action], Status]:
    t: dict[tuple[Status, Action], Status] = {}
    for s in AT_CENTER:
        t[s, A.ANSWER] = S.ANSWERED
        t[s, A.INVALIDATE] = S.INVALID
        t[s, A.MERGE] = S.MERGED
        t[s, A.DISPATCH] = S.DISPATCHED
    t[S.SUBMITTED, A.ACCEPT] = S.ACCEPTED
    # a tier-2 unit passes it on to a street under it, before or after signing
    t[S.DISPATCHED, A.REDISPATCH] = S.DISPATCHED
    t[S.HANDLING, A.REDISPATCH] = S.DISPATCHED
    t[S.DISPATCHED, A.SIGN] = S.HANDLING
    for s in (S.DISPATCHED, S.HANDLING):
        t[s, A.REQUEST_RETURN] = S.RETURN_PENDING
    t[S.RETURN_PENDING, A.APPROVE_RETURN] = S.ACCEPTED      # back to the center to dispatch again
    t[S.RETURN_PENDING, A.REJECT_RETURN] = S.DISPATCHED     # back to the unit, which must sign again
    t[S.HANDLING, A.REQUEST_EXTENSION] = S.EXTENSION_PENDING
    t[S.EXTENSION_PENDING, A.APPROVE_EXTENSION] = S.HANDLING
    t[S.EXTENSION_PENDING, A.REJECT_EXTENSION] = S.HANDLING
    for s in UNIT_WORKING | {S.DISPATCHED}:
        t[s, A.NOTE] = s
    t[S.HANDLING, A.FEEDBACK] = S.FED_BACK
    t[S.HANDLING, A.SUBMIT_FEEDBACK] = S.FEEDBACK_REVIEW
    t[S.FEEDBACK_REVIEW, A.APPROVE_FEEDBACK] = S.FED_BACK
    t[S.FEEDBACK_REVIEW, A.REJECT_FEEDBACK] = S.HANDLING
    t[S.FED_BACK, A.SEND_BACK] = S.HANDLING
    t[S.FED_BACK, A.CALLBACK] = S.CALLED_BACK
    t[S.CALLED_BACK, A.CALLBACK] = S.CALLED_BACK   # a later center callback is kept beside the citizen's rating
    t[S.CALLED_BACK, A.REHANDLE] = S.HANDLING
    t[S.CALLED_BACK, A.CLOSE] = S.CLOSED
    for s in OPEN:
        t[s, A.SUPERVISE] = s
        t[s, A.SUPPLEMENT] = s
        t[s, A.TRANSFER_DISCIPLINE] = s
    t[S.CLOSED, A.TRANSFER_DISCIPLINE] = S.CLOSED
    # the citizen's online rating counts as a callback answer
    t[S.FED_BACK, A.RATE] = S.CALLED_BACK
    t[S.CALLED_BACK, A.RATE] = S.CALLED_BACK
    t[S.CLOSED, A.RATE] = S.CLOSED
    # an admin moves the work of a unit being deactivated to another unit, which signs anew
    for s in WITH_UNIT:
        t[s, A.TRANSFER] = S.DISPATCHED
    return t


TRANSITIONS: dict[tuple[Status, Action], Status] = _build()


def apply(status: Status | None, action: Action) -> Status:
    """The status after ``action``; ``SUBMIT`` starts a request from nothing."""
    if status is None:
        if action is A.SUBMIT:
            return INITIAL
        raise IllegalTransition(status, action)
    try:
        return TRANSITIONS[status, action]
    except KeyError:
        raise IllegalTransition(status, action) from None


def allowed_actions(status: Status) -> list[Action]:
    return [a for a in Action if (status, a) in TRANSITIONS]


def replay(actions) -> Status | None:
    """Fold ``apply`` over an event log; the result must equal the stored status."""
    status: Status | None = None
    for action in actions:
        status = apply(status, Action(action))
    return status


STATUS_LABELS = {
    S.SUBMITTED: N_("待受理"), S.ACCEPTED: N_("待派单"), S.DISPATCHED: N_("待签收"), S.HANDLING: N_("办理中"),
    S.RETURN_PENDING: N_("退单待审"), S.EXTENSION_PENDING: N_("延期待审"), S.FEEDBACK_REVIEW: N_("反馈待审核"),
    S.FED_BACK: N_("已反馈待回访"), S.CALLED_BACK: N_("已回访"), S.CLOSED: N_("已办结"),
    S.ANSWERED: N_("已直接答复"), S.INVALID: N_("无效"), S.MERGED: N_("已合并"),
}
STATUS_BADGES = {
    S.SUBMITTED: "new", S.ACCEPTED: "new", S.DISPATCHED: "wait", S.HANDLING: "work",
    S.RETURN_PENDING: "warn", S.EXTENSION_PENDING: "warn", S.FEEDBACK_REVIEW: "wait",
    S.FED_BACK: "done", S.CALLED_BACK: "done", S.CLOSED: "closed",
    S.ANSWERED: "closed", S.INVALID: "closed", S.MERGED: "closed",
}
ACTION_LABELS = {
    A.SUBMIT: N_("提交诉求"), A.ACCEPT: N_("受理"), A.ANSWER: N_("直接答复"), A.INVALIDATE: N_("标记无效"),
    A.MERGE: N_("合并"), A.DISPATCH: N_("派单"), A.REDISPATCH: N_("转派"), A.SIGN: N_("签收"),
    A.NOTE: N_("办理进展"), A.REQUEST_RETURN: N_("申请退单"), A.APPROVE_RETURN: N_("同意退单"),
    A.REJECT_RETURN: N_("驳回退单"), A.REQUEST_EXTENSION: N_("申请延期"), A.APPROVE_EXTENSION: N_("同意延期"),
    A.REJECT_EXTENSION: N_("驳回延期"), A.FEEDBACK: N_("反馈"), A.SUBMIT_FEEDBACK: N_("提交反馈待审核"),
    A.APPROVE_FEEDBACK: N_("审核通过反馈"), A.REJECT_FEEDBACK: N_("退回反馈"), A.SEND_BACK: N_("退回重新办理"),
    A.CALLBACK: N_("回访"), A.REHANDLE: N_("重办"), A.CLOSE: N_("办结"), A.SUPERVISE: N_("督办"),
    A.TRANSFER_DISCIPLINE: N_("纪检移送"), A.SUPPLEMENT: N_("补充说明"), A.RATE: N_("评价"),
    A.TRANSFER: N_("移交"),
}

#: the same words on a button, where English wants a verb ("Sign for", not "Signed for"):
#: templates show ``pgettext("action", action.label)``
BUTTON_LABELS = [
    NC_("action", "受理"), NC_("action", "直接答复"), NC_("action", "标记无效"), NC_("action", "合并"),
    NC_("action", "派单"), NC_("action", "转派"), NC_("action", "签收"), NC_("action", "办理进展"),
    NC_("action", "申请退单"), NC_("action", "同意退单"), NC_("action", "驳回退单"), NC_("action", "申请延期"),
    NC_("action", "同意延期"), NC_("action", "驳回延期"), NC_("action", "反馈"), NC_("action", "提交反馈待审核"),
    NC_("action", "审核通过反馈"), NC_("action", "退回反馈"), NC_("action", "退回重新办理"), NC_("action", "回访"),
    NC_("action", "重办"), NC_("action", "办结"), NC_("action", "督办"), NC_("action", "纪检移送"),
    NC_("action", "补充说明"), NC_("action", "评价"), NC_("action", "移交"),
]
