"""Events a page would never send, over a bare websocket: malformed arguments and oversized frames.

Both are bad input: the sender gets a plain message, nothing is apologised for as our
failure, nothing is logged as an error, and the connection stays usable.
"""

from __future__ import annotations

import json
import logging

import pytest

from assetry.config import get_settings
from assetry.pages.analytics.notes import NotesState
from assetry.pages.settings import SettingsState
from assetry.pages.studio import StudioState
from assetry.state.errors import NOT_UNDERSTOOD
from assetry.state.frames import too_large_message
from tests.raw_socket import RawTab, creator, toasts

OUR_FAILURE = "Something went wrong on our side"


async def signed_in_tab(backend: str, path: str) -> RawTab:
    tab = RawTab(backend)
    await tab.connect(cookie=(await creator("Amber", "Amber-Lantern-71")).token, path=path)
    return tab


async def still_answers(tab: RawTab) -> bool:
    """Whether a normal event still gets its answer on this socket (the studio's prompt box echoes what was typed)."""
    typed = "still answering"
    frames = await tab.send(StudioState.set_prompt, {"text": typed}, until=lambda got: typed in "".join(got))
    return any(typed in frame for frame in frames)


@pytest.mark.parametrize(
    ("handler", "payload"),
    [
        (SettingsState.save_profile, {}),  # missing
        (SettingsState.save_profile, {"form": "display_name=Mallory"}),  # a string for a dict
        (SettingsState.save_profile, {"form": {}, "admin": True}),  # an argument it does not take
        (NotesState.edit, {"note_id": 42}),  # a number for a string
        (NotesState.edit, {"note_id": ["a", "b"]}),  # a list for a string
        (SettingsState.set_usage_opt_out, {"value": {"on": True}}),  # a dict for a bool
        (SettingsState.save_profile, ["form"]),  # arguments without names
    ],
    ids=["missing", "str-for-dict", "unknown", "int-for-str", "list-for-str", "dict-for-bool", "unnamed"],
)
async def test_arguments_that_do_not_fit_are_bad_input(
    backend: str, caplog: pytest.LogCaptureFixture, handler, payload
) -> None:
    tab = await signed_in_tab(backend, "/settings")
    with caplog.at_level(logging.INFO):
        frames = await tab.send(handler, payload, path="/settings")
    assert [NOT_UNDERSTOOD in toast for toast in toasts(frames)] == [True]
    assert OUR_FAILURE not in "".join(frames)
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert any(r.levelno == logging.INFO and "refused" in r.getMessage() for r in caplog.records)
    assert await still_answers(tab)
    await tab.close()


async def test_arguments_that_fit_still_reach_the_handler(backend: str) -> None:
    tab = await signed_in_tab(backend, "/settings")
    form = {"display_name": "Amber Renamed", "time_zone": "Europe/Paris"}
    # Read until the answer is in (a busy machine can pause longer than `read`'s quiet spell between frames).
    frames = await tab.send(
        SettingsState.save_profile,
        {"form": form},
        path="/settings",
        until=lambda got: "Amber Renamed" in "".join(got),
    )
    await tab.close()
    assert "Amber Renamed" in "".join(frames)
    assert toasts(frames) == []


async def test_an_oversized_event_is_refused_with_a_message_and_the_socket_stays(
    backend: str, caplog: pytest.LogCaptureFixture
) -> None:
    tab = RawTab(backend)
    await tab.connect(path="/")
    huge = {"name": "x", "payload": {"form": {"body": "x" * 1_000_000}}, "router_data": {}}
    with caplog.at_level(logging.INFO):
        frames = await tab.send_raw(json.dumps(["event", huge]))
    assert tab.is_open
    assert toasts(frames) and too_large_message(get_settings().event_max_bytes) in toasts(frames)[0]
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert await still_answers(tab)
    await tab.close()


async def test_a_normal_event_is_handled(backend: str) -> None:
    tab = await signed_in_tab(backend, "/analytics")
    body = "y" * 1000
    frames = await tab.send(
        NotesState.add,
        {"form": {"day": "2026-01-05", "body": body}},
        path="/analytics",
        until=lambda got: body in "".join(got),
    )
    await tab.close()
    assert body in "".join(frames)
