"""What one page load reads, over a real websocket (the backend served by uvicorn, raw Socket.IO
clients): the websocket's hydrate, or a navigation, then every on_load handler of the page, as
Reflex chains them on the server.

The session behind the cookie is looked up once for the whole chain, not once per handler, and
a page load after the session ended still finds out. What the browser receives until the page
is hydrated, on-load work included, stays within the budgets of `test_hydrate_size`. A page whose
load opens it (`session.open_page`: every signed-in page) loads in one event and one
transaction, its sections included; What works' figures commit in their own, once the shell's
has ended, since other tabs and the changes to their inputs wait for their row. An admin page
(`admin.open_admin_page`) checks the role first, and reads as the service after the shell. The studio reads the creator's best posts only when "Write like my best posts" is ticked, the one place
that shows where they come from.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from reflex.state import OnLoadInternalState

from assetry import db
from assetry.pages.analytics.what_works import WhatWorksState
from assetry.pages.studio import StudioState
from assetry.services import accounts
from assetry.state.session import SessionBoundary
from tests.admin_people import make_user, session_token
from tests.browserless import Tab
from tests.integration.test_hydrate_size import ANONYMOUS_BUDGET, SIGNED_IN_BUDGET
from tests.integration.test_live_tabs import backend  # noqa: F401  (the served backend, a fixture)
from tests.integration.test_post_links import a_generation, a_post
from tests.integration.test_studio import new_user
from tests.integration.test_watching import QueryCounter
from tests.integration.test_what_works import a_post as a_post_seen
from tests.raw_socket import RawTab, updates

# What the browser sends when the creator follows a link to another page of the app.
NAVIGATION = OnLoadInternalState.event_handlers["on_load_internal"]
HYDRATED = re.compile(r'"is_hydrated_rx_state_"\s*:\s*true')
# The session behind a cookie and its user (`accounts.live_session`, `accounts.user_for_token`).
SESSION_LOOKUP = re.compile(r"FROM (auth_sessions JOIN users|users JOIN auth_sessions)")
SIGNED_IN_PAGES = ["/home", "/studio", "/library", "/plan", "/settings", "/analytics"]
# A user transaction begins with its role switch (`db.user_session`).
ROLE_SWITCH = "set_config('role', 'authenticated', true)"


# A page load's events: Reflex's hydrate and its on_load step, the page's one load, the hydrated
# flag (beside them, left out: the shell's reminder watcher, a background event that waits for changes).
ONE_LOAD = ["hydrate_and_load", "on_load_internal", "load", "set_is_hydrated"]


def _noting_events(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every event of the backend's tabs from now on, in the order it runs them."""
    handled: list[str] = []
    preprocess = SessionBoundary.preprocess

    async def noted(self, app, state, event):
        handled.append(event.name.rpartition(".")[2])
        return await preprocess(self, app, state, event)

    monkeypatch.setattr(SessionBoundary, "preprocess", noted)
    return handled


def _session_lookups(statements: QueryCounter) -> int:
    return sum(bool(SESSION_LOOKUP.search(statement)) for statement in statements.sent)


def _hydrated(frames: list[str]) -> bool:
    return bool(HYDRATED.search("".join(frames)))


def _bytes_until_hydrated(frames: list[str]) -> int:
    """What the browser received until the page was hydrated, in bytes on the wire."""
    size = 0
    for frame in frames:
        size += len(frame.encode())
        if HYDRATED.search(frame):
            return size
    raise AssertionError("the page was never hydrated")


def _redirects(frames: list[str]) -> list[str]:
    return [
        str(event["payload"].get("path"))
        for update in updates(frames)
        for event in update.get("events", [])
        if event.get("name") == "_redirect"
    ]


async def _opened(base: str, path: str, cookie: str = "") -> tuple[list[str], QueryCounter]:
    """A new tab of the backend at `base` hydrating `path`: its frames, and the statements the
    backend sent meanwhile."""
    tab = RawTab(base)
    try:
        with QueryCounter() as statements:
            frames = await tab.connect(cookie=cookie, path=path, until=_hydrated)
    finally:
        await tab.close()
    return frames, statements


