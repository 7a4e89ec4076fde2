"""Every event handler of every Assetry state class, called by a browser that has no right to.

Any browser can send any event with any payload over the websocket, whatever the page
shows. So every handler that reads or writes user data must resolve the user from the
server-side session, and refuse when there is none or it is someone else's.

The handlers are found by walking the `rx.State` subclasses defined in the `assetry`
package (after importing the app, which registers every page), so a new handler is
covered without editing this file: it is either a visitor handler named in
`VISITOR_HANDLERS` with its reason, or it must pass the guard tests below.
"""

from __future__ import annotations

import functools
import inspect
import typing
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import reflex as rx
import sqlalchemy as sa
from sqlmodel import SQLModel

import assetry.assetry  # noqa: F401  (registers every page and so every state class)
from assetry import db, security
from assetry.errors import NotAllowed
from assetry.models import AuthSession, SupportMessage, User, user_owned_tables
from assetry.models.base import utcnow
from assetry.pages.home import HomeState
from assetry.services import accounts, policies
from assetry.state.session import LOGIN_ROUTE, SessionState
from tests.browserless import Tab
from tests.conftest import KeptRows
from tests.rows import changes, make_row, row_owner, snapshot

# Handlers that serve visitors: they run for anyone, and whatever they attribute to a
# user comes from the server-side session (tested below for the ones that record a user).
VISITOR_HANDLERS = {
    "SessionState.redirect_if_signed_in": "on_load of log-in/sign-up; only reads the caller's own session",
    "SessionState.track_page_view": "sent by every page on screen; records a view, the user resolved from the session",
    "SignUpState.set_in_eu": "sets a checkbox var of the sign-up form",
    "SignUpState.sign_up": "creates a new account from what the visitor typed",
    "LogInState.log_in": "checks the credentials the visitor typed",
    "WaitlistState.join": "adds the typed email to the waitlist",
    "SupportState.send": "stores a support message; the sender is resolved from the session",
    "StudioState.set_prompt": "counts the prompt box's text for the quote; generate checks the session",
    "GenerationState.edit": "remembers which caption the page edits; save_caption checks session and owner",
    "ResetRequestState.request": "emails a reset link to the typed address's account; same answer for any address",
    "ResetState.check": "on_load of /reset/[token]; the single-use token in the link is the credential",
    "ResetState.set_new_password": "sets a password through the emailed single-use token (the credential)",
    "NotesState.edit": "remembers which note the page edits; save checks session and owner",
}
# Tables of facts that belong to nobody: a handler may add to them whoever calls it.
SHARED_FACTS = {"policy_versions": "the current policy text is recorded the first time anyone accepts it"}
# Reflex gives every state a `setvar` handler; it can only call that state's `set_<var>`
# methods, which are handlers themselves and so listed here or guarded
# (test_setvar_reaches_only_enumerated_setters).
SETVAR = "setvar"
# Where a refused signed-out caller is sent, when not the login page.
SIGNED_OUT_LANDING = {"SessionState.log_out": "/"}

A_PASSWORD, B_PASSWORD, NEW_PASSWORD = "Amber-Lantern-71", "Basalt-Orchard-93", "Cobalt-Harbor-55"


