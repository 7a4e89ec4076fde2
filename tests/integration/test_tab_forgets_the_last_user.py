"""A tab holds the data of its own live session and of no other, probed over a bare websocket.

The probe that found the leak: A logs in on a tab, opens /settings and /analytics, logs
out; a client then connects to `/_event` with the same tab token and no cookie and sends
`hydrate`, and got A's notes, email and ids back. Here the backend runs for real and the
client writes Socket.IO frames by hand (`tests.raw_socket`); each test searches every frame
the server sent for anything of A's.
"""

from __future__ import annotations

import httpx
import pytest
import sqlalchemy as sa

from assetry import db
from assetry.models import AuthSession, User
from assetry.models.base import utcnow
from assetry.services import accounts
from assetry.state.session import SessionState
from tests.raw_socket import creator, filled_by_a, leaked

HYDRATE = "reflex___state____state.hydrate"


async def _session_end(backend: str, cookie: str) -> httpx.Response:
    """What the page's log-out sends the browser to: /session/end, from the app's own page."""
    async with httpx.AsyncClient(base_url=backend, cookies={accounts.SESSION_COOKIE: cookie}) as client:
        return await client.get("/session/end?next=/", headers={"sec-fetch-site": "same-origin"})


async def test_after_log_out_an_anonymous_hydrate_on_the_same_tab_gets_nothing_of_a(backend: str) -> None:
    tab, a = await filled_by_a(backend)
    assert leaked(await tab.send(SessionState.log_out, path="/settings"), a) == []
    assert (await _session_end(backend, a.token)).status_code == 303

    frames = await tab.connect(cookie="", path="/settings")  # the tab reloads with no cookie
    frames += await tab.send(HYDRATE, path="/settings")  # and a probe asks for everything
    await tab.close()
    assert leaked(frames, a) == []
    assert "signed_in_rx_state_" in "".join(frames)  # the hydrate did answer, with defaults


async def test_log_out_by_the_session_route_alone_empties_the_tab(backend: str) -> None:
    tab, a = await filled_by_a(backend)
    await tab.close()
    assert (await _session_end(backend, a.token)).status_code == 303

    frames = await tab.connect(cookie="", path="/analytics", boot=False)
    frames += await tab.send(HYDRATE, path="/analytics")
    await tab.close()
    assert leaked(frames, a) == []


async def test_the_next_user_on_the_tab_gets_nothing_of_the_last_one(backend: str) -> None:
    tab, a = await filled_by_a(backend)
    b = await creator("Basil", "Basalt-Orchard-93")

    # B logs in on that tab; read until B's page has loaded (a busy machine pauses between frames).
    first_reply = await tab.connect(
        cookie=b.token, path="/settings", until=lambda got: b.email in "".join(got)
    )
    await tab.close()
    assert leaked(first_reply, a) == []
    assert b.email in "".join(first_reply)  # B's own page still loads B's data


@pytest.mark.parametrize("how", ["account-disabled", "sessions-revoked", "session-expired"])
async def test_a_session_that_ends_elsewhere_empties_the_open_tab(backend: str, how: str) -> None:
    tab, a = await filled_by_a(backend)
    async with db.service_session() as session:
        if how == "account-disabled":
            await session.exec(sa.update(User).where(User.id == a.user_id).values(is_disabled=True))
        elif how == "sessions-revoked":
            await session.exec(
                sa.update(AuthSession).where(AuthSession.user_id == a.user_id).values(revoked_at=utcnow())
            )
        else:
            await session.exec(
                sa.update(AuthSession).where(AuthSession.user_id == a.user_id).values(expires_at=utcnow())
            )

    same_socket = await tab.send(HYDRATE, path="/settings")  # the cookie still rides on the open socket
    reconnected = await tab.connect(cookie=a.token, path="/analytics")
    await tab.close()
    assert leaked(same_socket, a) == []
    assert leaked(reconnected, a) == []
