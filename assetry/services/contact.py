"""Waitlist sign-ups and support messages from visitors and users."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from assetry import db
from assetry.models import SupportMessage, WaitlistEntry
from assetry.services.validation import clean_email, clean_text


async def join_waitlist(email_raw: str) -> bool:
    """Add an email to the waitlist; False when it was already on it (nothing changes)."""
    email = clean_email(email_raw)
    async with db.service_session() as session:
        if (await session.exec(select(WaitlistEntry.id).where(WaitlistEntry.email == email))).first():
            return False
        try:
            async with session.begin_nested():
                session.add(WaitlistEntry(email=email))
        except IntegrityError:  # the same address, sent twice at the same moment
            return False
    return True


async def send_support_message(
    *,
    email: str,
    subject: str,
    body: str,
    name: str = "",
    user_id: uuid.UUID | None = None,
    kind: str = "support",
) -> SupportMessage:
    """Store a support message (or a privacy request, by `kind`) for the admin inbox."""
    message = SupportMessage(
        user_id=user_id,
        kind=kind,
        name=clean_text(name, field="name", max_length=120, required=False),
        email=clean_email(email),
        subject=clean_text(subject, field="subject", max_length=200),
        body=clean_text(body, field="message", max_length=5000),
    )
    async with db.service_session() as session:
        session.add(message)
    return message
