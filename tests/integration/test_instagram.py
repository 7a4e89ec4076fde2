"""The Instagram client against the local imitation of Instagram Login and the Graph API, over real HTTP.

The imitation (assetry/sandbox/instagram.py) runs under uvicorn on a free 127.0.0.1 port;
the client (authlib for the OAuth parameters, httpx for the calls) is the one the app uses.
No database is involved.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations import instagram
from assetry.integrations.instagram import ALBUM_ITEM, InstagramClient, PostGone, code_from_callback
from assetry.integrations.social import HIDDEN, NOT_FOR_TYPE, NOT_YET, TOO_FEW_VIEWERS, PostData
from assetry.sandbox.instagram import (
    LONG_LIVED_SECONDS,
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    InstagramImitation,
)
from tests.asgi_server import serve

REDIRECT = "http://127.0.0.1:3000/oauth/instagram/callback"
ALL_METRICS = {"views", "reach", "likes", "comments", "saves", "shares", "interactions"}


@dataclass
class Running:
    """The imitation and the address it answers on."""

    imitation: InstagramImitation
    url: str


@pytest.fixture(scope="module")
def served() -> Iterator[Running]:
    """One imitation (its accounts take half a second to build) served for the whole module."""
    imitation = InstagramImitation()
    with serve(imitation.app) as url:
        yield Running(imitation, url)


@pytest.fixture
def sandbox(served: Running) -> Iterator[Running]:
    """The served imitation, put back as new after each test."""
    imitation = served.imitation
    imitation.now = imitation.anchor + timedelta(minutes=1)
    yield served
    imitation.faults.clear()
    imitation.now = None
    imitation.token_reply_shape = "data"
    imitation.insights_shape = "values"
    imitation.redirect_uris = ()
    imitation.restore_media()


@pytest.fixture
async def client(sandbox: Running) -> AsyncIterator[InstagramClient]:
    async with httpx.AsyncClient(timeout=5) as http:
        yield make_client(sandbox, http)


def make_client(sandbox: Running, http: httpx.AsyncClient, **overrides) -> InstagramClient:
    options = {
        "authorize_url": f"{sandbox.url}/oauth/authorize",
        "api_url": sandbox.url,
        "graph_url": sandbox.url,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
        "http": http,
        "clock": sandbox.imitation.clock,
    }
    return InstagramClient(**(options | overrides))


async def connect(client: InstagramClient, sandbox: Running, username: str = "sandbox_studio", **kw) -> str:
    """A long-lived token for a sandbox account, as after a consent."""
    code = await sandbox.imitation.grant_code(username, REDIRECT, **kw)
    return (await client.exchange_code(code, REDIRECT)).access_token


def post_of(sandbox: Running, username: str, which) -> PostData:
    """The PostData the media list gives for the first sandbox post `which` accepts."""
    media = next(m for m in sandbox.imitation.visible_media(username) if which(m))
    return PostData(platform_id=media.id, created_at=media.posted_at, media_type=_kind(media))


def _kind(media) -> str:
    if media.product_type == "REELS":
        return "reel"
    return {"CAROUSEL_ALBUM": "carousel", "IMAGE": "image", "VIDEO": "video"}[media.media_type]


# ----- OAuth ---------------------------------------------------------------------


def test_authorize_url_carries_what_instagram_asks_for(client: InstagramClient, sandbox: Running) -> None:
    url = client.authorize_url("state-123", REDIRECT)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{sandbox.url}/oauth/authorize"
    assert parse_qs(parts.query) == {
        "client_id": [SANDBOX_CLIENT_ID],
        "redirect_uri": [REDIRECT],
        "response_type": ["code"],
        "scope": ["instagram_business_basic,instagram_business_manage_insights"],
        "state": ["state-123"],
    }


@pytest.mark.parametrize("shape", ["data", "flat"])
async def test_consent_allow_then_code_gives_a_60_day_token(
    client: InstagramClient, sandbox: Running, shape: str
) -> None:
    sandbox.imitation.token_reply_shape = shape
    page = await client.http.get(client.authorize_url("s-1", REDIRECT))
    assert page.status_code == 200
    assert "Sandbox" in page.text and 'id="allow"' in page.text and 'id="deny"' in page.text
    form = {k: v[0] for k, v in parse_qs(urlsplit(client.authorize_url("s-1", REDIRECT)).query).items()}
    decision = await client.http.post(
        f"{sandbox.url}/oauth/authorize", data=form | {"decision": "allow", "account": "sandbox_creator"}
    )
    assert decision.status_code == 302
    location = decision.headers["location"]
    assert location.startswith(REDIRECT + "?") and location.endswith("#_")
    params = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    assert params["state"] == "s-1"
    # A framework that keeps the fragment hands over the code with Instagram's `#_` tail.
    code = code_from_callback({"code": params["code"] + "#_", "state": "s-1"})
    assert not code.endswith("#_")

    tokens = await client.exchange_code(code, REDIRECT)

    creator = sandbox.imitation.account("sandbox_creator")
    assert tokens.account_id == creator.user_id
    assert tokens.scope == "instagram_business_basic,instagram_business_manage_insights"
    assert tokens.refresh_token is None
    assert tokens.expires_at == sandbox.imitation.clock() + timedelta(seconds=LONG_LIVED_SECONDS)
    issued = await sandbox.imitation.issued(tokens.access_token)
    assert issued.long_lived and issued.user_id == creator.user_id
    assert (await client.profile(tokens.access_token)).username == "sandbox_creator"


async def test_denied_consent_says_nothing_was_connected(client: InstagramClient, sandbox: Running) -> None:
    codes_before = await sandbox.imitation.ledger.count("code")
    form = {k: v[0] for k, v in parse_qs(urlsplit(client.authorize_url("s-2", REDIRECT)).query).items()}
    decision = await client.http.post(f"{sandbox.url}/oauth/authorize", data=form | {"decision": "deny"})
    params = {k: v[0] for k, v in parse_qs(urlsplit(decision.headers["location"]).query).items()}
    assert params["error"] == "access_denied" and params["error_reason"] == "user_denied"
    assert params["state"] == "s-2"
    with pytest.raises(BadInput, match="did not allow Assetry"):
        code_from_callback(params)
    assert await sandbox.imitation.ledger.count("code") == codes_before


async def test_consent_page_refuses_an_unregistered_redirect_uri(
    client: InstagramClient, sandbox: Running
) -> None:
    sandbox.imitation.redirect_uris = (REDIRECT,)
    page = await client.http.get(client.authorize_url("s", "http://127.0.0.1:9/elsewhere"))
    assert page.status_code == 400
    assert "Invalid redirect_uri" in page.text
    assert "location" not in page.headers


def test_callback_without_a_code_is_refused() -> None:
    with pytest.raises(BadInput, match="no sign-in code"):
        code_from_callback({"state": "s"})


async def test_a_code_exchanged_twice_is_refused_the_second_time(
    client: InstagramClient, sandbox: Running
) -> None:
    code = await sandbox.imitation.grant_code("sandbox_studio", REDIRECT)
    assert code.endswith("#_")
    first = await client.exchange_code(code, REDIRECT)  # the `#_` tail is stripped by the client
    assert first.access_token
    tokens_before = await sandbox.imitation.ledger.count("token")
    with pytest.raises(BadInput, match="already used or has expired"):
        await client.exchange_code(code, REDIRECT)
    assert await sandbox.imitation.ledger.count("token") == tokens_before


async def test_an_expired_code_is_refused(client: InstagramClient, sandbox: Running) -> None:
    code = await sandbox.imitation.grant_code("sandbox_studio", REDIRECT)
    sandbox.imitation.advance(timedelta(hours=2))
    with pytest.raises(BadInput, match="already used or has expired"):
        await client.exchange_code(code, REDIRECT)


async def test_a_different_redirect_uri_or_secret_is_our_misconfiguration(
    client: InstagramClient, sandbox: Running
) -> None:
    code = await sandbox.imitation.grant_code("sandbox_studio", REDIRECT)
    with pytest.raises(ProviderError, match="redirect_uri is identical") as wrong_uri:
        await client.exchange_code(code, REDIRECT + "/other")
    assert not isinstance(wrong_uri.value, BadInput)
    wrong_secret = make_client(sandbox, client.http, client_secret="not-the-secret")
    with pytest.raises(ProviderError, match="client secret"):
        await wrong_secret.exchange_code(
            await sandbox.imitation.grant_code("sandbox_studio", REDIRECT), REDIRECT
        )


async def test_refresh_needs_a_day_old_unexpired_token(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    with pytest.raises(ProviderError, match="at least 24 hours old"):
        await client.refresh(token)
    sandbox.imitation.advance(timedelta(hours=25))
    fresh = await client.refresh(token)
    assert fresh.access_token != token
    assert fresh.expires_at == sandbox.imitation.clock() + timedelta(seconds=LONG_LIVED_SECONDS)
    assert (await client.profile(fresh.access_token)).username == "sandbox_studio"
    sandbox.imitation.advance(timedelta(days=61))
    with pytest.raises(AuthExpired, match="Reconnect"):
        await client.refresh(fresh.access_token)


# ----- profile ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "account_type"), [("sandbox_studio", "BUSINESS"), ("sandbox_creator", "MEDIA_CREATOR")]
)
async def test_profile_of_business_and_creator_accounts(
    client: InstagramClient, sandbox: Running, username: str, account_type: str
) -> None:
    profile = await client.profile(await connect(client, sandbox, username))
    account = sandbox.imitation.account(username)
    assert profile.account_id == account.user_id
    assert profile.username == profile.display_name == username
    assert profile.account_type == account_type
    assert profile.followers == account.followers
    assert profile.posts == len(sandbox.imitation.visible_media(username))
    assert profile.avatar_url.endswith(f"{username}.svg")


async def test_a_personal_account_is_refused_with_what_to_do(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox, "sandbox_personal")
    with pytest.raises(BadInput, match="Only Instagram business or creator accounts can be connected"):
        await client.profile(token)
    personal = sandbox.imitation.account("sandbox_personal")
    with pytest.raises(AuthExpired, match="Only business or creator accounts"):
        await client.media(token, personal.user_id)


async def test_api_version_is_configurable(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    newer = make_client(sandbox, client.http, api_version="v24.0")
    await newer.profile(token)
    assert sandbox.imitation.requests[-1][1] == "/v24.0/me"


# ----- media -----------------------------------------------------------------------


async def test_media_pages_newest_first_with_cursors(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    first = await client.media(token, studio.user_id)
    assert len(first.posts) == 25 and first.has_more and first.cursor
    visible = sandbox.imitation.visible_media("sandbox_studio")
    assert [p.platform_id for p in first.posts] == [m.id for m in visible[:25]]
    assert [p.created_at for p in first.posts] == sorted((p.created_at for p in first.posts), reverse=True)
    second = await client.media(token, studio.user_id, after=first.cursor)
    assert [p.platform_id for p in second.posts] == [m.id for m in visible[25:50]]
    kinds = {p.media_type for p in [*first.posts, *second.posts]}
    assert {"reel", "image", "carousel"} <= kinds
    reel = next(p for p in first.posts if p.media_type == "reel")
    assert reel.url.startswith("https://www.instagram.com/p/")
    assert reel.cover_url.endswith(".svg") and reel.title
    assert reel.created_at.tzinfo is not None
    assert set(reel.metrics) <= {"likes", "comments"}


async def test_huge_account_pages_to_the_end_each_post_once(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox, "sandbox_huge")
    huge = sandbox.imitation.account("sandbox_huge")
    ids = [post.platform_id async for post in client.all_media(token, huge.user_id)]
    assert len(ids) == len(set(ids)) == 10_500
    assert ids == [m.id for m in sandbox.imitation.visible_media("sandbox_huge")]


async def test_pages_overlapping_the_previous_one_count_each_post_once(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    sandbox.imitation.faults.duplicates = True
    seen = 0
    page = await client.media(token, studio.user_id)
    seen += len(page.posts)
    while page.has_more:
        page = await client.media(token, studio.user_id, after=page.cursor)
        seen += len(page.posts)
    assert seen > 180  # the imitation really did repeat posts
    ids = [post.platform_id async for post in client.all_media(token, studio.user_id)]
    assert sorted(ids) == sorted(m.id for m in sandbox.imitation.visible_media("sandbox_studio"))


async def test_a_page_with_missing_fields_keeps_every_usable_post(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    sandbox.imitation.faults.missing_fields = True
    page = await client.media(token, studio.user_id)
    visible = sandbox.imitation.visible_media("sandbox_studio")[:25]
    # One item came without an id, one without a timestamp: those two are skipped, not invented.
    assert [p.platform_id for p in page.posts] == [m.id for n, m in enumerate(visible) if n not in (2, 3)]
    bare = next(p for p in page.posts if p.platform_id == visible[1].id)
    assert bare.title == "" and bare.url == ""
    assert bare.media_type in {"image", "video", "carousel"}
    assert page.has_more


async def test_new_posts_appear_when_the_clock_moves_on(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    newest = studio.media[0]
    sandbox.imitation.now = newest.posted_at - timedelta(minutes=1)
    before = await client.media(token, studio.user_id)
    assert newest.id not in {p.platform_id for p in before.posts}
    sandbox.imitation.now = newest.posted_at + timedelta(minutes=1)
    after = await client.media(token, studio.user_id)
    assert after.posts[0].platform_id == newest.id


# ----- insights --------------------------------------------------------------------


@pytest.mark.parametrize("shape", ["values", "total_value"])
async def test_views_grow_over_time_in_either_reply_shape(
    client: InstagramClient, sandbox: Running, shape: str
) -> None:
    sandbox.imitation.insights_shape = shape
    token = await connect(client, sandbox)
    post = post_of(sandbox, "sandbox_studio", lambda m: m.product_type == "REELS" and not m.hidden_likes)
    seen = []
    for hours in (1, 6, 24, 24 * 7):
        sandbox.imitation.now = post.created_at + timedelta(hours=hours, minutes=1)
        measured = await client.insights(token, post)
        assert set(measured.metrics) == ALL_METRICS
        assert measured.missing == {}
        m = measured.metrics
        assert m["interactions"] == m["likes"] + m["comments"] + m["saves"] + m["shares"]
        assert m["reach"] <= m["views"]
        seen.append(m["views"])
    assert seen == sorted(seen) and len(set(seen)) == 4
    expected = sandbox.imitation.media_item(post.platform_id).numbers(sandbox.imitation.clock())["views"]
    assert seen[-1] == expected


async def test_the_client_never_asks_for_retired_metrics_which_fail_the_whole_request(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox)
    post = post_of(sandbox, "sandbox_studio", lambda m: m.product_type == "FEED")
    sandbox.imitation.now = post.created_at + timedelta(days=3)
    await client.insights(token, post)
    asked = sandbox.imitation.requests[-1][2]["metric"].split(",")
    assert asked == ["views", "reach", "likes", "comments", "saved", "shares", "total_interactions"]
    for retired in ("impressions", "plays", "video_views"):
        raw = await client.http.get(
            f"{sandbox.url}/v26.0/{post.platform_id}/insights",
            params={"metric": f"views,{retired}", "access_token": token},
        )
        assert raw.status_code == 400
        error = raw.json()["error"]
        assert error["code"] == 100 and retired in error["message"] and error["type"] == "OAuthException"


async def test_a_brand_new_post_has_no_insights_yet(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    page = await client.media(token, studio.user_id)
    newest = page.posts[0]
    assert sandbox.imitation.clock() - newest.created_at < timedelta(hours=1)
    measured = await client.insights(token, newest)
    for name in ("views", "reach", "saves", "shares", "interactions"):
        assert name not in measured.metrics
        assert measured.missing[name] == NOT_YET
    # Like and comment counts from the media list are real numbers: they stay.
    assert measured.metrics.get("comments") == newest.metrics.get("comments")


async def test_a_lagging_post_has_no_insights_for_48_hours(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox, "sandbox_creator")
    post = post_of(sandbox, "sandbox_creator", lambda m: m.lagging and not m.hidden_likes)
    sandbox.imitation.now = post.created_at + timedelta(hours=30)
    late = await client.insights(token, post)
    assert late.metrics == {} and late.missing == dict.fromkeys(ALL_METRICS, NOT_YET)
    sandbox.imitation.now = post.created_at + timedelta(hours=49)
    assert set((await client.insights(token, post)).metrics) == ALL_METRICS


async def test_hidden_likes_say_so(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    hidden_ids = {m.id for m in studio.media if m.hidden_likes}
    assert hidden_ids
    listed = [p async for p in client.all_media(token, studio.user_id) if p.platform_id in hidden_ids]
    post = next(p for p in listed if sandbox.imitation.clock() - p.created_at > timedelta(days=2))
    assert "likes" not in post.metrics and post.missing == {"likes": HIDDEN}
    measured = await client.insights(token, post)
    assert "likes" not in measured.metrics
    assert measured.missing == {"likes": HIDDEN}
    assert set(measured.metrics) == ALL_METRICS - {"likes"}


async def test_album_children_have_no_insights(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    album = post_of(sandbox, "sandbox_studio", lambda m: m.media_type == "CAROUSEL_ALBUM")
    sandbox.imitation.now = album.created_at + timedelta(days=2)
    children = await client.children(token, album)
    expected = sandbox.imitation.media_item(album.platform_id).children
    assert [c.platform_id for c in children] == [c.id for c in expected]
    assert {c.media_type for c in children} == {ALBUM_ITEM}
    calls = len(sandbox.imitation.requests)
    measured = await client.insights(token, children[0])
    assert measured.metrics == {} and measured.missing == dict.fromkeys(ALL_METRICS, NOT_FOR_TYPE)
    assert len(sandbox.imitation.requests) == calls  # nothing was asked
    # The album itself has them; asking Instagram for a child's fails.
    assert set((await client.insights(token, album)).metrics) >= {"views", "reach"}
    raw = await client.http.get(
        f"{sandbox.url}/v26.0/{children[0].platform_id}/insights",
        params={"metric": "views", "access_token": token},
    )
    assert raw.status_code == 400 and raw.json()["error"]["code"] == 100


async def test_stories_with_few_viewers_say_why_numbers_are_missing(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    stories = await client.stories(token, studio.user_id)
    assert [s.media_type for s in stories] == ["story", "story"]
    few, many = (next(s for s in stories if s.platform_id == m.id) for m in studio.stories)
    quiet = await client.insights(token, few)
    assert quiet.metrics == {}
    assert quiet.missing == {
        "views": TOO_FEW_VIEWERS,
        "reach": TOO_FEW_VIEWERS,
        "shares": TOO_FEW_VIEWERS,
        "interactions": TOO_FEW_VIEWERS,
        "likes": NOT_FOR_TYPE,
        "comments": NOT_FOR_TYPE,
        "saves": NOT_FOR_TYPE,
    }
    seen = await client.insights(token, many)
    assert seen.metrics["views"] == studio.stories[1].viewers
    assert seen.missing == {"likes": NOT_FOR_TYPE, "comments": NOT_FOR_TYPE, "saves": NOT_FOR_TYPE}
    sandbox.imitation.advance(timedelta(hours=25))
    assert await client.stories(token, studio.user_id) == []


async def test_a_deleted_post_is_reported_gone(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    post = post_of(sandbox, "sandbox_studio", lambda m: m.product_type == "REELS")
    sandbox.imitation.delete_media(post.platform_id)
    with pytest.raises(PostGone, match="no longer on Instagram"):
        await client.insights(token, post)


async def test_insights_without_the_insights_permission_need_a_reconnect(
    client: InstagramClient, sandbox: Running
) -> None:
    token = await connect(client, sandbox, scopes=("instagram_business_basic",))
    post = post_of(sandbox, "sandbox_studio", lambda m: m.product_type == "REELS")
    with pytest.raises(AuthExpired, match="every permission"):
        await client.insights(token, post)


# ----- faults ----------------------------------------------------------------------


@pytest.mark.parametrize(("code", "retry_after"), [(4, 600.0), (17, 420.0), (32, 420.0), (613, 420.0)])
async def test_throttling_codes_back_off_for_as_long_as_the_headers_say(
    client: InstagramClient, sandbox: Running, code: int, retry_after: float
) -> None:
    token = await connect(client, sandbox)
    sandbox.imitation.faults.rate_limit_code = code
    with pytest.raises(RateLimited, match="slow down") as limited:
        await client.profile(token)
    assert limited.value.retry_after == retry_after


async def test_rate_limited_mid_sync_after_some_pages(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox, "sandbox_huge")
    huge = sandbox.imitation.account("sandbox_huge")
    faults = sandbox.imitation.faults
    faults.rate_limit_code, faults.rate_limit_status, faults.after, faults.only = 32, 429, 3, "/media"
    got = []
    with pytest.raises(RateLimited) as limited:
        got.extend([post.platform_id async for post in client.all_media(token, huge.user_id)])
    assert limited.value.retry_after == 7 * 60
    faults.clear()
    page = await client.media(token, huge.user_id)
    assert len(page.posts) == 25  # it answers again once the limit has passed


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_server_errors_are_provider_errors(
    client: InstagramClient, sandbox: Running, status: int
) -> None:
    token = await connect(client, sandbox)
    sandbox.imitation.faults.server_error = status
    with pytest.raises(ProviderError, match="not answering"):
        await client.profile(token)


async def test_server_error_during_code_exchange(client: InstagramClient, sandbox: Running) -> None:
    code = await sandbox.imitation.grant_code("sandbox_studio", REDIRECT)
    sandbox.imitation.faults.server_error, sandbox.imitation.faults.only = 500, "/oauth/access_token"
    with pytest.raises(ProviderError, match="not answering"):
        await client.exchange_code(code, REDIRECT)


async def test_malformed_body_is_a_provider_error(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    studio = sandbox.imitation.account("sandbox_studio")
    sandbox.imitation.faults.malformed = True
    with pytest.raises(ProviderError, match="could not read"):
        await client.media(token, studio.user_id)


async def test_a_slow_instagram_times_out_as_a_provider_error(sandbox: Running) -> None:
    async with httpx.AsyncClient(timeout=0.2) as http:
        client = make_client(sandbox, http)
        token = await connect(client, sandbox)
        sandbox.imitation.faults.delay = 1.0
        with pytest.raises(ProviderError, match="not answering"):
            await client.profile(token)


async def test_token_revoked_mid_sync_needs_a_reconnect(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox, "sandbox_creator")
    creator = sandbox.imitation.account("sandbox_creator")
    got = []
    with pytest.raises(AuthExpired, match="Reconnect the account"):
        async for post in client.all_media(token, creator.user_id):
            got.append(post.platform_id)
            if len(got) == 30:
                await sandbox.imitation.revoke(creator.user_id)
    assert len(got) == 50  # the two pages read before the revocation, nothing invented after


async def test_an_expired_token_needs_a_reconnect(client: InstagramClient, sandbox: Running) -> None:
    token = await connect(client, sandbox)
    sandbox.imitation.advance(timedelta(days=60, minutes=1))
    with pytest.raises(AuthExpired, match="Reconnect the account"):
        await client.profile(token)


async def test_an_unknown_token_needs_a_reconnect(client: InstagramClient, sandbox: Running) -> None:
    with pytest.raises(AuthExpired):
        await client.profile("IGAA-not-a-token")


def test_synthetic_accounts_are_deterministic(sandbox: Running) -> None:
    twin = InstagramImitation(anchor=sandbox.imitation.anchor)
    for username, account in sandbox.imitation.accounts.items():
        other = twin.account(username)
        assert (other.user_id, other.followers) == (account.user_id, account.followers)
        assert [(m.id, m.posted_at, m.media_type, m.caption) for m in other.media] == [
            (m.id, m.posted_at, m.media_type, m.caption) for m in account.media
        ]
        moment = sandbox.imitation.anchor + timedelta(days=1)
        assert other.media[7].numbers(moment) == account.media[7].numbers(moment)
    assert 100 <= len(sandbox.imitation.account("sandbox_studio").media) <= 400
    assert instagram.SCOPES == ("instagram_business_basic", "instagram_business_manage_insights")


async def test_pictures_are_served_where_the_imitation_is_reached() -> None:
    """In sandbox mode the browser shows avatars and covers, so they must load from the imitation."""
    imitation = InstagramImitation(public_base="http://assetry.test/sandbox/instagram")
    transport = httpx.ASGITransport(app=imitation.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://assetry.test", timeout=5) as http:
        client = make_client(Running(imitation, "http://assetry.test"), http)
        token = (
            await client.exchange_code(await imitation.grant_code("sandbox_creator", REDIRECT), REDIRECT)
        ).access_token
        profile = await client.profile(token)
        page = await client.media(token, profile.account_id)
        for url in (profile.avatar_url, page.posts[0].cover_url):
            assert url.startswith("http://assetry.test/sandbox/instagram/sandbox-media/")
            # The transport stands in for the mount: it serves the imitation at the site's root.
            picture = await http.get(url.removeprefix("http://assetry.test/sandbox/instagram"))
            assert picture.status_code == 200
            assert picture.headers["content-type"] == "image/svg+xml"
            assert picture.text.startswith("<svg")
        assert (await http.get("/sandbox-media/other/x.svg")).status_code == 404
