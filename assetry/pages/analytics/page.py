"""The analytics page: connected accounts, the dashboard, tracked posts and notes."""

from __future__ import annotations

import reflex as rx

from assetry.components import charts
from assetry.components.layout import app_page
from assetry.components.placeholder import block, until_loaded
from assetry.pages.analytics.connections import ConnectionsState, connections_section
from assetry.pages.analytics.dashboard import TOTALS_COLUMNS, DashboardState, dashboard_section
from assetry.pages.analytics.notes import NotesState, notes_section
from assetry.pages.analytics.proposals import ProposalsState, proposals_section
from assetry.pages.analytics.tracked import TrackedState, tracked_section

# Every section has its data: the page is drawn once, all of it.
LOADED = (
    ConnectionsState.loaded
    & ProposalsState.loaded
    & DashboardState.loaded
    & NotesState.loaded
    & TrackedState.loaded
)


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
                LOADED,
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
