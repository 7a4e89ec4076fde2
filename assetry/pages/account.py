"""Account: change password, log out."""

from __future__ import annotations

import reflex as rx

from assetry.components.forms import field, form_message
from assetry.components.layout import app_page
from assetry.components.styles import FORM_WIDTH
from assetry.errors import BadInput, NotAllowed
from assetry.services import accounts
from assetry.state.session import LOGIN_ROUTE, SessionState, signed_in_user


class PasswordState(rx.State):
    """The change-password form."""

    error: str = ""
    notice: str = ""

    @rx.event
    async def change(self, form: dict):
        self.error = self.notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        new = str(form.get("new_password", ""))
        if new != str(form.get("confirm_password", "")):
            self.error = "The two new passwords are not the same."
            return None
        session = await self.get_state(SessionState)
        try:
            await accounts.change_password(
                user.id, str(form.get("current_password", "")), new, keep_token=session.session_token
            )
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)
            return None
        self.notice = "Password changed. Other browsers signed in to your account were logged out."
        return [rx.set_value(name, "") for name in ("current_password", "new_password", "confirm_password")]


def account() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.heading("Account", size="7"),
            rx.text("Signed in as ", rx.text.strong(SessionState.user_email), color_scheme="gray"),
            rx.card(
                rx.form(
                    rx.vstack(
                        rx.heading("Change password", size="4", as_="h2"),
                        field(
                            "Current password",
                            "current_password",
                            type="password",
                            max_length=1024,
                            auto_complete="current-password",
                        ),
                        field(
                            "New password",
                            "new_password",
                            type="password",
                            max_length=128,
                            auto_complete="new-password",
                        ),
                        field(
                            "New password again",
                            "confirm_password",
                            type="password",
                            max_length=128,
                            auto_complete="new-password",
                        ),
                        form_message(PasswordState.error, PasswordState.notice),
                        rx.button("Change password", type="submit", size="3"),
                        spacing="4",
                        width="100%",
                    ),
                    on_submit=PasswordState.change,
                ),
                max_width=FORM_WIDTH,
                width="100%",
            ),
            spacing="5",
            width="100%",
        )
    )
