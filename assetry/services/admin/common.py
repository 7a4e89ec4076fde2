"""Pieces every admin service shares: the acting-admin check, search patterns, ids from the browser."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.errors import BadInput, NotAllowed
from assetry.models import User

NOT_AN_ADMIN = "Only admins can do that."


async def acting_admin(session: AsyncSession, actor_id: uuid.UUID) -> User:
    """The acting account, re-read in this transaction; NotAllowed unless it is an enabled admin."""
    actor = await session.get(User, actor_id)
    if actor is None or not actor.is_admin or actor.is_disabled:
        raise NotAllowed(NOT_AN_ADMIN)
    return actor


async def existing(session: AsyncSession, model: type, row_id: uuid.UUID, what: str):
    """The row with this id, or BadInput saying that it is gone."""
    row = await session.get(model, row_id)
    if row is None:
        raise BadInput(f"That {what} doesn't exist (any more).")
    return row


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


def day_of(column: sa.ColumnElement) -> sa.ColumnElement:
    """The UTC calendar day of a timestamp column, in SQL."""
    return sa.cast(sa.func.timezone("UTC", column), sa.Date)


def csv_safe(text: str) -> str:
    """Keep spreadsheet apps from running a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
