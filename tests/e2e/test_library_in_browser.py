"""A long library in the browser: scrolling loads the next page as the end comes near, the page
keeps a window of SHELVES pages of cards, and "Show newer" brings the ones above back.

The creator's generations are written straight into the server's database (captions without
outputs: a card shows the prompt and an icon), a minute apart, "Scroll 1" the newest.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import Page, expect

from assetry.local_postgres import LocalPostgres
from assetry.pages.library import PAGE_SIZE, SHELVES
from tests.e2e.browser import sign_up, visit

pytestmark = pytest.mark.e2e

PAGES = SHELVES + 2
COUNT = PAGE_SIZE * PAGES + 5  # the last page short


def _library_of(data_dir: Path, email: str) -> None:
    with psycopg.connect(LocalPostgres(data_dir).url()) as connection:
        connection.execute(
            "INSERT INTO generations (id, user_id, kind, prompt, options, provider, model, cost_usd,"
            " status, phase, error, created_at)"
            " SELECT gen_random_uuid(), users.id, 'caption', 'Scroll ' || n, '{}', 'offline', 'preview',"
            " 0, 'succeeded', '', '', now() - n * interval '1 minute'"
            " FROM users, generate_series(1, %s) AS n WHERE users.email = %s",
            (COUNT, email),
        )


def _cards(page: Page) -> list[int]:
    """The number of each card in the page, as drawn: by rows, then left to right (shelves are
    placed by CSS order, so the document's order is not the one on screen)."""
    placed = page.locator(".generation-card").evaluate_all(
        """cards => cards.map(card => {
            const box = card.getBoundingClientRect();
            return [box.top + window.scrollY, box.left, Number(card.textContent.match(/Scroll (\\d+)/)[1])];
        })"""
    )
    return [n for _, _, n in sorted(placed)]


def _shown(page: Page) -> int:
    said = page.locator("#library-summary").text_content() or ""
    return int(re.search(r"([\d,]+) of ", said).group(1).replace(",", ""))


def test_scrolling_to_the_end_shows_each_generation_once_in_a_window_of_pages(
    page: Page, server_data_dir: Path
) -> None:
    _library_of(server_data_dir, sign_up(page))
    visit(page, "/library")
    expect(page.locator("#library-summary")).to_have_text(f"Showing {PAGE_SIZE} of {COUNT}")

    seen: list[int] = []
    while (shown := _shown(page)) < COUNT:
        cards = _cards(page)
        assert cards == list(range(cards[0], cards[0] + len(cards))), "a window of cards in order"
        assert len(cards) <= SHELVES * PAGE_SIZE
        seen += [n for n in cards if n > (seen[-1] if seen else 0)]
        # The end comes near: the next page loads by itself.
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        expect(page.locator("#library-summary")).not_to_have_text(re.compile(rf"[ –]{shown:,} of "))
    cards = _cards(page)
    seen += [n for n in cards if n > seen[-1]]
    assert seen == list(range(1, COUNT + 1))
    # At the end: the last SHELVES pages, in order, and no more to load.
    first = PAGE_SIZE * (PAGES + 1 - SHELVES) + 1
    assert cards == list(range(first, COUNT + 1))
    expect(page.locator("#library-summary")).to_have_text(f"Showing {first:,}–{COUNT:,} of {COUNT:,}")
    expect(page.get_by_role("button", name="Load more")).to_have_count(0)

    # Show newer: the page above the window comes back on top, and the last one goes.
    page.get_by_role("button", name="Show newer").click()
    top, end = first - PAGE_SIZE, first + PAGE_SIZE * (SHELVES - 1) - 1
    expect(page.locator("#library-summary")).to_have_text(f"Showing {top:,}–{end:,} of {COUNT:,}")
    assert _cards(page) == list(range(top, end + 1))
