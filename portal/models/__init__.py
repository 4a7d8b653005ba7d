"""SQLAlchemy 2.0 typed models, one module per aggregate. Only ``portal.services`` changes them."""
from .admin import DispatchRule, Setting
from .audit import AuditEntry
from .category import Category, CategoryDeadline
from .governance import HotspotAlert, HotspotRule, Topic, TopicCategory, TopicPolicy, TopicResponsibility, TopicTask
from .kb import KbArticle
from .open311 import ApiKey, Open311Request, UnitContact
from .outbox import OutboxMessage
from .ranking import RankingRow, RankingSettings, RankingSnapshot
from .scheduler import JobRun, SchedulerLock
from .search import TicketOpenText, TicketRepeat, TicketText
from .ticket import Attachment, Callback, Ticket, TicketEvent, TicketUnit
from .unit import Unit
from .user import User

__all__ = [
    "ApiKey",
    "Attachment",
    "AuditEntry",
    "Callback",
    "Category",
    "CategoryDeadline",
    "DispatchRule",
    "HotspotAlert",
    "HotspotRule",
    "JobRun",
    "KbArticle",
    "Open311Request",
    "OutboxMessage",
    "RankingRow",
    "RankingSettings",
    "RankingSnapshot",
    "SchedulerLock",
    "Setting",
    "Ticket",
    "TicketEvent",
    "TicketRepeat",
    "TicketOpenText",
    "TicketText",
    "TicketUnit",
    "Topic",
    "TopicCategory",
    "TopicPolicy",
    "TopicResponsibility",
    "TopicTask",
    "Unit",
    "UnitContact",
    "User",
]
