"""What a (re)connecting websocket is sent: only what the page on screen shows.

A hydrate here is the snapshot Reflex's own `hydrate_and_load` sends when a tab's websocket
connects without the compiled defaults' hashes, as every reconnect does (a phone waking a
tab): measured in bytes of the JSON the browser receives.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import reflex as rx
from reflex_base.registry import RegistrationContext
from reflex_base.utils import format

import assetry.assetry  # noqa: F401  (registers every page and so every state class)
from assetry.pages.admin.overview import AdminOverviewState
from assetry.pages.analytics.dashboard import DashboardState
from assetry.state.page_local import PageLocal
from assetry.state.session import user_state_classes
from tests.admin_people import make_user, session_token
from tests.browserless import Tab

ANONYMOUS_BUDGET = 5_000
SIGNED_IN_BUDGET = 15_000
FIELD = "_rx_state_"
# Each signed-in page of the menu, and the figures its own snapshot may carry.
SIGNED_IN_PAGES = {
    "/home": [],
    "/studio": [],
    "/library": [],
    "/plan": [],
    "/settings": [],
    "/analytics": ["dashboard_state.series_figure"],
}


def _size(deltas: list[dict]) -> int:
    return sum(len(format.json_dumps(delta).encode()) for delta in deltas)


def _figures(deltas: list[dict]) -> list[str]:
    """The vars that carry a plotly figure (a dict with its traces and layout)."""
    return [
        f"{state.rpartition('____')[2]}.{name.removesuffix(FIELD)}"
        for delta in deltas
        for state, values in json.loads(format.json_dumps(delta)).items()
        for name, value in values.items()
        if isinstance(value, dict) and {"data", "layout"} <= value.keys()
    ]


def _state_vars(deltas: list[dict], state_cls: type[rx.State]) -> dict[str, Any]:
    return {
        name.removesuffix(FIELD): value
        for delta in deltas
        for name, value in delta.get(state_cls.get_full_name(), {}).items()
    }


async def _hydrate(tab: Tab, path: str) -> list[dict]:
    tab.path = path
    return (await tab.call(rx.State.hydrate_and_load)).deltas


def _page_local_states_sent(deltas: list[dict]) -> list[str]:
    """The page-local states (`PageLocal`) a snapshot carries."""
    sent = {name for delta in deltas for name in delta}
    return [
        cls.__name__
        for cls in user_state_classes()
        if issubclass(cls, PageLocal) and cls.get_full_name() in sent
    ]


async def test_an_anonymous_hydrate_is_small_and_carries_no_chart(database: str) -> None:
    for path in ("/", "/login", "/signup"):
        async with Tab() as tab:
            deltas = await _hydrate(tab, path)
        assert _figures(deltas) == [], path
        assert _page_local_states_sent(deltas) == [], path  # the analytics sections, the studio form…
        assert 0 < _size(deltas) <= ANONYMOUS_BUDGET, path


@pytest.mark.parametrize("path", SIGNED_IN_PAGES)
async def test_a_signed_in_page_woken_again_is_sent_within_budget(database: str, path: str) -> None:
    """A creator's page after its on_load ran, then the phone wakes the tab: the snapshot
    stays within the signed-in budget and carries no other page's figures."""
    creator = await make_user("maya@example.com")
    async with Tab(cookie=await session_token(creator.id), path=path) as tab:
        for event in RegistrationContext.get().app.get_load_events(path):
            outcome = await tab.call(getattr(event, "handler", event))
            assert outcome.redirects == [], (path, event)
        again = await _hydrate(tab, path)
    assert sorted(_figures(again)) == SIGNED_IN_PAGES[path]
    assert 0 < _size(again) <= SIGNED_IN_BUDGET, path


async def test_a_creator_gets_the_dashboard_charts_on_analytics_only(database: str) -> None:
    creator = await make_user("maya@example.com")
    async with Tab(cookie=await session_token(creator.id)) as tab:
        await _hydrate(tab, "/analytics")
        await tab.call(DashboardState.load)  # the page's on_load builds its charts
        again = await _hydrate(tab, "/analytics")  # the phone wakes the tab
        on_studio = await _hydrate(tab, "/studio")
    assert _figures(again) == ["dashboard_state.series_figure"]
    assert AdminOverviewState.get_full_name() not in again[0]
    assert _figures(on_studio) == []
    assert 0 < _size(on_studio) <= SIGNED_IN_BUDGET


async def test_back_on_its_page_a_left_out_state_is_sent_whole(database: str) -> None:
    """The browser may hold stale values of a state a hydrate left out: its page's load resends all of it."""
    creator = await make_user("maya@example.com")
    async with Tab(cookie=await session_token(creator.id), path="/analytics") as tab:
        await tab.call(DashboardState.load)
        await tab.call(DashboardState.set_preset, preset="7")
        await _hydrate(tab, "/studio")  # a reload of /studio: the browser holds the compiled defaults
        tab.path = "/analytics"  # then the creator opens Analytics in the same tab
        reloaded = await tab.call(DashboardState.load)
    shown = _state_vars(reloaded.deltas, DashboardState)
    assert shown["preset"] == "7"
    assert {"series_figure", "heatmap_rows", "totals", "account"} <= shown.keys()