async def test_a_signed_in_page_load_looks_the_session_up_once(
    backend: str,  # noqa: F811
) -> None:
    _, token = await new_user("ana@example.com")
    for path in SIGNED_IN_PAGES:
        frames, statements = await _opened(backend, path, cookie=token)
        assert _hydrated(frames), path
        assert "ana@example.com" in "".join(frames), path  # the page was filled for her
        assert _redirects(frames) == [], path
        assert _session_lookups(statements) == 1, (path, statements.sent)
        assert _bytes_until_hydrated(frames) <= SIGNED_IN_BUDGET, path


@pytest.mark.parametrize(
    ("path", "statements_sent"),
    # The session; the role switch; the shell's banners; the page's reads (/analytics: accounts, read
    # once for the cards and the dashboard's picker, proposals, the dashboard's figures, notes, tracked
    # links; /home: its figures; /settings: the account, its connections, export and deletion).
    # /plan: its watcher starts at once and reads the week again in its own transaction (catching up
    # with what changed before it listened), as the page is hydrated: only the page load's events are
    # checked. A generation's page: it, its outputs, its posts; a post's: it, its snapshots, its
    # notes, its generation.
    [
        ("/studio", 4),
        ("/library", 5),
        ("/analytics", 8),
        ("/home", 9),
        ("/settings", 7),
        ("/plan", None),
        ("/library/{generation}", 7),
        ("/analytics/post/{post}", 9),
        # What works: the shell's transaction, then the figures' own two (their row claimed: read,
        # insert; then computed: work_mem, the figures, kept).
        ("/analytics/what-works", 10),
    ],
)
async def test_a_page_that_opens_itself_loads_in_one_event_and_one_transaction(
    backend: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    path: str,
    statements_sent: int | None,
) -> None:
    user_id, token = await new_user("ana@example.com")
    if "{generation}" in path:
        path = path.format(generation=await a_generation(user_id, datetime.now(UTC), "latte art at dawn"))
    if "{post}" in path:
        path = path.format(post=await a_post(user_id, datetime.now(UTC), "my latte art"))
    handled = _noting_events(monkeypatch)
    frames, statements = await _opened(backend, path, cookie=token)
    assert "ana@example.com" in "".join(frames) and _redirects(frames) == []
    shown = {"/library/": "latte art at dawn", "/analytics/post/": "my latte art"}  # the page's own row
    assert all(text in "".join(frames) for start, text in shown.items() if path.startswith(start))
    assert [name for name in handled if name != "watch"] == ONE_LOAD, handled
    assert _session_lookups(statements) == 1, statements.sent
    if statements_sent is not None:
        transactions = 3 if path == "/analytics/what-works" else 1
        assert sum(ROLE_SWITCH in statement for statement in statements.sent) == transactions, statements.sent
        assert len(statements.sent) == statements_sent, statements.sent


ADMIN_PAGES = ["/admin", "/admin/users", "/admin/users/{member}", "/admin/jobs", "/admin/waitlist",
               "/admin/inbox", "/admin/outbox", "/admin/audit"]  # fmt: skip


@pytest.mark.parametrize("path", ADMIN_PAGES)
async def test_an_admin_page_loads_in_one_event_its_reads_the_services(
    backend: str,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    path: str,
) -> None:
    admin = await make_user("ana@example.com", admin=True)
    member = await make_user("bo@example.com")
    path = path.format(member=member.id)
    handled = _noting_events(monkeypatch)
    frames, statements = await _opened(backend, path, cookie=await session_token(admin.id))
    assert "ana@example.com" in "".join(frames) and _redirects(frames) == []
    if path != "/admin":  # the users' list and a user's page show the member
        assert ("bo@example.com" in "".join(frames)) == path.startswith("/admin/users"), path
    assert [name for name in handled if name != "watch"] == ONE_LOAD, handled
    assert _session_lookups(statements) == 1, statements.sent
    # The shell's transaction is the only one as the admin: the page's reads are the service's own.
    assert sum(ROLE_SWITCH in statement for statement in statements.sent) == 1, statements.sent


