"""Every guarded event handler, sent over a bare websocket by a stranger and by another user, aimed at A's rows.

`test_handler_guards` runs each handler in-process with A's user id in every argument. This
sends the events the way an attacker does: Socket.IO frames on `/_event` of the real backend
(`tests.raw_socket`), with no cookie or with B's, every id argument (and every id a form can
carry) set in turn to the id of each row A owns, and the handlers of the pages that read an id
from their address (`/library/[generation_id]`, `/analytics/post/[post_id]`,
`/admin/users/[user_id]`) sent from those pages opened at A's ids. Then: no frame carries A's
data, no row of A's changed, nothing changed that is not the caller's own, A is still signed in.
"""

from __future__ import annotations

import inspect
import json
import re
import typing
import uuid
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from reflex_base.utils.format import format_event_handler

from assetry import db
from assetry.models import User, owner_column, user_owned_tables
from assetry.pages.auth import SignUpState
from assetry.services import accounts, policy_changes
from tests.integration.test_handler_guards import (
    A_PASSWORD,
    B_PASSWORD,
    GUARDED,
    SHARED_FACTS,
    VISITOR_HANDLERS,
    Person,
    _person,
    assetry_handlers,
    hostile_payload,
)
from tests.raw_socket import NAMESPACE, RawTab
from tests.rows import changes, row_owner, snapshot

# Pages whose handlers read a row id from the address, and the table of that id.
ID_PAGES = {
    "/library/{}": ("generations", {"GenerationState", "PostedState", "MadeWithState"}),
    "/analytics/post/{}": ("posts", {"PostState", "MadeWithState"}),
    "/admin/users/{}": ("users", {"AdminUserState", "AdminTrailState"}),
}
FORM_ID_KEYS = (
    "user_id", "note_id", "generation_id", "output_id", "post_id", "account_id", "tracked_id",
    "message_id", "entry_id", "link_id", "proposal_id",
)  # fmt: skip
A_NAME = "Amber Quillfeather"
SENTINEL = SignUpState.set_in_eu  # a visitor handler whose answer shows every earlier event was handled


@dataclass
class Victim:
    person: Person
    ids: dict[str, list[str]]  # table -> ids of A's rows in it
    traces: list[str]  # text of A's rows that only A's pages could show


async def _victim() -> Victim:
    a = await _person("amber@example.com", A_PASSWORD)
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == a.user.id).values(display_name=A_NAME))
    ids: dict[str, list[str]] = {}
    traces = [A_NAME]
    for table, rows in (await snapshot()).items():
        if table not in user_owned_tables():
            continue
        for row in rows:
            if row_owner(table, row) != a.user.id:
                continue
            values = dict(row)
            if "id" in values:
                ids.setdefault(table, []).append(str(values["id"]))
            traces += [
                value
                for column, value in values.items()
                if isinstance(value, str) and len(value) >= 6 and "email" not in column and "id" not in column
                and not column.endswith("_hash") and column != owner_column(table)
            ]  # fmt: skip
    # Not her address: the hostile payloads carry it, and a page may echo what its caller typed.
    return Victim(a, ids, [trace for trace in traces if trace != a.user.email])


def _aimed_at(victim: Victim, param: str) -> list[str]:
    """The ids of A's rows an argument named `param` could name: `note_id` -> A's notes, ...

    None for the id of something no user owns (a job, a waitlist entry): the base payload
    already puts A's user id there.
    """
    thing = param.removesuffix("_id").removesuffix("id")
    return [row_id for table, row_ids in victim.ids.items() if thing and thing in table for row_id in row_ids]


def _aimed_params(handler) -> list[str]:
    hints = typing.get_type_hints(handler.fn)
    params = list(inspect.signature(handler.fn).parameters)[1:]
    return [p for p in params if p.endswith("id") and hints.get(p, str) in (str, uuid.UUID)]


def _events(victim: Victim) -> list[tuple[str, dict, str]]:
    """(event name, payload, page path) for every guarded handler, aimed at each of A's rows."""
    events = []
    handlers = assetry_handlers()
    for name in GUARDED:
        handler = handlers[name]
        event = format_event_handler(handler)
        base = hostile_payload(handler, victim.person)
        events.append((event, base, "/"))
        for param in _aimed_params(handler):
            events += [(event, base | {param: target}, "/") for target in _aimed_at(victim, param)]
        forms = [param for param, value in base.items() if isinstance(value, dict)]
        if forms:
            ids = {key: aimed[0] for key in FORM_ID_KEYS if (aimed := _aimed_at(victim, key))}
            events.append((event, base | {form: base[form] | ids for form in forms}, "/"))
        state = name.split(".")[0]
        for page, (table, states) in ID_PAGES.items():
            if state in states:
                events += [(event, base, page.format(row_id)) for row_id in victim.ids.get(table, [])]
    # A visitor handler that only remembers an id (which note or caption the page edits), then
    # every guarded handler of its state, which must check that id's owner.
    for name in VISITOR_HANDLERS:
        handler = handlers[name]
        state = name.split(".")[0]
        for param in _aimed_params(handler):
            for target in _aimed_at(victim, param):
                pages = [page.format(row_id) for page, (table, states) in ID_PAGES.items() if state in states
                         for row_id in victim.ids.get(table, [])] or ["/"]  # fmt: skip
                events.append((format_event_handler(handler), {param: target}, pages[0]))
                events += [
                    (
                        format_event_handler(handlers[other]),
                        hostile_payload(handlers[other], victim.person),
                        pages[0],
                    )
                    for other in GUARDED
                    if other.startswith(f"{state}.")
                ]
    return events


def _sentinel_seen(frames: list[str]) -> bool:
    return re.search(r'"in_eu_rx_state_":\s*true', "".join(frames)) is not None


def _shows(frames: list[str], trace: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(trace)}(?![\w-])", "\n".join(frames)) is not None


@pytest.mark.parametrize("caller", ["no session", "another user"])
async def test_events_aimed_at_a_users_rows_reach_nothing_of_theirs(backend: str, caller: str) -> None:
    victim = await _victim()
    b = await _person("basil@example.com", B_PASSWORD) if caller == "another user" else None
    # The hourly policy mail (`17 * * * *`) may run mid-probe: it must have no one here to tell.
    assert await policy_changes.notify_changes() == 0
    events = _events(victim)
    assert len(events) > len(GUARDED) + 50, "the probe aims at too few of A's rows to prove anything"
    before = await snapshot()

    tab = RawTab(backend)
    frames = await tab.connect(cookie=b.token if b else "", path="/")
    for name, payload, path in [*events, (format_event_handler(SENTINEL), {"value": True}, "/signup")]:
        event = {"name": name, "payload": payload, "router_data": {"pathname": path, "asPath": path}}
        await tab.socket.send(f"42{NAMESPACE},{json.dumps(['event', event])}")
    frames += await tab.read(quiet_s=3, wait_s=300, until=_sentinel_seen)
    await tab.close()

    assert _sentinel_seen(frames), "the backend did not get through the events"
    assert [trace for trace in victim.traces if _shows(frames, trace)] == []
    caller_id = b.user.id if b else None
    changed = [
        (table, sign, dict(row))
        for table, sign, row in changes(before, await snapshot())
        if row_owner(table, row) not in (caller_id, None) and table not in SHARED_FACTS
    ]
    assert changed == []
    assert (await accounts.user_for_token(victim.person.token)).id == victim.person.user.id
