"""The landing page: what Assetry does, and the waitlist."""

from __future__ import annotations

import reflex as rx

from assetry.components.forms import form_message
from assetry.components.layout import public_page
from assetry.errors import BadInput, NotAllowed
from assetry.services import contact
from assetry.state.session import SessionState


class WaitlistState(rx.State):
    """The waitlist form."""

    error: str = ""
    notice: str = ""
    sending: bool = False

    @rx.event
    async def join(self, form: dict):
        self.error = self.notice = ""
        session = await self.get_state(SessionState)
        try:
            self.notice = await contact.join_waitlist(str(form.get("email", "")), session._client().ip)
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)


def _feature(icon: str, title: str, text: str) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.icon(icon, size=26, color=rx.color("accent", 10)),
            rx.heading(title, size="4", as_="h2"),
            rx.text(text, color_scheme="gray", size="3"),
            spacing="2",
        ),
        width="100%",
    )


def _waitlist_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.hstack(
                rx.input(
                    name="email",
                    type="email",
                    placeholder="you@example.com",
                    aria_label="Email for the waitlist",
                    max_length=254,
                    size="3",
                    width="100%",
                ),
                rx.button("Join the waitlist", type="submit", size="3"),
                width="100%",
                flex_direction=["column", "row"],
            ),
            form_message(WaitlistState.error, WaitlistState.notice),
            width="100%",
        ),
        on_submit=WaitlistState.join,
        reset_on_submit=False,
        width="100%",
        max_width="32rem",
    )


def landing() -> rx.Component:
    return public_page(
        rx.vstack(
            rx.badge("For short-form video creators", size="2", variant="soft"),
            rx.heading(
                "Make the video. See what it did. Make the next one better.",
                size=rx.breakpoints(initial="8", md="9"),
                weight="bold",
            ),
            rx.text(
                "Assetry turns a prompt into short videos, images and captions, and shows how your "
                "TikTok and Instagram posts really perform — in one place, with your accounts kept safe.",
                size="5",
                color_scheme="gray",
            ),
            _waitlist_form(),
            rx.text(
                "Already invited? ",
                rx.link("Create your account", href="/signup"),
                ".",
                size="2",
                color_scheme="gray",
            ),
            spacing="5",
            padding_y=["2rem", "4rem"],
            max_width="46rem",
        ),
        rx.grid(
            _feature(
                "sparkles",
                "Prompt studio",
                "Generate short videos, images and captions from a prompt, "
                "in the background while you keep working. Everything lands in your library.",
            ),
            _feature(
                "chart-line",
                "Real analytics",
                "Connect TikTok and Instagram to see views, likes, "
                "shares and saves over time, your top posts, and when your audience shows up.",
            ),
            _feature(
                "shield-check",
                "Your accounts, protected",
                "Tokens encrypted at rest, your rows "
                "walled off in the database, export or delete everything whenever you like.",
            ),
            columns=rx.breakpoints(initial="1", md="3"),
            spacing="4",
            width="100%",
            padding_bottom="3rem",
        ),
    )
