"""Every settings handler refuses a browser that is not signed in, and changes nothing.

The handlers run in-process on a state tree held by Reflex's memory state manager,
with the session cookie of a signed-out (or expired, or tampered) browser.
"""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex_base.event.context import EventContext

import assetry.assetry  # noqa: F401  (the app: `watch` asks its event namespace whether the tab is open)
from assetry import db
from assetry.config import get_settings
from assetry.models import metadata
from assetry.pages.settings import SettingsState
from assetry.services import accounts
from assetry.state.session import LOGIN_ROUTE
from tests.account_setup import SignUp, create_account

PASSWORD = "Correct-Horse-42"
FORM = {
    "display_name": "Mallory",
    "time_zone": "Asia/Jakarta",
    "new_email": "mallory@example.com",
    "email_password": PASSWORD,
    "current_password": PASSWORD,
    "new_password": "Cobalt-Harbor-55",
    "confirm_password": "Cobalt-Harbor-55",
    "request_kind": "access",
    "body": "hello",
    "delete_password": PASSWORD,
}
# Handlers that touch no data: closing the delete panel, the /account redirect, the browser's zone.
NO_DATA = {"close_delete", "to_settings", "setvar", "set_browser_zone"}


async def snapshot() -> dict[str, list]:
    async with db.service_session() as session:
        return {
            name: sorted(map(str, (await session.exec(sa.select(table))).all()))
            for name, table in metadata.tables.items()
        }


async def call(handler_name: str, cookie: str):
    """Run one SettingsState handler for a tab with this cookie; returns what it returned."""
    manager, token = StateManagerMemory(), str(uuid.uuid4())

    async def ignore(*_args) -> None:
        return None

    context = EventContext(
        token="", state_manager=manager, enqueue_impl=ignore, emit_delta_impl=ignore, emit_event_impl=ignore
    )
    # The handshake headers a browser on our page sends: its origin and the HttpOnly cookie.
    headers = {"origin": get_settings().origin, "cookie": f"{accounts.SESSION_COOKIE}={cookie}"}
    router_data = {"pathname": "/settings", "token": token, "headers": headers}
    context = context.fork(token=token, router_data=router_data)
    handler = SettingsState.event_handlers[handler_name]
    args = {"form": FORM} if "form" in handler.fn.__code__.co_varnames[:2] else {}
    if handler.fn.__code__.co_argcount == 2 and not args:
        args = {handler.fn.__code__.co_varnames[1]: True}
    try:
        with context:
            async with manager.modify_state(BaseStateToken(ident=token, cls=SettingsState)) as root:
                root.router_data = root._update_router_vars(router_data, root.router_data)
                state = await root.get_state(SettingsState)
                returned = handler.fn(state, **args)
                if hasattr(returned, "__anext__"):
                    returned = [item async for item in returned]
                else:
                    returned = await returned
                return returned, state
    finally:
        await manager.close()


@pytest.mark.parametrize("cookie", ["none", "tampered", "logged-out"])
@pytest.mark.parametrize("name", sorted(set(SettingsState.event_handlers) - NO_DATA))
async def test_settings_handler_refuses_a_signed_out_browser(database: str, name: str, cookie: str) -> None:
    _, token = await create_account(
        SignUp(email="maya@example.com", password=PASSWORD, age_confirmed=True, accepted_policies=True),
        accounts.Client(),
    )
    if cookie == "logged-out":
        await accounts.log_out(token)
    sent = {"none": "", "tampered": token[:-2] + "xx", "logged-out": token}[cookie]
    before = await snapshot()
    returned, state = await call(name, sent)
    assert await snapshot() == before
    redirected = getattr(returned, "fn", None) is not None or LOGIN_ROUTE in str(returned)
    assert redirected or returned in (None, []), f"{name} answered {returned!r}"
    assert state.email == "" and state.sessions == [] and state.export_url == ""
