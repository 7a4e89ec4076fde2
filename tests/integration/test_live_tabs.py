"""Open studio tabs over real websockets (the backend served by uvicorn, raw Socket.IO clients):
while their generation waits, the tabs cost no query and hear nothing; a tab whose connection
dropped while its work ended sees the result as soon as it reconnects.

No job worker runs in the backend here (JOB_WORKER_IN_APP off): a generation stays queued
until the test runs the jobs itself, so the watchers have something to wait for.
"""

from __future__ import annotations

import asyncio

import pytest

from assetry.config import get_settings
from assetry.services import changes, studio
from tests.integration.test_studio import image, new_user
from tests.integration.test_watching import QueryCounter
from tests.jobs import run_jobs
from tests.raw_socket import RawTab, record_policies, serve_backend, updates

TABS = 10
IDLE_SECONDS = 15.0  # a polling tab would have asked the database many times by now
SETTLE_SECONDS = 3.0  # the tabs' first reads (hydrate, load, the watcher's first turn)


@pytest.fixture
async def backend(database: str, monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    monkeypatch.setenv("JOB_WORKER_IN_APP", "false")
    get_settings.cache_clear()
    await record_policies()
    async with serve_backend(monkeypatch, str(tmp_path)) as url:
        yield url


def _frames_with(frames: list[str], text: str) -> bool:
    return any(text in frame for frame in frames)


async def test_idle_watching_tabs_cost_no_query_and_hear_nothing(backend: str) -> None:
    user_id, token = await new_user("ana@example.com")
    prompt = "a lighthouse in a storm"
    await studio.start(user_id, image(prompt), client_request_id="waits")
    tabs = [RawTab(backend) for _ in range(TABS)]
    try:
        # Each opens /studio: its load lists the waiting generation and starts a watcher.
        await asyncio.gather(
            *(
                tab.connect(cookie=token, path="/studio", until=lambda got: _frames_with(got, prompt))
                for tab in tabs
            )
        )
        await asyncio.sleep(SETTLE_SECONDS)
        assert changes.listener().connected.is_set()  # the watchers listen (one connection for all)
        for tab in tabs:
            await tab.read(quiet_s=0.1, wait_s=0.1)  # whatever is left of the first reads
        with QueryCounter() as queries:
            heard = await asyncio.gather(
                *(tab.read(quiet_s=IDLE_SECONDS, wait_s=IDLE_SECONDS) for tab in tabs)
            )
        assert queries.count == 0, f"{TABS} idle tabs sent {queries.count} statements in {IDLE_SECONDS:.0f} s"
        assert [frames for frames in heard if frames] == [], "idle tabs were sent updates"

        # And they are awake: the end of the work reaches every one of them.
        await run_jobs()
        told = await asyncio.gather(
            *(tab.read(until=lambda got: _frames_with(got, "Your image is ready.")) for tab in tabs)
        )
        assert all(_frames_with(frames, "Your image is ready.") for frames in told)
    finally:
        for tab in tabs:
            await tab.close()


async def test_a_tab_that_reconnects_after_a_drop_shows_what_ended_meanwhile(backend: str) -> None:
    user_id, token = await new_user("ana@example.com")
    prompt = "a red kite over the dunes"
    started = await studio.start(user_id, image(prompt), client_request_id="meanwhile")
    tab = RawTab(backend)
    frames = await tab.connect(cookie=token, path="/studio", until=lambda got: _frames_with(got, prompt))
    assert _frames_with(frames, "Waiting for a worker")
    await tab.close()  # the network drops; the work ends while the tab is away

    await run_jobs()
    assert (await studio.get(user_id, started.id)).status == "succeeded"

    # The same tab (its token) comes back, as the browser's socket does after a drop.
    frames = await tab.connect(cookie=token, path="/studio", until=lambda got: _frames_with(got, "/media/"))
    try:
        shown = "\n".join(str(update) for update in updates(frames))
        # The result's card: its picture, served from a signed media link.
        assert prompt in shown and "/media/" in shown, "the result was not sent to the reconnected tab"
    finally:
        await tab.close()
