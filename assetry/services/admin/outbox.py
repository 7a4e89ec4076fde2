"""The email outbox, read-only: what was (or, with no SMTP server configured, would have been) sent."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.services.admin.common import Page, acting_admin, clean_search, like_pattern, page_window

try:  # the outbox table ships with the mail service
    from assetry.models.mail import OutboxMessage
except ImportError:
    OutboxMessage = None


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


def available() -> bool:
    """Whether this installation has an outbox to show."""
    return OutboxMessage is not None


async def listing(
    actor_id: uuid.UUID,
    *,
    to: str = "",
    template: str = "",
    status: str = "",
    page: int = 1,
    page_size: int = 30,
) -> Page[OutboxRow]:
    """Messages, newest first, filtered by recipient (prefix), template and status."""
    page, limit, offset = page_window(page, page_size)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        if OutboxMessage is None:
            return Page([], 0, page, limit)
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
        total = await session.scalar(select(sa.func.count()).select_from(OutboxMessage).where(*filters))
        found = (
            await session.exec(
                select(OutboxMessage)
                .where(*filters)
                .order_by(col(OutboxMessage.created_at).desc(), OutboxMessage.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
    rows = [
        OutboxRow(
            m.id, m.to_address, m.subject, m.template, m.status, m.attempts, m.last_error,
            m.body_text, m.created_at, m.sent_at,
        )
        for m in found
    ]  # fmt: skip
    return Page(rows, total or 0, page, limit)
