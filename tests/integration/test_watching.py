"""A page's watcher follows running work while its tab is open, and stops when the tab closes.

The watcher is the studio's (the other pages share `assetry.state.watching`): a generation
that nobody runs stays queued for ever, so only the closed tab can end its watcher.
"""

from __future__ import annotations

import asyncio

import pytest

import assetry.assetry  # noqa: F401  (the app owns the event namespace that knows which tabs are open)
from assetry.pages.studio import StudioState
from assetry.services import studio
from tests.browserless import Tab
from tests.integration.test_studio import image, new_user, run_all

TURN = StudioState._watch_seconds
# Generous on a shared 2-core machine: a turn is one sleep plus one small query.
ENDS_WITHIN = 6 * TURN


async def _watching(tab: Tab) -> bool:
    return (await tab.state(StudioState))._watching


async def test_closing_the_tab_stops_its_watcher(database: str) -> None:
    user_id, token = await new_user("ana@example.com")
    waiting = await studio.start(user_id, image(), client_request_id="never-run")
    async with Tab(cookie=token, path="/studio") as tab:
        await tab.open()
        watcher = tab.start(StudioState.watch)
        await asyncio.sleep(3 * TURN)
        assert not watcher.done(), "the watcher of an open tab stopped while its generation waits"
        assert await _watching(tab)

        await tab.close()
        told = await asyncio.wait_for(watcher, ENDS_WITHIN)
        assert told.to_browser == []
        assert not await _watching(tab)
    assert (await studio.get(user_id, waiting.id)).status == "queued"  # the work itself is untouched


async def test_a_watcher_toasts_the_end_and_stops(database: str) -> None:
    user_id, token = await new_user("ana@example.com")
    await studio.start(user_id, image(), client_request_id="run")
    async with Tab(cookie=token, path="/studio") as tab:
        await tab.open()
        await tab.call(StudioState.load)
        watcher = tab.start(StudioState.watch)
        await asyncio.sleep(TURN / 2)
        second = tab.start(StudioState.watch)
        assert (await asyncio.wait_for(second, ENDS_WITHIN)).to_browser == []  # one watcher per tab
        assert not watcher.done()

        await run_all()
        told = await asyncio.wait_for(watcher, ENDS_WITHIN)
        page = await tab.state(StudioState)
        await tab.close()
    toasts = [event.payload for event in told.to_browser]
    assert len(toasts) == 1 and "Your image is ready." in str(toasts[0])
    assert page.active == [] and page.recent[0].status == "succeeded"
    assert not page._watching


@pytest.mark.parametrize("open_tab", [False, True], ids=["never-connected", "signed-out"])
async def test_a_watcher_without_a_tab_or_a_session_stops_at_once(database: str, open_tab: bool) -> None:
    user_id, token = await new_user("ana@example.com")
    await studio.start(user_id, image(), client_request_id="never-run")
    async with Tab(cookie="" if open_tab else token, path="/studio") as tab:
        if open_tab:
            await tab.open()
        told = await asyncio.wait_for(tab.start(StudioState.watch), ENDS_WITHIN)
        assert not await _watching(tab)
        if open_tab:
            await tab.close()
    assert told.to_browser == []
