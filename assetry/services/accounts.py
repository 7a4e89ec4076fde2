"""Log-in, sessions and passwords (sign-up, by emailed link, is `services.sign_up`).

Credentials are checked by the configured backend (`services.credentials`): argon2id
hashes in our own database, or Supabase Auth. Either way the browser gets one of our
own server-side sessions: a random token whose SHA-256 is stored with an expiry, so
logging out (or a deleted account) revokes it at once.

Wrong passwords are throttled per (account, IP) and per IP, never per account alone, so
nobody can lock an owner out by failing on purpose: after `LOGIN_MAX_FAILURES` wrong
passwords from one IP on one account (or `LOGIN_IP_MAX_FAILURES` from one IP on any
accounts), each further try from that IP waits, 1 minute at first, doubling with each
failure, at most `LOGIN_WINDOW_MINUTES`. The owner logging in from elsewhere is not slowed.
"""

from __future__ import annotations

import asyncio
import functools
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db, security
from assetry.config import get_settings
from assetry.errors import BadInput, EmailNotConfirmed, NotAllowed
from assetry.models import AuthSession, LoginAttempt, User
from assetry.models.base import utcnow
from assetry.services import audit, mail
from assetry.services.credentials import credentials
from assetry.services.validation import password_problem

# The browser cookie holding the session token: HttpOnly, set and cleared only by the
# /session routes of `assetry.web`; handlers read it from the websocket handshake.
SESSION_COOKIE = "assetry_session"
# How long the browser has to swap a log-in's ticket for its cookie (one full-page navigation).
TICKET_SECONDS = 60
WRONG_CREDENTIALS = "That email and password don't match an account."
# The first wait once an IP has used its allowance of wrong passwords; it doubles with each more.
FIRST_WAIT = timedelta(minutes=1)
# How long a wrong password counts (per account and IP: until a log-in from there succeeds).
FAILURES_REMEMBERED = timedelta(hours=24)


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for sessions and throttling."""

    ip: str = ""
    user_agent: str = ""


async def log_in(email_raw: str, password: str, client: Client) -> tuple[User, str]:
    """Check credentials (throttled per account and IP, and per IP); returns the user and a session token.

    Raises EmailNotConfirmed when the password is right but the account waits for its sign-up link.
    """
    email = (email_raw or "").strip().lower()[:254]
    if not email or not password:
        raise BadInput("Enter your email and password.")
    if len(password) > 1024:
        raise BadInput(WRONG_CREDENTIALS)
    async with db.service_session() as session:
        await _check_throttle(session, email, client.ip)
        user = await _user_by_email(session, email)
        refusal: NotAllowed | None = None
        # A deleted account answers like an address that never had one.
        if not (await credentials().verify(user, password) and user) or user.deleted_at is not None:
            refusal = NotAllowed(WRONG_CREDENTIALS)
        elif user.is_disabled:
            refusal = NotAllowed("This account is disabled. Contact support if you think that is a mistake.")
        elif user.email_confirmed_at is None:
            if user.auth_backend == "local":
                refusal = EmailNotConfirmed()
            else:  # Supabase accepted the password, so its own link was opened
                user.email_confirmed_at = utcnow()
                await welcome(session, user)
        # The attempt is recorded even when refused: that is what the throttle counts.
        session.add(LoginAttempt(email=email, ip=client.ip[:64], succeeded=refusal is None))
        if refusal is None:
            if user.password_hash and security.needs_rehash(user.password_hash):
                user.password_hash = await asyncio.to_thread(security.hash_password, password)
            token = open_session(session, user.id, client)
    if refusal:
        raise refusal
    return user, token


async def welcome(session: AsyncSession, user: User) -> None:
    """A new account's address is confirmed: record it and send the welcome email."""
    audit.record(session, actor_id=user.id, action="account.created", target=str(user.id))
    await mail.send(
        session, to=user.email, template="welcome", context={"name": user.display_name}, user_id=user.id
    )


async def log_out(token: str) -> None:
    """Revoke the live session behind this token (no-op for an unknown, expired or revoked one)."""
    if not token:
        return
    async with db.service_session() as session:
        await session.exec(
            sa.update(AuthSession)
            .where(
                AuthSession.token_hash == security.token_digest(token),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > utcnow(),
            )
            .values(revoked_at=utcnow())
        )


def is_live_at(token_hash: object, now: object) -> list[sa.ColumnElement[bool]]:
    """Conditions for the live session whose token has this digest, at `now`: known, not expired or
    revoked, its user enabled. Values or bound parameters (a statement built once): to join `User`
    and `AuthSession` on."""
    return [
        AuthSession.user_id == User.id,
        AuthSession.token_hash == token_hash,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > now,
        AuthSession.ticket_expires_at.is_(None),  # a ticket is not a session token
        User.is_disabled.is_(False),
    ]


# The two look-ups behind a cookie, asked at every page load: built once (building one cost about
# as much as running it), their values bound at each call (`_live_params`).
@functools.cache
def _user_of_session() -> sa.Select:
    return select(User).join(
        AuthSession, sa.and_(*is_live_at(sa.bindparam("token_hash"), sa.bindparam("now")))
    )


@functools.cache
def _session_and_user() -> sa.Select:
    return select(AuthSession.id, User).join(
        User, sa.and_(*is_live_at(sa.bindparam("token_hash"), sa.bindparam("now")))
    )


def _live_params(token: str) -> dict[str, object]:
    return {"token_hash": security.token_digest(token), "now": utcnow()}


async def user_for_token(token: str) -> User | None:
    """The signed-in user behind a session token, or None if it is unknown, expired or revoked."""
    if not token or len(token) > 128:
        return None
    async with db.service_read() as session:
        return (await session.exec(_user_of_session(), params=_live_params(token))).first()


