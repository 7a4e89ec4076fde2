"""The analytics page: connected accounts, the dashboard, tracked posts and notes."""

from __future__ import annotations

from typing import ClassVar

import reflex as rx

from assetry.components import charts
from assetry.components.layout import app_page
from assetry.components.placeholder import block, until_loaded
from assetry.models import User
from assetry.pages.analytics.connections import ConnectionsState, connections_section
from assetry.pages.analytics.dashboard import TOTALS_COLUMNS, DashboardState, dashboard_section
from assetry.pages.analytics.notes import NotesState, notes_section
from assetry.pages.analytics.proposals import ProposalsState, proposals_section
from assetry.pages.analytics.tracked import TrackedState, tracked_section
from assetry.services import connections
from assetry.state.page_local import PageLocal
from assetry.state.session import open_page


class AnalyticsState(PageLocal, rx.State):
    """The page's one on_load: the session check, the app shell and every section's reads in one
    event and one transaction (each section's own `load` refreshes it alone later)."""

    # A ClassVar (else Reflex makes it a backend var): PageLocal reads it from the class.
    _fills: ClassVar[tuple[type[PageLocal], ...]] = (
        ConnectionsState,
        ProposalsState,
        DashboardState,
        NotesState,
        TrackedState,
    )
    loaded: bool = False  # till then the page shows its skeleton; then it is drawn once, all of it

    @rx.event
    async def load(self):
        return await open_page(self, self._open)

    async def _open(self, user: User) -> list[rx.event.EventType]:
        # The accounts, read once: the connections' cards and the dashboard's account picker.
        found = await connections.accounts_and_syncs(user.id)
        follow = [
            await (await self.get_state(ConnectionsState))._open(user, found),
            await (await self.get_state(ProposalsState))._open(user),
            await (await self.get_state(DashboardState))._open(user, [account for account, _ in found]),
            await (await self.get_state(NotesState))._open(user),
            await (await self.get_state(TrackedState))._open(user),
        ]
        self.loaded = True
        return [event for event in follow if event is not None]


def _skeleton() -> rx.Component:
    """The page's shape while its data is on the way: an account, the totals, the chart, top posts."""
    return rx.vstack(
        block(rx.breakpoints(initial="8rem", sm="4.5rem")),
        block("2rem", max_width="20rem"),
        block("2rem", max_width="32rem"),
        rx.grid(
            *[block(rx.breakpoints(initial="7.5rem", sm="6rem")) for _ in range(7)],
            columns=TOTALS_COLUMNS,
            spacing="3",
            width="100%",
        ),
        block(f"calc({charts.SERIES_HEIGHT}px + 4rem)"),
        block("24rem"),
        spacing="5",
        width="100%",
    )


def analytics_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.hstack(
                rx.heading("Analytics", size="7"),
                rx.link(
                    rx.button(rx.icon("trending-up", size=16), "What works", variant="soft"),
                    href="/analytics/what-works",
                ),
                justify="between",
                align="center",
                width="100%",
            ),
            until_loaded(
                AnalyticsState.loaded,
                rx.vstack(
                    connections_section(),
                    proposals_section(),
                    dashboard_section(),
                    tracked_section(),
                    notes_section(),
                    spacing="5",
                    width="100%",
                ),
                _skeleton(),
            ),
            spacing="5",
            width="100%",
        )
    )