def assetry_states() -> list[type[rx.State]]:
    """Every state class defined in the assetry package, found by walking subclasses.

    Mixins are left out: a browser can't address one; their handlers are checked on each state that mixes them in.
    """
    found, pending = set(), list(rx.State.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.split(".")[0] == "assetry" and not cls._mixin:
            found.add(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def assetry_handlers() -> dict[str, rx.EventHandler]:
    """Every event handler a browser can call on those states, by `State.handler` name."""
    return {
        f"{cls.__name__}.{name}": handler
        for cls in assetry_states()
        for name, handler in cls.event_handlers.items()
        if name != SETVAR
    }


GUARDED = sorted(set(assetry_handlers()) - set(VISITOR_HANDLERS))


@dataclass
class Person:
    user: User
    token: str
    password: str


@dataclass
class People:
    a: Person
    b: Person
    expired_a: str  # a real session token of A's, expired
    revoked_a: str  # a real session token of A's, revoked


async def _session_token(user_id: uuid.UUID, *, expired: bool = False, revoked: bool = False) -> str:
    token = security.new_session_token()
    async with db.service_session() as session:
        session.add(
            AuthSession(
                user_id=user_id,
                token_hash=security.token_digest(token),
                expires_at=utcnow() + (timedelta(minutes=-1) if expired else timedelta(days=1)),
                revoked_at=utcnow() if revoked else None,
            )
        )
    return token


@functools.cache
def _password_hash_of(password: str) -> str:
    return security.hash_password(password)  # once per run: argon2 is slow on purpose


async def _person(email: str, password: str) -> Person:
    """A user with a live session and one row in every user-owned table."""
    async with db.service_session() as session:
        user = User(
            email=email,
            password_hash=_password_hash_of(password),
            age_confirmed_at=utcnow(),
            email_confirmed_at=utcnow(),
        )
        session.add(user)
        await session.flush()
        for table in user_owned_tables():
            if table != "users":
                await make_row(session, table, user.id)
        # The current texts accepted, as at sign-up: else the hourly policy mail (at :17) tells them
        # of a change mid-test, and each is shown the banner, whose words are the mail's subject.
        versions = [await policies.current_version(session, kind) for kind in policies.KINDS]
        await policies.record_acceptance(session, user_id=user.id, versions=versions)
    return Person(user=user, token=await _session_token(user.id), password=password)


@pytest.fixture
async def people(kept_rows: KeptRows) -> People:
    """A and B with their rows and sessions: made for the first test, the same rows put back
    for each later one (~900 tests use them)."""
    if (kept := kept_rows.put_back("people")) is not None:
        return kept
    a = await _person("maya@example.com", A_PASSWORD)
    b = await _person("theo@example.com", B_PASSWORD)
    made = People(
        a=a,
        b=b,
        expired_a=await _session_token(a.user.id, expired=True),
        revoked_a=await _session_token(a.user.id, revoked=True),
    )
    kept_rows.keep("people", made)
    return made


def hostile_payload(handler: rx.EventHandler, victim: Person) -> dict:
    """What a hostile browser would send: the victim's identifiers and secrets in every argument."""
    form = {
        "id": str(victim.user.id),
        "user_id": str(victim.user.id),
        "email": victim.user.email,
        "password": victim.password,
        "current_password": victim.password,
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    hints = typing.get_type_hints(handler.fn)
    payload = {}
    for name in list(inspect.signature(handler.fn).parameters)[1:]:
        hint = hints.get(name, str)
        if hint is dict or typing.get_origin(hint) is dict:
            payload[name] = form
        elif hint is bool:
            payload[name] = True
        elif hint is int:
            payload[name] = 1
        elif name.endswith("id") or hint is uuid.UUID:
            payload[name] = str(victim.user.id)
        else:
            payload[name] = victim.user.email
    return payload


def test_the_app_has_handlers_to_guard_and_the_allow_list_is_current() -> None:
    handlers = assetry_handlers()
    assert {"SettingsState.change_password", "HomeState.load", "SessionState.log_out"} <= set(GUARDED)
    stale = (set(VISITOR_HANDLERS) | set(SIGNED_OUT_LANDING)) - set(handlers)
    assert not stale, f"allow-list names handlers that no longer exist: {sorted(stale)}"


def test_no_handler_accepts_a_database_row_from_the_browser() -> None:
    """A payload typed as a table model lets a browser forge one (say, a `User` with is_admin)."""
    forgeable = []
    for name, handler in assetry_handlers().items():
        for hint in typing.get_type_hints(handler.fn).values():
            parts = typing.get_args(hint) or (hint,)
            forgeable += [name for part in parts if isinstance(part, type) and issubclass(part, SQLModel)]
    assert not forgeable


@pytest.mark.parametrize("state_cls", assetry_states(), ids=lambda cls: cls.__name__)
def test_setvar_reaches_only_enumerated_setters(state_cls: type[rx.State]) -> None:
    """`setvar(name, value)` calls `set_<name>`: every such method must be a handler checked here."""
    setters = {name for name in dir(state_cls) if name.startswith("set_")} - {"set_is_hydrated"}
    assert setters <= set(state_cls.event_handlers), "a set_ method that is not an event handler"


@pytest.mark.parametrize("state_cls", assetry_states(), ids=lambda cls: cls.__name__)
async def test_setvar_cannot_set_a_var_without_a_setter(database: str, state_cls: type[rx.State]) -> None:
    """No auto setters: a browser cannot set `signed_in`, `is_admin`, `error` … by name."""
    names = [name for name in state_cls.base_vars if not hasattr(state_cls, f"set_{name}")]
    async with Tab() as tab:
        before = {name: getattr(await tab.state(state_cls), name) for name in names}
        for name in names:
            with pytest.raises(AttributeError):
                await tab.call(state_cls.event_handlers[SETVAR], var_name=name, value="forged")
        after = {name: getattr(await tab.state(state_cls), name) for name in names}
    assert names
    assert after == before


def _page_vars(state: rx.State) -> dict:
    return {name: getattr(state, name) for name in type(state).base_vars}


def _landings(outcome) -> list[str]:
    """Where the browser was sent: redirects, and the page a /session route it was sent through opens."""
    return outcome.redirects + [
        parse_qs(urlsplit(url).query).get("next", [""])[0] for url in outcome.page_loads
    ]


def _told_no(outcome, landing: str, error: str) -> bool:
    """Sent to the landing page, or shown an error (in the form or as a toast)."""
    toasts = [event for event in outcome.to_browser if "toast" in str(event.payload).lower()]
    return landing in _landings(outcome) or bool(error) or bool(toasts)


@pytest.mark.parametrize("cookie", ["none", "expired", "revoked", "tampered", "other-site"])
@pytest.mark.parametrize("name", GUARDED)
async def test_signed_out_browser_is_refused_and_nothing_changes(
    people: People, name: str, cookie: str
) -> None:
    """Refused means: no row changes, the browser stays signed out, and it is either told no
    (sent to the login page, or shown an error) or ignored (no var of the page changes)."""
    handler = assetry_handlers()[name]
    token = {
        "none": "",
        "expired": people.expired_a,
        "revoked": people.revoked_a,
        "tampered": people.a.token[:-1] + ("A" if people.a.token[-1] != "A" else "B"),
        # A's live cookie, in a socket a page on another site opened to us (cross-site websocket hijacking).
        "other-site": people.a.token,
    }[cookie]
    before = await snapshot()
    async with Tab(
        cookie=token, origin="https://elsewhere.example" if cookie == "other-site" else None
    ) as tab:
        page_before = _page_vars(await tab.state(handler.state))
        outcome = await tab.call(handler, **hostile_payload(handler, people.a))
        session = await tab.state(SessionState)
        page_after = _page_vars(await tab.state(handler.state))

    assert changes(before, await snapshot()) == []
    assert session.signed_in is False
    assert session.user_email == ""
    landing = SIGNED_OUT_LANDING.get(name, LOGIN_ROUTE)
    ignored = page_after == page_before
    assert _told_no(outcome, landing, page_after.get("error", "")) or ignored, (
        f"{name} changed its page for a signed-out browser without sending it to {landing} "
        f"or showing an error: {page_before} -> {page_after}"
    )
    assert (await accounts.user_for_token(people.a.token)).id == people.a.user.id  # A is still signed in


@pytest.mark.parametrize("name", GUARDED)
async def test_another_user_with_a_victims_data_acts_on_themselves_only(people: People, name: str) -> None:
    handler = assetry_handlers()[name]
    before = await snapshot()
    async with Tab(cookie=people.b.token) as tab:
        await tab.call(handler, **hostile_payload(handler, people.a))
        session = await tab.state(SessionState)

    changed = changes(before, await snapshot())
    assert [
        change
        for change in changed
        if row_owner(change[0], change[2]) != people.b.user.id and change[0] not in SHARED_FACTS
    ] == []
    assert session.user_email in ("", people.b.user.email)
    assert (await accounts.user_for_token(people.a.token)).id == people.a.user.id


async def _password_hash(user_id: uuid.UUID) -> str:
    async with db.service_session() as session:
        return (await session.get(User, user_id)).password_hash


async def test_signed_out_change_changes_no_password(people: People) -> None:
    form = {"current_password": A_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    stored = await _password_hash(people.a.user.id)
    async with Tab(cookie="") as tab:
        outcome = await tab.call(assetry_handlers()["SettingsState.change_password"], form=form)
    assert outcome.redirects == [LOGIN_ROUTE]
    assert await _password_hash(people.a.user.id) == stored
    with pytest.raises(NotAllowed):
        await accounts.log_in(people.a.user.email, NEW_PASSWORD, accounts.Client())


async def test_change_as_b_changes_bs_password_and_leaves_a_alone(people: People) -> None:
    from assetry.pages.settings import SettingsState

    a_hash = await _password_hash(people.a.user.id)
    b_elsewhere = await _session_token(people.b.user.id)
    form = {"current_password": B_PASSWORD, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    async with Tab(cookie=people.b.token) as tab:
        await tab.call(SettingsState.change_password, form=form)
        page = await tab.state(SettingsState)
    assert page.password_error == ""
    assert page.password_notice.startswith("Password changed.")
    assert await _password_hash(people.a.user.id) == a_hash
    b_user, _ = await accounts.log_in(people.b.user.email, NEW_PASSWORD, accounts.Client())
    a_user, _ = await accounts.log_in(people.a.user.email, A_PASSWORD, accounts.Client())
    assert (a_user.id, b_user.id) == (people.a.user.id, people.b.user.id)
    assert await accounts.user_for_token(b_elsewhere) is None  # B's other browser is logged out
    assert (await accounts.user_for_token(people.b.token)).id == people.b.user.id  # this one stays
    assert (await accounts.user_for_token(people.a.token)).id == people.a.user.id  # A's is untouched


async def test_log_out_revokes_only_the_callers_session(people: People) -> None:
    async with Tab(cookie=people.b.token) as tab:
        outcome = await tab.call(SessionState.log_out)
        assert tab.cookie == ""  # /session/end cleared it
    assert _landings(outcome) == ["/"]
    assert await accounts.user_for_token(people.b.token) is None
    assert (await accounts.user_for_token(people.a.token)).id == people.a.user.id


async def test_a_page_load_shows_the_cookies_owner_only(people: People) -> None:
    async with Tab(cookie=people.b.token, path="/home") as tab:
        outcome = await tab.call(HomeState.load)
        session = await tab.state(SessionState)
    assert outcome.redirects == []
    assert (session.signed_in, session.user_email) == (True, people.b.user.email)


@pytest.mark.parametrize("cookie", ["none", "tampered", "b"])
async def test_support_message_is_tied_to_the_session_not_the_form(people: People, cookie: str) -> None:
    token = {"none": "", "tampered": people.a.token[::-1], "b": people.b.token}[cookie]
    subject = "Where is my export?"
    form = {"email": people.a.user.email, "user_id": str(people.a.user.id), "subject": subject, "body": "Hi"}
    from assetry.pages.support import SupportState

    async with Tab(cookie=token) as tab:
        await tab.call(SupportState.send, form=form)
        assert (await tab.state(SupportState)).error == ""
    async with db.service_session() as session:
        owners = (
            (await session.exec(sa.select(SupportMessage.user_id).where(SupportMessage.subject == subject)))
            .scalars()
            .all()
        )
    assert owners == [people.b.user.id if cookie == "b" else None]
