"""Sign-up, log-in, sessions and passwords.

Credentials are checked by the configured backend (`services.credentials`): argon2id
hashes in our own database, or Supabase Auth. Either way the browser gets one of our
own server-side sessions: a random token whose SHA-256 is stored with an expiry, so
logging out (or a deleted account) revokes it at once.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db, security
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import AuthSession, LoginAttempt, User
from assetry.models.base import utcnow
from assetry.services import audit, mail, policies
from assetry.services.credentials import credentials
from assetry.services.validation import clean_email, clean_text, password_problem

# The browser cookie holding the session token: HttpOnly, set and cleared only by the
# /session routes of `assetry.web`; handlers read it from the websocket handshake.
SESSION_COOKIE = "assetry_session"
# How long the browser has to swap a log-in's ticket for its cookie (one full-page navigation).
TICKET_SECONDS = 60
WRONG_CREDENTIALS = "That email and password don't match an account."
CONFIRM_EMAIL_SENT = "Almost there: we sent a confirmation link to {email}. Open it, then log in."


@dataclass(frozen=True)
class Client:
    """Where a request comes from, for sessions and throttling."""

    ip: str = ""
    user_agent: str = ""


@dataclass(frozen=True)
class SignUp:
    """What the sign-up form collects."""

    email: str
    password: str
    display_name: str = ""
    age_confirmed: bool = False
    in_eu: bool = False
    accepted_policies: bool = False


async def sign_up(form: SignUp, client: Client) -> tuple[User, str | None]:
    """Create an account and sign it in; returns the user and a new session token.

    The token is None when the auth backend wants the email confirmed first (Supabase
    with confirmations on): the account exists, and log-in works once it is confirmed.
    Show `CONFIRM_EMAIL_SENT`.
    """
    email = clean_email(form.email)
    display_name = clean_text(form.display_name, field="display name", max_length=80, required=False)
    if problem := password_problem(form.password, email):
        raise BadInput(f"Choose a stronger password. {problem}")
    if not form.age_confirmed:
        minimum = 16 if form.in_eu else 13
        raise BadInput(f"Please confirm you are at least {minimum} years old.")
    if not form.accepted_policies:
        raise BadInput("Please accept the privacy policy and the terms to create an account.")

    async with db.service_session() as session:
        if await _user_by_email(session, email):
            raise BadInput(
                "An account with this email already exists. Log in instead, or reset your password."
            )
        backend = credentials()
        stored = await backend.register(email, form.password)
        user = User(
            email=email,
            display_name=display_name,
            password_hash=stored.password_hash,
            auth_backend=backend.backend,
            external_id=stored.external_id,
            in_eu=form.in_eu,
            age_confirmed_at=utcnow(),
        )
        session.add(user)
        await session.flush()
        versions = [await policies.current_version(session, kind) for kind in policies.KINDS]
        await policies.record_acceptance(session, user_id=user.id, versions=versions)
        audit.record(session, actor_id=user.id, action="account.created", target=str(user.id))
        await mail.send(
            session, to=email, template="welcome", context={"name": user.display_name}, user_id=user.id
        )
        token = None if stored.confirmation_pending else _open_session(session, user.id, client)
    return user, token


async def log_in(email_raw: str, password: str, client: Client) -> tuple[User, str]:
    """Check credentials (throttled per account and per IP); returns the user and a session token."""
    email = (email_raw or "").strip().lower()[:254]
    if not email or not password:
        raise BadInput("Enter your email and password.")
    if len(password) > 1024:
        raise BadInput(WRONG_CREDENTIALS)
    async with db.service_session() as session:
        await _check_throttle(session, email, client.ip)
        user = await _user_by_email(session, email)
        refusal = None
        # A deleted account answers like an address that never had one.
        if not (await credentials().verify(user, password) and user) or user.deleted_at is not None:
            refusal = WRONG_CREDENTIALS
        elif user.is_disabled:
            refusal = "This account is disabled. Contact support if you think that is a mistake."
        # The attempt is recorded even when refused: that is what the throttle counts.
        session.add(LoginAttempt(email=email, ip=client.ip[:64], succeeded=refusal is None))
        if refusal is None:
            if user.password_hash and security.needs_rehash(user.password_hash):
                user.password_hash = await asyncio.to_thread(security.hash_password, password)
            token = _open_session(session, user.id, client)
    if refusal:
        raise NotAllowed(refusal)
    return user, token


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


def _is_live(token: str) -> list[sa.ColumnElement[bool]]:
    """Conditions for the live session behind `token`: known, not expired or revoked, its user enabled."""
    return [
        AuthSession.user_id == User.id,
        AuthSession.token_hash == security.token_digest(token),
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > utcnow(),
        AuthSession.ticket_expires_at.is_(None),  # a ticket is not a session token
        User.is_disabled.is_(False),
    ]


async def user_for_token(token: str) -> User | None:
    """The signed-in user behind a session token, or None if it is unknown, expired or revoked."""
    if not token or len(token) > 128:
        return None
    async with db.service_session() as session:
        return (await session.exec(select(User).join(AuthSession, sa.and_(*_is_live(token))))).first()


async def session_key(token: str) -> str:
    """Which live session a token stands for, as "<user id>/<session id>", or "" when none does.

    Not secret: it names the session without being able to act as it.
    """
    if not token or len(token) > 128:
        return ""
    async with db.service_session() as session:
        found = (
            await session.exec(
                select(AuthSession.user_id, AuthSession.id).join(User, sa.and_(*_is_live(token)))
            )
        ).first()
    return f"{found[0]}/{found[1]}" if found else ""


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


def _open_session(session: AsyncSession, user_id: uuid.UUID, client: Client) -> str:
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
    settings = get_settings()
    since = utcnow() - timedelta(minutes=settings.login_window_minutes)
    last_success = await session.scalar(
        select(sa.func.max(LoginAttempt.created_at)).where(
            LoginAttempt.email == email, LoginAttempt.succeeded.is_(True)
        )
    )
    window_start = max(since, last_success) if last_success else since
    failures = await session.scalar(
        select(sa.func.count())
        .select_from(LoginAttempt)
        .where(
            LoginAttempt.email == email,
            LoginAttempt.succeeded.is_(False),
            LoginAttempt.created_at > window_start,
        )
    )
    ip_failures = 0
    if ip:
        ip_failures = await session.scalar(
            select(sa.func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.ip == ip, LoginAttempt.succeeded.is_(False), LoginAttempt.created_at > since)
        )
    if failures >= settings.login_max_failures or ip_failures >= settings.login_ip_max_failures:
        raise NotAllowed(
            f"Too many failed attempts. Wait {settings.login_window_minutes} minutes and try again, "
            "or reset your password."
        )
