"""Supabase Auth (GoTrue) through supabase-py's async client.

Supabase only checks passwords for us: we never keep its sessions. Every call builds
its own supabase-py client (with its own httpx client, closed afterwards), because a
client stores the session it signs in and switches its own Authorization header to
it: one client shared between users would act for the wrong one. Sign-ins made only
to check a password are signed out again at once.

Exceptions (everything supabase-py, httpx or pydantic raise is mapped to one of these):

- `BadInput`: the user can fix it: a password Supabase finds too weak (with its
  reasons), too long, or the same as the current one; an email Supabase refuses;
  `EmailTaken` (a `BadInput`) when the email is already registered.
- `NotAllowed`: sign-ups are closed, the user is banned; `EmailNotConfirmed` (a
  `NotAllowed`) when the password is right but the email is not confirmed yet.
- `RateLimited`: Supabase's rate limit answered 429.
- `ProviderError`: Supabase failed (5xx), timed out, is unreachable, refused our API
  key, or answered something we cannot read.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pydantic
from supabase import AsyncClient, AsyncClientOptions, acreate_client
from supabase_auth import AsyncMemoryStorage
from supabase_auth.errors import (
    AuthApiError,
    AuthError,
    AuthRetryableError,
    AuthUnknownError,
    AuthWeakPasswordError,
)

from assetry.errors import AssetryError, BadInput, EmailNotConfirmed, NotAllowed, ProviderError, RateLimited

log = logging.getLogger(__name__)

EMAIL_TAKEN = "An account with this email already exists. Log in instead, or reset your password."
_UNAVAILABLE = "The sign-in service is not answering right now. Please try again in a minute."


class EmailTaken(BadInput):
    """Supabase already has a user with this email."""

    def __init__(self) -> None:
        super().__init__(EMAIL_TAKEN)


@dataclass(frozen=True)
class SignUpResult:
    """A new Supabase user; `confirmation_pending` when it must confirm its email before signing in."""

    user_id: str
    confirmation_pending: bool


class SupabaseAuth:
    """Sign-up, password checks, password changes and deletions at one Supabase project."""

    def __init__(
        self, url: str, anon_key: str, service_role_key: str | None = None, *, timeout: float = 10.0
    ) -> None:
        self.url = url.rstrip("/")
        self._anon_key = anon_key
        self._service_role_key = service_role_key
        self._timeout = timeout

    async def sign_up(self, email: str, password: str) -> SignUpResult:
        """Create the Supabase user; raises EmailTaken when the email is already registered."""
        async with self._client() as client, _translated("sign-up"):
            reply = await client.auth.sign_up({"email": email, "password": password})
            user = reply.user
            if user is None:
                raise ProviderError("Supabase Auth answered a sign-up without a user.")
            if reply.session is not None:
                await _sign_out_quietly(client)
                return SignUpResult(user_id=user.id, confirmation_pending=False)
            # With confirmations on, an already confirmed email gets a look-alike user
            # with no identities instead of an error (so sign-up can't probe for accounts).
            if user.identities is not None and not user.identities:
                raise EmailTaken
            return SignUpResult(user_id=user.id, confirmation_pending=True)

    async def sign_in(self, email: str, password: str) -> str | None:
        """The Supabase user id if the password is right, None if the credentials don't match."""
        async with self._client() as client, _translated("sign-in"):
            try:
                reply = await client.auth.sign_in_with_password({"email": email, "password": password})
            except AuthApiError as error:
                if error.code == "invalid_credentials":
                    return None
                raise
            if reply.session is None or reply.user is None:
                raise ProviderError("Supabase Auth answered a sign-in without a session.")
            await _sign_out_quietly(client)
            return reply.user.id

    async def resend_confirmation(self, email: str) -> None:
        """Ask Supabase to email its sign-up confirmation link again (it answers alike for any address)."""
        async with self._client() as client, _translated("confirmation resend"):
            await client.auth.resend({"type": "signup", "email": email})

    async def change_password(self, email: str, current: str, new: str) -> None:
        """Sign in with the current password, then set the new one (other sessions end)."""
        async with self._client() as client, _translated("password change"):
            try:
                await client.auth.sign_in_with_password({"email": email, "password": current})
            except AuthApiError as error:
                if error.code == "invalid_credentials":
                    raise BadInput("Your current password is not right.") from None
                raise
            await client.auth.update_user({"password": new, "current_password": current})
            await _sign_out_quietly(client)

    async def delete_user(self, user_id: str) -> None:
        """Delete the Supabase user (needs the service-role key); an unknown id counts as done."""
        if not self._service_role_key:
            raise ProviderError("Deleting Supabase users needs SUPABASE_SERVICE_ROLE_KEY on the server.")
        async with self._client(self._service_role_key) as client, _translated("user deletion"):
            try:
                await client.auth.admin.delete_user(user_id)
            except AuthApiError as error:
                if error.code == "user_not_found":
                    return
                raise

    @asynccontextmanager
    async def _client(self, key: str | None = None) -> AsyncIterator[AsyncClient]:
        http = httpx.AsyncClient(timeout=self._timeout, follow_redirects=True)
        try:
            options = AsyncClientOptions(
                auto_refresh_token=False,
                persist_session=False,
                storage=AsyncMemoryStorage(),
                httpx_client=http,
                flow_type="implicit",
            )
            yield await acreate_client(self.url, key or self._anon_key, options=options)
        finally:
            await http.aclose()


