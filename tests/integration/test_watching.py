"""A page's watcher is woken by changes pushed from Postgres (NOTIFY), never by a timer reading
the database; it stops when its tab closes, and the listener survives a dropped connection.

The watcher is the studio's (the other pages share `assetry.state.watching`): a generation
that nobody runs stays queued for ever, so only the closed tab can end its watcher.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
import sqlalchemy as sa

import assetry.assetry  # noqa: F401  (the app owns the event namespace that knows which tabs are open)
from assetry import db
from assetry.config import get_settings
from assetry.pages.library import LibraryState
from assetry.pages.studio import StudioState
from assetry.services import accounts, changes, plan, post_links, studio
from assetry.state.plan_reminders import PlanReminderState
from tests.browserless import Tab
from tests.integration.test_post_links import a_generation, a_post
from tests.integration.test_studio import image, new_user, run_all

CHECK = 0.2  # how often a watcher asks whether its tab is still open (no database involved)
ENDS_WITHIN = 10.0  # generous on a shared 2-core machine


@pytest.fixture(autouse=True)
def quick_tab_checks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(StudioState, "_tab_check_seconds", CHECK)
    monkeypatch.setattr(PlanReminderState, "_tab_check_seconds", CHECK)


async def _watching(tab: Tab) -> bool:
    return (await tab.state(StudioState))._watching


async def _until(check, *, what: str) -> None:
    """Until `await check()` is true (a slow machine takes longer, never too long: ENDS_WITHIN)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + ENDS_WITHIN
    while not await check():
        assert loop.time() < deadline, f"waited {ENDS_WITHIN:.0f} s for {what}"
        await asyncio.sleep(0.05)


class QueryCounter:
    """The statements this process sends through the app's database engines (user and service;
    `users_only`: only those sent on behalf of a user, as a page's reads are, not the worker's)."""

    def __init__(self, *, users_only: bool = False) -> None:
        self.sent: list[str] = []
        self.engines = [db.engine()] if users_only else [db.engine(), db.engine(service=True)]

    def __call__(self, _connection, _cursor, statement: str, *_args) -> None:
        self.sent.append(statement)

    @property
    def count(self) -> int:
        return len(self.sent)

    def __enter__(self) -> QueryCounter:
        for engine in self.engines:
            sa.event.listen(engine.sync_engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc) -> None:
        for engine in self.engines:
            sa.event.remove(engine.sync_engine, "before_cursor_execute", self)


async def test_an_idle_watching_tab_queries_nothing_and_closing_it_stops_the_watcher(database: str) -> None:
    user_id, token = await new_user("ana@example.com")
    waiting = await studio.start(user_id, image(), client_request_id="never-run")
    async with Tab(cookie=token, path="/studio") as tab:
        await tab.open()
        watcher = tab.start(StudioState.watch)

        async def first_turn_done() -> bool:
            return [item.id for item in (await tab.state(StudioState)).active] == [str(waiting.id)]

        # The first turn reads the page once (the waiting generation shows), then it waits.
        await _until(first_turn_done, what="the watcher's first look at the page")
        with QueryCounter() as queries:
            await asyncio.sleep(15 * CHECK)
        assert queries.count == 0, "an idle tab's watcher read the database"
        assert not watcher.done(), "the watcher of an open tab stopped while its generation waits"
        assert await _watching(tab)

        await tab.close()
        told = await asyncio.wait_for(watcher, ENDS_WITHIN)
        assert told.to_browser == []
        assert not await _watching(tab)
    assert (await studio.get(user_id, waiting.id)).status == "queued"  # the work itself is untouched


async def test_a_change_pushed_by_the_worker_wakes_the_watcher_which_toasts_the_end(database: str) -> None:
    user_id, token = await new_user("ana@example.com")
    await studio.start(user_id, image(), client_request_id="run")
    async with Tab(cookie=token, path="/studio") as tab:
        await tab.open()
        await tab.call(StudioState.load)
        watcher = tab.start(StudioState.watch)
        await _until(lambda: _watching(tab), what="the first watcher to start")
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


