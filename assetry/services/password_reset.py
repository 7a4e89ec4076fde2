"""Password reset by email, for local accounts.

Asking for a reset always gets the same answer (`REQUEST_ANSWER`), as fast, whether
or not the address has an account, so the form tells nobody who is signed up: the
request only queues a job, and the worker looks the address up. An account gets a
link with a random token (256 bits); only its SHA-256 is stored. The link works
once, for `TOKEN_TTL`; setting a new password through it marks it used, voids the
account's other reset links and logs the account out everywhere.

When Supabase Auth holds the passwords, resets go through Supabase, not here.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from assetry import db, security
from assetry.config import Mode, get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.jobs import queue
from assetry.jobs.task import Context
from assetry.models import AuthSession, PasswordReset, User
from assetry.models.base import utcnow
from assetry.services import audit, mail
from assetry.services.validation import clean_email, password_problem

SEND_LINK = "password_reset.send_link"
TOKEN_TTL = timedelta(hours=1)
# Reset emails one account may get per hour: enough for a lost email, too few to flood an inbox.
MAX_REQUESTS_PER_HOUR = 3
REQUEST_ANSWER = (
    "If an account exists for {email}, we sent it a link to choose a new password. "
    "It works for one hour. Check your spam folder if it doesn't arrive."
)
SUPABASE_ANSWER = (
    "Passwords on this installation are kept by its sign-in provider (Supabase), so resets go "
    "through Supabase's own email. If you can't get one, write to us from the support page."
)
LINK_UNKNOWN = "This reset link is not valid. Check that you copied all of it, or ask for a new one."
LINK_USED = "This reset link was already used. If you still can't log in, ask for a new one."
LINK_EXPIRED = "This reset link has expired (they work for one hour). Ask for a new one."


@dataclass(frozen=True)
class ResetLink:
    """What the reset page needs to know about a token: whose it is (never the token itself)."""

    email: str


def resets_here() -> bool:
    """Whether this installation resets passwords itself (local accounts) or leaves it to Supabase."""
    return get_settings().auth_mode is Mode.EMBEDDED


async def request_reset(email_raw: str) -> str:
    """Queue the reset email for this address; returns the answer to show.

    Every well-formed address takes the same path here (one queued job, whose worker looks
    the address up), so neither the answer, nor how long it takes, nor what is stored by
    then says whether the address has an account.
    """
    if not resets_here():
        raise NotAllowed(SUPABASE_ANSWER)
    email = clean_email(email_raw)
    async with db.service_session() as session:
        await queue.enqueue(session, SEND_LINK, {"email": email})
    return REQUEST_ANSWER.format(email=email)


async def send_link(ctx: Context) -> dict:
    """Email a reset link when the address has a local account, and forget the address either way."""
    email = ctx.payload.get("email", "")
    token = security.new_session_token()
    async with db.service_session() as session:
        # Finished jobs are kept for a while; the address of someone who may have no account is not.
        await queue.forget_payload(session, ctx.job_id)
        user = (await session.exec(select(User).where(User.email == email))).first() if email else None
        if user is None or user.is_disabled or user.auth_backend != "local":
            return {}
        now = utcnow()
        recent = await session.scalar(
            select(sa.func.count())
            .select_from(PasswordReset)
            .where(PasswordReset.user_id == user.id, PasswordReset.created_at > now - timedelta(hours=1))
        )
        if recent >= MAX_REQUESTS_PER_HOUR:
            return {}
        session.add(
            PasswordReset(
                user_id=user.id,
                token_hash=security.token_digest(token),
                created_at=now,
                expires_at=now + TOKEN_TTL,
            )
        )
        await mail.send(
            session,
            to=user.email,
            template="password_reset",
            context={
                "name": user.display_name,
                "reset_url": reset_url(token),
                "expires_minutes": int(TOKEN_TTL.total_seconds() // 60),
            },
            user_id=user.id,
        )
        audit.record(session, actor_id=None, action="account.password_reset_requested", target=str(user.id))
    return {}


def reset_url(token: str) -> str:
    return f"{get_settings().public_url.rstrip('/')}/reset/{token}"


async def check_link(token: str) -> ResetLink:
    """The account a reset link is for; NotAllowed with a message when it cannot be used."""
    async with db.service_session() as session:
        found = await _lookup(session, token)
        user = await session.get(User, found.user_id)
    return ResetLink(email=user.email)


async def reset_password(token: str, new_password: str) -> uuid.UUID:
    """Set a new password through a reset link; every session of the account ends. Returns the user id.

    A weak password raises BadInput and leaves the link usable; a used, expired or
    unknown link raises NotAllowed.
    """
    async with db.service_session() as session:
        found = await _lookup(session, token)
        user = await session.get(User, found.user_id)
        email = user.email
    if problem := password_problem(new_password, email):
        raise BadInput(f"Choose a stronger password. {problem}")
    password_hash = await asyncio.to_thread(security.hash_password, new_password)
    now = utcnow()
    async with db.service_session() as session:
        # Claim the link atomically: of two submissions racing here, one wins.
        claimed = (
            await session.exec(
                sa.update(PasswordReset)
                .where(
                    PasswordReset.token_hash == security.token_digest(token),
                    PasswordReset.used_at.is_(None),
                    PasswordReset.expires_at > now,
                )
                .values(used_at=now)
                .returning(PasswordReset.user_id)
            )
        ).first()
        if claimed is None:
            await _lookup(session, token)  # says why: used or expired meanwhile
            raise NotAllowed(LINK_USED)
        user_id = claimed[0]
        await session.exec(sa.update(User).where(User.id == user_id).values(password_hash=password_hash))
        await session.exec(
            sa.update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        await session.exec(
            sa.update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        audit.record(session, actor_id=user_id, action="account.password_reset", target=str(user_id))
    return user_id


async def _lookup(session, token: str) -> PasswordReset:
    if not resets_here():
        raise NotAllowed(SUPABASE_ANSWER)
    if not token or len(token) > 128:
        raise NotAllowed(LINK_UNKNOWN)
    found = (
        await session.exec(
            select(PasswordReset).where(PasswordReset.token_hash == security.token_digest(token))
        )
    ).first()
    if found is None:
        raise NotAllowed(LINK_UNKNOWN)
    if found.used_at is not None:
        raise NotAllowed(LINK_USED)
    if found.expires_at <= utcnow():
        raise NotAllowed(LINK_EXPIRED)
    user = await session.get(User, found.user_id)
    if user is None or user.is_disabled or user.auth_backend != "local":
        raise NotAllowed(LINK_UNKNOWN)
    return found
