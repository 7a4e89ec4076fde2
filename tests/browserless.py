"""Run Reflex event handlers in-process, the way the backend runs them for one browser tab.

A `Tab` owns a state tree in Reflex's in-memory state manager, the router data a
websocket connection would carry (path, client IP, and the handshake's headers: origin,
user agent, and the HttpOnly session cookie, as Chromium sends them) and that cookie.
`await tab.call(Handler.event, **payload)` runs the handler through Reflex's own
`process_event` (payload conversion, `get_state`, returned events), and reports what
the browser would have been told to do and the state changes it was sent. When a handler
sends the browser to one of the /session routes (log-in, log-out), the tab follows it
through `assetry.web`'s real route and keeps the cookie that route sets or clears, as a
browser would.

`tab.start(Handler.background_event)` runs a background handler as Reflex does, off the
state lock through a `StateProxy`, in a task of its own. `tab.open()` and `tab.close()`
register the tab's websocket with the app's event namespace and drop it again, through the
same methods Reflex calls when a socket connects and when it disconnects (a closed tab).

What this skips, deliberately: the websocket itself, hydration and `on_load` chains. Events a
handler chains to other handlers are recorded, not run, so each test says which
handler it exercises.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import uuid
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.proxy import StateProxy
from reflex.state import BaseState
from reflex_base.event import Event, EventHandler
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event
from reflex_base.registry import RegistrationContext

from assetry import web
from assetry.config import get_settings
from assetry.services.accounts import SESSION_COOKIE

DESKTOP_CHROME = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
S = TypeVar("S", bound=BaseState)

IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


@dataclasses.dataclass
class Outcome:
    """What one handler call told the browser: frontend events (redirects, scripts) and chained events."""

    to_browser: list[Event]
    chained: list[Event]
    deltas: list[dict[str, dict[str, Any]]] = dataclasses.field(default_factory=list)

    @property
    def redirects(self) -> list[str]:
        """The paths the browser was sent to, in order."""
        return [event.payload["path"] for event in self.to_browser if event.name == "_redirect"]

    @property
    def page_loads(self) -> list[str]:
        """The URLs the browser was sent to as full page loads (`window.location.assign`), in order."""
        return [
            json.loads(found.group(1))
            for event in self.to_browser
            if event.name == "_call_script"
            and (found := re.fullmatch(r"window\.location\.assign\((.*)\)", event.payload["javascript_code"]))
        ]


class Tab:
    """One browser tab without a browser: its own client token, state tree, cookie, IP and user agent.

    `origin` is the page's origin the websocket handshake names (a page on another site
    that opens a socket to us names its own).
    """

    def __init__(
        self,
        *,
        cookie: str = "",
        path: str = "/",
        ip: str = "203.0.113.10",
        user_agent: str = DESKTOP_CHROME,
        origin: str | None = None,
    ) -> None:
        self.token = str(uuid.uuid4())
        self.cookie = cookie
        self.origin = get_settings().origin if origin is None else origin
        self.path = path
        self.ip = ip
        self.user_agent = user_agent
        self._manager = StateManagerMemory()

    @property
    def sid(self) -> str:
        """The Socket.IO session id of this tab's (imagined) websocket."""
        return f"sid-{self.token[:8]}"

    def _router_data(self) -> dict[str, Any]:
        return {
            "pathname": self.path,  # the matched route
            "asPath": self.path,  # the path in the address bar
            "query": {},
            "token": self.token,
            "sid": self.sid,
            "ip": self.ip,
            "headers": {"origin": self.origin, "user-agent": self.user_agent}
            | ({"cookie": f"{SESSION_COOKIE}={self.cookie}"} if self.cookie else {}),
        }

    def _context(self, outcome: Outcome) -> EventContext:
        async def to_browser(_token: str, *events: Event) -> None:
            outcome.to_browser.extend(events)

        async def chained(_token: str, *events: Event) -> None:
            outcome.chained.extend(events)

        async def delta(_token: str, changed: dict[str, dict[str, Any]]) -> None:
            outcome.deltas.append(changed)

        root = EventContext(
            token="",
            state_manager=self._manager,
            enqueue_impl=chained,
            emit_delta_impl=delta,
            emit_event_impl=to_browser,
        )
        return root.fork(token=self.token, router_data=self._router_data())

    async def _load(self, state_cls: type[S], root: BaseState) -> S:
        """The tab's state as the next event sees it: the handshake's headers (the cookie among them)."""
        root.router_data = root._update_router_vars(self._router_data(), root.router_data)
        return await root.get_state(state_cls)

    async def call(self, handler: EventHandler, /, **payload: Any) -> Outcome:
        """Run one event handler for this tab with this payload, as the backend would."""
        outcome = Outcome(to_browser=[], chained=[])
        state_cls = handler.state
        assert state_cls is not None, f"{handler} is not bound to a state class"
        with self._context(outcome):
            async with self._manager.modify_state(BaseStateToken(ident=self.token, cls=state_cls)) as root:
                target = await self._load(state_cls, root)
                await process_event(handler=handler, payload=payload, state=target, root_state=root)
        for url in outcome.page_loads:
            if urlsplit(url).path.startswith("/session/"):
                await self._navigate(url)
        return outcome

    async def _navigate(self, url: str) -> None:
        """Open a URL of the app's own routes as this tab's page would, keeping the cookie it sets."""
        parts, ours = urlsplit(url), get_settings().origin
        cookies = {SESSION_COOKIE: self.cookie} if self.cookie else {}
        # What Chromium tells the server about where a navigation comes from.
        came_from = {
            "referer": self.origin + self.path,
            "sec-fetch-site": "same-origin" if self.origin == ours else "cross-site",
        }
        transport = httpx.ASGITransport(app=web.routes())
        async with httpx.AsyncClient(transport=transport, base_url=ours, cookies=cookies) as client:
            reply = await client.get(f"{parts.path}?{parts.query}", headers=came_from)
        if any(value.startswith(f"{SESSION_COOKIE}=") for value in reply.headers.get_list("set-cookie")):
            self.cookie = reply.cookies.get(SESSION_COOKIE, "")

    def start(self, handler: EventHandler, /, **payload: Any) -> asyncio.Task[Outcome]:
        """Start a background event handler the way Reflex does; the task ends with what it told the browser."""
        state_cls = handler.state
        assert state_cls is not None and handler.is_background, f"{handler} is not a background handler"
        outcome = Outcome(to_browser=[], chained=[])

        async def run() -> Outcome:
            async with self._manager.modify_state(BaseStateToken(ident=self.token, cls=state_cls)) as root:
                target = await self._load(state_cls, root)
            await process_event(handler=handler, payload=payload, state=StateProxy(target), root_state=None)
            return outcome

        with self._context(outcome):
            return asyncio.create_task(run(), name=f"{handler.fn.__qualname__} for tab {self.token[:8]}")

    async def open(self) -> None:
        """Connect this tab's websocket, as far as the app can tell (Reflex's own on_connect step)."""
        namespace = RegistrationContext.get().app.event_namespace
        assert namespace is not None, "import assetry.assetry first: the app owns the event namespace"
        await namespace.link_token_to_sid(self.sid, self.token, update_state=False)

    async def close(self) -> None:
        """Close the tab: Reflex's own disconnect handling for its websocket."""
        namespace = RegistrationContext.get().app.event_namespace
        assert namespace is not None
        cleanup = namespace.on_disconnect(self.sid)
        if cleanup is not None:
            await cleanup

    async def state(self, state_cls: type[S]) -> S:
        """This tab's instance of a state class (read it; changes are not sent anywhere)."""
        with self._context(Outcome(to_browser=[], chained=[])):
            async with self._manager.modify_state(BaseStateToken(ident=self.token, cls=state_cls)) as root:
                return await root.get_state(state_cls)

    async def __aenter__(self) -> Tab:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._manager.close()
