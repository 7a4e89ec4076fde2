"""The support inbox and privacy requests: list, open, reply, mark done."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput
from assetry.models import SupportMessage
from assetry.models.base import utcnow
from assetry.services import audit, mail
from assetry.services.admin.common import acting_admin
from assetry.services.admin.paging import Page, SortKey, Window, read_page
from assetry.services.validation import clean_text

OPEN, DONE = "open", "done"
STATUSES = (OPEN, DONE)
SUPPORT, PRIVACY = "support", "privacy"
KINDS = (SUPPORT, PRIVACY)
REPLY_MAX = 5000


@dataclass(frozen=True)
class MessageRow:
    id: uuid.UUID
    kind: str  # support, or what a privacy request asks for (access, correction, ...)
    name: str
    email: str
    subject: str
    body: str
    status: str
    created_at: datetime
    replied_at: datetime | None
    has_account: bool


def _row(message: SupportMessage) -> MessageRow:
    return MessageRow(
        message.id, message.kind, message.name, message.email, message.subject, message.body,
        message.status, message.created_at, message.replied_at, message.user_id is not None,
    )  # fmt: skip


async def listing(
    actor_id: uuid.UUID, *, status: str = OPEN, kind: str = "", window: Window = Window(size=30)
) -> Page[MessageRow]:
    """Messages, oldest open first (they have waited longest), or newest first for done ones."""
    if status and status not in STATUSES:
        raise BadInput("Pick open or done messages.")
    if kind and kind not in KINDS:
        raise BadInput("Pick support messages or privacy requests.")
    filters = []
    if status:
        filters.append(SupportMessage.status == status)
    if kind == SUPPORT:
        filters.append(SupportMessage.kind == SUPPORT)
    elif kind == PRIVACY:  # privacy requests are stored by what they ask for (access, correction, ...)
        filters.append(SupportMessage.kind != SUPPORT)
    key = SortKey(col(SupportMessage.created_at), col(SupportMessage.id), newest_first=status != OPEN)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, sa.select(SupportMessage).where(*filters), key, window)
        open_count = await session.scalar(
            select(sa.func.count()).select_from(SupportMessage).where(SupportMessage.status == OPEN)
        )
    found.rows = [_row(message) for (message,) in found.rows]
    found.extra["open"] = open_count or 0
    return found


async def get(actor_id: uuid.UUID, message_id: uuid.UUID) -> MessageRow | None:
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        message = await session.get(SupportMessage, message_id)
    return _row(message) if message else None


async def reply(actor_id: uuid.UUID, message_id: uuid.UUID, body: str) -> MessageRow:
    """Answer a message by email (through the mail service) and note when it was answered."""
    text = clean_text(body, field="reply", max_length=REPLY_MAX)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        message = await _message(session, message_id)
        await mail.send(
            session,
            to=message.email,
            template="support_reply",
            context={
                "name": message.name,
                "subject": message.subject,
                "reply": text,
                "original": message.body,
            },
            user_id=message.user_id,
        )
        message.replied_at = utcnow()
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.support_replied",
            target=str(message.id),
            detail=text[:200],
        )
    return _row(message)


async def set_status(actor_id: uuid.UUID, message_id: uuid.UUID, status: str) -> MessageRow:
    """Mark a message done, or open it again."""
    if status not in STATUSES:
        raise BadInput("Pick open or done.")
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        message = await _message(session, message_id)
        if message.status != status:
            message.status = status
            audit.record(
                session,
                actor_id=actor_id,
                action="admin.support_done" if status == DONE else "admin.support_reopened",
                target=str(message.id),
            )
    return _row(message)


async def _message(session, message_id: uuid.UUID) -> SupportMessage:
    message = await session.get(SupportMessage, message_id)
    if message is None:
        raise BadInput("That message doesn't exist (any more).")
    return message
