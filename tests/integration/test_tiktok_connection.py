"""Connecting TikTok and syncing it, through the real client against the sandbox imitation (both DBs)."""

from __future__ import annotations

import asyncio
import base64
import os
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.errors import NotAllowed
from assetry.models import ConnectedAccount, MetricSnapshot, Post, SyncRun
from assetry.models.base import utcnow
from assetry.sandbox.tiktok import TikTokImitation
from assetry.services import accounts, connections, sync
from assetry.token_vault import TokenVault, VaultError, vault
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, run_jobs

HANDLE = "jon.cooks"


async def new_user(email: str = "maya@example.com") -> tuple[uuid.UUID, str]:
    form = SignUp(email=email, password="Correct-Horse-42", age_confirmed=True, accepted_policies=True)
    user, token = await create_account(form, accounts.Client())
    return user.id, token


async def consent(
    imitation: TikTokImitation, authorize_url: str, *, decision: str = "allow", account: str = HANDLE
) -> dict[str, str]:
    """Click Allow (or Deny) on the sandbox consent page; returns the callback's query."""
    query = dict(parse_qsl(urlsplit(authorize_url).query))
    form = {
        **query,
        "requested": query["scope"],
        "account": account,
        "decision": decision,
        "scope": "video.list",
    }
    transport = httpx.ASGITransport(app=imitation.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as browser:
        reply = await browser.post("/v2/auth/authorize/", data=form)
    assert reply.status_code == 302, reply.text
    return dict(parse_qsl(urlsplit(reply.headers["location"]).query))


async def connect(
    user_id: uuid.UUID, session_token: str, imitation: TikTokImitation
) -> connections.Connected:
    url = await connections.begin(user_id, session_token, "tiktok")
    return await connections.complete("tiktok", await consent(imitation, url), session_token)


async def count(model, *where) -> int:
    async with db.service_session() as session:
        return await session.scalar(select(sa.func.count()).select_from(model).where(*where))


async def test_connect_then_full_first_sync(database: str, tiktok: TikTokImitation) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    assert connected.name and not connected.reconnected
    await run_jobs()
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
    assert account.sandbox and account.first_sync_done and account.status == "active"
    assert account.next_sync_at > utcnow()
    listed = await tiktok.public_videos(HANDLE)
    assert await count(Post, Post.account_id == account.id) == len(listed)
    assert await count(MetricSnapshot, MetricSnapshot.user_id == user_id) == len(listed)
    # No token in clear anywhere in the database (the sandbox's own records included).
    sealer = vault(get_settings())
    plain = [sealer.open(account.access_token_enc), sealer.open(account.refresh_token_enc)]
    assert await tiktok.knows("access", plain[0]) and await tiktok.knows("refresh", plain[1])
    async with db.service_session() as session:
        for table in (
            "connected_accounts",
            "procrastinate_jobs",
            "sync_runs",
            "oauth_states",
            "audit_log",
            "sandbox_records",
        ):
            dump = " ".join(str(row) for row in (await session.exec(sa.text(f"SELECT * FROM {table}"))).all())
            assert not any(token in dump for token in plain), table


async def test_tokens_at_rest_open_with_the_configured_key_and_no_other(
    database: str, tiktok: TikTokImitation, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = os.urandom(32)
    monkeypatch.setenv("ENCRYPTION_KEYS", f"k-test:{base64.urlsafe_b64encode(key).decode()}")
    get_settings.cache_clear()
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
    sealed = [account.access_token_enc, account.refresh_token_enc]
    configured = TokenVault([("k-test", key)])
    assert await tiktok.knows("access", configured.open(sealed[0]))
    assert await tiktok.knows("refresh", configured.open(sealed[1]))
    for value in sealed:
        with pytest.raises(VaultError):
            TokenVault([("k-test", os.urandom(32))]).open(value)
        with pytest.raises(VaultError):
            TokenVault([("local", key), ("k2", os.urandom(32))]).open(value)


async def test_state_is_single_use_and_bound_to_the_session(database: str, tiktok: TikTokImitation) -> None:
    user_id, session_token = await new_user()
    url = await connections.begin(user_id, session_token, "tiktok")
    callback = await consent(tiktok, url)
    with pytest.raises(NotAllowed):
        await connections.complete("tiktok", callback, "another-browser")
    # The wrong browser did not consume it; the right one can, once.
    await connections.complete("tiktok", callback, session_token)
    with pytest.raises(NotAllowed):
        await connections.complete("tiktok", callback, session_token)
    with pytest.raises(NotAllowed):
        await connections.complete("tiktok", {"code": "x", "state": "made-up"}, session_token)
    assert tiktok.counters["authorization_code"] == 1


async def test_a_denied_consent_connects_nothing(database: str, tiktok: TikTokImitation) -> None:
    user_id, session_token = await new_user()
    url = await connections.begin(user_id, session_token, "tiktok")
    with pytest.raises(connections.ConsentDenied):
        await connections.complete("tiktok", await consent(tiktok, url, decision="deny"), session_token)
    assert await count(ConnectedAccount) == 0


async def test_parallel_refreshes_make_one_exchange_and_keep_the_rotated_token(
    database: str, tiktok: TikTokImitation
) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
        old_refresh = account.refresh_token_enc
        account.token_expires_at = utcnow() + timedelta(minutes=1)
    tokens = await asyncio.gather(*(connections.access_token(connected.account_id) for _ in range(5)))
    assert len(set(tokens)) == 1
    assert tiktok.counters["refresh_token"] == 1
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
    assert account.refresh_token_enc != old_refresh and account.token_expires_at > utcnow() + timedelta(
        hours=1
    )


async def test_incremental_sync_adds_new_posts_without_double_counting(
    database: str, tiktok: TikTokImitation
) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    await run_jobs()
    before = await count(Post, Post.account_id == connected.account_id)
    tiktok.advance(timedelta(days=3))
    async with db.service_session() as session:  # three days on, the access token has expired: refresh it
        account = await session.get(ConnectedAccount, connected.account_id)
        account.token_expires_at = utcnow()
    try:
        await connections.sync_now(user_id, connected.account_id)
        await run_jobs()
        listed = len(await tiktok.public_videos(HANDLE))
    finally:
        tiktok.advance(timedelta(days=-3))
    assert await count(Post, Post.account_id == connected.account_id) == listed > before
    async with db.service_session() as session:
        duplicates = (
            await session.exec(
                select(Post.platform_post_id).group_by(Post.platform_post_id).having(sa.func.count() > 1)
            )
        ).all()
    assert duplicates == []


async def test_the_account_card_reads_its_sync_and_its_times_together(
    database: str, tiktok: TikTokImitation
) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    [(account, syncing)] = await connections.accounts_and_syncs(user_id)
    assert (account.id, syncing, account.last_synced_at) == (connected.account_id, True, None)
    await run_jobs()
    [(account, syncing)] = await connections.accounts_and_syncs(user_id)
    # Not syncing any more, and synced: never the one without the other.
    assert syncing is False
    assert account.last_synced_at is not None and account.next_sync_at > account.last_synced_at


async def test_a_revoked_token_mid_sync_asks_to_reconnect_without_retrying(
    database: str, tiktok: TikTokImitation
) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    await tiktok.revoke_user(tiktok.open_id(HANDLE))
    await run_jobs()
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
        run = (await session.exec(select(SyncRun))).one()
    assert account.status == "needs_reconnect" and "Reconnect" in account.status_message
    assert (run.status, "Reconnect" in run.error) == ("failed", True)
    [job] = await engine_jobs(connections.SYNC_TASK)
    assert (job.status, job.attempts) == ("failed", 1)
    assert {a.id for a, busy in await connections.accounts_and_syncs(user_id) if busy} == set()


async def test_rate_limits_put_the_sync_back_and_it_resumes(database: str, tiktok: TikTokImitation) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    tiktok.faults.set(
        status=429, code="rate_limit_exceeded", retry_after="0", only="/v2/video/list/", after=2, times=1
    )
    await run_jobs()  # the 429 says "retry after 0 s": the same worker runs it again at once
    [job] = await engine_jobs(connections.SYNC_TASK)
    async with db.service_session() as session:
        run = (await session.exec(select(SyncRun))).one()
    assert (job.status, job.attempts) == ("succeeded", 2)
    assert (run.status, run.posts) == ("succeeded", len(await tiktok.public_videos(HANDLE)))
    assert {a.id for a, busy in await connections.accounts_and_syncs(user_id) if busy} == set()
    assert await count(Post, Post.account_id == connected.account_id) == len(
        await tiktok.public_videos(HANDLE)
    )


async def test_disconnect_deletes_and_revokes_tokens_and_respects_the_history_choice(
    database: str, tiktok: TikTokImitation
) -> None:
    user_id, session_token = await new_user()
    kept = await connect(user_id, session_token, tiktok)
    await run_jobs()
    posts = await count(Post, Post.user_id == user_id)
    assert await connections.disconnect(user_id, kept.account_id, keep_history=True) is True
    assert tiktok.counters["revoke"] == 1
    assert await count(ConnectedAccount) == 0
    assert await count(Post, Post.user_id == user_id) == posts
    again = await connect(user_id, session_token, tiktok)
    await connections.disconnect(user_id, again.account_id, keep_history=False)
    assert await count(Post, Post.account_id.is_not(None)) == 0


async def test_rotate_keys_reseals_every_token(database: str, tiktok: TikTokImitation, monkeypatch) -> None:
    user_id, session_token = await new_user()
    connected = await connect(user_id, session_token, tiktok)
    old = vault(get_settings())
    new_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    old_key = base64.urlsafe_b64encode(old.keys[old.newest]).decode()
    monkeypatch.setenv("ENCRYPTION_KEYS", f"k2:{new_key},{old.newest}:{old_key}")
    get_settings.cache_clear()
    assert await connections.rotate_keys() == 2
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, connected.account_id)
    assert account.access_token_enc.startswith("v1:k2:") and account.refresh_token_enc.startswith("v1:k2:")
    assert await tiktok.knows("access", await connections.access_token(connected.account_id))


def test_newer_posts_are_refreshed_more_often() -> None:
    assert sync.refresh_interval(timedelta(hours=5)) < sync.refresh_interval(timedelta(days=10))
    assert sync.refresh_interval(timedelta(days=10)) < sync.refresh_interval(timedelta(days=400))
