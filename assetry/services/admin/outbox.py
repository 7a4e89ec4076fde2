"""The email outbox, read-only: what was (or, with no SMTP server configured, would have been) sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from assetry import db
from assetry.errors import BadInput
from assetry.models import OutboxMessage
from assetry.services.admin.common import acting_admin, clean_search, like_pattern
from assetry.services.admin.paging import Page, SortKey, Window, read_page

NEWEST = SortKey(col(OutboxMessage.created_at), col(OutboxMessage.id), newest_first=True)


@dataclass(frozen=True)
class OutboxRow:
    id: uuid.UUID
    to_address: str
    subject: str
    template: str
    status: str
    attempts: int
    last_error: str
    body_text: str
    created_at: datetime
    sent_at: datetime | None


async def listing(
    actor_id: uuid.UUID,
    *,
    to: str = "",
    template: str = "",
    status: str = "",
    window: Window = Window(size=30),
) -> Page[OutboxRow]:
    """Messages, newest first, filtered by recipient (prefix), template and status."""
    to = clean_search(to)
    if len(template) > 48 or len(status) > 16:
        raise BadInput("Pick a template and a status from the lists.")
    filters = []
    if to:
        filters.append(col(OutboxMessage.to_address).like(like_pattern(to), escape="\\"))
    if template:
        filters.append(OutboxMessage.template == template)
    if status:
        filters.append(OutboxMessage.status == status)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, sa.select(OutboxMessage).where(*filters), NEWEST, window)
    found.rows = [
        OutboxRow(
            m.id, m.to_address, m.subject, m.template, m.status, m.attempts, m.last_error,
            m.body_text, m.created_at, m.sent_at,
        )
        for (m,) in found.rows
    ]  # fmt: skip
    return found
