"""Email, with one entry point: `send(session, to=..., template=..., context=...)`.

`send` renders the template (`services.mail_templates`) and stores the message in
the outbox in the caller's transaction, so a message exists exactly when the
change it reports is committed. Then:

- SMTP configured (`SMTP_URL`): a "mail.deliver" job (one per message) hands it
  to the server. While the server is unreachable or says "try later", the job
  retries with growing pauses (about 11 hours in all); nothing is lost. If the
  server refuses the address for good, or every attempt failed, the message is
  marked `failed` with the reason; an admin retrying its job (/admin/jobs) tries again.
- Embedded (no `SMTP_URL`): the message is marked `kept` and stays in the outbox,
  where admins read it.

Retention: a message leaves the outbox 90 days after it was written, once it is no
longer waiting (`purge_delivered`, run by the retention schedule), or earlier with its
account: the account purge deletes the messages to its address, and the deletion
confirmation, when still waiting then, is removed as soon as it is delivered.

Delivery is at least once: a worker that crashes between the server's "250 OK"
and recording it resends, with the same Message-ID so mail clients drop the copy.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime
from email.utils import parseaddr
from typing import Any
from urllib.parse import urlparse

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.config import Mode, Settings, get_settings
from assetry.errors import BadInput, ProviderError
from assetry.integrations.mailer import Mailer, OutgoingMail
from assetry.jobs import queue
from assetry.jobs.task import Context, Retry
from assetry.models import OutboxMessage, User
from assetry.models.base import utcnow
from assetry.models.mail import FAILED, KEPT, QUEUED, SENT
from assetry.services import mail_templates

log = logging.getLogger(__name__)

DELIVER = "mail.deliver"
# Pauses between delivery attempts (seconds); the last repeats. Sum ≈ 11 h.
RETRY_DELAYS = (30, 60, 120, 300, 600, 1800, 3600, 3600, 7200, 7200, 14400)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
REMOVED_BODY = "(Removed after delivery: this message held a one-time link.)"


async def send(
    session: AsyncSession,
    *,
    to: str,
    template: str,
    context: dict[str, Any],
    user_id: uuid.UUID | None = None,
) -> OutboxMessage:
    """Render a template and queue the message in the caller's transaction.

    `user_id` owns the message: it is exported with and deleted with that account.
    A malformed address raises BadInput and stores nothing; an unknown template or
    missing context key raises ValueError (a bug in the caller).
    """
    settings = get_settings()
    address = _clean_address(to)
    rendered = mail_templates.render(template, context, app_url=settings.public_url)
    message = OutboxMessage(
        user_id=user_id,
        to_address=address,
        subject=rendered.subject[:300],
        body_text=rendered.text,
        body_html=rendered.html,
        template=template,
    )
    session.add(message)
    if settings.mail_mode is Mode.EMBEDDED:
        message.status = KEPT
        return message
    await session.flush()
    await queue.enqueue(
        session, DELIVER, {"message_id": str(message.id)}, dedupe_key=f"{DELIVER}:{message.id}"
    )
    return message


async def send_again(session: AsyncSession, message: OutboxMessage) -> None:
    """Queue a message that failed for another round of delivery attempts (in the caller's transaction)."""
    if message.status != FAILED:
        raise BadInput(f"Only a message that failed can be sent again; this one is {message.status}.")
    message.status = QUEUED
    # A fresh job: the one that gave up keeps its record of how it ended.
    await queue.enqueue(
        session, DELIVER, {"message_id": str(message.id)}, dedupe_key=f"{DELIVER}:{message.id}"
    )


def mailer(settings: Settings | None = None) -> Mailer | None:
    """The SMTP mailer the settings configure, or None in embedded mode."""
    settings = settings or get_settings()
    if settings.mail_mode is Mode.EMBEDDED:
        return None
    return Mailer.from_url(
        settings.smtp_url.get_secret_value(), settings.mail_from, timeout=settings.smtp_timeout_s
    )


async def purge_delivered(session: AsyncSession, *, before: datetime) -> int:
    """Delete messages that were sent, kept or failed before `before` (for retention jobs)."""
    result = await session.exec(
        sa.delete(OutboxMessage).where(
            OutboxMessage.status.in_((SENT, KEPT, FAILED)), OutboxMessage.created_at < before
        )
    )
    return result.rowcount


async def delivery_ended(payload: dict, status: str, message: str) -> None:
    """The job gave up (refused address, attempts used up): say so on the message."""
    message_id = uuid.UUID(payload["message_id"])
    async with db.service_session() as session:
        await session.exec(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == QUEUED)
            .values(status=FAILED, last_error=message[:1000])
        )
    log.warning("mail %s not delivered: %s", message_id, message)


async def deliver(ctx: Context) -> dict:
    """Hand one outbox message to the SMTP server (idempotent: a sent message is not resent)."""
    message_id = uuid.UUID(ctx.payload["message_id"])
    async with db.service_session() as session:
        message = await session.get(OutboxMessage, message_id)
        if message is None:  # its account was purged before we got to it
            return {"status": "gone"}
        # A failed message's job runs again only when an admin retried it: try it again then.
        if message.status not in (QUEUED, FAILED):
            return {"status": message.status}
        message.status = QUEUED
        sender = mailer()
        if sender is None:  # SMTP was switched off since the message was queued
            message.status = KEPT
            return {"status": KEPT}
        message.attempts += 1
        attempt = message.attempts
        outgoing = OutgoingMail(
            to=message.to_address,
            subject=message.subject,
            text=message.body_text,
            html=message.body_html,
            message_id=f"<{message.id}@{_mail_domain(sender.sender)}>",
        )
        template = mail_templates.TEMPLATES.get(message.template)
        blank_after = bool(template and template.one_time_link)
        forget_after = bool(template and template.outlives_account)
    try:
        await sender.send(outgoing)
    except (ProviderError, BadInput) as error:
        async with db.service_session() as session:
            await session.exec(
                sa.update(OutboxMessage)
                .where(OutboxMessage.id == message_id)
                .values(last_error=str(error)[:1000])
            )
        if isinstance(error, BadInput):
            raise
        delay = RETRY_DELAYS[min(attempt, len(RETRY_DELAYS)) - 1]
        raise Retry(str(error), delay=delay) from None
    values: dict[str, Any] = {"status": SENT, "sent_at": utcnow(), "last_error": ""}
    if blank_after:
        values |= {"body_text": REMOVED_BODY, "body_html": ""}
    async with db.service_session() as session:
        if forget_after and not await _has_account(session, outgoing.to):
            await session.exec(sa.delete(OutboxMessage).where(OutboxMessage.id == message_id))
            return {"status": SENT, "attempts": attempt, "removed": True}
        await session.exec(sa.update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values))
    return {"status": SENT, "attempts": attempt}


async def _has_account(session: AsyncSession, address: str) -> bool:
    found = await session.scalar(sa.select(User.id).where(sa.func.lower(User.email) == address.lower()))
    return found is not None


def _clean_address(raw: str) -> str:
    raw = (raw or "").strip()
    try:
        return validate_email(raw, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise BadInput(f"That email address doesn't look right: {error}") from None


def _mail_domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or urlparse(get_settings().public_url).hostname or "assetry.local"
