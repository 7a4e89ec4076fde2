"""The analytics page: connected accounts, the dashboard, tracked posts and notes."""

from __future__ import annotations

import reflex as rx

from assetry.components.layout import app_page
from assetry.pages.analytics.connections import connections_section
from assetry.pages.analytics.dashboard import dashboard_section
from assetry.pages.analytics.notes import notes_section
from assetry.pages.analytics.proposals import proposals_section
from assetry.pages.analytics.tracked import tracked_section


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
            connections_section(),
            proposals_section(),
            dashboard_section(),
            tracked_section(),
            notes_section(),
            spacing="5",
            width="100%",
        )
    )
