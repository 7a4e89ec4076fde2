"""The server-side admin check every admin page load and admin event handler runs first.

`rx.cond(SessionState.is_admin, ...)` only hides the Admin link; any browser can send any
event over the websocket. So each admin handler starts with

    admin, refusal = await require_admin(self, "UsersState.disable")
    if refusal:
        return refusal

which re-reads the account behind the session cookie from the database. An admin page's one
on_load opens it with `open_admin_page`: the same check, then the app shell and the page's reads. A signed-out
browser is sent to the log-in page, a signed-in non-admin to their home page; both are
logged, and the non-admin's attempt is written to the audit log. Nothing else happens.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import reflex as rx

from assetry.models import User
from assetry.services.admin import audit_log
from assetry.state.session import HOME_ROUTE, LOGIN_ROUTE, open_page, signed_in_user

ADMIN_ROUTE = "/admin"


async def require_admin(state: rx.State, action: str) -> tuple[User | None, rx.event.EventSpec | None]:
    """(the admin, None) when the caller is an enabled admin; else (None, a redirect), recorded."""
    user = await signed_in_user(state)
    if user is not None and user.is_admin:
        return user, None
    await audit_log.record_refusal(user.id if user else None, action)
    return None, rx.redirect(LOGIN_ROUTE if user is None else HOME_ROUTE)


async def open_admin_page(
    state: rx.State, action: str, read: Callable[[User], Awaitable[rx.event.EventType | None]]
) -> rx.event.EventType | None:
    """An admin page's whole load in its one on_load event: `require_admin`'s check (a refusal
    recorded and redirected as there), then `open_page` with the page's reads (`read`, for the
    admin) as the service, after the shell's transaction."""
    _, refusal = await require_admin(state, action)
    if refusal:
        return refusal
    return await open_page(state, read, own_transactions=True)
