"""Who is signed in. The browser holds an opaque session token; the server resolves it.

Every handler that touches user data calls `signed_in_user(self)` and refuses when it
returns None: hiding UI with `rx.cond` protects nothing.
"""

from __future__ import annotations

import reflex as rx

from assetry.config import get_settings
from assetry.models import User
from assetry.services import accounts, usage
from assetry.services.accounts import SESSION_COOKIE

LOGIN_ROUTE = "/login"
HOME_ROUTE = "/home"


class SessionState(rx.State):
    """The session cookie and what the page may show about the signed-in user."""

    session_token: str = rx.Cookie(
        "",
        name=SESSION_COOKIE,
        path="/",
        max_age=get_settings().session_days * 86400,
        secure=get_settings().https,
        same_site="strict",
    )
    signed_in: bool = False
    user_email: str = ""
    user_name: str = ""
    is_admin: bool = False

    # Helpers start with "_": every public method of a state class is an event handler that any
    # browser can call with a payload of its choosing (a forged `User` included).
    def _client(self) -> accounts.Client:
        """The IP and user agent of the browser behind this event."""
        return accounts.Client(ip=self.router.session.client_ip, user_agent=self.router.headers.user_agent)

    def _remember(self, user: User | None, token: str | None = None) -> None:
        """Set what the page shows about the user (and the cookie, on log-in)."""
        if token is not None:
            self.session_token = token
        self.signed_in = user is not None
        self.user_email = user.email if user else ""
        self.user_name = user.display_name if user else ""
        self.is_admin = bool(user and user.is_admin)

    @rx.event
    async def require_login(self):
        """on_load of signed-in pages: back to the login page when the session is gone."""
        user = await accounts.user_for_token(self.session_token)
        self._remember(user)
        if user is None:
            self.session_token = ""
            return rx.redirect(LOGIN_ROUTE)
        return None

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the log-in and sign-up pages: signed-in users go straight home."""
        user = await accounts.user_for_token(self.session_token)
        self._remember(user)
        return rx.redirect(HOME_ROUTE) if user else None

    @rx.event
    async def log_out(self):
        """Revoke this browser's session on the server and forget it here."""
        await accounts.log_out(self.session_token)
        self.session_token = ""
        self._remember(None)
        return rx.redirect("/")

    @rx.event
    def page_opened(self):
        """on_load of every page: ask the browser for its referrer, then record the view."""
        return rx.call_script("document.referrer", callback=SessionState.track_page_view)

    @rx.event
    async def track_page_view(self, referrer: str):
        """Record a page view server-side with the technical data the policy names."""
        user = await signed_in_user(self)
        client = self._client()
        await usage.record(
            usage.PAGE_VIEW,
            self.router.url.path or "/",
            # "Don't tie my usage to me": the view is recorded without the user (usage.record checks too).
            user_id=user.id if user and not user.usage_opt_out else None,
            ip="" if user and user.usage_opt_out else client.ip,
            user_agent=client.user_agent,
            referrer=referrer if isinstance(referrer, str) else "",
        )


async def signed_in_user(state: rx.State) -> User | None:
    """The user behind the event's session cookie, resolved on the server, or None."""
    session = await state.get_state(SessionState)
    return await accounts.user_for_token(session.session_token)
