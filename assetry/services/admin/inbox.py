"""The support inbox (and privacy requests, once messages carry a kind): list, open, reply, mark done."""

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
from assetry.services import audit
from assetry.services.admin.common import Page, acting_admin, mail_service, page_window
from assetry.services.validation import clean_text

OPEN, DONE = "open", "done"
STATUSES = (OPEN, DONE)
REPLY_MAX = 5000


@dataclass(frozen=True)
class MessageRow:
    id: uuid.UUID
    kind: str  # "support" until messages carry a kind (privacy requests)
    name: str
    email: str
    subject: str
    body: str
    status: str
    created_at: datetime
    replied_at: datetime | None
    has_account: bool


def _kind_column():
    """The message kind column, when this build's messages have one."""
    return SupportMessage.__table__.c.get("kind")


def kinds() -> list[str]:
    """Kinds of message to filter by (empty when messages have no kind)."""
    return ["support", "privacy"] if _kind_column() is not None else []


def _row(message: SupportMessage) -> MessageRow:
    return MessageRow(
        message.id, getattr(message, "kind", "support") or "support", message.name, message.email,
        message.subject, message.body, message.status, message.created_at, message.replied_at,
        message.user_id is not None,
    )  # fmt: skip


async def listing(
    actor_id: uuid.UUID, *, status: str = OPEN, kind: str = "", page: int = 1, page_size: int = 30
) -> Page[MessageRow]:
    """Messages, oldest open first (they have waited longest), or newest first for done ones."""
    if status and status not in STATUSES:
        raise BadInput("Pick open or done messages.")
    page, limit, offset = page_window(page, page_size)
    filters = []
    if status:
        filters.append(SupportMessage.status == status)
    kind_column = _kind_column()
    if kind and kind_column is not None:
        filters.append(kind_column == kind[:32])
    order = col(SupportMessage.created_at).asc() if status == OPEN else col(SupportMessage.created_at).desc()
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        total = await session.scalar(select(sa.func.count()).select_from(SupportMessage).where(*filters))
        found = (
            await session.exec(
                select(SupportMessage)
                .where(*filters)
                .order_by(order, SupportMessage.id)
                .limit(limit)
                .offset(offset)
            )
        ).all()
        open_count = await session.scalar(
            select(sa.func.count()).select_from(SupportMessage).where(SupportMessage.status == OPEN)
        )
    return Page([_row(m) for m in found], total or 0, page, limit, {"open": open_count or 0})


async def get(actor_id: uuid.UUID, message_id: uuid.UUID) -> MessageRow | None:
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        message = await session.get(SupportMessage, message_id)
    return _row(message) if message else None


async def reply(actor_id: uuid.UUID, message_id: uuid.UUID, body: str) -> MessageRow:
    """Answer a message by email (through the mail service) and note when it was answered."""
    text = clean_text(body, field="reply", max_length=REPLY_MAX)
    mail = mail_service()
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
