"""Home: where a signed-in creator lands."""

from __future__ import annotations

import reflex as rx

from assetry.components.layout import app_page
from assetry.state.session import SessionState


def home() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.heading("Welcome, ", SessionState.user_name, size="7"),
            rx.text(
                "Your account is ready. Here is what you can do today.",
                color_scheme="gray",
                size="3",
            ),
            rx.grid(
                rx.card(
                    rx.vstack(
                        rx.icon("user-round", size=22),
                        rx.heading("Settings", size="4", as_="h2"),
                        rx.text(
                            "Your profile, password, sessions, data export and account deletion.",
                            color_scheme="gray",
                        ),
                        rx.link("Open settings", href="/settings"),
                        spacing="2",
                    )
                ),
                rx.card(
                    rx.vstack(
                        rx.icon("life-buoy", size=22),
                        rx.heading("Need a hand?", size="4", as_="h2"),
                        rx.text("Write to the team; we read every message.", color_scheme="gray"),
                        rx.link("Contact support", href="/support"),
                        spacing="2",
                    )
                ),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="4",
                width="100%",
            ),
            spacing="5",
            width="100%",
        )
    )