async def test_a_visitors_page_load_asks_the_database_nothing_and_stays_small(
    backend: str,  # noqa: F811
) -> None:
    for path in ("/", "/login", "/signup"):
        frames, statements = await _opened(backend, path)
        assert _redirects(frames) == [], path
        assert statements.sent == [], path  # no cookie: no session to look up, no page data
        assert _bytes_until_hydrated(frames) <= ANONYMOUS_BUDGET, path


async def test_a_navigation_looks_the_session_up_once_and_the_next_after_a_log_out_is_refused(
    backend: str,  # noqa: F811
) -> None:
    _, token = await new_user("ana@example.com")
    tab = RawTab(backend)
    try:
        await tab.connect(cookie=token, path="/home", until=_hydrated)
        with QueryCounter() as statements:
            opened = await tab.send(NAVIGATION, path="/studio", until=_hydrated)
        await accounts.log_out(token)  # another tab of hers logs out
        refused = await tab.send(NAVIGATION, path="/library", until=lambda got: bool(_redirects(got)))
    finally:
        await tab.close()
    assert _hydrated(opened) and _redirects(opened) == []
    assert _session_lookups(statements) == 1, statements.sent
    # The next page load looks again: each of its loads refuses, and nothing of hers is sent.
    assert set(_redirects(refused)) == {"/login"}
    assert "ana@example.com" not in "".join(refused)


async def test_the_studio_reads_the_best_posts_only_when_writing_like_them_is_ticked(database: str) -> None:
    _, token = await new_user("ana@example.com")
    async with Tab(cookie=token, path="/studio") as tab:
        with QueryCounter() as loading:
            await tab.call(StudioState.load)
        assert (await tab.state(StudioState)).best_posts_said == ""
        ticked = await tab.call(StudioState.set_option, name="learn_from_best", value=True)
        shown = (await tab.state(StudioState)).best_posts_said
        with QueryCounter() as reloading:
            await tab.call(StudioState.load)  # the box stays ticked: the sentence is read again
    assert not any("metric_snapshots" in statement for statement in loading.sent)
    assert ticked.redirects == []
    assert shown.startswith("Uses the captions of your top connected posts.")
    assert any("metric_snapshots" in statement for statement in reloading.sent)


async def _claimed_while(loading: asyncio.Task, user_id) -> bool:
    """Whether another connection sees the creator's figures row while the page is still loading."""
    for _ in range(100):
        async with db.service_read() as session:
            claimed = (
                await session.exec(
                    sa.text("SELECT count(*) FROM what_works_figures WHERE user_id = :user_id"),
                    params={"user_id": user_id},
                )
            ).scalar_one()
        if claimed:
            return not loading.done()
        if loading.done():
            return False
        await asyncio.sleep(0.05)
    return False


async def test_what_works_commits_its_figures_row_before_its_page_has_loaded(database: str) -> None:
    # The row counts the changes to the figures' inputs from the moment they are read on: it has
    # to be there for a change committed while the page computes them, not only once it is loaded.
    user_id, token = await new_user("ana@example.com")
    await a_post_seen(user_id, 999)
    async with Tab(cookie=token, path="/analytics/what-works") as tab:
        # The figures read the snapshots: while another transaction holds them, the page waits there.
        async with db.service_session() as holding:
            await holding.exec(sa.text("LOCK TABLE metric_snapshots IN ACCESS EXCLUSIVE MODE"))
            loading = asyncio.create_task(tab.call(WhatWorksState.load))
            claimed = await _claimed_while(loading, user_id)
        loaded = await loading
        shown = await tab.state(WhatWorksState)
    assert claimed
    assert loaded.redirects == []
    assert shown.loaded and shown.baseline.posts == "1 post"
