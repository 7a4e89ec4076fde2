"""Waitlist sign-ups and support messages from visitors and users."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError

from assetry import db
from assetry.models import SupportMessage, WaitlistEntry
from assetry.services import form_limits
from assetry.services.validation import clean_email, clean_text

WAITLIST_ANSWER = "Thanks! If you weren't on the list already, you are now. We'll write when your spot opens."


async def join_waitlist(email_raw: str, ip: str) -> str:
    """Put an email on the waitlist (once); returns the answer to show, the same whether it was on it or not.

    Each IP may send `FORM_IP_MAX_PER_HOUR` of these an hour (NotAllowed past it).
    """
    email = clean_email(email_raw)
    async with db.service_session() as session:
        await form_limits.count_submission(session, form_limits.WAITLIST, ip)
        # One INSERT for every address (refused by the unique index when it is on the list already),
        # so the time taken tells nothing either.
        try:
            async with session.begin_nested():
                session.add(WaitlistEntry(email=email))
        except IntegrityError:
            pass
    return WAITLIST_ANSWER


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
