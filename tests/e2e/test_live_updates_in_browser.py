"""The studio follows a generation by pushed changes alone, in Chromium.

Generate shows "Running" and then the result card without the page asking again on a timer:
the browser sends nothing after the click but the Generate event, and while
the video renders the server sends no statement for the page (the app under test counts the
statements it sends for pages, not for jobs: COUNT_STATEMENTS, /health/statements).
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocket, expect

from tests.e2e.browser import sign_up, toast, visit, watch_for
from tests.e2e.worker import results_held_back

pytestmark = pytest.mark.e2e

JOB_TIMEOUT_MS = 45_000
IDLE_SECONDS = 1.5  # a page polling each second shows here
PROMPT = "A paper boat drifting down a rainy gutter"


def _statements(base_url: str) -> int:
    with urllib.request.urlopen(f"{base_url}/health/statements", timeout=5) as reply:
        return json.loads(reply.read())["statements"]


def _events_sent(sent: list[str]) -> list[str]:
    """The names of the Reflex events among the websocket frames the browser sent."""
    names = []
    for frame in sent:
        if frame.startswith("42/_event,"):
            name, *args = json.loads(frame[len("42/_event,") :])
            if name == "event" and args:
                names.append(args[0]["name"].rsplit(".", 1)[-1])
    return names


def test_generate_shows_running_then_the_result_pushed_without_polling(
    page: Page, base_url: str, server_data_dir: Path
) -> None:
    sent: list[str] = []

    def on_websocket(socket: WebSocket) -> None:
        socket.on("framesent", lambda payload: sent.append(str(payload)))

    page.on("websocket", on_websocket)
    sign_up(page)
    visit(page, "/studio")
    page.get_by_role("radio", name="Video").click()
    page.get_by_label("Prompt", exact=True).fill(PROMPT)
    expect(page.get_by_text(f"{len(PROMPT)} / 2,000")).to_be_visible()
    page.get_by_role("combobox", name="Length (seconds)").click()
    page.get_by_role("option", name="8", exact=True).click()
    expect(page.locator("#quote")).to_have_text("Costs free · usually takes ~8 s")

    running = watch_for(
        page,
        f"""[...document.querySelectorAll(".in-progress")]
            .some(row => row.textContent.includes({PROMPT!r}) && /Running · \\d+ s/.test(row.textContent))""",
        what='the row saying "Running"',
    )
    before_click = len(sent)
    # The video renders now, and stays "Running" until the test lets its results be saved (a fast
    # machine renders 8 s in less than the idle moment). The page sleeps until the worker says it
    # is done: no statement, no event. (Each change pushed before this moment has been read
    # already: the last one, "running", is what put "Running" on the screen.)
    with results_held_back(server_data_dir):
        page.locator("#generate").click()
        running.expect_seen(timeout_ms=JOB_TIMEOUT_MS)
        page.wait_for_timeout(500)
        asked = _statements(base_url)
        sent_then = len(sent)
        page.wait_for_timeout(IDLE_SECONDS * 1000)
        idle_statements = _statements(base_url) - asked
        row = page.locator(".in-progress").filter(has_text=PROMPT)
        expect(row).to_contain_text(re.compile(r"Running · \d+ s"), timeout=1)
    assert idle_statements == 0, f"the page queried the database {idle_statements} times while it waited"
    assert _events_sent(sent[sent_then:]) == [], "the browser asked the server again while it waited"

    card = page.locator(".generation-card").filter(has_text=PROMPT)
    expect(card).to_contain_text("Done", timeout=JOB_TIMEOUT_MS)
    expect(toast(page, "Your video is ready.")).to_be_visible()
    expect(row).to_have_count(0)
    # From the click to the card, the browser sent the Generate event, nothing more (the watcher
    # it starts is chained on the server, and nothing on a timer).
    assert _events_sent(sent[before_click:]) == ["generate"]

    # And once it is all done, an open studio costs nothing at all.
    asked, sent_then = _statements(base_url), len(sent)
    started = time.monotonic()
    page.wait_for_timeout(IDLE_SECONDS * 1000)
    assert time.monotonic() - started >= IDLE_SECONDS
    assert _statements(base_url) - asked == 0
    assert _events_sent(sent[sent_then:]) == []
    expect(card.locator("video")).to_have_count(1)
    assert re.search(r"/media/", card.locator("video").get_attribute("src") or "")
