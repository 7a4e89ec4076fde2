"""The support form: anyone can write to the team; it lands in the admin inbox."""

from __future__ import annotations

import reflex as rx

from assetry.components.forms import field, form_message, text_area
from assetry.components.layout import public_page
from assetry.components.styles import FORM_WIDTH
from assetry.errors import BadInput
from assetry.services import contact
from assetry.state.session import signed_in_user


class SupportState(rx.State):
    """The support form."""

    error: str = ""
    notice: str = ""

    @rx.event
    async def send(self, form: dict):
        self.error = self.notice = ""
        user = await signed_in_user(self)
        try:
            await contact.send_support_message(
                name=str(form.get("name", "")),
                email=str(form.get("email", "")) or (user.email if user else ""),
                subject=str(form.get("subject", "")),
                body=str(form.get("body", "")),
                user_id=user.id if user else None,
            )
        except BadInput as problem:
            self.error = str(problem)
            return None
        self.notice = "Thanks — your message reached us. We usually answer within two working days."
        return rx.set_value("body", "")


def support() -> rx.Component:
    return public_page(
        rx.vstack(
            rx.heading("Write to us", size="8"),
            rx.text(
                "Questions, problems, ideas, or a privacy request — we read every message.",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    field("Your name (optional)", "name", max_length=120, auto_complete="name"),
                    field("Email we should answer to", "email", type="email", auto_complete="email"),
                    field("Subject", "subject", max_length=200),
                    text_area("Message", "body", max_length=5000),
                    form_message(SupportState.error, SupportState.notice),
                    rx.button("Send message", type="submit", size="3"),
                    spacing="4",
                    width="100%",
                ),
                on_submit=SupportState.send,
                width="100%",
            ),
            spacing="4",
            max_width=FORM_WIDTH,
            width="100%",
            padding_bottom="2rem",
        )
    )
