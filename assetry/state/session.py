"""Who is signed in. The browser holds an opaque session token; the server resolves it.

The token lives in an HttpOnly cookie that page scripts cannot read and that no state var
holds. The browser sends it with the websocket handshake, and handlers read it from there
(`_token`). Only the /session routes of `assetry.web` set and clear it: log-in hands the
browser a single-use ticket to swap at /session/start, log-out sends it to /session/end.
Both are full-page navigations, so the websocket reconnects carrying the new cookie.

Every handler that touches user data calls `signed_in_user(self)` and refuses when it
returns None: hiding UI with `rx.cond` protects nothing.

A tab's states hold the data of the session they were filled for, and of no other:
`SessionBoundary` runs before every event (hydration included) and, when the session behind
the handshake's cookie is not the one the tab was filled for (log-out, expiry, revocation, a
disabled account, another user's log-in), empties every state class of the `assetry` package
first. A new state class is covered by being defined in the package; nothing to opt into.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from urllib.parse import urlencode

import reflex as rx
from reflex.istate.manager.memory import StateManagerMemory
from reflex.istate.manager.redis import StateManagerRedis
from reflex.istate.manager.token import BaseStateToken
from reflex.istate.proxy import StateProxy
from reflex.middleware import Middleware
from reflex.state import BaseState
from reflex.utils.exec import is_prod_mode
from reflex_base.config import get_config
from reflex_base.event.context import EventContext
from reflex_base.registry import RegistrationContext
from starlette.requests import cookie_parser

from assetry.config import get_settings
from assetry.models import User
from assetry.services import accounts, app_shell, usage
from assetry.services.accounts import SESSION_COOKIE

LOGIN_ROUTE = "/login"
# (session cookie, its user) as `SessionBoundary` found them before the event being handled.
_checked: ContextVar[tuple[str, User | None] | None] = ContextVar("session_checked", default=None)
HOME_ROUTE = "/home"


def session_route(route: str, **query: str) -> rx.event.EventSpec:
    """Open one of the /session routes of `assetry.web` as a full page load (not React's routing).

    They live on the backend: the same origin in production, :8000 under `make dev`.
    """
    backend = "" if is_prod_mode() else get_config().api_url.rstrip("/")
    url = f"{backend}/session/{route}?{urlencode(query)}"
    return rx.call_script(f"window.location.assign({json.dumps(url)})")


@functools.lru_cache(maxsize=1024)
def _session_cookie(cookie_header: str) -> str:
    """The session cookie's value in a Cookie header ("" without one): a pure parse, nothing of a session."""
    return cookie_parser(cookie_header).get(SESSION_COOKIE, "")


class SessionState(rx.State):
    """What the page may show about the signed-in user (the session token is no var at all)."""

    signed_in: bool = False
    user_email: str = ""
    user_name: str = ""
    is_admin: bool = False
    # The session this tab's states were filled for (`accounts.session_key`), "" for none.
    _filled_for: str = ""

    # Helpers start with "_": every public method of a state class is an event handler that any
    # browser can call with a payload of its choosing (a forged `User` included).
    def _client(self) -> accounts.Client:
        """The IP and user agent of the browser behind this event."""
        return accounts.Client(ip=self.router.session.client_ip, user_agent=self.router.headers.user_agent)

    def _token(self) -> str:
        """This browser's session cookie, as sent with the websocket handshake from our own page.

        Asked before every event: the handshake's headers alone (not the whole `self.router`,
        assembled anew at each access), the Cookie header parsed once per distinct header."""
        headers = self.rx_router_headers
        # A page on another site may open a socket to us too; its handshake names that site.
        if headers.origin != get_settings().origin:
            return ""
        return _session_cookie(headers.cookie)

    def _remember(self, user: User | None) -> None:
        """Set what the page shows about the user."""
        self.signed_in = user is not None
        self.user_email = user.email if user else ""
        self.user_name = user.display_name if user else ""
        self.is_admin = bool(user and user.is_admin)

    async def _fill_shell(self, banners: app_shell.Banners) -> list[rx.event.EventType]:
        """Show the app shell's parts; the events they follow with (their watchers)."""
        filled = [await (await self.get_state(part))._fill(banners) for part in ShellPart.__subclasses__()]
        return [follow for follow in filled if follow is not None]

    @rx.event
    async def redirect_if_signed_in(self):
        """on_load of the log-in and sign-up pages: signed-in users go straight home."""
        user = await accounts.user_for_token(self._token())
        self._remember(user)
        return rx.redirect(HOME_ROUTE) if user else None

    async def _follow_session(self, event: rx.event.Event) -> None:
        """Empty the tab's states when the session behind the cookie is not the one they were filled for.

        A tab filled for no session holds nothing of any user (a new tab, or one emptied when
        its session ended), so the first sign-in on it has nothing to empty: resetting every
        state there would cost each new signed-in tab the copying of every default (charts
        included) for nothing. The events of one page load share one look-up (`_same_page_load`).
        """
        token = self._token()
        if (found := _same_page_load(token)) is None:
            found = await accounts.live_session(token)
            _page_load_checked(event, token, *found)
        current, user = found
        _checked.set((token, user))
        if current != self._filled_for:
            if self._filled_for:
                await empty_user_states(self)
            self._filled_for = current

    @rx.event
    async def log_out(self):
        """Revoke this browser's session on the server; /session/end clears the cookie."""
        await accounts.log_out(self._token())
        await empty_user_states(self)
        return session_route("end", next="/")

    async def _start(self, token: str) -> rx.event.EventSpec:
        """After log-in or sign-up: send the browser to swap a ticket for the session cookie, then home."""
        return session_route("start", ticket=await accounts.ticket_for(token), next=HOME_ROUTE)

    @rx.event
    async def track_page_view(self, path: str, referrer: str):
        """Record a page view server-side with the technical data the policy names (sent by the
        page once it is on screen, with its path and the browser's referrer: components/page_view.py)."""
        user = await signed_in_user(self)
        client = self._client()
        await usage.record(
            usage.PAGE_VIEW,
            # The page's own path: a page followed inside the app mounts before Reflex's router
            # data catches up with the new address (as the URL in the router data, browser-reported).
            path if isinstance(path, str) and path.startswith("/") else self.router.url.path or "/",
            # "Don't tie my usage to me": the view is recorded without the user (usage.record checks too).
            user_id=user.id if user and not user.usage_opt_out else None,
            ip="" if user and user.usage_opt_out else client.ip,
            user_agent=client.user_agent,
            referrer=referrer if isinstance(referrer, str) else "",
        )


async def open_page(
    state: rx.State,
    read: Callable[[User], Awaitable[rx.event.EventType | None]],
    *,
    own_transactions: bool = False,
) -> rx.event.EventType | None:
    """A signed-in page's whole load in the one on_load event of its state: the session check,
    the app shell and the page's reads (`read`, for the signed-in user) in one database
    transaction. Back to the log-in page when the session is gone. Returns the shell's
    follow-up events, then the page's.

    `own_transactions`: the page's reads run once the shell's transaction has ended, in their
    own: What works' figures claim a row that other tabs and the changes to their inputs wait for
    (`db.one_user_transaction`), the admin area reads as the service (`state.admin.open_admin_page`)."""
    session = await state.get_state(SessionState)
    user = await signed_in_user(state)
    session._remember(user)
    if user is None:
        return rx.redirect(LOGIN_ROUTE)
    async with app_shell.page_load(user) as banners:
        own = None if own_transactions else await read(user)
    if own_transactions:
        own = await read(user)
    follow = await session._fill_shell(banners)
    follow += own if isinstance(own, list) else [] if own is None else [own]
    return follow or None


class ShellPart(rx.State, mixin=True):
    """What the app shell shows on every signed-in page (a banner): filled by `open_page` from
    what `app_shell` read for all parts in one statement."""

    async def _fill(self, banners: app_shell.Banners) -> rx.event.EventType | None:
        """Show this part of the banners; an event to follow (a watcher that keeps it live), if any."""
        raise TypeError(f"{type(self).__name__} must define _fill")


def user_state_classes() -> list[type[BaseState]]:
    """Every state class of the app's own (defined in the `assetry` package), parents before children."""
    found, pending = [], [rx.State]
    while pending:
        cls = pending.pop(0)
        children = sorted(cls.get_substates(), key=lambda sub: sub.get_full_name())
        found += [sub for sub in children if sub.__module__.split(".")[0] == "assetry"]
        pending += children
    return found


async def empty_user_states(state: rx.State) -> None:
    """Reset every one of the tab's app states to its defaults: nothing of the last user stays.

    The states are loaded first (a Redis-backed tab keeps those not yet needed in Redis).
    """
    for cls in user_state_classes():
        (await state.get_state(cls)).reset()


async def _tabs_maybe_filled_for(user_id: uuid.UUID) -> list[str]:
    """The tokens of tabs whose states may have been filled for this user (a superset)."""
    manager = RegistrationContext.get().app.state_manager
    if isinstance(manager, StateManagerMemory):
        name = SessionState.get_name()
        return [
            token
            for token, root in list(manager.states.items())
            if (session := root.substates.get(name)) is not None
            and session._filled_for.startswith(f"{user_id}/")
        ]
    if isinstance(manager, StateManagerRedis):
        suffix = f"_{SessionState.get_full_name()}"
        filed = [
            key.decode()[: -len(suffix)]
            async for key in manager.redis.scan_iter(match=f"*{suffix}")
            if str(user_id).encode() in (await manager.redis.get(key) or b"")
        ]
        # A locked tab's latest state may be only in the memory of the backend leasing it (see
        # rxconfig.py), not yet in Redis: modifying it makes that backend hand it over first.
        locked = [key.decode().removesuffix("_lock") async for key in manager.redis.scan_iter(match="*_lock")]
        return list(dict.fromkeys(filed + locked))
    return []  # no other manager is configured (rxconfig.py)


async def empty_tabs_of(user_id: uuid.UUID, *, but: str) -> None:
    """Empty every tab filled for this user (a deleted account), wherever the state manager keeps it.

    `but` is the calling tab's token: its state is locked by its own event, which empties it.
    """
    manager = RegistrationContext.get().app.state_manager
    for token in await _tabs_maybe_filled_for(user_id):
        if token == but:
            continue
        async with manager.modify_state(BaseStateToken(ident=token, cls=SessionState)) as root:
            session = await root.get_state(SessionState)
            if session._filled_for.startswith(f"{user_id}/"):
                await empty_user_states(session)


# A page load is one chain of events: the websocket's `hydrate_and_load` (or a navigation's
# `on_load_internal`), then each of the page's on_load handlers, queued by the server itself
# with the same handshake. The session is looked up once for the whole chain: what the chain's
# first event found, by event id, for the events it queues (for `PAGE_LOAD_S` at most). Tabs
# opening at once share the backend, so a chain's last event may wait in line for seconds: a
# bound that short makes each waiting event look the session up again, which only lengthens
# the line (measured: 342 look-ups for 122 tabs opening at once with 10 s, instead of 122).
PAGE_LOAD_S = 30.0
_PAGE_LOADS = frozenset({"hydrate_and_load", "on_load_internal"})
_page_load_checks: OrderedDict[str, tuple[float, str, str, User | None]] = OrderedDict()


def _same_page_load(token: str) -> tuple[str, User | None] | None:
    """The session key and user the page load this event belongs to found for `token`, if recent."""
    context = EventContext.get()
    found = _page_load_checks.get(context.parent_txid or "")
    if found is None or found[1] != token or time.monotonic() - found[0] > PAGE_LOAD_S:
        return None
    _page_load_checks[context.txid] = found  # its own queued events (a watcher) belong to it too
    return found[2], found[3]


def _page_load_checked(event: rx.event.Event, token: str, key: str, user: User | None) -> None:
    """Remember the session an event starting a page load found, for the events it queues."""
    if event.name.rpartition(".")[2] not in _PAGE_LOADS:
        return
    now = time.monotonic()
    while _page_load_checks and now - next(iter(_page_load_checks.values()))[0] > PAGE_LOAD_S:
        _page_load_checks.popitem(last=False)
    _page_load_checks[EventContext.get().txid] = (now, token, key, user)


class SessionBoundary(Middleware):
    """Before every event of a tab, empty its states if its session changed or ended (see the module doc)."""

    async def preprocess(self, app: rx.App, state: BaseState, event: rx.event.Event) -> None:
        await (await state.get_state(SessionState))._follow_session(event)


async def signed_in_user(state: rx.State) -> User | None:
    """The user behind the event's session cookie, resolved on the server, or None.

    An event handler gets the user `SessionBoundary` found for this very event. A background
    handler (a `StateProxy`, running for as long as its work lasts) gets it once, for the
    check at its start (a watcher that a page load starts), and asks again every later time.
    """
    session = await state.get_state(SessionState)
    token = session._token()
    checked = _checked.get()
    if isinstance(state, StateProxy):
        _checked.set(None)
    if checked is not None and checked[0] == token:
        return checked[1]
    return await accounts.user_for_token(token)


async def session_token(state: rx.State) -> str:
    """The event's session token, for services that tell this browser's session from others."""
    return (await state.get_state(SessionState))._token()
