"""Connecting TikTok and Instagram accounts: OAuth consent, token storage and refresh, disconnect.

- `state` is random, stored only as a hash, bound to the browser session that
  started the consent, single-use and valid for ten minutes.
- Redirect URIs are exact: `{PUBLIC_URL}/oauth/<platform>/callback`.
- Tokens are sealed by the token vault before they touch the database.
- A refresh happens inside a transaction that holds the account's row, so
  parallel refreshes produce one exchange; the rotated refresh token is saved in
  the same transaction as the new access token.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.config import get_settings
from assetry.errors import AuthExpired, BadInput, NotAllowed
from assetry.integrations.social import Profile, TokenSet
from assetry.jobs import queue
from assetry.models import ConnectedAccount, OAuthState, Post, SyncRun
from assetry.models.analytics import ACTIVE, NEEDS_RECONNECT
from assetry.models.base import utcnow
from assetry.models.runs import QUEUED, RUNNING
from assetry.services import audit, changes, platforms
from assetry.token_vault import vault


class ConsentDenied(BadInput):
    """The creator chose not to allow access on the platform's consent page."""


class AccountMismatch(BadInput):
    """A reconnect signed in to a different platform account than the one being reconnected."""


STATE_TTL = timedelta(minutes=10)
REFRESH_MARGIN = timedelta(minutes=10)
SYNC_TASK = "analytics.sync_account"
BAD_STATE = "This connection link is not valid any more (it was used, expired, or started in another browser). Start again from the analytics page."


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def begin(
    user_id: uuid.UUID, session_token: str, platform: str, *, reconnect: uuid.UUID | None = None
) -> str:
    """Start a consent: returns the platform's authorize URL for this browser."""
    client = platforms.client(platform)
    state = secrets.token_urlsafe(32)
    async with db.user_session(user_id) as session:
        if reconnect is not None:
            account = await session.get(ConnectedAccount, reconnect)
            if account is None or account.user_id != user_id or account.platform != platform:
                raise NotAllowed("That account isn't connected to your Assetry account.")
        session.add(
            OAuthState(
                user_id=user_id,
                platform=platform,
                state_hash=_digest(state),
                session_hash=_digest(session_token),
                reconnect_account_id=reconnect,
                expires_at=utcnow() + STATE_TTL,
            )
        )
    return client.authorize_url(state, platforms.redirect_uri(platform))


@dataclass(frozen=True)
class Connected:
    account_id: uuid.UUID
    name: str
    reconnected: bool


async def complete(platform: str, params: dict[str, str], session_token: str) -> Connected:
    """The OAuth callback: check state, exchange the code, store the account, start its first sync."""
    client = platforms.client(platform)
    state = params.get("state", "")
    if not state or len(state) > 200:
        raise NotAllowed(BAD_STATE)
    now = utcnow()
    async with db.service_session() as session:
        # Single use: the first request to mark it used wins; a replay finds nothing to update.
        claimed = (
            await session.exec(
                sa.update(OAuthState)
                .where(
                    OAuthState.state_hash == _digest(state),
                    OAuthState.platform == platform,
                    OAuthState.used_at.is_(None),
                    OAuthState.expires_at > now,
                    OAuthState.session_hash == _digest(session_token or ""),
                )
                .values(used_at=now)
                .returning(OAuthState.user_id, OAuthState.reconnect_account_id)
            )
        ).first()
    if claimed is None:
        raise NotAllowed(BAD_STATE)
    user_id, reconnect_id = claimed
    try:
        code = platforms.code_from_callback(platform, params)
    except BadInput as refused:
        raise ConsentDenied(str(refused)) from None
    tokens = await client.exchange_code(code, platforms.redirect_uri(platform))
    profile = await platforms.profile(platform, tokens)
    sealer = vault(get_settings())
    async with db.user_session(user_id) as session:
        account = (
            await session.exec(
                select(ConnectedAccount).where(
                    ConnectedAccount.user_id == user_id,
                    ConnectedAccount.platform == platform,
                    ConnectedAccount.platform_account_id == profile.account_id,
                )
            )
        ).first()
        if reconnect_id is not None and account is not None and account.id != reconnect_id:
            raise AccountMismatch(
                "You signed in to a different account than the one you were reconnecting. "
                "It was not changed; connect the other account separately if you want both."
            )
        reconnected = account is not None
        if account is None:
            account = ConnectedAccount(
                user_id=user_id, platform=platform, platform_account_id=profile.account_id
            )
            session.add(account)
        apply_profile(account, profile)
        _store_tokens(account, tokens, sealer)
        account.sandbox = platforms.is_sandbox(platform)
        account.status, account.status_message = ACTIVE, ""
        account.next_sync_at = now
        await session.flush()
        await queue_sync(session, user_id, account.id)
        result = Connected(account.id, account.display_name or account.username, reconnected)
    async with db.service_session() as session:
        audit.record(session, actor_id=user_id, action=f"{platform}.connected", target=str(result.account_id))
    return result


async def access_token(account_id: uuid.UUID) -> str:
    """A valid access token for the account, refreshed first when it is about to expire (single-flight)."""
    sealer = vault(get_settings())
    expired: AuthExpired | None = None
    async with db.service_session() as session:
        account = await db.locked(session, ConnectedAccount, account_id)
        if account is None or account.access_token_enc is None:
            raise AuthExpired("This account is disconnected.")
        if account.status == NEEDS_RECONNECT:
            raise AuthExpired(account.status_message or "Reconnect this account.")
        expires = account.token_expires_at
        if expires is None or expires - utcnow() > REFRESH_MARGIN:
            return sealer.open(account.access_token_enc)
        try:
            tokens = await platforms.refresh(account.platform, sealer, account)
        except AuthExpired as error:
            account.status, account.status_message, expired = NEEDS_RECONNECT, str(error)[:500], error
        else:
            _store_tokens(account, tokens, sealer)
            fresh = tokens.access_token
    if expired is not None:
        raise expired
    return fresh


