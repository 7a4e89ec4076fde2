"""Sign up (confirmed by an emailed link, /signup/confirm/[token]) and log in."""

from __future__ import annotations

import reflex as rx

from assetry.components.forms import field, form_message
from assetry.components.layout import public_form_page
from assetry.errors import BadInput, EmailNotConfirmed, NotAllowed
from assetry.services import accounts
from assetry.services import sign_up as signing_up
from assetry.state.session import SessionState


def _checked(form: dict, name: str) -> bool:
    """Whether a checkbox was ticked: Reflex sends `true` for one with an id, a plain form sends "on"."""
    return form.get(name) in (True, "on")


class SignUpState(rx.State):
    """The sign-up form."""

    error: str = ""
    notice: str = ""
    in_eu: bool = False

    @rx.event
    def set_in_eu(self, value: bool):
        self.in_eu = bool(value)

    @rx.event
    async def sign_up(self, form: dict):
        self.error = self.notice = ""
        session = await self.get_state(SessionState)
        try:
            self.notice = await signing_up.sign_up(
                signing_up.SignUp(
                    email=str(form.get("email", "")),
                    password=str(form.get("password", "")),
                    display_name=str(form.get("display_name", "")),
                    age_confirmed=_checked(form, "age_confirmed"),
                    in_eu=self.in_eu,
                    accepted_policies=_checked(form, "accept_policies"),
                ),
                session._client(),
            )
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)
            return None
        return rx.set_value("password", "")


class ConfirmSignUpState(rx.State):
    """Opening the link emailed at sign-up: confirms the account and signs this browser in."""

    error: str = ""

    @rx.event
    async def confirm(self):
        """on_load: spend the link (the token stays on the server side), then start the session."""
        self.error = ""
        session = await self.get_state(SessionState)
        token = self.router.url.path.rstrip("/").rsplit("/", 1)[-1]
        try:
            session_token = await signing_up.confirm(token, session._client())
        except NotAllowed as problem:
            self.error = str(problem)
            return None
        return await session._start(session_token)


class LogInState(rx.State):
    """The log-in form."""

    error: str = ""
    notice: str = ""
    # The password was right but the account waits for its sign-up link: offer to send it again.
    can_resend: bool = False
    _waiting_email: str = ""

    @rx.event
    async def log_in(self, form: dict):
        self.error = self.notice = ""
        self.can_resend, self._waiting_email = False, ""
        session = await self.get_state(SessionState)
        try:
            _, token = await accounts.log_in(
                str(form.get("email", "")), str(form.get("password", "")), session._client()
            )
        except EmailNotConfirmed as waiting:
            self.error, self.can_resend = str(waiting), True
            self._waiting_email = str(form.get("email", ""))
            return rx.set_value("password", "")
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)
            return rx.set_value("password", "")
        return await session._start(token)

    @rx.event
    async def resend_link(self):
        """Send the sign-up link again, to the address whose password was just right."""
        if not self._waiting_email:
            return
        session = await self.get_state(SessionState)
        try:
            self.notice = await signing_up.resend_link(self._waiting_email, session._client())
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)
            return
        self.error, self.can_resend, self._waiting_email = "", False, ""


def _checkbox(name: str, label: rx.Component | str, **props) -> rx.Component:
    # Radix draws the box as a <button>: its name comes from the label's text, named by id.
    return rx.text(
        rx.hstack(
            rx.checkbox(name=name, id=name, custom_attrs={"aria-labelledby": f"{name}_label"}, **props),
            rx.box(label, id=f"{name}_label"),
            spacing="2",
            align="start",
        ),
        as_="label",
        size="2",
    )


def sign_up() -> rx.Component:
    minimum_age = rx.cond(SignUpState.in_eu, "16", "13")
    return public_form_page(
        rx.heading("Create your account", size="8"),
        rx.form(
            rx.vstack(
                field("Email", "email", type="email", auto_complete="email", required=True),
                field("Name (optional)", "display_name", max_length=80, auto_complete="name"),
                field(
                    "Password",
                    "password",
                    type="password",
                    max_length=128,
                    auto_complete="new-password",
                    required=True,
                ),
                rx.text(
                    "At least 10 characters, mixing three of: lower case, upper case, digits, symbols "
                    "(or 16+ characters).",
                    size="1",
                    color_scheme="gray",
                ),
                _checkbox("in_eu", "I live in the European Union", on_change=SignUpState.set_in_eu),
                _checkbox("age_confirmed", rx.text("I am at least ", minimum_age, " years old")),
                _checkbox(
                    "accept_policies",
                    rx.text(
                        "I accept the ",
                        rx.link("privacy policy", href="/privacy", is_external=True),
                        " and the ",
                        rx.link("terms", href="/terms", is_external=True),
                    ),
                ),
                form_message(SignUpState.error, SignUpState.notice),
                rx.button("Create account", type="submit", size="3", width="100%"),
                rx.text("Already have an account? ", rx.link("Log in", href="/login"), size="2"),
                spacing="4",
                width="100%",
            ),
            on_submit=SignUpState.sign_up,
            width="100%",
        ),
    )


def log_in() -> rx.Component:
    return public_form_page(
        rx.heading("Log in", size="8"),
        rx.form(
            rx.vstack(
                field("Email", "email", type="email", auto_complete="email", required=True),
                field(
                    "Password",
                    "password",
                    type="password",
                    max_length=1024,
                    auto_complete="current-password",
                    required=True,
                ),
                form_message(LogInState.error, LogInState.notice),
                rx.cond(
                    LogInState.can_resend,
                    rx.button(
                        "Send the link again",
                        type="button",
                        variant="soft",
                        width="100%",
                        on_click=LogInState.resend_link,
                    ),
                ),
                rx.button("Log in", type="submit", size="3", width="100%"),
                rx.hstack(
                    rx.text("New here? ", rx.link("Create an account", href="/signup"), size="2"),
                    rx.link("Forgot password?", href="/reset", size="2"),
                    justify="between",
                    width="100%",
                    wrap="wrap",
                ),
                spacing="4",
                width="100%",
            ),
            on_submit=LogInState.log_in,
            width="100%",
        ),
    )


def confirm_sign_up() -> rx.Component:
    return public_form_page(
        rx.heading("Finish signing up", size="8"),
        rx.cond(
            ConfirmSignUpState.error != "",
            rx.vstack(
                form_message(ConfirmSignUpState.error),
                rx.hstack(
                    rx.link("Sign up", href="/signup", size="2"),
                    rx.link("Log in", href="/login", size="2"),
                    spacing="4",
                ),
                spacing="4",
                width="100%",
            ),
            rx.center(rx.spinner(size="3"), padding="2rem"),
        ),
    )
