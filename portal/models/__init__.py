"""SQLAlchemy 2.0 typed models, one module per aggregate. Only ``portal.services`` changes them."""
from .category import Category, CategoryDeadline
from .ticket import Callback, Ticket, TicketEvent, TicketUnit
from .unit import Unit
from .user import User

__all__ = ["Category", "CategoryDeadline", "Callback", "Ticket", "TicketEvent", "TicketUnit", "Unit", "User"]
