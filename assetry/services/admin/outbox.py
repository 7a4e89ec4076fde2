"""The email outbox: what was (or, with no SMTP server configured, would have been) sent; send a failed one again.

Password-reset and email-confirmation messages carry single-use links that would let
whoever opens them take over the account. Admins see those messages with the links
hidden: the bodies this module returns never hold them.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col

from assetry import db
from assetry.errors import BadInput
from assetry.models import OutboxMessage
from assetry.services import audit, mail, mail_templates
from assetry.services.admin.common import acting_admin, clean_search, existing, like_pattern
from assetry.services.admin.paging import Page, SortKey, Window, read_page

HIDDEN_LINK = "[single-use link hidden]"
LINK = re.compile(r"https?://\S+")
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
            as_admins_see(m), m.created_at, m.sent_at,
        )
        for (m,) in found.rows
    ]  # fmt: skip
    return found


def as_admins_see(message: OutboxMessage) -> str:
    """The plain-text body, with the links of a message that holds single-use ones hidden."""
    template = mail_templates.TEMPLATES.get(message.template)
    if template is not None and template.one_time_link:
        return LINK.sub(HIDDEN_LINK, message.body_text)
    return message.body_text


async def send_again(actor_id: uuid.UUID, message_id: uuid.UUID) -> OutboxMessage:
    """Queue a message whose delivery failed for another round of attempts (after SMTP was fixed)."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        message = await existing(session, OutboxMessage, message_id, "message")
        await mail.send_again(session, message)
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.mail_sent_again",
            target=str(message.id),
            detail=f"{message.template} to {message.to_address}",
        )
    return message
