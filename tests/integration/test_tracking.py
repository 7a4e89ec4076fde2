"""Tracking public posts by URL through the real apify-client against the imitation, mounted as in sandbox mode."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

import assetry.assetry  # noqa: F401  (the app owns the event namespace that knows which tabs are open)
from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import User
from assetry.pages.analytics.tracked import TrackedState
from assetry.sandbox.apify import DELETED_SHORTCODE, PRIVATE_VIDEO_ID, ApifyImitation
from assetry.services import tracking
from tests.asgi_server import serve
from tests.browserless import Tab
from tests.integration.test_studio import new_user as sign_up
from tests.jobs import run_jobs

TIKTOK = "https://www.tiktok.com/@maya/video/7301234567890123456"
INSTAGRAM = "https://www.instagram.com/reel/CxYz123AbC/?igsh=tracking"


@pytest.fixture(scope="module")
def apify() -> Iterator[tuple[ApifyImitation, str]]:
    imitation = ApifyImitation()
    with serve(Starlette(routes=[Mount("/sandbox/apify", app=imitation.app)])) as base:
        yield imitation, base


@pytest.fixture
def sandbox_apify(apify, monkeypatch: pytest.MonkeyPatch) -> ApifyImitation:
    imitation, base = apify
    monkeypatch.setenv("PUBLIC_URL", base)
    monkeypatch.delenv("APIFY_TOKEN", raising=False)
    get_settings.cache_clear()
    return imitation


async def new_user() -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=datetime.now(UTC)))
    return user_id


async def test_pasted_links_are_checked_one_by_one_and_fetched(
    database: str, sandbox_apify: ApifyImitation
) -> None:
    user_id = await new_user()
    pasted = "\n".join([
        TIKTOK, INSTAGRAM, "https://www.tiktok.com/@maya", "not-a-link", "https://youtube.com/watch?v=1", TIKTOK,
        f"https://www.tiktok.com/@x/video/{PRIVATE_VIDEO_ID}", f"https://www.instagram.com/p/{DELETED_SHORTCODE}/",
    ])  # fmt: skip
    results = await tracking.track(user_id, pasted)
    assert [r.accepted for r in results] == [True, True, False, False, False, False, True, True]
    assert "profile" in results[2].message.lower()
    assert results[5].message  # listed twice
    assert results[1].url == "https://www.instagram.com/p/CxYz123AbC/"
    await run_jobs()
    rows = {row.url: row for row in await tracking.tracked(user_id)}
    assert rows[TIKTOK].status == "ok" and rows[TIKTOK].metrics["views"] > 0
    assert rows["https://www.instagram.com/p/CxYz123AbC/"].metrics["likes"] is not None
    private = rows[f"https://www.tiktok.com/@x/video/{PRIVATE_VIDEO_ID}"]
    assert private.status == "error" and "private" in private.message.lower()
    deleted = rows[f"https://www.instagram.com/p/{DELETED_SHORTCODE}/"]
    assert deleted.status == "error" and deleted.message


async def test_already_tracked_untrack_and_other_users(database: str, sandbox_apify: ApifyImitation) -> None:
    user_id, other_id = await new_user(), await new_user()
    await tracking.track(user_id, TIKTOK)
    [again] = await tracking.track(user_id, TIKTOK + "?is_from_webapp=1")
    assert (again.accepted, again.message) == (False, "Already tracked.")
    [row] = await tracking.tracked(user_id)
    with pytest.raises(NotAllowed):
        await tracking.untrack(other_id, row.id)
    await tracking.untrack(user_id, row.id)
    assert await tracking.tracked(user_id) == []
    with pytest.raises(BadInput, match="Paste one or more"):
        await tracking.track(user_id, "   ")


async def test_an_open_page_shows_the_fetched_numbers_without_a_reload(
    database: str, sandbox_apify: ApifyImitation
) -> None:

    _, token = await sign_up("maya@example.com")
    async with Tab(cookie=token, path="/analytics") as tab:
        await tab.open()
        pasted = await tab.call(TrackedState.track, form={"links": TIKTOK})
        assert [item.status for item in (await tab.state(TrackedState)).items] == ["pending"]  # "Fetching…"
        assert [event.name.rsplit(".", 1)[-1] for event in pasted.chained] == ["watch"]
        watcher = tab.start(TrackedState.watch)
        await run_jobs()  # the fetch stores the numbers and notifies: the watcher wakes and reads them
        await asyncio.wait_for(watcher, 10)
        [item] = (await tab.state(TrackedState)).items
        await tab.close()
    assert item.status == "ok" and item.views not in ("", "—")


async def test_a_page_follows_a_new_link_until_its_numbers_come_or_patience_runs_out(
    database: str, sandbox_apify: ApifyImitation
) -> None:
    user_id = await new_user()
    results = await tracking.track(user_id, f"not a url at all\n{TIKTOK}")
    assert [(r.input, r.accepted) for r in results] == [("not a url at all", False), (TIKTOK, True)]
    [row] = await tracking.tracked(user_id)
    now = datetime.now(UTC)
    assert row.awaiting_first_numbers(now)
    assert not row.awaiting_first_numbers(now + tracking.FIRST_FETCH_PATIENCE)
    await run_jobs()
    [row] = await tracking.tracked(user_id)
    assert row.status == "ok" and not row.awaiting_first_numbers(now)
