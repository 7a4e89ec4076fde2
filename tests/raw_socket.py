"""The app's backend served for real on 127.0.0.1, and a bare websocket client that speaks to it.

`serve_backend()` runs the Reflex backend (the ASGI app `reflex run` serves, lifespan
included, without compiling the frontend) with uvicorn in the test's own event loop.
`RawTab` is what an attacker or a probe has: no browser, no page, just Engine.IO and
Socket.IO frames written by hand on `/_event`, a tab token of its choosing and whatever
cookie it decides to send with the handshake. It sends any event with any payload and
reads every frame the server answers with, as text, so tests can search it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import uvicorn
import websockets
from reflex_base.event import EventHandler
from reflex_base.utils.format import format_event_handler
from reflex_base.utils.format import json_dumps as reflex_json

from assetry import db
from assetry.config import get_settings
from assetry.models.base import utcnow
from assetry.pages.analytics.notes import NotesState
from assetry.services import accounts, notes, policies, profile
from assetry.services.accounts import SESSION_COOKIE
from tests.account_setup import SignUp, create_account
from tests.asgi_server import listening_socket

NAMESPACE = "/_event"
Until = Callable[[list[str]], bool]
_asgi_app = None


def _backend(workdir: str) -> Any:
    """The backend's ASGI app, built once per test process (building it mounts its routes)."""
    global _asgi_app
    if _asgi_app is None:
        import assetry.assetry

        _asgi_app = assetry.assetry.app()
    return _asgi_app


@contextlib.asynccontextmanager
async def serve_backend(monkeypatch: Any, workdir: str) -> AsyncIterator[str]:
    """Serve the backend for the duration of the block; yields its base URL (http://127.0.0.1:port)."""
    monkeypatch.setenv("__REFLEX_SKIP_COMPILE", "yes")  # the frontend is not needed (nor built)
    monkeypatch.setenv("REFLEX_WEB_WORKDIR", f"{workdir}/.web")
    app = _backend(workdir)
    from reflex.istate.manager import StateManager

    import assetry.assetry

    # A fresh state manager per server: its locks belong to this test's event loop.
    assetry.assetry.app._state_manager = StateManager.create()
    sock = listening_socket()
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), "the backend did not start"
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 20)
        sock.close()