async def _sign_out_quietly(client: AsyncClient) -> None:
    """End the Supabase session a sign-in just made; we keep our own sessions."""
    try:
        await client.auth.sign_out({"scope": "local"})
    except (AuthError, httpx.HTTPError, pydantic.ValidationError) as error:
        log.warning("Supabase sign-out after a password check failed: %s", error)


@asynccontextmanager
async def _translated(action: str) -> AsyncIterator[None]:
    """Turn what supabase-py raises into the project's exceptions."""
    try:
        yield
    except AssetryError:
        raise
    except AuthWeakPasswordError as error:
        raise BadInput(f"Choose a stronger password. {error.message}") from None
    except AuthRetryableError as error:
        cause = error.__cause__
        if isinstance(cause, httpx.TimeoutException):
            detail = "did not answer in time"
        elif error.status == 0:
            detail = f"is unreachable ({error.message})"
        else:
            detail = f"answered HTTP {error.status}"
        log.warning("Supabase Auth %s failed: it %s", action, detail)
        raise ProviderError(_UNAVAILABLE) from error
    except AuthApiError as error:
        raise _api_error(action, error) from error
    except (AuthUnknownError, pydantic.ValidationError, ValueError) as error:
        log.warning("Supabase Auth %s: unreadable answer: %s", action, error)
        raise ProviderError(
            "The sign-in service answered something we could not read. Please try again in a minute."
        ) from error
    except AuthError as error:
        log.warning("Supabase Auth %s failed: %s", action, error)
        raise ProviderError(_UNAVAILABLE) from error
    except httpx.HTTPError as error:
        log.warning("Supabase Auth %s failed: %s", action, error)
        raise ProviderError(_UNAVAILABLE) from error


def _api_error(action: str, error: AuthApiError) -> AssetryError:
    code, status = error.code, error.status
    if status == 429 or code in {"over_request_rate_limit", "over_email_send_rate_limit"}:
        return RateLimited("Too many attempts right now. Wait a minute and try again.", retry_after=60)
    if status >= 500:
        log.warning("Supabase Auth %s failed: HTTP %s %s: %s", action, status, code, error.message)
        return ProviderError(_UNAVAILABLE)
    if code in {"user_already_exists", "email_exists"}:
        return EmailTaken()
    if code == "same_password":
        return BadInput("The new password is the same as the current one.")
    if code == "email_not_confirmed":
        return EmailNotConfirmed()
    if code in {"validation_failed", "email_address_invalid"}:
        return BadInput(f"{error.message.rstrip('.')}. Please change it and try again.")
    if code in {"signup_disabled", "email_provider_disabled"}:
        return NotAllowed("New accounts can't be created right now. Please try again later.")
    if code == "user_banned":
        return NotAllowed("This account is disabled. Contact support if you think that is a mistake.")
    if status == 401 and code is None:
        log.error("Supabase Auth refused our API key during %s: %s", action, error.message)
    else:
        log.error("Supabase Auth %s: unexpected answer HTTP %s %s: %s", action, status, code, error.message)
    return ProviderError(_UNAVAILABLE)
