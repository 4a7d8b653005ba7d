from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import event
from sqlalchemy import Boolean, Date, DateTime, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..domain.segment import index_tokens
from ..extensions import db
from .category import Category
from .unit import Unit


class KbArticle(db.Model):
    """知识库: an answer operators give directly and citizens see while typing."""
    __tablename__ = "kb_articles"
    #: the editor's list, most recently updated first, reads its page from here (migration 0016_kb_updated)
    __table_args__ = (Index("ix_kb_articles_updated", "updated_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question: Mapped[str] = mapped_column(String(200))
    answer: Mapped[str] = mapped_column(Text)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)
    keywords: Mapped[str] = mapped_column(String(200), default="")
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    #: 分词: question and keywords / the answer, segmented by jieba (``domain.segment.index_tokens``),
    #: written by ``services.kb`` in the same transaction as the text. SQLite indexes them in the
    #: FTS5 table ``kb_fts`` (kept by triggers), PostgreSQL in a GIN index over their tsvector.
    search_title: Mapped[str] = mapped_column(Text, default="", server_default="")
    search_body: Mapped[str] = mapped_column(Text, default="", server_default="")

    category: Mapped[Category | None] = relationship()
    owner_unit: Mapped[Unit | None] = relationship()

    def valid_on(self, day: date) -> bool:
        return (self.active and (self.valid_from is None or self.valid_from <= day)
                and (self.valid_to is None or self.valid_to >= day))


@event.listens_for(KbArticle, "before_insert")
@event.listens_for(KbArticle, "before_update")
def _segment(mapper, connection, article: KbArticle) -> None:
    """Keep the search columns in step with the text, in the same flush (and transaction),
    whichever code writes the article."""
    article.search_title = index_tokens(f"{article.question or ''} {article.keywords or ''}")
    article.search_body = index_tokens(article.answer or "")