class RawTab:
    """One tab token and a websocket on `/_event`, opened with or without a session cookie."""

    def __init__(self, base_url: str, *, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token or str(uuid.uuid4())
        self.socket: websockets.ClientConnection | None = None
        self.frames: list[str] = []  # every frame received on the current socket, as sent

    async def connect(
        self, *, cookie: str = "", path: str = "/", boot: bool = True, until: Until | None = None
    ) -> list[str]:
        """Open the websocket (as a page of the app at `path` would, with hydrate in the CONNECT packet).

        Returns the frames the server answered with until it fell quiet (see `read`).
        """
        await self.close()
        url = f"{self.base_url.replace('http', 'ws', 1)}{NAMESPACE}/?EIO=4&transport=websocket&token={self.token}"
        headers = {"Origin": get_settings().origin} | (
            {"Cookie": f"{SESSION_COOKIE}={cookie}"} if cookie else {}
        )
        self.socket = await websockets.connect(url, additional_headers=headers, max_size=None)
        self.frames = []
        opened = await self.socket.recv()
        assert str(opened).startswith("0"), opened
        auth = {"event": self._event("reflex___state____state.hydrate_and_load", {}, path)} if boot else {}
        await self.socket.send(f"40{NAMESPACE},{json.dumps(auth)}")
        return await self.read(until=until)

    def _event(self, name: str, payload: Any, path: str) -> dict:
        return {"name": name, "payload": payload, "router_data": {"pathname": path, "asPath": path}}

    async def send(
        self, handler: EventHandler | str, payload: Any = None, *, path: str = "/", until: Until | None = None
    ) -> list[str]:
        """Send one event (a handler, or an event name as a probe would type it); returns the answer's frames."""
        name = handler if isinstance(handler, str) else format_event_handler(handler)
        event = json.dumps(["event", self._event(name, {} if payload is None else payload, path)])
        return await self.send_raw(event, until=until)

    async def send_raw(self, socketio_event: str, *, until: Until | None = None) -> list[str]:
        """Send a Socket.IO EVENT packet's JSON as one websocket frame; returns the answer's frames."""
        assert self.socket is not None, "connect first"
        await self.socket.send(f"42{NAMESPACE},{socketio_event}")
        return await self.read(until=until)

    async def read(self, quiet_s: float = 1.5, wait_s: float = 15.0, until: Until | None = None) -> list[str]:
        """Frames received until none came for `quiet_s`, answering Engine.IO pings on the way.

        Until the first frame, and until `until(frames)` holds when given, it waits up to `wait_s`.
        """
        assert self.socket is not None
        got: list[str] = []
        while True:
            waiting = not got or (until is not None and not until(got))
            try:
                frame = str(await asyncio.wait_for(self.socket.recv(), wait_s if waiting else quiet_s))
            except TimeoutError:
                break
            if frame == "2":  # Engine.IO ping
                await self.socket.send("3")
                continue
            got.append(frame)
        self.frames += got
        return got

    @property
    def is_open(self) -> bool:
        return self.socket is not None and self.socket.close_code is None

    async def close(self) -> None:
        if self.socket is not None:
            await self.socket.close()
            self.socket = None


def updates(frames: list[str]) -> list[dict]:
    """The state updates among Socket.IO frames (`42/_event,["event", {...}]`)."""
    prefix = f"42{NAMESPACE},"
    found = []
    for frame in frames:
        if frame.startswith(prefix):
            name, *args = json.loads(frame[len(prefix) :])
            if name == "event":
                found += args
    return found


def toasts(frames: list[str]) -> list[str]:
    """The text of every toast the frames told the browser to show."""
    return [
        str(event["payload"])
        for update in updates(frames)
        for event in update.get("events", [])
        if "toast" in reflex_json(event)
    ]


# A creator whose data the probes look for, and their tab once their pages have loaded.


@dataclass
class Creator:
    user_id: uuid.UUID
    token: str
    email: str
    name: str
    note: str
    pending_email: str

    @property
    def traces(self) -> list[str]:
        """What of this creator's must never reach another tab."""
        return [self.email, self.name, self.note, self.pending_email, str(self.user_id)]


async def creator(first: str, password: str) -> Creator:
    email = f"{first.lower()}.quillfeather@example.com"
    user, token = await create_account(
        SignUp(
            email=email,
            password=password,
            display_name=f"{first} Quillfeather",
            age_confirmed=True,
            accepted_policies=True,
        ),
        accounts.Client(),
    )
    note = f"{first}'s launch plan: the zebra hook on Friday"
    await notes.add(user.id, day=utcnow().date(), body=note)
    pending = f"{first.lower()}.elsewhere@example.com"
    await profile.request_email_change(user.id, pending, password)
    return Creator(user.id, token, email, f"{first} Quillfeather", note, pending)


def leaked(frames: list[str], creator: Creator) -> list[str]:
    text = "\n".join(frames)
    return [trace for trace in creator.traces if trace in text]


async def record_policies() -> None:
    """The current policy versions, recorded before the backend's job worker races sign-up to it."""
    async with db.service_session() as session:
        for kind in policies.KINDS:
            await policies.current_version(session, kind)


async def filled_tab(backend: str, who: Creator) -> RawTab:
    """A new tab of `who` after /settings and /analytics loaded: it holds their email, name, pending email, note."""
    tab = RawTab(backend)
    frames = await tab.connect(
        cookie=who.token, path="/settings", until=lambda got: who.pending_email in "".join(got)
    )
    frames += await tab.send(NotesState.load, path="/analytics", until=lambda got: who.note in "".join(got))
    shown = {who.email, who.name, who.note, who.pending_email}
    assert shown <= set(leaked(frames, who)), (
        "their own pages did not show their data: the probe proves nothing"
    )
    return tab


async def filled_by_a(backend: str) -> tuple[RawTab, Creator]:
    """A's tab after /settings and /analytics loaded."""
    a = await creator("Amber", "Amber-Lantern-71")
    return await filled_tab(backend, a), a
