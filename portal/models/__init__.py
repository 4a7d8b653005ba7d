"""SQLAlchemy 2.0 typed models, one module per aggregate. Only ``portal.services`` changes them."""
from .audit import AuditEntry
from .category import Category, CategoryDeadline
from .kb import KbArticle
from .outbox import OutboxMessage
from .ranking import RankingRow, RankingSettings, RankingSnapshot
from .scheduler import JobRun, SchedulerLock
from .ticket import Attachment, Callback, Ticket, TicketEvent, TicketUnit
from .unit import Unit
from .user import User

__all__ = ["AuditEntry", "Attachment", "KbArticle", "OutboxMessage", "Category", "CategoryDeadline", "Callback", "Ticket", "TicketEvent", "TicketUnit", "Unit", "User",
           "RankingRow", "RankingSettings", "RankingSnapshot", "JobRun", "SchedulerLock"]
