"""The session cookie: HttpOnly, set and cleared only by /session/start and /session/end.

Log-in and sign-up hand the browser a single-use ticket (hashed at rest, a minute to live)
that /session/start swaps for the cookie; handlers then read the cookie from the websocket
handshake. The routes run in-process through httpx, the handlers through `tests.browserless`.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from reflex_base.utils.format import json_dumps
from sqlmodel import select

from assetry import db, web
from assetry.config import get_settings
from assetry.models import AuthSession
from assetry.models.base import utcnow
from assetry.pages.auth import ConfirmSignUpState, LogInState, SignUpState
from assetry.pages.home import HomeState
from assetry.security import token_digest
from assetry.services import accounts
from assetry.state.session import LOGIN_ROUTE, SessionState
from tests.account_setup import SignUp, create_account, run_sign_up_jobs, sign_up_link
from tests.browserless import Tab

PASSWORD = "Correct-Horse-42"
EMAIL = "maya@example.com"
FROM_OUR_PAGE = {"sec-fetch-site": "same-origin"}


async def open_route(path: str, *, cookie: str = "", headers: dict | None = None) -> httpx.Response:
    """GET one of the app's own routes as a browser on `PUBLIC_URL` would."""
    transport = httpx.ASGITransport(app=web.routes())
    cookies = {accounts.SESSION_COOKIE: cookie} if cookie else {}
    async with httpx.AsyncClient(
        transport=transport, base_url=get_settings().origin, cookies=cookies
    ) as client:
        return await client.get(path, headers=headers or {})


def cookie_attributes(reply: httpx.Response) -> dict[str, str]:
    """The attributes of the session cookie the reply sets (lower-case names), or {} if it sets none."""
    for header in reply.headers.get_list("set-cookie"):
        if header.startswith(f"{accounts.SESSION_COOKIE}="):
            pairs = [part.strip().partition("=") for part in header.split(";")]
            return {"value": pairs[0][2]} | {name.lower(): value for name, _, value in pairs[1:]}
    return {}


async def new_ticket() -> str:
    _, token = await create_account(
        SignUp(email=EMAIL, password=PASSWORD, age_confirmed=True, accepted_policies=True),
        accounts.Client(),
    )
    return await accounts.ticket_for(token)


async def stored_hashes() -> list[str]:
    async with db.service_session() as session:
        return list((await session.exec(select(AuthSession.token_hash))).all())


async def test_log_in_ends_with_an_http_only_cookie_the_handlers_read_from_the_handshake(
    database: str,
) -> None:
    await create_account(
        SignUp(email=EMAIL, password=PASSWORD, age_confirmed=True, accepted_policies=True),
        accounts.Client(),
    )
    async with Tab(path="/login") as tab:
        outcome = await tab.call(LogInState.log_in, form={"email": EMAIL, "password": PASSWORD})
        (start,) = outcome.page_loads
        session = await tab.state(SessionState)
        sent_to_browser = json_dumps(session._get_root_state().dict())
    query = parse_qs(urlsplit(start).query)
    assert urlsplit(start).path == "/session/start"
    assert query["next"] == ["/home"]
    ticket = query["ticket"][0]
    assert tab.cookie not in ("", ticket)
    assert tab.cookie not in sent_to_browser and ticket not in sent_to_browser
    # At rest, only the SHA-256 of the cookie's token: the ticket is spent.
    hashes = await stored_hashes()  # sign-up's own session, and this log-in's
    assert token_digest(tab.cookie) in hashes and token_digest(ticket) not in hashes
    assert not {tab.cookie, ticket} & set(hashes)

    async with Tab(cookie=tab.cookie, path="/home") as signed_in:
        assert (await signed_in.call(HomeState.load)).redirects == []
        session = await signed_in.state(SessionState)
        sent_to_browser = json_dumps(session._get_root_state().dict())
    assert (session.signed_in, session.user_email) == (True, EMAIL)
    assert signed_in.cookie not in sent_to_browser  # not even through the router's headers
    assert "session_token" not in SessionState.base_vars


async def test_the_sign_up_link_signs_the_new_account_in_the_same_way(database: str) -> None:
    form = {"email": EMAIL, "password": PASSWORD, "age_confirmed": "on", "accept_policies": "on"}
    async with Tab(path="/signup") as tab:
        outcome = await tab.call(SignUpState.sign_up, form=form)
        notice = (await tab.state(SignUpState)).notice
    assert outcome.page_loads == []  # nobody is signed in before the emailed link is opened
    assert notice.startswith("Check your email to finish signing up.")
    await run_sign_up_jobs()
    token = await sign_up_link(EMAIL)
    async with Tab(path=f"/signup/confirm/{token}") as tab:
        outcome = await tab.call(ConfirmSignUpState.confirm)
    assert [urlsplit(url).path for url in outcome.page_loads] == ["/session/start"]
    assert (await accounts.user_for_token(tab.cookie)).email == EMAIL
    # The link is spent: opened again, it says so and signs nobody in.
    async with Tab(path=f"/signup/confirm/{token}") as again:
        outcome = await again.call(ConfirmSignUpState.confirm)
        error = (await again.state(ConfirmSignUpState)).error
    assert outcome.page_loads == [] and "not valid" in error


