"""Whether the service can do its work right now (the `/health` route asks)."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from assetry import db
from assetry.config import get_settings

TIMEOUT_S = 5


async def database_answers() -> bool:
    """Whether the database answers a query within a few seconds."""
    try:
        async with asyncio.timeout(TIMEOUT_S), db.service_session() as session:
            await session.exec(sa.text("SELECT 1"))
    except (OSError, TimeoutError, sa.exc.DBAPIError):
        return False
    return True


def statements_for_pages() -> int | None:
    """Statements this process sent for pages and requests, not jobs (None unless COUNT_STATEMENTS)."""
    return db.statements_for_pages if get_settings().count_statements else None
