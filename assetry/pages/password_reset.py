"""Forgot password: ask for a reset link (/reset), then choose a new password through it (/reset/[token])."""

from __future__ import annotations

import reflex as rx

from assetry.components.forms import field, form_message
from assetry.components.layout import public_form_page
from assetry.errors import BadInput, NotAllowed
from assetry.services import password_reset

PASSWORD_RULES = (
    "At least 10 characters, mixing three of: lower case, upper case, digits, symbols (or 16+ characters)."
)


class ResetRequestState(rx.State):
    """The "send me a link" form."""

    error: str = ""
    notice: str = ""

    @rx.event
    async def request(self, form: dict):
        self.error = self.notice = ""
        try:
            self.notice = await password_reset.request_reset(str(form.get("email", "")))
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)
            return None
        return rx.set_value("email", "")


class ResetState(rx.State):
    """Choosing a new password through an emailed link. The token stays on the server side."""

    checked: bool = False
    usable: bool = False
    email: str = ""
    error: str = ""
    done: bool = False

    def _token(self) -> str:
        return self.router.url.path.rstrip("/").rsplit("/", 1)[-1]

    @rx.event
    async def check(self):
        """on_load: say at once whether the link can still be used."""
        self.checked, self.usable, self.done, self.email, self.error = False, False, False, "", ""
        try:
            link = await password_reset.check_link(self._token())
        except NotAllowed as problem:
            self.error = str(problem)
        else:
            self.usable, self.email = True, link.email
        self.checked = True

    @rx.event
    async def set_new_password(self, form: dict):
        self.error = ""
        new = str(form.get("new_password", ""))
        if new != str(form.get("confirm_password", "")):
            self.error = "The two passwords are not the same."
            return None
        try:
            await password_reset.reset_password(self._token(), new)
        except BadInput as problem:
            self.error = str(problem)
            return None
        except NotAllowed as problem:
            self.error, self.usable = str(problem), False
            return None
        self.done, self.usable = True, False
        return [rx.set_value(name, "") for name in ("new_password", "confirm_password")]


def _supabase_notice() -> rx.Component:
    return rx.vstack(
        rx.callout(password_reset.SUPABASE_ANSWER, icon="info", width="100%"),
        rx.text(rx.link("Back to log in", href="/login"), size="2"),
        spacing="4",
        width="100%",
    )


def request_page() -> rx.Component:
    if not password_reset.resets_here():
        return public_form_page(rx.heading("Reset your password", size="8"), _supabase_notice())
    return public_form_page(
        rx.heading("Reset your password", size="8"),
        rx.text("Enter the email address of your account. We'll send you a link to choose a new password."),
        rx.form(
            rx.vstack(
                field("Email", "email", type="email", auto_complete="email", required=True),
                form_message(ResetRequestState.error, ResetRequestState.notice),
                rx.button("Send me a link", type="submit", size="3", width="100%"),
                rx.text("Remembered it? ", rx.link("Log in", href="/login"), size="2"),
                spacing="4",
                width="100%",
            ),
            on_submit=ResetRequestState.request,
            width="100%",
        ),
    )


def _new_password_form() -> rx.Component:
    return rx.form(
        rx.vstack(
            rx.text("Choose a new password for ", rx.text.strong(ResetState.email), "."),
            field(
                "New password",
                "new_password",
                type="password",
                max_length=128,
                auto_complete="new-password",
                required=True,
            ),
            field(
                "New password again",
                "confirm_password",
                type="password",
                max_length=128,
                auto_complete="new-password",
                required=True,
            ),
            rx.text(PASSWORD_RULES, size="1", color_scheme="gray"),
            form_message(ResetState.error),
            rx.button("Set new password", type="submit", size="3", width="100%"),
            spacing="4",
            width="100%",
        ),
        on_submit=ResetState.set_new_password,
        width="100%",
    )


def token_page() -> rx.Component:
    if not password_reset.resets_here():
        return public_form_page(rx.heading("Choose a new password", size="8"), _supabase_notice())
    return public_form_page(
        rx.heading("Choose a new password", size="8"),
        rx.cond(
            ResetState.done,
            rx.vstack(
                rx.callout(
                    "Your password is changed, and every browser that was signed in is logged out. "
                    "Log in with your new password.",
                    icon="circle-check",
                    color_scheme="green",
                    role="status",
                    width="100%",
                ),
                rx.link(rx.button("Log in", size="3", width="100%"), href="/login", width="100%"),
                spacing="4",
                width="100%",
            ),
            rx.cond(
                ResetState.usable,
                _new_password_form(),
                rx.cond(
                    ResetState.checked,
                    rx.vstack(
                        form_message(ResetState.error),
                        rx.link("Ask for a new link", href="/reset", size="2"),
                        spacing="4",
                        width="100%",
                    ),
                    rx.center(rx.spinner(size="3"), padding="2rem"),
                ),
            ),
        ),
    )
