"""Users as admins see them: search, one account's facts and counts, disable, quota, admin role.

Never read here: password hashes, session tokens, platform tokens.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import (
    AuthSession,
    ConnectedAccount,
    DataExport,
    Generation,
    GenerationOutput,
    LoginAttempt,
    Note,
    Post,
    SupportMessage,
    TrackedUrl,
    User,
)
from assetry.models.base import utcnow
from assetry.services import audit
from assetry.services.admin.common import acting_admin, clean_search, like_pattern
from assetry.services.admin.paging import Page, SortKey, Window, read_page

ROLES = ("all", "admins", "disabled")
NEWEST_USERS = SortKey(col(User.created_at), col(User.id), newest_first=True)
MAX_QUOTA = 10_000
LAST_ADMIN = "This is the last admin account. Make someone else an admin first."
# What a user's content counts are made of, in the order the page shows them.
CONTENT = (
    ("Generations", Generation),
    ("Generated files and captions", GenerationOutput),
    ("Connected accounts", ConnectedAccount),
    ("Posts", Post),
    ("Tracked links", TrackedUrl),
    ("Notes", Note),
    ("Support messages", SupportMessage),
    ("Data exports", DataExport),
)


@dataclass(frozen=True)
class UserRow:
    id: uuid.UUID
    email: str
    display_name: str
    created_at: datetime
    is_admin: bool
    is_disabled: bool
    auth_backend: str


@dataclass(frozen=True)
class AccountRow:
    platform: str
    username: str
    status: str
    sandbox: bool
    last_synced_at: datetime | None


@dataclass
class UserDetail:
    """Account facts, quota and counts of a user's content: nothing secret."""

    id: uuid.UUID
    email: str
    display_name: str
    auth_backend: str
    is_admin: bool
    is_disabled: bool
    in_eu: bool
    time_zone: str
    created_at: datetime
    age_confirmed_at: datetime
    last_login_at: datetime | None
    live_sessions: int
    daily_quota: int | None  # the user's own; None: the site-wide one
    effective_quota: int
    generations_today: int
    counts: list[tuple[str, int]] = field(default_factory=list)
    accounts: list[AccountRow] = field(default_factory=list)


async def search(
    actor_id: uuid.UUID,
    query: str = "",
    *,
    anywhere: bool = False,
    role: str = "all",
    window: Window = Window(),
) -> Page[UserRow]:
    """Users whose email starts with (or contains) the query, newest first, one page."""
    query = clean_search(query)
    if role not in ROLES:
        raise BadInput("Pick all users, admins or disabled accounts.")
    filters = []
    if query:
        filters.append(col(User.email).like(like_pattern(query, anywhere=anywhere), escape="\\"))
    if role == "admins":
        filters.append(col(User.is_admin).is_(True))
    elif role == "disabled":
        filters.append(col(User.is_disabled).is_(True))
    listed = sa.select(
        User.id,
        User.email,
        User.display_name,
        User.created_at,
        User.is_admin,
        User.is_disabled,
        User.auth_backend,
    ).where(*filters)
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        found = await read_page(session, listed, NEWEST_USERS, window)
    found.rows = [UserRow(*row) for row in found.rows]
    return found