async def test_only_the_users_own_subscriptions_wake(database: str) -> None:
    ana, _ = await new_user("ana@example.com")
    ben, _ = await new_user("ben@example.com")
    listener = changes.listener()
    async with listener.subscribe(ana) as anas, listener.subscribe(ben) as bens:
        await asyncio.wait_for(listener.connected.wait(), ENDS_WITHIN)
        await studio.start(ana, image(), client_request_id="one")
        assert await anas.wait(ENDS_WITHIN)
        assert not await bens.wait(3 * CHECK)


async def test_the_listener_reconnects_after_its_connection_drops_and_wakes_everyone(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    listener = changes.listener()
    async with listener.subscribe(user_id) as subscription:
        await asyncio.wait_for(listener.connected.wait(), ENDS_WITHIN)
        owner = sa.create_engine(
            get_settings().owner_database_url.replace("postgresql://", "postgresql+psycopg://")
        )
        with owner.begin() as conn:  # the database drops the listening connection (a restart, a network cut)
            dropped = conn.execute(
                sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.backend_pid}
            ).scalar_one()
        owner.dispose()
        assert dropped is True
        # Notes sent while it was away are lost, so on reconnecting it wakes every subscription:
        # each page reads its rows again.
        assert await subscription.wait(ENDS_WITHIN)
        await asyncio.wait_for(listener.connected.wait(), ENDS_WITHIN)
        assert listener.reconnects >= 1
        await studio.start(user_id, image(), client_request_id="after")
        assert await subscription.wait(ENDS_WITHIN)  # and it hears new notes again


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


async def test_the_reminder_banner_comes_and_goes_live_on_any_page_and_an_idle_tab_reads_nothing(
    database: str,
) -> None:
    """The plan's hour comes while the library is open: the reminder job's note shows the banner;
    dismissing it in another tab, or the post being linked, takes it away; meanwhile no query."""
    user_id, token = await new_user("ana@example.com")
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    made = await a_generation(user_id, hour - timedelta(days=1), "latte art at dawn")
    slot = await plan.place(user_id, made, hour.date(), hour.hour, "UTC", now=hour - timedelta(hours=1))
    async with Tab(cookie=token, path="/library") as tab, Tab(cookie=token, path="/studio") as other:
        await tab.open()
        loaded = await tab.call(LibraryState.load)
        [started] = loaded.chained  # a signed-in page's load fills the shell and starts its watcher
        assert started.name.endswith(".watch")
        watcher = tab.start(PlanReminderState.watch)
        await _until(lambda: _reminder_watching(tab), what="the reminder watcher to start")
        await asyncio.sleep(5 * CHECK)
        assert (await tab.state(PlanReminderState)).reminders == []

        with QueryCounter() as queries:
            await asyncio.sleep(10 * CHECK)
        assert queries.count == 0, "an idle tab's reminder watcher read the database"

        assert (await plan.remind_due(now=now))["reminded"] == 1  # the periodic job, elsewhere

        async def banner() -> list[str]:
            return [r.what for r in (await tab.state(PlanReminderState)).reminders]

        await _until(lambda: _equals(banner(), ["Video: latte art at dawn"]), what="the banner")
        await other.call(PlanReminderState.dismiss, slot_id=str(slot.id))  # another tab dismisses it
        await _until(lambda: _equals(banner(), []), what="the banner to go after a dismissal elsewhere")

        # Reminded again (moved to the hour after), then the post is linked: the banner goes.
        moved = await plan.move(
            user_id, slot.id, hour.date(), hour.hour, "UTC", now=hour - timedelta(hours=1)
        )
        assert moved.reminded_at is None
        assert (await plan.remind_due(now=now))["reminded"] == 1
        await _until(lambda: _equals(banner(), ["Video: latte art at dawn"]), what="the banner again")
        post = await a_post(user_id, hour + timedelta(minutes=5), "latte art at dawn")
        await post_links.link_post(user_id, post, made)
        await _until(lambda: _equals(banner(), []), what="the banner to go once the post is linked")
        assert not watcher.done()
        await tab.close()
        await asyncio.wait_for(watcher, ENDS_WITHIN)


