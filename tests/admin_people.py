"""Accounts for admin tests, made straight in the database (argon2 once per run, not per user)."""

from __future__ import annotations

import functools
import uuid
from datetime import datetime, timedelta

from assetry import db, security
from assetry.models import AuthSession, User
from assetry.models.base import utcnow

PASSWORD = "Quartz-Meadow-2048"


@functools.cache
def _hash() -> str:
    return security.hash_password(PASSWORD)


async def make_user(
    email: str, *, admin: bool = False, disabled: bool = False, created_at: datetime | None = None
) -> User:
    """A local account that can log in with `PASSWORD`."""
    async with db.service_session() as session:
        user = User(
            email=email,
            display_name=email.split("@")[0],
            password_hash=_hash(),
            is_admin=admin,
            is_disabled=disabled,
            age_confirmed_at=utcnow(),
            email_confirmed_at=created_at or utcnow(),
            created_at=created_at or utcnow(),
        )
        session.add(user)
    return user


async def session_token(user_id: uuid.UUID) -> str:
    """A live session cookie for the user."""
    token = security.new_session_token()
    async with db.service_session() as session:
        session.add(
            AuthSession(
                user_id=user_id,
                token_hash=security.token_digest(token),
                expires_at=utcnow() + timedelta(days=1),
            )
        )
    return token
