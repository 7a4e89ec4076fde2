"""Where passwords are checked: our own argon2id hashes, or Supabase Auth.

Both backends answer the same questions, so `services.accounts` never
needs to know which one is configured.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Protocol

from assetry import security
from assetry.config import Mode, get_settings
from assetry.models import User


@dataclass(frozen=True)
class StoredCredential:
    """What our users table keeps for a credential: a hash (local) or the backend's user id."""

    password_hash: str | None = None
    external_id: str | None = None


class Credentials(Protocol):
    backend: str

    async def register(self, email: str, password: str) -> StoredCredential: ...

    async def verify(self, user: User | None, password: str) -> bool: ...

    async def change_password(self, user: User, current: str, new: str) -> StoredCredential: ...

    async def delete(self, user: User) -> None: ...


class LocalCredentials:
    """argon2id hashes in the users table (hashing runs off the event loop)."""

    backend = "local"

    async def register(self, email: str, password: str) -> StoredCredential:
        return StoredCredential(password_hash=await asyncio.to_thread(security.hash_password, password))

    async def verify(self, user: User | None, password: str) -> bool:
        # Unknown emails are checked against a dummy hash: same cost, same answer.
        return await asyncio.to_thread(
            security.verify_password, user.password_hash if user else None, password
        )

    async def change_password(self, user: User, current: str, new: str) -> StoredCredential:
        return StoredCredential(password_hash=await asyncio.to_thread(security.hash_password, new))

    async def delete(self, user: User) -> None:
        """Nothing to do: the hash goes with the users row."""


def credentials() -> Credentials:
    """The credential backend the settings select."""
    settings = get_settings()
    if settings.auth_mode is Mode.CONFIGURED:
        from assetry.services.supabase_credentials import SupabaseCredentials

        return SupabaseCredentials(settings)
    return LocalCredentials()