async def mark_needs_reconnect(account_id: uuid.UUID, message: str) -> None:
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, account_id)
        if account is not None:
            account.status, account.status_message = NEEDS_RECONNECT, message[:500]


async def disconnect(user_id: uuid.UUID, account_id: uuid.UUID, *, keep_history: bool) -> bool:
    """Delete the tokens (revoking them where the platform allows) and the connection.

    Returns whether the platform confirmed the revocation (False where it has no revoke
    endpoint, e.g. Instagram Login: the user is pointed to the app-permissions page).
    """
    sealer = vault(get_settings())
    async with db.user_session(user_id) as session:
        account = await session.get(ConnectedAccount, account_id)
        if account is None or account.user_id != user_id:
            raise NotAllowed("That account isn't connected to your Assetry account.")
        platform = account.platform
        token = sealer.open(account.access_token_enc) if account.access_token_enc else None
        if not keep_history:
            await session.exec(sa.delete(Post).where(Post.account_id == account_id))
        await session.delete(account)
    revoked = await platforms.revoke(platform, token) if token else False
    async with db.service_session() as session:
        audit.record(
            session,
            actor_id=user_id,
            action=f"{platform}.disconnected",
            target=str(account_id),
            detail=f"history {'kept' if keep_history else 'deleted'}; revoked={revoked}",
        )
    return revoked


async def accounts_of(user_id: uuid.UUID) -> list[ConnectedAccount]:
    async with db.user_session(user_id) as session:
        return list(
            (
                await session.exec(
                    select(ConnectedAccount)
                    .where(ConnectedAccount.user_id == user_id)
                    .order_by(ConnectedAccount.platform, ConnectedAccount.created_at)
                )
            ).all()
        )


async def accounts_and_syncs(user_id: uuid.UUID) -> list[tuple[ConnectedAccount, bool]]:
    """The user's accounts, each with whether a sync of it is queued or running, read in one
    statement: one snapshot. (Read apart, a sync ending between the two reads showed its account
    as neither syncing nor ever synced.)"""
    busy = (
        sa.exists()
        .where(SyncRun.account_id == ConnectedAccount.id, col(SyncRun.status).in_((QUEUED, RUNNING)))
        .label("syncing")
    )
    async with db.user_session(user_id) as session:
        found = await session.exec(
            select(ConnectedAccount, busy)
            .where(ConnectedAccount.user_id == user_id)
            .order_by(ConnectedAccount.platform, ConnectedAccount.created_at)
        )
        return [(account, bool(syncing)) for account, syncing in found.all()]


async def queue_sync(session: AsyncSession, user_id: uuid.UUID, account_id: uuid.UUID) -> bool:
    """Queue a sync of one account in the caller's transaction; False when one is already waiting.

    At most one sync of an account waits at a time, and the engine's lock on the account
    keeps two from ever running at once (a manual and a scheduled one included)."""
    key = f"sync:{account_id}"
    payload = {"account_id": str(account_id)}
    if await queue.enqueue(session, SYNC_TASK, payload, user_id=user_id, dedupe_key=key, lock=key) is None:
        return False
    session.add(SyncRun(user_id=user_id, account_id=account_id))
    await changes.notify(session, user_id, changes.SYNC)
    return True


async def sync_now(user_id: uuid.UUID, account_id: uuid.UUID) -> None:
    """Queue a sync of this account now (one at a time per account)."""
    async with db.user_session(user_id) as session:
        account = await session.get(ConnectedAccount, account_id)
        if account is None or account.user_id != user_id:
            raise NotAllowed("That account isn't connected to your Assetry account.")
        if account.status == NEEDS_RECONNECT:
            raise BadInput("Reconnect this account first; the platform no longer accepts its access.")
        await queue_sync(session, user_id, account_id)


def newest_key_id() -> str:
    return vault(get_settings()).newest


async def rotate_keys() -> int:
    """Re-seal every stored token under the newest key; returns how many values changed."""
    sealer = vault(get_settings())
    changed = 0
    async with db.service_session() as session:
        for account in (await session.exec(select(ConnectedAccount))).all():
            for column in ("access_token_enc", "refresh_token_enc"):
                sealed = getattr(account, column)
                if sealed and sealer.key_id(sealed) != sealer.newest:
                    setattr(account, column, sealer.seal(sealer.open(sealed)))
                    changed += 1
    return changed


def apply_profile(account: ConnectedAccount, profile: Profile) -> None:
    account.display_name = profile.display_name[:200]
    account.username = profile.username[:200]
    account.avatar_url = profile.avatar_url[:2000]
    account.account_type = profile.account_type[:32]
    account.followers = profile.followers
    account.posts_count = profile.posts


def _store_tokens(account: ConnectedAccount, tokens: TokenSet, sealer) -> None:
    account.access_token_enc = sealer.seal(tokens.access_token)
    if tokens.refresh_token:
        account.refresh_token_enc = sealer.seal(tokens.refresh_token)
    account.token_expires_at = tokens.expires_at
    account.refresh_expires_at = tokens.refresh_expires_at or account.refresh_expires_at
    account.scope = tokens.scope[:500] or account.scope
