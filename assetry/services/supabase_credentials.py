"""Supabase Auth as the credential backend: Supabase checks passwords, we keep the sessions.

Our users row keeps Supabase's user id (`external_id`) and no password hash. Each check
is a fresh sign-in at Supabase whose session is ended at once; the browser only ever
holds one of our own server-side sessions (`services.accounts`).
"""

from __future__ import annotations

import logging

from assetry import logs
from assetry.config import Settings
from assetry.errors import ProviderError
from assetry.integrations.supabase_auth import EmailTaken, SupabaseAuth
from assetry.models import User
from assetry.services.credentials import StoredCredential

log = logging.getLogger(__name__)


class SupabaseCredentials:
    """The `Credentials` protocol on Supabase Auth (URL and keys from the settings)."""

    backend = "supabase"

    def __init__(self, settings: Settings) -> None:
        if not settings.supabase_url or settings.supabase_anon_key is None:
            raise ProviderError("Supabase Auth needs SUPABASE_URL and SUPABASE_ANON_KEY.")
        service_key = settings.supabase_service_role_key
        self._auth = SupabaseAuth(
            settings.supabase_url,
            settings.supabase_anon_key.get_secret_value(),
            service_key.get_secret_value() if service_key else None,
        )

    async def register(self, email: str, password: str) -> StoredCredential:
        """Sign the address up at Supabase, which emails its own confirmation link.

        An address Supabase already knows gets no id (and, when confirmed, a look-alike answer
        from Supabase): the same single call either way, so the time taken tells nothing.
        """
        try:
            created = await self._auth.sign_up(email, password)
        except EmailTaken:
            return StoredCredential()
        return StoredCredential(external_id=created.user_id)

    async def resend_confirmation(self, email: str) -> None:
        """Supabase's sign-up confirmation email, again."""
        await self._auth.resend_confirmation(email)

    async def verify(self, user: User | None, password: str) -> bool:
        """Whether Supabase accepts this password for this user (False for unknown users)."""
        if user is None or not user.external_id:
            return False
        supabase_id = await self._auth.sign_in(user.email, password)
        if supabase_id is not None and supabase_id != user.external_id:
            log.warning(
                "Supabase user id for local user %s changed; refusing the log-in", logs.pseudonym(user.id)
            )
            return False
        return supabase_id is not None

    async def change_password(self, user: User, current: str, new: str) -> StoredCredential:
        """Set the new password at Supabase (after signing in with the current one)."""
        await self._auth.change_password(user.email, current, new)
        return StoredCredential(external_id=user.external_id)

    async def delete(self, user: User) -> None:
        """Delete the user at Supabase too (needs the service-role key)."""
        if user.external_id:
            await self._auth.delete_user(user.external_id)
