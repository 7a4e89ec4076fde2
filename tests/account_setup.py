"""Accounts made as a creator makes them: the sign-up form, the emailed link, opened.

`create_account` runs only the sign-up job (not other queued work), reads the link from the
outbox (where every message is stored, sent by SMTP or not) and opens it.
"""

from __future__ import annotations

import asyncio
import re
import time

from sqlmodel import select

from assetry import db
from assetry.models import OutboxMessage, User
from assetry.services import accounts, sign_up
from assetry.services.sign_up import SignUp
from assetry.services.validation import clean_email
from tests.jobs import run_jobs

__all__ = ["SignUp", "create_account", "run_sign_up_jobs", "sign_up_link"]


async def run_sign_up_jobs() -> None:
    """Let a worker run the queued sign-up and link-resend jobs, and only those."""
    await run_jobs(tasks=[sign_up.SEND_LINK, sign_up.RESEND_LINK])


async def sign_up_link(email: str, *, timeout_s: float = 60) -> str:
    """The token of the newest sign-up link emailed to `email`.

    Waits as a person waits for the email: a test's app backend runs a worker of its own that may
    be the one sending it, and a busy machine may take a while to get to it.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        async with db.service_session() as session:
            message = (
                await session.exec(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.to_address == email, OutboxMessage.template == "sign_up_confirmation"
                    )
                    .order_by(OutboxMessage.created_at.desc())
                )
            ).first()
        if message is not None or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.1)
    assert message is not None, f"no sign-up link was emailed to {email}"
    return re.search(r"/signup/confirm/(\S+)", message.body_text).group(1)


async def create_account(form: SignUp, client: accounts.Client | None = None) -> tuple[User, str]:
    """Sign up, open the emailed link; returns the confirmed user and the session the link opened."""
    client = client or accounts.Client()
    await sign_up.sign_up(form, client)
    await run_sign_up_jobs()
    email = clean_email(form.email)
    token = await sign_up.confirm(await sign_up_link(email), client)
    async with db.service_session() as session:
        user = (await session.exec(select(User).where(User.email == email))).one()
    return user, token
