"""Run Reflex event handlers in-process, the way the backend runs them for one browser tab.

A `Tab` owns a state tree in Reflex's in-memory state manager, the router data a
websocket connection would carry (path, client IP, user agent) and the session
cookie. `await tab.call(Handler.event, **payload)` runs the handler through
Reflex's own `process_event` (payload conversion, `get_state`, returned events),
and reports what the browser would have been told to do.

What this skips, deliberately: the websocket, hydration and `on_load` chains. Events a
handler chains to other handlers are recorded, not run, so each test says which
handler it exercises.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, TypeVar

from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.token import BaseStateToken
from reflex.state import BaseState
from reflex_base.event import Event, EventHandler
from reflex_base.event.context import EventContext
from reflex_base.event.processor.base_state_processor import process_event

from assetry.state.session import SessionState

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

    @property
    def redirects(self) -> list[str]:
        """The paths the browser was sent to, in order."""
        return [event.payload["path"] for event in self.to_browser if event.name == "_redirect"]


class Tab:
    """One browser tab without a browser: its own client token, state tree, cookie, IP and user agent."""

    def __init__(
        self,
        *,
        cookie: str = "",
        path: str = "/",
        ip: str = "203.0.113.10",
        user_agent: str = DESKTOP_CHROME,
    ) -> None:
        self.token = str(uuid.uuid4())
        self.cookie = cookie
        self.path = path
        self.ip = ip
        self.user_agent = user_agent
        self._manager = StateManagerMemory()
        self._to_browser: list[Event] = []
        self._chained: list[Event] = []

    def _router_data(self) -> dict[str, Any]:
        return {
            "pathname": self.path,  # the matched route
            "asPath": self.path,  # the path in the address bar
            "query": {},
            "token": self.token,
            "sid": f"sid-{self.token[:8]}",
            "ip": self.ip,
            "headers": {"origin": "http://localhost:3000", "user-agent": self.user_agent},
        }

    def _context(self) -> EventContext:
        async def to_browser(_token: str, *events: Event) -> None:
            self._to_browser.extend(events)

        async def chained(_token: str, *events: Event) -> None:
            self._chained.extend(events)

        async def delta(_token: str, _delta: Any) -> None:
            return None

        root = EventContext(
            token="",
            state_manager=self._manager,
            enqueue_impl=chained,
            emit_delta_impl=delta,
            emit_event_impl=to_browser,
        )
        return root.fork(token=self.token, router_data=self._router_data())

    async def call(self, handler: EventHandler, /, **payload: Any) -> Outcome:
        """Run one event handler for this tab with this payload, as the backend would."""
        self._to_browser, self._chained = [], []
        state_cls = handler.state
        assert state_cls is not None, f"{handler} is not bound to a state class"
        with self._context():
            async with self._manager.modify_state(BaseStateToken(ident=self.token, cls=state_cls)) as root:
                router_data = self._router_data()
                root.router_data = root._update_router_vars(router_data, root.router_data)
                # The browser sends its cookies with every event; the backend keeps the latest.
                (await root.get_state(SessionState)).session_token = self.cookie
                target = await root.get_state(state_cls)
                await process_event(handler=handler, payload=payload, state=target, root_state=root)
                self.cookie = (await root.get_state(SessionState)).session_token
        return Outcome(to_browser=list(self._to_browser), chained=list(self._chained))

    async def state(self, state_cls: type[S]) -> S:
        """This tab's instance of a state class (read it; changes are not sent anywhere)."""
        with self._context():
            async with self._manager.modify_state(BaseStateToken(ident=self.token, cls=state_cls)) as root:
                return await root.get_state(state_cls)

    async def __aenter__(self) -> Tab:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._manager.close()
