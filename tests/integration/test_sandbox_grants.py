"""Sandbox grants and posts live in the database: a consent given, or a video posted, through one
instance is seen by another.

The "web" side here is this test process (its mounted imitations); the other side is a real
`python -m assetry worker` process, and then a fresh imitation in this process (a restart):
each starts with nothing in memory, so anything kept only in memory would read "needs reconnect".
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from assetry import db
from assetry.config import ROOT, get_settings
from assetry.models import ConnectedAccount, Post
from assetry.models.base import utcnow
from assetry.services import connections, platforms, sandbox_posting
from tests.integration import test_instagram_connection as instagram_flow
from tests.integration import test_tiktok_connection as tiktok_flow
from tests.integration.test_post_matching import CAT, a_video, rendered

SYNC_WAIT_S = 240


@pytest.fixture
def fresh_sandboxes():
    """Each test starts, and leaves, with imitations that remember nothing in memory."""
    platforms.sandbox.cache_clear()
    yield
    platforms.sandbox.cache_clear()


async def _accounts() -> list[ConnectedAccount]:
    async with db.service_session() as session:
        return list((await session.exec(select(ConnectedAccount))).all())


async def _synced() -> set:
    """The accounts with posts in the database."""
    async with db.service_session() as session:
        return set((await session.exec(select(Post.account_id).distinct())).all())


async def _connected_to_both() -> uuid.UUID:
    """A new user who connected the sandbox TikTok and Instagram through this process."""
    user_id, session_token = await tiktok_flow.new_user()
    await tiktok_flow.connect(user_id, session_token, platforms.sandbox("tiktok"))
    url = await connections.begin(user_id, session_token, "instagram")
    query = await instagram_flow.consent(platforms.sandbox("instagram"), url, "sandbox_studio")
    await connections.complete("instagram", query, session_token)
    return user_id


async def _worker_until(done: Callable[[], Awaitable[bool]], what: str, log: Path) -> None:
    """Another process, `python -m assetry worker` (its own imitations, nothing of ours in their
    memory), running the first syncs until `done()`; killed then, still syncing."""
    worker = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "assetry", "worker",
        cwd=ROOT, env=os.environ.copy(), stdout=subprocess.DEVNULL, stderr=log.open("w"),
    )  # fmt: skip
    try:
        deadline = time.monotonic() + SYNC_WAIT_S
        while not await done():
            assert worker.returncode is None, await asyncio.to_thread(log.read_text)
            assert time.monotonic() < deadline, f"the worker {what}"
            await asyncio.sleep(0.5)
    finally:  # it would finish its jobs on SIGTERM
        worker.kill()
        await worker.wait()


async def test_accounts_granted_here_sync_in_a_worker_process_and_after_a_restart(
    database: str, fresh_sandboxes: None, tmp_path
) -> None:
    await _connected_to_both()

    # Posts of both accounts in the database: the worker read them with the grants made here.
    async def both_synced() -> bool:
        return len(await _synced()) == 2

    await _worker_until(both_synced, "read no posts of both accounts", tmp_path / "worker.log")
    accounts = await _accounts()
    assert await _synced() == {a.id for a in accounts}
    assert {(a.platform, a.status) for a in accounts} == {("tiktok", "active"), ("instagram", "active")}

    # A restart of this process: new imitations; the TikTok token has expired, so it is refreshed.
    platforms.sandbox.cache_clear()
    [tiktok] = [a for a in accounts if a.platform == "tiktok"]
    async with db.service_session() as session:
        (await session.get(ConnectedAccount, tiktok.id)).token_expires_at = utcnow() + timedelta(minutes=1)
    renewed = await connections.access_token(tiktok.id)
    assert await platforms.sandbox("tiktok").knows("access", renewed)
    assert platforms.sandbox("tiktok").counters["refresh_token"] == 1
    for account in accounts:
        token = await connections.access_token(account.id)
        profile = await platforms.adapter(account.platform).profile(token)
        assert profile.account_id == account.platform_account_id
    assert {a.status for a in await _accounts()} == {"active"}


async def test_cover_links_signed_by_one_instance_open_on_another(
    database: str, fresh_sandboxes: None
) -> None:
    user_id, session_token = await tiktok_flow.new_user()
    connected = await tiktok_flow.connect(user_id, session_token, platforms.sandbox("tiktok"))
    token = await connections.access_token(connected.account_id)
    [first, *_] = (await platforms.adapter("tiktok").page(token, "", None)).posts
    platforms.sandbox.cache_clear()  # another backend: the browser asks it for the same link
    public = get_settings().public_url.rstrip("/") + "/sandbox/tiktok"
    transport = httpx.ASGITransport(app=platforms.sandbox("tiktok").app)
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as browser:
        cover = await browser.get(first.cover_url.removeprefix(public))
    assert cover.status_code == 200 and cover.headers["content-type"] == "image/jpeg"


class _ThreeHoursLater(datetime):
    @classmethod
    def now(cls, tz=None) -> datetime:
        return datetime.now(tz) + timedelta(hours=3)


async def test_another_instance_started_later_shows_the_same_instagram_timeline(
    database: str, fresh_sandboxes, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = platforms.sandbox("instagram")
    assert here._accounts is None  # nothing asked of the database while the routes are mounted
    username = here.default_account
    timeline = [(post.id, post.posted_at) for post in here.visible_media(username)]
    assert timeline and timeline[0][1] > datetime.now(UTC) - timedelta(hours=2)

    # Another backend, a worker, or this one after a restart, three hours later.
    platforms.sandbox.cache_clear()
    monkeypatch.setattr(platforms, "datetime", _ThreeHoursLater)
    there = platforms.sandbox("instagram")
    assert there is not here and there.anchor == here.anchor
    assert [(post.id, post.posted_at) for post in there.visible_media(username)] == timeline


async def test_a_video_posted_in_the_sandbox_here_is_synced_by_a_worker_process_and_kept_after_a_restart(
    database: str, fresh_sandboxes: None, tmp_path
) -> None:
    user_id = await _connected_to_both()
    cat = await a_video(user_id, CAT, 1, hours_ago=2)
    assert await sandbox_posting.post_in_sandbox(user_id, cat) == [
        "TikTok (Jon Okafor)",
        "Instagram (sandbox_studio)",
    ]

    # Another process, whose imitations published nothing: its syncs bring the video in on both.
    async def on_both() -> bool:
        return len(await _posts_titled(CAT)) == 2

    await _worker_until(on_both, "did not sync the posted video on both", tmp_path / "worker.log")
    posted = await _posts_titled(CAT)
    assert sorted(post.platform for post in posted) == ["instagram", "tiktok"]

    # A restart of this process: new imitations still list the video and serve its cover.
    platforms.sandbox.cache_clear()
    [on_tiktok] = [post for post in posted if post.platform == "tiktok"]
    assert on_tiktok.platform_post_id in await platforms.sandbox("tiktok").public_videos(tiktok_flow.HANDLE)
    for post in posted:
        public = get_settings().public_url.rstrip("/") + f"/sandbox/{post.platform}"
        transport = httpx.ASGITransport(app=platforms.sandbox(post.platform).app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as browser:
            cover = await browser.get(post.cover_url.removeprefix(public))
        assert cover.status_code == 200 and cover.headers["content-type"] == "image/jpeg"
        assert cover.content == sandbox_posting.cover_from(rendered(CAT, 1).content)


async def _posts_titled(title: str) -> list[Post]:
    async with db.service_session() as session:
        return list((await session.exec(select(Post).where(Post.title == title))).all())