async def test_a_ticket_works_once(database: str) -> None:
    ticket = await new_ticket()
    first = await open_route(f"/session/start?ticket={ticket}&next=/studio")
    again = await open_route(f"/session/start?ticket={ticket}&next=/studio")
    assert (first.status_code, first.headers["location"]) == (303, f"{get_settings().origin}/studio")
    assert (await accounts.user_for_token(cookie_attributes(first)["value"])).email == EMAIL
    assert (again.status_code, again.headers["location"]) == (303, f"{get_settings().origin}{LOGIN_ROUTE}")
    assert cookie_attributes(again) == {}


async def test_a_ticket_lives_a_minute_and_is_no_session_token(database: str) -> None:
    ticket = await new_ticket()
    async with db.service_session() as session:
        row = (await session.exec(select(AuthSession))).one()
    assert row.token_hash == token_digest(ticket)  # hashed at rest
    assert timedelta(0) < row.ticket_expires_at - utcnow() <= timedelta(seconds=60)
    assert await accounts.user_for_token(ticket) is None
    async with Tab(cookie=ticket, path="/home") as tab:
        assert (await tab.call(HomeState.load)).redirects == [LOGIN_ROUTE]

    async with db.service_session() as session:  # the minute has passed
        await session.exec(sa.update(AuthSession).values(ticket_expires_at=utcnow() - timedelta(seconds=1)))
    late = await open_route(f"/session/start?ticket={ticket}")
    assert late.headers["location"].endswith(LOGIN_ROUTE)
    assert cookie_attributes(late) == {}


@pytest.mark.parametrize("ticket", ["tampered", "unknown", "empty"])
async def test_a_tampered_or_unknown_ticket_sets_no_cookie(database: str, ticket: str) -> None:
    real = await new_ticket()
    sent = {"tampered": real[:-1] + ("A" if real[-1] != "A" else "B"), "unknown": "x" * 43, "empty": ""}[
        ticket
    ]
    reply = await open_route(f"/session/start?ticket={sent}")
    assert reply.headers["location"].endswith(LOGIN_ROUTE)
    assert cookie_attributes(reply) == {}
    assert (await open_route(f"/session/start?ticket={real}")).headers["location"].endswith("/home")


@pytest.mark.parametrize(
    "next_path",
    [
        "//evil.example/home",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
async def test_next_is_only_ever_a_page_of_the_app(database: str, next_path: str) -> None:
    query = httpx.QueryParams({"ticket": await new_ticket(), "next": next_path})
    reply = await open_route(f"/session/start?{query}")
    assert reply.headers["location"] == f"{get_settings().origin}/home"
    assert web.local_path("/library?kind=video", "/home") == "/library?kind=video"


async def test_the_cookie_is_http_only_lax_and_not_secure_over_http(database: str) -> None:
    attributes = cookie_attributes(await open_route(f"/session/start?ticket={await new_ticket()}"))
    assert attributes["httponly"] == "" and attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert int(attributes["max-age"]) == get_settings().session_days * 86400
    assert "secure" not in attributes


async def test_the_cookie_is_secure_under_https(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLIC_URL", "https://assetry.example")
    get_settings.cache_clear()
    reply = await open_route(f"/session/start?ticket={await new_ticket()}")
    attributes = cookie_attributes(reply)
    assert reply.headers["location"] == "https://assetry.example/home"
    assert {"secure", "httponly"} <= set(attributes) and attributes["samesite"].lower() == "lax"


async def test_session_end_from_our_page_revokes_and_clears(database: str) -> None:
    token = cookie_attributes(await open_route(f"/session/start?ticket={await new_ticket()}"))["value"]
    reply = await open_route("/session/end?next=/%3Fdeleted%3D1", cookie=token, headers=FROM_OUR_PAGE)
    cleared = cookie_attributes(reply)
    assert reply.headers["location"] == f"{get_settings().origin}/?deleted=1"
    assert cleared["value"] in ("", '""') and cleared["max-age"] == "0" and "httponly" in cleared
    assert await accounts.user_for_token(token) is None


@pytest.mark.parametrize(
    "came_from",
    [
        {"sec-fetch-site": "cross-site", "referer": "https://evil.example/page"},
        {"origin": "https://evil.example"},
        {},
    ],
    ids=["link-on-another-site", "form-on-another-site", "no-clue"],
)
async def test_session_end_from_elsewhere_changes_nothing(database: str, came_from: dict) -> None:
    token = cookie_attributes(await open_route(f"/session/start?ticket={await new_ticket()}"))["value"]
    reply = await open_route("/session/end", cookie=token, headers=came_from)
    assert reply.status_code == 403
    assert cookie_attributes(reply) == {}
    assert (await accounts.user_for_token(token)).email == EMAIL


async def test_log_out_in_the_app_revokes_and_the_route_clears_the_cookie(database: str) -> None:
    token = cookie_attributes(await open_route(f"/session/start?ticket={await new_ticket()}"))["value"]
    async with Tab(cookie=token, path="/home") as tab:
        outcome = await tab.call(SessionState.log_out)
    assert [urlsplit(url).path for url in outcome.page_loads] == ["/session/end"]
    assert tab.cookie == ""
    assert await accounts.user_for_token(token) is None