async def live_session(token: str) -> tuple[str, User | None]:
    """Which live session a token stands for, as "<user id>/<session id>", and its user; ("", None)
    when none does. The key is not secret: it names the session without being able to act as it.
    """
    if not token or len(token) > 128:
        return "", None
    async with db.service_read() as session:
        found = (await session.exec(_session_and_user(), params=_live_params(token))).first()
    return (f"{found[1].id}/{found[0]}", found[1]) if found else ("", None)


async def ticket_for(token: str) -> str:
    """Turn a new session's token into a single-use ticket, redeemable for `TICKET_SECONDS`.

    The token itself is forgotten: the browser gets its session only by swapping the ticket
    (`redeem_ticket`) in a response that sets an HttpOnly cookie, never through page scripts.
    """
    ticket = security.new_session_token()
    async with db.service_session() as session:
        result = await session.exec(
            sa.update(AuthSession)
            .where(
                AuthSession.token_hash == security.token_digest(token),
                AuthSession.revoked_at.is_(None),
                AuthSession.ticket_expires_at.is_(None),
            )
            .values(
                token_hash=security.token_digest(ticket),
                ticket_expires_at=utcnow() + timedelta(seconds=TICKET_SECONDS),
            )
        )
    if result.rowcount != 1:
        raise NotAllowed("Please log in again.")
    return ticket


async def redeem_ticket(ticket: str) -> str | None:
    """A fresh session token for a live ticket, once; None if it is unknown, used, expired or revoked."""
    if not ticket or len(ticket) > 128:
        return None
    token = security.new_session_token()
    async with db.service_session() as session:
        # One UPDATE checks and spends the ticket: two browsers racing with it cannot both win.
        result = await session.exec(
            sa.update(AuthSession)
            .where(
                AuthSession.token_hash == security.token_digest(ticket),
                AuthSession.ticket_expires_at > utcnow(),
                AuthSession.revoked_at.is_(None),
                AuthSession.expires_at > utcnow(),
            )
            .values(token_hash=security.token_digest(token), ticket_expires_at=None)
        )
    return token if result.rowcount == 1 else None


async def change_password(user_id: uuid.UUID, current: str, new: str, *, keep_token: str) -> None:
    """Change the password after checking the current one; other sessions are logged out."""
    async with db.user_session(user_id) as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotAllowed("Please log in again.")
        if not await credentials().verify(user, current):
            raise BadInput("Your current password is not right.")
        if problem := password_problem(new, user.email):
            raise BadInput(f"Choose a stronger password. {problem}")
        if new == current:
            raise BadInput("The new password is the same as the current one.")
        user.password_hash = (await credentials().change_password(user, current, new)).password_hash
        await session.exec(
            sa.update(AuthSession)
            .where(
                AuthSession.user_id == user_id,
                AuthSession.token_hash != security.token_digest(keep_token),
                AuthSession.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
    async with db.service_session() as session:
        audit.record(session, actor_id=user_id, action="account.password_changed", target=str(user_id))


def open_session(session: AsyncSession, user_id: uuid.UUID, client: Client) -> str:
    """Add a server-side session for this user in the caller's transaction; returns its token."""
    token = security.new_session_token()
    session.add(
        AuthSession(
            user_id=user_id,
            token_hash=security.token_digest(token),
            expires_at=utcnow() + timedelta(days=get_settings().session_days),
            ip=client.ip[:64],
            user_agent=client.user_agent[:512],
        )
    )
    return token


async def _user_by_email(session: AsyncSession, email: str) -> User | None:
    return (await session.exec(select(User).where(User.email == email))).first()


async def _check_throttle(session: AsyncSession, email: str, ip: str) -> None:
    """Refuse a try while this IP must wait after too many wrong passwords (on this account, or on any)."""
    settings = get_settings()
    now = utcnow()
    since = now - FAILURES_REMEMBERED
    same_place = (LoginAttempt.email == email, LoginAttempt.ip == ip[:64])
    last_success = await session.scalar(
        select(sa.func.max(LoginAttempt.created_at)).where(*same_place, LoginAttempt.succeeded.is_(True))
    )
    waits = [
        _wait_left(
            await _failures(session, max(since, last_success) if last_success else since, *same_place),
            settings.login_max_failures,
            now,
        )
    ]
    if ip:
        waits.append(
            _wait_left(
                await _failures(session, since, LoginAttempt.ip == ip[:64]),
                settings.login_ip_max_failures,
                now,
            )
        )
    if (wait := max(waits)) > timedelta(0):
        minutes = math.ceil(wait.total_seconds() / 60)
        raise NotAllowed(
            f"Too many failed attempts. Wait {minutes} minute{'s' if minutes > 1 else ''} and try again, "
            "or reset your password."
        )


async def _failures(session: AsyncSession, since: datetime, *where) -> tuple[int, datetime | None]:
    """How many wrong passwords match `where` since `since`, and when the latest was."""
    count, latest = (
        await session.exec(
            select(sa.func.count(), sa.func.max(LoginAttempt.created_at)).where(
                *where, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > since
            )
        )
    ).one()
    return count, latest


def _wait_left(failures: tuple[int, datetime | None], allowance: int, now: datetime) -> timedelta:
    """How much longer to wait: none within the allowance, then 1 minute doubling per failure, capped."""
    count, latest = failures
    if count < allowance or latest is None:
        return timedelta(0)
    cap = timedelta(minutes=get_settings().login_window_minutes)
    wait = min(FIRST_WAIT * 2 ** min(count - allowance, 16), cap)
    return max(latest + wait - now, timedelta(0))