async def _reminder_watching(tab: Tab) -> bool:
    return (await tab.state(PlanReminderState))._watching


async def _equals(found, expected) -> bool:
    return await found == expected


async def test_a_reminder_watcher_woken_after_a_log_out_asks_again_and_stops(database: str) -> None:
    """Its start went on the page load's look-up of the session; a change that wakes it later is
    read only after it asks again, and a session that ended meanwhile stops it, showing nothing."""
    user_id, token = await new_user("ana@example.com")
    async with Tab(cookie=token, path="/library") as tab:
        await tab.open()
        watcher = tab.start(PlanReminderState.watch)
        await _until(lambda: _reminder_watching(tab), what="the reminder watcher to start")
        await accounts.log_out(token)  # she signs out in another tab
        await plan.dismiss(user_id, uuid.uuid4())  # then a change of her plan is pushed
        told = await asyncio.wait_for(watcher, ENDS_WITHIN)
        assert told.to_browser == []
        assert not await _reminder_watching(tab)


async def test_queued_running_and_done_each_note_the_owner(database: str) -> None:
    """Generate, the worker's start and the saved result each send the owner's pages a note; the
    start's says where the generation now stands, enough for a page that shows it."""
    user_id, _ = await new_user("ana@example.com")
    async with await psycopg.AsyncConnection.connect(db.psycopg_conninfo(), autocommit=True) as conn:
        await conn.execute(f"LISTEN {changes.CHANNEL}")
        generation = await studio.start(user_id, image(), client_request_id="noted")
        await run_all()
        notes = [json.loads(note.payload) async for note in conn.notifies(timeout=ENDS_WITHIN, stop_after=3)]
    mine = {"user": str(user_id), "what": changes.GENERATION}
    assert [notes[0], notes[2]] == [mine, mine]
    running = studio.noted(notes[1])
    assert {key: notes[1][key] for key in mine} == mine
    assert running is not None and (running.id, running.status, running.phase) == (
        str(generation.id),
        "running",
        "running",
    )
    assert running.started_at == (await studio.get(user_id, generation.id)).started_at


async def test_generate_and_cancel_show_the_row_at_once_and_the_watcher_agrees(database: str) -> None:
    """Generate lists the new generation as queued and Cancel moves it to the ended ones, each from
    the row the service returned (no second read); the watcher's own read shows the same."""
    user_id, token = await new_user("ana@example.com")
    form = {"kind": "image", "prompt": "a kite at dusk", "model_key": "offline:preview-image",
            "aspect_ratio": "1:1", "count": "1"}  # fmt: skip
    async with Tab(cookie=token, path="/studio") as tab:
        await tab.open()
        await tab.call(StudioState.load)
        with QueryCounter() as queries:
            started = await tab.call(StudioState.generate, form=form)
        page = await tab.state(StudioState)
        assert [(item.prompt, item.status_label) for item in page.active] == [("a kite at dusk", "Queued")]
        # The session's user, then Generate's own transaction: check, queue, insert (and BEGIN/COMMIT).
        assert queries.count <= 8, f"Generate sent {queries.count} statements"
        assert any(event.name.endswith("watch") for event in started.chained)

        await tab.call(StudioState.cancel, generation_id=page.active[0].id)
        page = await tab.state(StudioState)
        assert page.active == []
        assert [(item.prompt, item.status_label) for item in page.recent] == [("a kite at dusk", "Cancelled")]
        watcher = tab.start(StudioState.watch)  # its first turn reads the page: nothing runs, it ends
        await asyncio.wait_for(watcher, ENDS_WITHIN)
        page = await tab.state(StudioState)
        await tab.close()
    assert page.active == [] and [item.status for item in page.recent] == ["cancelled"]
    assert (await studio.active_count(user_id)) == 0
