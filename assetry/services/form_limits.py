"""Per-IP limits on the forms anyone can send without logging in: sign-up, waitlist, link resend."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.config import get_settings
from assetry.errors import NotAllowed
from assetry.models import FormSubmission
from assetry.models.base import utcnow

SIGN_UP, WAITLIST, RESEND = "sign_up", "waitlist", "resend"
WINDOW = timedelta(hours=1)
TOO_MANY = "Too many requests from your network in the last hour. Please try again in an hour."


async def count_submission(session: AsyncSession, form: str, ip: str) -> None:
    """Record that `ip` sent `form` (in the caller's transaction); NotAllowed past the hourly limit."""
    ip = ip[:64]
    if ip:
        sent = await session.scalar(
            select(sa.func.count())
            .select_from(FormSubmission)
            .where(
                FormSubmission.form == form,
                FormSubmission.ip == ip,
                FormSubmission.created_at > utcnow() - WINDOW,
            )
        )
        if sent >= get_settings().form_ip_max_per_hour:
            raise NotAllowed(TOO_MANY)
    session.add(FormSubmission(form=form, ip=ip))
