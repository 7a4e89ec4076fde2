"""The TikTok client against the local imitation of Login Kit and Display API v2, over real HTTP.

The imitation (assetry/sandbox/tiktok.py) runs under uvicorn on 127.0.0.1 with its
clock frozen; the client is the real one on a real httpx.AsyncClient. The consent
page is driven the way a browser submits it: its own form fields, one button.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.social import NOT_YET, TokenSet
from assetry.integrations.tiktok import (
    CODE_SPENT,
    DENIED,
    NOT_GIVEN,
    RECONNECT,
    RECONNECT_FOR_VIDEOS,
    TikTokClient,
)
from assetry.sandbox.tiktok import TikTokImitation
from tests.asgi_server import serve

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
CALLBACK = "http://127.0.0.1:3000/oauth/tiktok/callback"


@dataclass
class Running:
    """The imitation and the address it answers on."""

    tiktok: TikTokImitation
    url: str


@pytest.fixture
def sandbox() -> Iterator[Running]:
    """A fresh imitation served by uvicorn on a free 127.0.0.1 port, its clock at NOW."""
    imitation = TikTokImitation(now=NOW, redirect_uris=[CALLBACK])
    with serve(imitation.app) as url:
        yield Running(imitation, url)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    # A page of a 10,000-video account can take seconds to answer on a busy machine.
    async with httpx.AsyncClient(timeout=60) as client:
        yield client


@pytest.fixture
def client(sandbox: Running, http: httpx.AsyncClient) -> TikTokClient:
    """The real client pointed at the imitation, on the imitation's clock."""
    return TikTokClient(
        http,
        client_key=sandbox.tiktok.client_key,
        client_secret=sandbox.tiktok.client_secret,
        authorize_base=sandbox.url,
        api_base=sandbox.url,
        clock=lambda: sandbox.tiktok.now,
    )


