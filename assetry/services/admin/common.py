"""Pieces every admin service shares: the acting-admin check, pages of rows, search patterns."""

from __future__ import annotations

import importlib.util
import math
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Generic, TypeVar

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.errors import BadInput, NotAllowed
from assetry.models import User

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
NOT_AN_ADMIN = "Only admins can do that."
Row = TypeVar("Row")


@dataclass
class Page(Generic[Row]):
    """One page of a longer list, and where it sits in the whole."""

    rows: list[Row]
    total: int
    page: int
    page_size: int
    extra: dict = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.page_size))


def page_window(page: int, page_size: int = PAGE_SIZE) -> tuple[int, int, int]:
    """(page, limit, offset) for a 1-based page number; nonsense pages become page 1."""
    page = page if isinstance(page, int) and 1 <= page <= 1_000_000 else 1
    size = min(max(int(page_size), 1), MAX_PAGE_SIZE)
    return page, size, (page - 1) * size


async def acting_admin(session: AsyncSession, actor_id: uuid.UUID) -> User:
    """The acting account, re-read in this transaction; NotAllowed unless it is an enabled admin."""
    actor = await session.get(User, actor_id)
    if actor is None or not actor.is_admin or actor.is_disabled:
        raise NotAllowed(NOT_AN_ADMIN)
    return actor


def like_pattern(text: str, *, anywhere: bool = False) -> str:
    """A LIKE pattern matching `text` literally (lower-cased) at the start, or anywhere."""
    escaped = text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return ("%" if anywhere else "") + escaped + "%"


def clean_search(text: str) -> str:
    text = (text or "").strip()
    if len(text) > 254:
        raise BadInput("Search for at most 254 characters.")
    return text


def parse_id(text: str, what: str = "item") -> uuid.UUID:
    """An id the browser sent; BadInput when it is not one."""
    try:
        return uuid.UUID(str(text))
    except ValueError:
        raise BadInput(f"That {what} doesn't exist.") from None


def day_of(column: sa.ColumnElement, dialect: str) -> sa.ColumnElement:
    """The UTC calendar day of a timestamp column, in SQL."""
    if dialect == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def as_date(value: date | datetime | str) -> date:
    """A day as SQLite (text) or Postgres (date) returns it."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def csv_safe(text: str) -> str:
    """Keep spreadsheet apps from running a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def mail_service():
    """`assetry.services.mail` (the outbox / SMTP sender), or NotAllowed when this build has none."""
    try:
        from assetry.services import mail  # the mail service ships on its own branch
    except ImportError:
        raise NotAllowed("Email sending is not set up in this installation, so nothing was sent.") from None
    return mail


def has_mail() -> bool:
    """Whether email can be sent (the page hides email actions otherwise)."""
    return importlib.util.find_spec("assetry.services.mail") is not None
