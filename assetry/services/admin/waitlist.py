"""The waitlist as admins see it: search and export as CSV (invitations: `invitations`)."""

from __future__ import annotations

import csv
import io
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.models import WaitlistEntry
from assetry.services import audit
from assetry.services.admin.common import acting_admin, clean_search, csv_safe, like_pattern
from assetry.services.admin.paging import Page, SortKey, Window, read_page

INVITED = ("all", "invited", "waiting")
EXPORT_BATCH = 5000
FIRST_COME = SortKey(col(WaitlistEntry.created_at), col(WaitlistEntry.id), newest_first=False)


@dataclass(frozen=True)
class WaitlistRow:
    id: uuid.UUID
    email: str
    created_at: datetime
    invited_at: datetime | None


def entry_filters(query: str, invited: str) -> list:
    """Conditions for entries whose email contains the query, invited or still waiting (or all)."""
    query = clean_search(query)
    if invited not in INVITED:
        raise BadInput("Pick all, invited or still waiting.")
    filters = []
    if query:
        filters.append(col(WaitlistEntry.email).like(like_pattern(query, anywhere=True), escape="\\"))
    if invited == "invited":
        filters.append(col(WaitlistEntry.invited_at).is_not(None))
    elif invited == "waiting":
        filters.append(col(WaitlistEntry.invited_at).is_(None))
    return filters


async def listing(
    actor_id: uuid.UUID, query: str = "", *, invited: str = "all", window: Window = Window()
) -> Page[WaitlistRow]:
    """Waitlist entries whose email contains the query, oldest first (first come, first invited)."""
    filters = entry_filters(query, invited)
    listed = sa.select(
        WaitlistEntry.id, WaitlistEntry.email, WaitlistEntry.created_at, WaitlistEntry.invited_at
    ).where(*filters)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, listed, FIRST_COME, window)
        waiting = await session.scalar(
            select(sa.func.count()).select_from(WaitlistEntry).where(col(WaitlistEntry.invited_at).is_(None))
        )
    found.rows = [WaitlistRow(*row) for row in found.rows]
    found.extra["waiting"] = waiting or 0
    return found


async def export_csv(actor_id: uuid.UUID, query: str = "", *, invited: str = "all") -> str:
    """Every matching entry as CSV (email, joined, invited), read in batches."""
    filters = entry_filters(query, invited)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["email", "joined_at", "invited_at"])
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        result = await session.stream(
            select(WaitlistEntry.email, WaitlistEntry.created_at, WaitlistEntry.invited_at)
            .where(*filters)
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
            .execution_options(yield_per=EXPORT_BATCH)
        )
        async for email, joined, invited_at in result:
            writer.writerow(
                [csv_safe(email), joined.isoformat(), invited_at.isoformat() if invited_at else ""]
            )
        audit.record(
            session, actor_id=actor_id, action="admin.waitlist_exported", detail=f"{query!r} {invited}"
        )
    return out.getvalue()
