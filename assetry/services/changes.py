"""Telling open pages that something of theirs changed: Postgres NOTIFY out, one LISTEN in.

A service that changes what a user watches (a generation, an export, a sync, a tracked
URL) calls `notify` in its transaction, naming the user (or `ADMINS`, for what every admin
watches: an invitation round); Postgres delivers the note when it commits, to
every backend process. Each process holds one LISTEN connection (`Listener`) and wakes
only the subscriptions of the audience named (and, for a subscription that follows only some
kinds of change, such as the reminder banner, only on those), which then read the changed rows,
or, when the note itself says what changed in a row the page already shows (`row=` of
`notice`: a generation's status and progress), show it without reading. An idle tab
costs no query at all. When the connection drops, the listener reconnects and wakes every
subscription once, since notes sent meanwhile were lost: each page reads its rows again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import AsyncIterator, Collection
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db

log = logging.getLogger(__name__)

CHANNEL = "assetry_changes"
GENERATION, EXPORT, SYNC, TRACKED, INVITATIONS = "generation", "export", "sync", "tracked", "invitations"
LINKS = "links"  # a post linked to (or unlinked from) a generation, or a link proposed
PLAN = "plan"  # a posting plan's slot placed, moved, removed, reminded or its reminder dismissed
ADMINS = "admins"  # the audience of what every admin's pages follow, whoever started it
RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)


async def notify(
    session: AsyncSession, audience: uuid.UUID | str, what: str, row: dict[str, Any] | None = None
) -> None:
    """Note, in the caller's transaction, that `what` of this user (or of `ADMINS`) changed (sent at commit)."""
    await session.exec(sa.select(notice(audience, what, row)))


def notice(audience: uuid.UUID | str | Any, what: str, row: dict[str, Any] | None = None) -> sa.ColumnElement:
    """The note of `notify` as an expression, to send with a statement the caller sends anyway (one
    round trip less): in a query's columns, or in an UPDATE's RETURNING (then once per row changed,
    and not at all when none was; Postgres sends identical notes of one transaction once).
    `audience` may be a column (the changed row's owner). `row` adds what changed, by name, as
    values or columns (an UPDATE's RETURNING gives the new ones): a page that shows that row then
    needs no read. Keep it short: a note holds at most 8,000 bytes."""
    if row is None and isinstance(audience, uuid.UUID | str):
        payload = sa.literal(json.dumps({"user": str(audience), "what": what}))
    else:  # the note names each changed row's owner (a column), and what the row now holds
        owner = _json_value(audience) if isinstance(audience, uuid.UUID | str) else audience
        fields = [part for name, value in (row or {}).items() for part in (name, _json_value(value))]
        payload = sa.func.json_build_object("user", owner, "what", what, *fields).cast(sa.Text)
    return sa.func.pg_notify(CHANNEL, payload)


def _json_value(value: Any) -> Any:
    """A value of a note's row as Postgres should write it into the JSON (a column stays a column)."""
    if isinstance(value, sa.ColumnElement | QueryableAttribute):
        return value
    return sa.cast(sa.literal(None if value is None else str(value)), sa.Text)


KEPT_NOTES = 50  # more notes than this between two turns of a page: it reads everything again


class Subscription:
    """One watcher's wake-up call: set by every change of its user, or only of the kinds it
    follows (and after a reconnect), keeping the notes that woke it until the page takes them."""

    def __init__(self, kinds: Collection[str] | None = None) -> None:
        self._woken = asyncio.Event()
        self.kinds = frozenset(kinds) if kinds is not None else None
        self._notes: list[dict] | None = []

    def wake(self, note: dict | None = None) -> None:
        """Woken by this note; by None when notes may have been lost (the page must read everything)."""
        if note is None or self._notes is None or len(self._notes) >= KEPT_NOTES:
            self._notes = None
        else:
            self._notes.append(note)
        self._woken.set()

    def take(self) -> list[dict] | None:
        """The notes since the last take, oldest first; None when some may be missing."""
        notes, self._notes = self._notes, []
        return notes

    async def wait(self, seconds: float | None) -> bool:
        """True when something changed since the last wait; False when `seconds` passed first."""
        try:
            await asyncio.wait_for(self._woken.wait(), seconds)
        except TimeoutError:
            return False
        self._woken.clear()
        return True


class Listener:
    """This process's one LISTEN connection, fanning notes out to the subscriptions of each user."""

    def __init__(self) -> None:
        self._subscribers: dict[str, set[Subscription]] = {}
        self._task: asyncio.Task | None = None
        self.connected = asyncio.Event()
        self.reconnects = 0
        self.backend_pid: int | None = None  # the server process of the LISTEN connection

    @contextlib.asynccontextmanager
    async def subscribe(
        self, audience: uuid.UUID | str, kinds: Collection[str] | None = None
    ) -> AsyncIterator[Subscription]:
        """Wake-ups for this user's (or `ADMINS`') changes, of any kind or only of `kinds`, while
        the block runs (the listener starts on first use)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._listen(), name="assetry-change-listener")
        subscription = Subscription(kinds)
        self._subscribers.setdefault(str(audience), set()).add(subscription)
        try:
            yield subscription
        finally:
            users = self._subscribers.get(str(audience), set())
            users.discard(subscription)
            if not users:
                self._subscribers.pop(str(audience), None)

    async def _listen(self) -> None:
        failures = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    db.psycopg_conninfo(), autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.backend_pid = conn.info.backend_pid
                    if failures or self.reconnects:
                        self._wake_everyone()  # notes sent while we were away are lost: resync
                    failures = 0
                    self.connected.set()
                    async for note in conn.notifies():
                        self._deliver(note.payload)
            except (psycopg.OperationalError, OSError) as error:
                self.connected.clear()
                delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
                failures += 1
                self.reconnects += 1
                log.warning("change listener lost its connection (%s); reconnecting in %.1f s", error, delay)
                await asyncio.sleep(delay)

    def _deliver(self, payload: str) -> None:
        try:
            note = json.loads(payload)
            user, what = note["user"], note.get("what")
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("ignored a malformed change note (%d characters)", len(payload))
            return
        for subscription in self._subscribers.get(user, ()):
            if subscription.kinds is None or what in subscription.kinds:
                subscription.wake(note)

    def _wake_everyone(self) -> None:
        for subscriptions in self._subscribers.values():
            for subscription in subscriptions:
                subscription.wake()


_listeners: dict[asyncio.AbstractEventLoop, Listener] = {}


def listener() -> Listener:
    """The listener of this process (of its running event loop)."""
    loop = asyncio.get_running_loop()
    for other in [other for other in _listeners if other.is_closed()]:
        del _listeners[other]
    if loop not in _listeners:
        _listeners[loop] = Listener()
    return _listeners[loop]
