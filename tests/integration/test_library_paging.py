"""Library paging: every generation once, in order, also when many share a creation time.

The service pages by keyset (created_at, id), down and up; the page state puts each new page
on a shelf of its own, so a "Load more" sends the browser that shelf and not every card shown
so far, and keeps a window of SHELVES pages: scrolling on lets the first go, "Show newer"
brings it back.
"""

from __future__ import annotations

import base64
import dataclasses
import uuid
from datetime import timedelta

import pytest

from assetry import db, security
from assetry.config import get_settings
from assetry.models import Generation
from assetry.models.base import utcnow
from assetry.pages.library import PAGE_SIZE, SHELVES, LibraryState
from assetry.services import covers, media, studio
from tests.browserless import Tab
from tests.integration.test_studio import image, new_user, run_all
from tests.integration.test_watching import QueryCounter


async def _library_of(user_id: uuid.UUID, count: int) -> list[Generation]:
    """`count` generations in runs of seven sharing one creation time; every third a caption about a cat."""
    moment = utcnow().replace(microsecond=0)
    rows = [
        Generation(
            user_id=user_id,
            kind="caption" if n % 3 == 0 else "image",
            prompt=f"{'a cat' if n % 3 == 0 else 'a dog'} number {n}",
            provider="offline",
            model="preview",
            status="succeeded",
            created_at=moment - timedelta(minutes=n // 7),
        )
        for n in range(count)
    ]
    async with db.service_session() as session:
        session.add_all(rows)
    return rows


def _newest_first(rows: list[Generation]) -> list[uuid.UUID]:
    """The order the library promises: newest first, then by id (descending) among equals."""
    return [row.id for row in sorted(rows, key=lambda row: (row.created_at, str(row.id)), reverse=True)]


async def _every_page(user_id: uuid.UUID, size: int, **filters) -> list[list[uuid.UUID]]:
    pages, after = [], None
    while True:
        page = (await studio.library(user_id, limit=size, after=after, **filters)).generations
        if not page:
            return pages
        pages.append([row.id for row in page])
        after = studio.LibraryCursor.below(page[-1])


@pytest.mark.parametrize(
    ("filters", "keep"),
    [
        ({}, lambda row: True),
        ({"kind": "caption"}, lambda row: row.kind == "caption"),
        ({"search": "cat"}, lambda row: "cat" in row.prompt),
        ({"search": "dog", "kind": "image"}, lambda row: row.kind == "image"),
    ],
    ids=["all", "kind", "search", "search-and-kind"],
)
async def test_pages_hold_each_generation_once_in_order_across_ties(database: str, filters, keep) -> None:
    user_id, _ = await new_user("ana@example.com")
    rows = await _library_of(user_id, 40)
    other_id, _ = await new_user("theo@example.com")
    await _library_of(other_id, 10)
    expected = _newest_first([row for row in rows if keep(row)])

    for size in (1, 3, 7, 50):  # 3 splits every run of ties; 7 lands on their edges
        pages = await _every_page(user_id, size, **filters)
        assert [id_ for page in pages for id_ in page] == expected, f"pages of {size}"
        assert all(len(page) == size for page in pages[:-1])
    assert (await studio.library(user_id, **filters)).total == len(expected)


async def _shelves(tab: Tab) -> list[list[str]]:
    """The cards on each shelf, shelves in the order the page draws them (by the page each holds)."""
    page = await tab.state(LibraryState)
    order = sorted(range(SHELVES), key=lambda n: page.shelf_pages[n])
    return [[card.id for card in getattr(page, f"shelf_{n}")] for n in order]


def _sent(outcome) -> dict:
    return {
        name: value
        for delta in outcome.deltas
        for changes in delta.values()
        for name, value in changes.items()
    }


async def test_load_more_sends_only_the_new_page_and_shows_every_card_once(database: str) -> None:
    count = PAGE_SIZE * 2 + 5  # more than two shelves, the last page short
    user_id, token = await new_user("ana@example.com")
    expected = [str(id_) for id_ in _newest_first(await _library_of(user_id, count))]

    async with Tab(cookie=token, path="/library") as tab:
        await tab.call(LibraryState.load)
        presses = []
        while (await tab.state(LibraryState)).more:
            presses.append(await tab.call(LibraryState.load_more))
        page = await tab.state(LibraryState)
        shown = (page.shown, page.total, page.summary)
        shelves = await _shelves(tab)
        await tab.call(LibraryState.set_filter, name="kind", value="caption")
        captions = await tab.state(LibraryState)
        caption_shelves = await _shelves(tab)

    assert [card for shelf in shelves for card in shelf] == expected
    assert shown == (count, count, f"Showing {count:,} of {count:,}")
    assert [len(shelf) for shelf in shelves[:3]] == [PAGE_SIZE] * 2 + [5]
    assert len(presses) == 2
    for press in presses:
        sent = _sent(press)
        cards = [value for name, value in sent.items() if name.startswith("shelf_") and "pages" not in name]
        assert len(cards) == 1, f"one shelf per press, got {sorted(sent)}"
        assert len(cards[0]) <= PAGE_SIZE
    # A filter starts again from the first shelf, with only what matches.
    wanted = count // 3 + 1
    assert (captions.shown, captions.total) == (min(wanted, PAGE_SIZE), wanted)
    assert [len(shelf) for shelf in caption_shelves] == [min(wanted, PAGE_SIZE)] + [0] * (SHELVES - 1)


async def test_a_generation_made_after_the_first_page_does_not_repeat_or_hang_load_more(
    database: str,
) -> None:
    user_id, token = await new_user("ana@example.com")
    expected = [str(id_) for id_ in _newest_first(await _library_of(user_id, PAGE_SIZE + 3))]
    async with Tab(cookie=token, path="/library") as tab:
        await tab.call(LibraryState.load)
        await _library_of(user_id, 1)  # newer than everything shown: it waits for the next load
        await tab.call(LibraryState.load_more)
        page = await tab.state(LibraryState)
        shelves = await _shelves(tab)
    assert [card for shelf in shelves for card in shelf] == expected
    # The total is what the first page counted: the new one shows on top at the next load.
    assert (page.shown, page.total, page.more) == (PAGE_SIZE + 3, PAGE_SIZE + 3, False)


async def test_a_long_library_keeps_a_window_of_pages_and_shows_newer_ones_again(database: str) -> None:
    pages = SHELVES + 3
    user_id, token = await new_user("ana@example.com")
    expected = [str(id_) for id_ in _newest_first(await _library_of(user_id, PAGE_SIZE * pages))]
    at_page = [expected[n * PAGE_SIZE : (n + 1) * PAGE_SIZE] for n in range(pages)]

    async with Tab(cookie=token, path="/library") as tab:
        await tab.call(LibraryState.load)
        presses = [await tab.call(LibraryState.load_more) for _ in range(pages - 1)]
        bottom = await tab.state(LibraryState)
        at_bottom = (bottom.shown, bottom.more, bottom.newer, bottom.summary)
        window = await _shelves(tab)
        up = await tab.call(LibraryState.show_newer)
        after_up = await _shelves(tab)
        raised = await tab.state(LibraryState)
        raised_flags = (raised.shown, raised.more, raised.newer)
        for _ in range(pages):  # back to the top, and a press too many does nothing
            await tab.call(LibraryState.show_newer)
        top = await _shelves(tab)
        await tab.call(LibraryState.load_more)
        again = await _shelves(tab)

    # At the end: the last SHELVES pages, in order; the first ones let go.
    assert window == at_page[pages - SHELVES :]
    first_shown = PAGE_SIZE * (pages - SHELVES) + 1
    summary = f"Showing {first_shown}–{PAGE_SIZE * pages} of {PAGE_SIZE * pages}"
    assert at_bottom == (PAGE_SIZE * pages, False, True, summary)
    for press in presses:  # each press past the window still sends one shelf only
        assert len([name for name in _sent(press) if name.startswith("shelf_") and "pages" not in name]) == 1
    # Show newer: the page above comes back first, the last one goes.
    assert after_up == at_page[pages - SHELVES - 1 : pages - 1]
    assert raised_flags == (PAGE_SIZE * (pages - 1), True, True)
    assert len([name for name in _sent(up) if name.startswith("shelf_") and "pages" not in name]) == 1
    assert top == at_page[:SHELVES]
    assert again == at_page[1 : SHELVES + 1]


async def test_a_page_turn_and_a_search_send_a_few_statements_whatever_the_library_holds(
    database: str,
) -> None:
    sent = []
    for email, size in (("ana@example.com", PAGE_SIZE * 3 + 1), ("theo@example.com", PAGE_SIZE * 12)):
        user_id, token = await new_user(email)
        await _library_of(user_id, size)  # a cat in every third: a search of more than a page
        async with Tab(cookie=token, path="/library") as tab:
            await tab.call(LibraryState.load)
            with QueryCounter() as turn:
                await tab.call(LibraryState.load_more)
            with QueryCounter() as search:
                await tab.call(LibraryState.set_filter, name="search", value="cat")
            with QueryCounter() as search_turn:
                await tab.call(LibraryState.load_more)
            shown = (await tab.state(LibraryState)).shown
        assert shown > PAGE_SIZE  # the search turned a page too
        sent.append((turn.count, search.count, search_turn.count))
    # The session's user, then one transaction: its role, the page and the page's covers; a
    # new search also counts what matches and the whole library, once (a page turn counts
    # nothing: what it can reach was counted with the first page).
    assert sent == [(4, 6, 4)] * 2


async def test_a_card_brings_its_cover_inside_the_page_and_no_link(database: str) -> None:
    user_id, token = await new_user("ana@example.com")
    started = await studio.start(user_id, image("two kites", count=2), client_request_id="k")
    await run_all()
    async with Tab(cookie=token, path="/library") as tab:
        await tab.call(LibraryState.load)
        [shown] = (await tab.state(LibraryState)).shelf_0
    first = (await studio.outputs_of(user_id, [started.id]))[0]

    assert (shown.id, shown.prompt, shown.cover_kind) == (str(started.id), "two kites", "image")
    # The first file's small cover, in the page itself: the browser asks the server for no file.
    prefix = f"data:{covers.CONTENT_TYPE};base64,"
    assert shown.cover_url.startswith(prefix)
    cover = b"".join([chunk async for chunk in media.store().stream(covers.key_of(first.storage_key))])
    assert base64.b64decode(shown.cover_url.removeprefix(prefix)) == cover
    # No output's link: the generation's own page lists them (and their downloads).
    assert "/media/" not in str(dataclasses.asdict(shown))


async def test_a_file_without_a_cover_is_shown_through_its_signed_link(database: str) -> None:
    user_id, token = await new_user("ana@example.com")
    started = await studio.start(user_id, image("two kites", count=2), client_request_id="k")
    await run_all()
    first = (await studio.outputs_of(user_id, [started.id]))[0]
    await media.store().delete(covers.key_of(first.storage_key))  # as saved before covers were made
    async with Tab(cookie=token, path="/library") as tab:
        await tab.call(LibraryState.load)
        [shown] = (await tab.state(LibraryState)).shelf_0

    # The cover is the first file's signed link (signed again each time: the fields, not the text).
    signed = security.read_media_token(
        media.signing_secret(get_settings()), shown.cover_url.removeprefix("/media/")
    )
    assert signed is not None and (signed["k"], signed["d"]) == (first.storage_key, 0)
    assert str(dataclasses.asdict(shown)).count("/media/") == 1
