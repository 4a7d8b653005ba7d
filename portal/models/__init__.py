"""SQLAlchemy 2.0 typed models, one module per aggregate. Only ``portal.services`` changes them."""
from .audit import AuditEntry
from .category import Category, CategoryDeadline
from .kb import KbArticle
from .open311 import ApiKey, Open311Request, UnitContact
from .outbox import OutboxMessage
from .ticket import Attachment, Callback, Ticket, TicketEvent, TicketUnit
from .unit import Unit
from .user import User

__all__ = ["AuditEntry", "ApiKey", "Open311Request", "UnitContact", "Attachment", "KbArticle", "OutboxMessage", "Category", "CategoryDeadline", "Callback", "Ticket", "TicketEvent", "TicketUnit", "Unit", "User"]