class ConsentForm(HTMLParser):
    """What a browser would submit from the consent page: inputs, checked boxes, buttons by id."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self.radios: dict[str, list[str]] = {}
        self.buttons: dict[str, tuple[str, str]] = {}
        self.scopes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "input" and a.get("type") == "radio":
            self.radios.setdefault(a["name"], []).append(a["value"])
            if "checked" in a:
                self.fields.append((a["name"], a["value"]))
        elif tag == "input" and a.get("type") == "checkbox":
            self.scopes.append(a["value"])
            if "checked" in a and "disabled" not in a:
                self.fields.append((a["name"], a["value"]))
        elif tag == "input":
            self.fields.append((a["name"], a.get("value", "")))
        elif tag == "button":
            self.buttons[a["id"]] = (a["name"], a["value"])

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def submit(self, button: str, *, account: str | None = None, untick: tuple[str, ...] = ()) -> list:
        fields = [
            (k, v)
            for k, v in self.fields
            if not (k == "scope" and v in untick) and not (account and k == "account")
        ]
        if account:
            fields.append(("account", account))
        return [*fields, self.buttons[button]]


async def consent(
    http: httpx.AsyncClient, url: str, button: str, **choices
) -> tuple[ConsentForm, dict[str, str]]:
    """Open the consent page, press a button; returns the page and the callback's query."""
    page = await http.get(url)
    assert page.status_code == 200
    form = ConsentForm()
    form.feed(page.text)
    answer = await http.post(
        url,
        content=urlencode(form.submit(button, **choices)),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert answer.status_code == 302
    location = answer.headers["location"]
    assert location.startswith(CALLBACK + "?")
    return form, {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


async def connect(
    client: TikTokClient, http: httpx.AsyncClient, account: str = "maya.makes", **choices
) -> TokenSet:
    """The whole connect flow: consent (Allow), callback, code exchange."""
    url = client.authorize_url("state-123", CALLBACK)
    _, query = await consent(http, url, "allow", account=account, **choices)
    assert query["state"] == "state-123"
    return await client.exchange_code(client.code_from_callback(query), CALLBACK)


# ----- OAuth ------------------------------------------------------------------------


def test_authorize_url_speaks_tiktoks_dialect(client: TikTokClient, sandbox: Running) -> None:
    url = urlsplit(client.authorize_url("s-1", CALLBACK))
    assert f"{url.scheme}://{url.netloc}{url.path}" == f"{sandbox.url}/v2/auth/authorize/"
    assert parse_qs(url.query) == {
        "client_key": [sandbox.tiktok.client_key],
        "scope": ["user.info.basic,video.list"],
        "response_type": ["code"],
        "redirect_uri": [CALLBACK],
        "state": ["s-1"],
    }


async def test_consent_page_is_labelled_and_lists_the_scopes(
    client: TikTokClient, http: httpx.AsyncClient
) -> None:
    page = await http.get(client.authorize_url("s", CALLBACK))
    form = ConsentForm()
    form.feed(page.text)
    text = " ".join(form.text)
    assert "Sandbox" in text and "not the real TikTok" in text
    assert set(form.buttons) == {"allow", "deny"}
    assert form.scopes == ["user.info.basic", "video.list"]
    assert "Read your public videos" in text
    assert form.radios["account"] == ["maya.makes", "jon.cooks", "archive.huge"]


async def test_connect_gives_tokens_named_by_open_id(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http, "jon.cooks")
    assert tokens.account_id == sandbox.tiktok.open_id("jon.cooks")
    assert tokens.scope == "user.info.basic,video.list"
    assert tokens.expires_at == NOW + timedelta(hours=24)
    assert tokens.refresh_expires_at == NOW + timedelta(days=365)
    assert tokens.access_token.startswith("act.") and tokens.refresh_token.startswith("rft.")
    assert client.missing_scopes(tokens) == []
    profile = await client.profile(tokens.access_token)
    assert (profile.account_id, profile.display_name) == (tokens.account_id, "Jon Okafor")
    avatar = await http.get(profile.avatar_url)
    assert avatar.status_code == 200 and avatar.headers["content-type"] == "image/jpeg"
    assert sandbox.tiktok.counters["authorization_code"] == 1


async def test_denied_consent_tells_the_creator_and_issues_nothing(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    _, query = await consent(http, client.authorize_url("s-9", CALLBACK), "deny")
    assert query["error"] == "access_denied"
    assert query["error_description"] and query["state"] == "s-9"
    assert "code" not in query
    with pytest.raises(BadInput) as raised:
        client.code_from_callback(query)
    assert str(raised.value) == DENIED
    assert await sandbox.tiktok.ledger.count("code") == 0
    assert await sandbox.tiktok.ledger.count("grant") == 0


async def test_a_code_exchanged_twice_is_refused(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    _, query = await consent(http, client.authorize_url("s", CALLBACK), "allow")
    code = client.code_from_callback(query)
    first = await client.exchange_code(code, CALLBACK)
    with pytest.raises(AuthExpired) as raised:
        await client.exchange_code(code, CALLBACK)
    assert str(raised.value) == CODE_SPENT
    assert sandbox.tiktok.counters["authorization_code"] == 1
    # The first exchange's tokens still work.
    assert (await client.profile(first.access_token)).display_name == "Maya Fernandes"


async def test_a_code_past_ten_minutes_is_refused(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    _, query = await consent(http, client.authorize_url("s", CALLBACK), "allow")
    sandbox.tiktok.advance(timedelta(minutes=11))
    with pytest.raises(AuthExpired, match="already used or has expired"):
        await client.exchange_code(query["code"], CALLBACK)


async def test_wrong_client_secret_is_a_configuration_problem(
    sandbox: Running, http: httpx.AsyncClient, client: TikTokClient
) -> None:
    _, query = await consent(http, client.authorize_url("s", CALLBACK), "allow")
    wrong = TikTokClient(
        http, client_key=sandbox.tiktok.client_key, client_secret="nope", api_base=sandbox.url
    )
    with pytest.raises(ProviderError, match="refused Assetry's client key or secret") as raised:
        await wrong.exchange_code(query["code"], CALLBACK)
    assert "TikTok log id" in str(raised.value)


async def test_unknown_client_key_gets_an_error_page_not_a_redirect(
    sandbox: Running, http: httpx.AsyncClient
) -> None:
    stranger = TikTokClient(http, client_key="someone-else", client_secret="x", authorize_base=sandbox.url)
    page = await http.get(stranger.authorize_url("s", CALLBACK))
    assert page.status_code == 400 and "client_key" in page.text and "Sandbox" in page.text


async def test_refresh_rotates_and_the_old_refresh_token_dies(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    first = await connect(client, http)
    sandbox.tiktok.advance(timedelta(hours=23))
    second = await client.refresh(first.refresh_token)
    assert second.refresh_token != first.refresh_token
    assert second.access_token != first.access_token
    assert second.expires_at == sandbox.tiktok.now + timedelta(hours=24)
    assert second.account_id == first.account_id
    with pytest.raises(AuthExpired) as raised:
        await client.refresh(first.refresh_token)
    assert str(raised.value) == RECONNECT
    third = await client.refresh(second.refresh_token)
    assert (await client.profile(third.access_token)).account_id == first.account_id
    assert sandbox.tiktok.counters == {"authorization_code": 1, "refresh_token": 2}


async def test_access_token_expires_after_its_lifetime(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.advance(timedelta(hours=24, seconds=1))
    with pytest.raises(AuthExpired) as raised:
        await client.videos(tokens.access_token)
    assert str(raised.value) == RECONNECT
    renewed = await client.refresh(tokens.refresh_token)
    assert (await client.videos(renewed.access_token)).posts


async def test_an_expired_refresh_token_means_reconnect(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    await sandbox.tiktok.expire_refresh_tokens()
    with pytest.raises(AuthExpired, match="Reconnect your TikTok account"):
        await client.refresh(tokens.refresh_token)
    assert sandbox.tiktok.counters["refresh_token"] == 0


async def test_oauth_errors_are_read_from_the_body_even_with_status_200(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    sandbox.tiktok.oauth_error_status = 200
    with pytest.raises(AuthExpired):
        await client.refresh("rft.never-issued")
    with pytest.raises(AuthExpired, match="already used or has expired"):
        await client.exchange_code("never-issued", CALLBACK)


async def test_revoke_ends_the_connection(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    await client.revoke(tokens.access_token)
    assert sandbox.tiktok.counters["revoke"] == 1
    with pytest.raises(AuthExpired):
        await client.profile(tokens.access_token)
    with pytest.raises(AuthExpired):
        await client.refresh(tokens.refresh_token)
    # Revoking again (a disconnect retried) is not an error: the access is gone either way.
    await client.revoke(tokens.access_token)
    assert sandbox.tiktok.counters["revoke"] == 1


@pytest.mark.parametrize("body", ["", "{}"])
async def test_revoke_succeeds_with_an_empty_body_or_an_empty_object(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running, body: str
) -> None:
    """TikTok's docs: "A successful request returns an empty response body"; their example shows `{}`."""
    sandbox.tiktok.revoke_body = body
    tokens = await connect(client, http)
    form = {
        "client_key": sandbox.tiktok.client_key,
        "client_secret": sandbox.tiktok.client_secret,
        "token": tokens.access_token,
    }
    reply = await http.post(f"{sandbox.url}/v2/oauth/revoke/", data=form)
    assert (reply.status_code, reply.text) == (200, body)
    tokens = await connect(client, http)
    await client.revoke(tokens.access_token)  # read as revoked, not as an unreadable reply
    assert sandbox.tiktok.counters["revoke"] == 2
    with pytest.raises(AuthExpired):
        await client.profile(tokens.access_token)


async def test_parallel_refreshes_each_count_as_an_exchange(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    """Without single-flight, a race spends the refresh token: the counter shows it."""
    tokens = await connect(client, http)
    sandbox.tiktok.faults.delay = 0.05
    results = await asyncio.gather(
        *(client.refresh(tokens.refresh_token) for _ in range(3)), return_exceptions=True
    )
    assert sum(isinstance(r, TokenSet) for r in results) == 1
    assert sum(isinstance(r, AuthExpired) for r in results) == 2
    assert sandbox.tiktok.counters["refresh_token"] == 1


# ----- profile and videos -------------------------------------------------------------


async def test_first_page_of_videos(client: TikTokClient, http: httpx.AsyncClient, sandbox: Running) -> None:
    tokens = await connect(client, http)
    page = await client.videos(tokens.access_token)
    public = await sandbox.tiktok.public_videos("maya.makes")
    assert 0 < len(page.posts) <= 20 and page.has_more and page.cursor
    assert [p.platform_id for p in page.posts] == public[: len(page.posts)]
    created = [p.created_at for p in page.posts]
    assert created == sorted(created, reverse=True)
    newest = page.posts[0]
    assert newest.created_at.tzinfo is UTC and newest.created_at <= NOW
    assert int(newest.platform_id) >> 32 == int(newest.created_at.timestamp())
    assert set(newest.metrics) == {"views", "likes", "comments", "shares"} and newest.missing == {}
    assert newest.media_type == "video" and newest.title and newest.duration_s
    assert newest.url == f"{sandbox.url}/@maya.makes/video/{newest.platform_id}"
    assert newest.cover_expires_at == NOW + timedelta(hours=6)
    cover = await http.get(newest.cover_url)
    assert cover.status_code == 200 and cover.content[:2] == b"\xff\xd8"
    sandbox.tiktok.advance(timedelta(hours=6, minutes=1))
    assert (await http.get(newest.cover_url)).status_code == 403
    fresh = await client.refresh_videos(tokens.access_token, [newest.platform_id])
    assert (await http.get(fresh[0].cover_url)).status_code == 200


async def test_creators_are_deterministic() -> None:
    """Two imitations (two runs of the app) describe the same creator identically."""
    seen = []
    for _ in range(2):
        imitation = TikTokImitation(now=NOW)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=imitation.app)) as http:
            client = TikTokClient(
                http,
                client_key=imitation.client_key,
                client_secret=imitation.client_secret,
                authorize_base="http://sandbox",
                api_base="http://sandbox",
            )
            tokens = await connect(client, http)
            page = await client.videos(tokens.access_token)
            seen.append(
                (tokens.account_id, [(p.platform_id, p.created_at, p.title, p.metrics) for p in page.posts])
            )
    assert seen[0] == seen[1]


async def test_metrics_grow_as_time_passes(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    sandbox.tiktok.advance(timedelta(days=3))  # new posts appear on the creator's schedule
    tokens = await connect(client, http)
    newest = (await client.videos(tokens.access_token)).posts[0]
    assert newest.created_at > NOW
    views = []
    for hours in (1, 6, 24, 24 * 7):
        sandbox.tiktok.set_now(newest.created_at + timedelta(hours=hours))
        tokens = await client.refresh(tokens.refresh_token)
        [post] = await client.refresh_videos(tokens.access_token, [newest.platform_id])
        views.append(post.metrics["views"])
        assert post.metrics["likes"] <= post.metrics["views"]
    assert views == sorted(set(views)), views  # strictly growing: views after 1 h, 6 h, 24 h, 7 d differ


async def test_every_video_of_a_huge_account_once_across_rate_limits(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    """10,000+ videos: short pages, the 600/min limit hit and resumed from the stored cursor."""
    tokens = await connect(client, http, "archive.huge")
    public = await sandbox.tiktok.public_videos("archive.huge")
    assert len(public) > 10_000
    limiter_clock = [0.0]
    sandbox.tiktok.clock = lambda: limiter_clock[0]
    ids: list[str] = []
    cursor, pages, short_pages, limited = None, 0, 0, []
    while True:
        try:
            async for page in client.all_videos(tokens.access_token, cursor):
                ids.extend(p.platform_id for p in page.posts)
                pages += 1
                short_pages += page.has_more and len(page.posts) < 20
                cursor = page.cursor
            break
        except RateLimited as error:
            limited.append(error.retry_after)
            limiter_clock[0] += error.retry_after  # the job runner's back-off, without the wait
    assert ids == public  # newest first, each once, none lost
    assert limited and all(0 < wait <= 60 for wait in limited)
    assert short_pages > 0
    assert pages > 500


async def test_rate_limit_is_per_endpoint(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.rate_limit_per_minute = 3
    for _ in range(3):
        await client.videos(tokens.access_token)
    with pytest.raises(RateLimited, match="limiting how often") as raised:
        await client.videos(tokens.access_token)
    assert 0 < raised.value.retry_after <= 60
    assert (await client.profile(tokens.access_token)).display_name == "Maya Fernandes"


async def test_incremental_sync_stops_at_what_is_known(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    known = (await client.videos(tokens.access_token)).posts[0]
    sandbox.tiktok.advance(timedelta(days=5))
    tokens = await client.refresh(tokens.refresh_token)
    pages = [page async for page in client.all_videos(tokens.access_token, newer_than=known.created_at)]
    posts = [p for page in pages for p in page.posts]
    assert posts and all(p.created_at >= known.created_at for p in posts)
    assert posts[-1].platform_id == known.platform_id
    assert len(pages) == 1 and not pages[-1].has_more
    expected = [
        i
        for i in await sandbox.tiktok.public_videos("maya.makes")
        if int(i) >> 32 >= known.created_at.timestamp()
    ]
    assert [p.platform_id for p in posts] == expected


async def test_refresh_videos_batches_by_twenty(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    ids = (await sandbox.tiktok.public_videos("maya.makes"))[:45]
    before = len(sandbox.tiktok.requests)
    posts = await client.refresh_videos(tokens.access_token, [*ids, ids[0]])
    queries = sandbox.tiktok.requests[before:]
    assert queries == [("POST", "/v2/video/query/")] * 3
    assert sorted(p.platform_id for p in posts) == sorted(ids)
    assert all(set(p.metrics) == {"views", "likes", "comments", "shares"} for p in posts)


async def test_refresh_videos_leaves_out_other_creators_videos(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    mine = (await sandbox.tiktok.public_videos("maya.makes"))[:2]
    theirs = (await sandbox.tiktok.public_videos("jon.cooks"))[:2]
    posts = await client.refresh_videos(tokens.access_token, mine + theirs)
    assert [p.platform_id for p in posts] == mine


async def test_bad_ids_and_cursors_are_refused_before_asking_tiktok(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    before = len(sandbox.tiktok.requests)
    with pytest.raises(BadInput, match="not TikTok video ids: https://"):
        await client.refresh_videos(tokens.access_token, ["https://www.tiktok.com/@x/video/1"])
    with pytest.raises(BadInput, match="not a TikTok page cursor"):
        await client.videos(tokens.access_token, cursor="yesterday")
    assert len(sandbox.tiktok.requests) == before


async def test_without_video_access_the_creator_is_asked_to_reconnect(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http, untick=("video.list",))
    assert tokens.scope == "user.info.basic"
    assert client.missing_scopes(tokens) == ["video.list"]
    assert (await client.profile(tokens.access_token)).display_name == "Maya Fernandes"
    with pytest.raises(AuthExpired) as raised:
        await client.videos(tokens.access_token)
    assert str(raised.value) == RECONNECT_FOR_VIDEOS
    assert "allowed" in str(raised.value) and "Reconnect" in str(raised.value)


# ----- faults -------------------------------------------------------------------------


async def test_revoked_mid_sync_stops_with_reconnect(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http, "archive.huge")
    seen = []
    with pytest.raises(AuthExpired) as raised:
        async for page in client.all_videos(tokens.access_token):
            seen.extend(page.posts)
            if len(seen) > 50:
                await sandbox.tiktok.revoke_user(tokens.account_id)
    assert str(raised.value) == RECONNECT
    assert [p.platform_id for p in seen] == (await sandbox.tiktok.public_videos("archive.huge"))[: len(seen)]


async def test_injected_401_mid_sync(client: TikTokClient, http: httpx.AsyncClient, sandbox: Running) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.set(status=401, only="/video/list/", after=2)
    pages = []
    with pytest.raises(AuthExpired, match="Reconnect your TikTok account"):
        async for page in client.all_videos(tokens.access_token):
            pages.append(page)  # noqa: PERF401 - the pages before the failure are the point
    assert len(pages) == 2


@pytest.mark.parametrize(("retry_after", "expected"), [("17", 17.0), (None, 60.0)])
async def test_429_maps_to_rate_limited(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running, retry_after: str | None, expected: float
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.set(status=429, retry_after=retry_after)
    with pytest.raises(RateLimited) as raised:
        await client.videos(tokens.access_token)
    assert raised.value.retry_after == expected
    with pytest.raises(RateLimited):  # the token endpoint too, in its own error shape
        await client.refresh(tokens.refresh_token)


async def test_internal_error_is_a_provider_error_with_log_id(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.set(status=500, times=1)
    with pytest.raises(ProviderError, match=r"problem answering \(internal_error\) \(TikTok log id 2026"):
        await client.profile(tokens.access_token)
    assert (await client.profile(tokens.access_token)).display_name  # it was one bad answer


async def test_invalid_params_is_our_bug_not_the_creators(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.set(status=400)
    with pytest.raises(ProviderError, match="refused Assetry's request as invalid"):
        await client.videos(tokens.access_token)
    # And for real: a raw request with too many ids gets invalid_params in TikTok's envelope.
    sandbox.tiktok.faults.clear()
    reply = await http.post(
        f"{sandbox.url}/v2/video/query/?fields=id",
        json={"filters": {"video_ids": [str(i) for i in range(21)]}},
        headers={"Authorization": f"Bearer {tokens.access_token}"},
    )
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "invalid_params"


@pytest.mark.parametrize(("shape", "status"), [("truncated", None), ("html", 502), ("shape", None)])
async def test_malformed_replies_are_provider_errors(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running, shape: str, status: int | None
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.set(malformed=shape, status=status)
    with pytest.raises(ProviderError, match=r"cannot read|expected shape"):
        await client.videos(tokens.access_token)
    with pytest.raises(ProviderError, match=r"cannot read|no usable access token"):
        await client.refresh(tokens.refresh_token)


async def test_a_timeout_is_a_provider_error(
    sandbox: Running, http: httpx.AsyncClient, client: TikTokClient
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.delay = 1.0
    async with httpx.AsyncClient(timeout=0.2) as impatient:
        slow = TikTokClient(
            impatient, client_key="k", client_secret="s", api_base=sandbox.url, clock=lambda: NOW
        )
        with pytest.raises(ProviderError, match="did not answer in time"):
            await slow.videos(tokens.access_token)


async def test_unreachable_tiktok_is_a_provider_error(http: httpx.AsyncClient) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    client = TikTokClient(http, client_key="k", client_secret="s", api_base=f"http://127.0.0.1:{port}")
    with pytest.raises(ProviderError, match="could not reach TikTok"):
        await client.profile("act.x")


async def test_duplicated_videos_across_pages_count_once(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.duplicates = True
    raw, cursor = [], None
    for _ in range(6):
        page = await client.videos(tokens.access_token, cursor)
        raw.extend(p.platform_id for p in page.posts)
        cursor = page.cursor
    assert len(raw) > len(set(raw))  # the fault is real: pages overlap
    ids = [p.platform_id async for page in client.all_videos(tokens.access_token) for p in page.posts]
    assert ids == await sandbox.tiktok.public_videos("maya.makes")
    assert len(ids) == len(set(ids)) > 200


async def test_missing_metrics_say_why(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    sandbox.tiktok.faults.missing_fields = ("like_count", "share_count")
    posts = [p async for page in client.all_videos(tokens.access_token) for p in page.posts]
    assert len(posts) == len(await sandbox.tiktok.public_videos("maya.makes"))
    gaps = [p for p in posts if p.missing]
    assert gaps and len(gaps) < len(posts)
    for post in gaps:
        assert set(post.metrics) == {"views", "comments"}
        assert "likes" not in post.metrics and "shares" not in post.metrics
        reason = NOT_YET if NOW - post.created_at < timedelta(hours=48) else NOT_GIVEN
        assert post.missing == {"likes": reason, "shares": reason}
    assert any(p.missing.get("likes") == NOT_GIVEN for p in gaps)


async def test_videos_without_id_or_time_are_skipped_not_invented(
    client: TikTokClient, http: httpx.AsyncClient, sandbox: Running
) -> None:
    tokens = await connect(client, http)
    full = await client.videos(tokens.access_token)
    sandbox.tiktok.faults.missing_fields = ("create_time",)
    partial = await client.videos(tokens.access_token)
    assert partial.cursor == full.cursor and partial.has_more
    assert [p.platform_id for p in partial.posts] == [p.platform_id for p in full.posts[1::2]]


async def test_mounted_under_a_prefix_as_in_sandbox_mode() -> None:
    """Sandbox mode mounts the imitation inside the app: links and the consent form keep the prefix."""
    imitation = TikTokImitation(now=NOW)
    outer = Starlette(routes=[Mount("/sandbox/tiktok", app=imitation.app)])
    base = "http://app.local/sandbox/tiktok"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer)) as http:
        client = TikTokClient(
            http,
            client_key=imitation.client_key,
            client_secret=imitation.client_secret,
            authorize_base=base,
            api_base=base,
            clock=lambda: imitation.now,
        )
        tokens = await connect(client, http, "jon.cooks")
        newest = (await client.videos(tokens.access_token)).posts[0]
        assert newest.cover_url.startswith(f"{base}/sandbox-media/cover/")
        assert newest.url == f"{base}/@jon.cooks/video/{newest.platform_id}"
        assert (await http.get(newest.cover_url)).status_code == 200
        page = await http.get(newest.url)
        assert page.status_code == 200 and "Sandbox" in page.text