async def detail(actor_id: uuid.UUID, user_id: uuid.UUID) -> UserDetail | None:
    """One user's account facts, quota and content counts; None when there is no such user."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        user = await session.get(User, user_id)
        if user is None:
            return None
        now = utcnow()
        today = datetime.combine(now.date(), time.min, UTC)
        # Every way in (sign-up, log-in, password reset, Supabase) opens a session; log-in attempts
        # alone miss sign-ups and are kept only 90 days.
        last_login = max(
            (
                moment
                for moment in (
                    await session.scalar(
                        select(sa.func.max(AuthSession.created_at)).where(
                            AuthSession.user_id == user_id, col(AuthSession.ticket_expires_at).is_(None)
                        )
                    ),
                    await session.scalar(
                        select(sa.func.max(LoginAttempt.created_at)).where(
                            LoginAttempt.email == user.email, col(LoginAttempt.succeeded).is_(True)
                        )
                    ),
                )
                if moment is not None
            ),
            default=None,
        )
        live = await _count(
            session,
            AuthSession,
            AuthSession.user_id == user_id,
            col(AuthSession.revoked_at).is_(None),
            AuthSession.expires_at > now,
        )
        today_count = await _count(
            session, Generation, Generation.user_id == user_id, Generation.created_at >= today
        )
        counts = [(label, await _count(session, model, model.user_id == user_id)) for label, model in CONTENT]
        accounts = (
            await session.exec(
                select(
                    ConnectedAccount.platform,
                    ConnectedAccount.username,
                    ConnectedAccount.status,
                    ConnectedAccount.sandbox,
                    ConnectedAccount.last_synced_at,
                )
                .where(ConnectedAccount.user_id == user_id)
                .order_by(ConnectedAccount.platform, ConnectedAccount.username)
            )
        ).all()
    default = get_settings().daily_generation_quota
    return UserDetail(
        id=user.id,
        email=user.email,
        display_name=user.display_name,
        auth_backend=user.auth_backend,
        is_admin=user.is_admin,
        is_disabled=user.is_disabled,
        in_eu=user.in_eu,
        time_zone=user.time_zone,
        created_at=user.created_at,
        age_confirmed_at=user.age_confirmed_at,
        last_login_at=last_login,
        live_sessions=live,
        daily_quota=user.daily_quota,
        effective_quota=default if user.daily_quota is None else user.daily_quota,
        generations_today=today_count,
        counts=counts,
        accounts=[AccountRow(*row) for row in accounts],
    )


async def set_disabled(actor_id: uuid.UUID, user_id: uuid.UUID, disabled: bool) -> User:
    """Disable an account (its sessions end at once; it can't log in) or enable it again."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        user = await _target(session, user_id)
        if user.is_disabled == disabled:
            return user
        if disabled:
            if user.id == actor_id:
                raise NotAllowed("You can't disable your own account. Ask another admin.")
            if user.is_admin and await _enabled_admins(session) <= 1:
                raise NotAllowed(LAST_ADMIN)
            await session.exec(
                sa.update(AuthSession)
                .where(AuthSession.user_id == user.id, col(AuthSession.revoked_at).is_(None))
                .values(revoked_at=utcnow())
            )
        user.is_disabled = disabled
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.user_disabled" if disabled else "admin.user_enabled",
            target=str(user.id),
        )
    return user


async def set_admin(actor_id: uuid.UUID, user_id: uuid.UUID, admin: bool) -> User:
    """Grant or revoke the admin role; the last admin can't lose it."""
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        user = await _target(session, user_id)
        if user.is_admin == admin:
            return user
        if admin and user.is_disabled:
            raise BadInput("This account is disabled. Enable it before making it an admin.")
        if not admin and await _enabled_admins(session) <= 1:
            raise NotAllowed(LAST_ADMIN)
        user.is_admin = admin
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.granted" if admin else "admin.revoked",
            target=str(user.id),
        )
    return user


async def set_quota(actor_id: uuid.UUID, user_id: uuid.UUID, quota: int | None) -> User:
    """Set a user's own daily generation quota, or None for the site-wide one."""
    if quota is not None and not 0 <= quota <= MAX_QUOTA:
        raise BadInput(f"A daily quota is a whole number from 0 to {MAX_QUOTA:,}.")
    async with db.service_session() as session:
        await acting_admin(session, actor_id)
        user = await _target(session, user_id)
        before = user.daily_quota
        user.daily_quota = quota
        audit.record(
            session,
            actor_id=actor_id,
            action="admin.quota_set",
            target=str(user.id),
            detail=f"{_quota_text(before)} → {_quota_text(quota)}",
        )
    return user


def parse_quota(text: str) -> int | None:
    """What an admin typed as a quota: a whole number, or empty for the site-wide default."""
    text = (text or "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        raise BadInput(
            f"A daily quota is a whole number from 0 to {MAX_QUOTA:,}; leave it empty for the default."
        )
    return int(text)


def _quota_text(quota: int | None) -> str:
    return "default" if quota is None else str(quota)


async def _target(session: AsyncSession, user_id: uuid.UUID) -> User:
    user = await session.get(User, user_id)
    if user is None:
        raise BadInput("That user doesn't exist (any more).")
    return user


async def _enabled_admins(session: AsyncSession) -> int:
    """Enabled admins, with their rows locked so two admins can't demote each other at once."""
    query = (
        select(User.id)
        .where(col(User.is_admin).is_(True), col(User.is_disabled).is_(False))
        .order_by(User.id)
        .with_for_update()
    )
    return len((await session.exec(query)).all())


async def _count(session: AsyncSession, model, *filters) -> int:
    return await session.scalar(select(sa.func.count()).select_from(model).where(*filters)) or 0
