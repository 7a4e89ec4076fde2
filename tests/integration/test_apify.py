"""The public-post tracker: the real apify-client 3.x against the Apify imitation over HTTP.

The imitation (assetry/sandbox/apify.py) runs under uvicorn on 127.0.0.1; no database.
"""

from __future__ import annotations

import math
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from apify_client._models import Run
from starlette.applications import Starlette
from starlette.routing import Mount

from assetry.errors import AuthExpired, ProviderError, RateLimited
from assetry.integrations import apify
from assetry.integrations.apify import ApifyTracker, PublicPost
from assetry.integrations.social import HIDDEN, NOT_FOR_TYPE
from assetry.sandbox.apify import (
    DELETED_SHORTCODE,
    DELETED_VIDEO_ID,
    HIDDEN_LIKES_SHORTCODE,
    PRIVATE_SHORTCODE,
    PRIVATE_VIDEO_ID,
    SANDBOX_TOKEN,
    ApifyImitation,
)
from tests.asgi_server import serve

NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
TIKTOK_URL = "https://www.tiktok.com/@maya.makes/video/7350123456789012345"
INSTAGRAM_URL = "https://www.instagram.com/p/C3xYz_Ab-12/"


@dataclass
class Running:
    """The imitation and the address it answers on."""

    imitation: ApifyImitation
    url: str

    def tracker(self, **overrides) -> ApifyTracker:
        """The real client pointed at the imitation (no retries unless asked, short back-off)."""
        options = {"token": SANDBOX_TOKEN, "api_url": self.url, "max_retries": 0, "min_retry_delay_s": 0.01}
        return ApifyTracker(**(options | overrides))

    def paths(self, text: str) -> list[str]:
        return [path for _, path, _ in self.imitation.requests if text in path]


@pytest.fixture
def sandbox() -> Iterator[Running]:
    """A fresh imitation with its clock at NOW, served by uvicorn on a free 127.0.0.1 port."""
    imitation = ApifyImitation(now=NOW)
    with serve(imitation.app) as url:
        yield Running(imitation, url)


def _by_url(results: list[PublicPost]) -> dict[str, PublicPost]:
    return {result.url: result for result in results}


# ----- reading posts ----------------------------------------------------------


async def test_a_batch_of_thirty_urls_comes_back_one_post_per_url(sandbox: Running) -> None:
    tiktok_ids = [str(7_340_000_000_000_000_000 + n * 9_876_543_210_123) for n in range(18)]
    shortcodes = [f"C{n:02d}xYzAbCd" for n in range(10)]
    urls = [f"https://www.tiktok.com/@creator{n}/video/{vid}" for n, vid in enumerate(tiktok_ids)]
    urls += ["https://vm.tiktok.com/ZMhvqXyZ1", "https://www.tiktok.com/t/ZTRabc123"]
    urls += [f"https://www.instagram.com/p/{code}/" for code in shortcodes]
    assert len(urls) == 30

    async with sandbox.tracker(page_size=7) as tracker:
        results = await tracker.fetch_posts(urls)

    assert [result.url for result in results] == urls
    assert [result.message for result in results] == [""] * 30
    posts = [result.post for result in results]
    assert all(posts)
    assert [post.platform_id for post in posts[:18]] == tiktok_ids
    assert [post.url.split("/")[-2] for post in posts[20:]] == shortcodes
    for post in posts[:20]:
        assert set(post.metrics) == {"views", "likes", "comments", "shares", "saves"}
        assert post.metrics["views"] > 0 and post.created_at < NOW
        assert post.cover_url.startswith(sandbox.url + "/sandbox/covers/")
    for post in posts[20:]:
        assert "comments" in post.metrics and post.created_at < NOW
        assert set(post.metrics) | set(post.missing) == {"views", "likes", "comments", "shares", "saves"}
    assert posts[0].author == "creator0"
    # One run per platform, through 3.x's /v2/actors path, and the datasets read 7 at a time.
    assert sorted(sandbox.paths("/runs")) == [
        "/v2/actors/apify~instagram-scraper/runs",
        "/v2/actors/clockworks~tiktok-scraper/runs",
    ]
    assert len(sandbox.paths("/items")) == math.ceil(20 / 7) + math.ceil(10 / 7)


async def test_the_same_post_gives_the_same_numbers_and_they_grow_with_time(sandbox: Running) -> None:
    tracker = sandbox.tracker()
    urls = [TIKTOK_URL, "https://www.instagram.com/reel/C9reelAbCdE/"]
    first = await tracker.fetch_posts(urls)
    assert await tracker.fetch_posts(urls) == first

    sandbox.imitation.now = NOW + timedelta(days=7)
    later = await tracker.fetch_posts(urls)
    for before, after in zip(first, later, strict=True):
        assert before.post and after.post
        assert before.post.created_at == after.post.created_at
        for name, value in before.post.metrics.items():
            assert after.post.metrics[name] >= value
        assert sum(after.post.metrics.values()) > sum(before.post.metrics.values())


async def test_private_deleted_and_hidden_posts_say_why(sandbox: Running) -> None:
    urls = [
        f"https://www.tiktok.com/@someone/video/{PRIVATE_VIDEO_ID}",
        f"https://www.tiktok.com/@someone/video/{DELETED_VIDEO_ID}",
        f"https://www.instagram.com/p/{PRIVATE_SHORTCODE}/",
        f"https://www.instagram.com/p/{DELETED_SHORTCODE}/",
        f"https://www.instagram.com/p/{HIDDEN_LIKES_SHORTCODE}/",
        "https://www.instagram.com/someone/",
        TIKTOK_URL,
    ]
    results = await sandbox.tracker().fetch_posts(urls)
    assert [(result.post is None, result.message) for result in results] == [
        (True, apify.POST_PRIVATE),
        (True, apify.POST_NOT_FOUND),
        (True, apify.POST_PRIVATE),
        (True, apify.POST_NOT_FOUND),
        (False, ""),
        (True, apify.INSTAGRAM_PROFILE),
        (False, ""),
    ]
    hidden = results[4].post
    assert hidden is not None
    assert "likes" not in hidden.metrics and hidden.missing["likes"] == HIDDEN
    assert hidden.missing["saves"] == apify.NOT_PUBLIC
    if hidden.media_type in {"image", "carousel"}:
        assert hidden.missing["views"] == NOT_FOR_TYPE
    # Refused links never reach Apify.
    assert all("someone/" not in str(query) for _, _, query in sandbox.imitation.requests)


async def test_nothing_to_fetch_makes_no_run(sandbox: Running) -> None:
    results = await sandbox.tracker().fetch_posts(["https://www.youtube.com/watch?v=1"])
    assert results == [PublicPost("https://www.youtube.com/watch?v=1", None, None, apify.OTHER_SITE)]
    assert sandbox.imitation.requests == []


# ----- faults ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "says"),
    [
        ("FAILED", "run failed (The Actor process exited with code 1.). Try again later."),
        (
            "TIMED-OUT",
            "run timed out after 300 s before reading every post (Actor run timed out.). Try again with fewer links.",
        ),
        ("ABORTED", "run was aborted before it finished (Actor run was aborted.). Try again later."),
    ],
)
async def test_a_run_that_does_not_succeed_is_a_provider_error(
    sandbox: Running, outcome: str, says: str
) -> None:
    sandbox.imitation.faults.run_outcome = outcome
    with pytest.raises(ProviderError) as caught:
        await sandbox.tracker().fetch_posts([TIKTOK_URL])
    assert str(caught.value) == f"Apify's clockworks/tiktok-scraper {says}"


async def test_a_run_past_its_own_timeout_times_out(sandbox: Running) -> None:
    sandbox.imitation.faults.run_seconds = 5
    started = time.monotonic()
    with pytest.raises(ProviderError, match="run timed out after 1 s before reading every post"):
        await sandbox.tracker(run_timeout_s=1).fetch_posts([INSTAGRAM_URL])
    assert time.monotonic() - started < 4


async def test_a_run_still_going_after_our_wait_is_aborted(sandbox: Running) -> None:
    sandbox.imitation.faults.run_seconds = 30
    started = time.monotonic()
    with pytest.raises(ProviderError) as caught:
        await sandbox.tracker(wait_s=1).fetch_posts([TIKTOK_URL])
    assert str(caught.value) == (
        "Apify's clockworks/tiktok-scraper run was still RUNNING after 1 s, so it was stopped. "
        "Try again later, or with fewer links."
    )
    assert time.monotonic() - started < 5
    [run] = sandbox.imitation.runs.values()
    assert run.status() == "ABORTED"
    assert sandbox.paths("/abort") == [f"/v2/actor-runs/{run.id}/abort"]


async def test_a_slow_run_within_our_wait_succeeds(sandbox: Running) -> None:
    sandbox.imitation.faults.run_seconds = 1.5
    [result] = await sandbox.tracker(wait_s=10).fetch_posts([TIKTOK_URL])
    assert result.post is not None and result.post.metrics["views"] > 0


async def test_a_wrong_token_means_check_the_token(sandbox: Running) -> None:
    with pytest.raises(AuthExpired) as caught:
        await sandbox.tracker(token="apify_api_wrong").fetch_posts([TIKTOK_URL])
    assert str(caught.value) == (
        "Apify refused our token (401: User was not found or authentication token is not valid). Check APIFY_TOKEN."
    )


async def test_rate_limited_after_the_clients_retries(sandbox: Running) -> None:
    sandbox.imitation.faults.status = 429
    with pytest.raises(RateLimited) as caught:
        await sandbox.tracker(max_retries=2).fetch_posts([TIKTOK_URL])
    assert (
        str(caught.value)
        == "Apify is limiting how fast we can ask; tracked posts will refresh a little later."
    )
    assert caught.value.retry_after == apify.RATE_LIMIT_BACKOFF_S
    assert len(sandbox.paths("/runs")) == 3  # the first try and two retries


async def test_a_passing_rate_limit_or_server_error_is_retried(sandbox: Running) -> None:
    sandbox.imitation.faults.status, sandbox.imitation.faults.times = 429, 1
    [result] = await sandbox.tracker(max_retries=2).fetch_posts([TIKTOK_URL])
    assert result.post is not None
    sandbox.imitation.faults.status, sandbox.imitation.faults.times = 503, 1
    sandbox.imitation.faults.only = "/items"
    [result] = await sandbox.tracker(max_retries=2).fetch_posts([INSTAGRAM_URL])
    assert result.post is not None


@pytest.mark.parametrize("where", ["/runs", "/actor-runs/", "/items"])
async def test_a_server_error_that_lasts_is_a_provider_error(sandbox: Running, where: str) -> None:
    sandbox.imitation.faults.status, sandbox.imitation.faults.only = 500, where
    with pytest.raises(ProviderError) as caught:
        await sandbox.tracker(max_retries=1).fetch_posts([TIKTOK_URL])
    assert str(caught.value) == "Apify had a server error (500). Try again in a few minutes."


async def test_malformed_items_spoil_only_their_own_posts(sandbox: Running) -> None:
    sandbox.imitation.faults.malformed_items = True
    urls = [f"https://www.tiktok.com/@maya/video/{7_350_000_000_000_000_000 + n}" for n in range(4)]
    results = await sandbox.tracker().fetch_posts(urls)
    assert [result.message for result in results] == ["", apify.POST_UNREADABLE, "", apify.POST_UNREADABLE]
    assert results[0].post and results[2].post


async def test_duplicated_items_give_one_answer_per_url(sandbox: Running) -> None:
    sandbox.imitation.faults.duplicate_items = True
    urls = [TIKTOK_URL, INSTAGRAM_URL]
    results = await sandbox.tracker(page_size=1).fetch_posts(urls)
    assert [result.url for result in results] == urls and all(result.post for result in results)


@pytest.mark.parametrize("fault", ["unreadable_items", "invalid_run"])
async def test_an_answer_we_cannot_read_is_a_provider_error(sandbox: Running, fault: str) -> None:
    setattr(sandbox.imitation.faults, fault, True)
    with pytest.raises(ProviderError) as caught:
        await sandbox.tracker().fetch_posts([INSTAGRAM_URL])
    assert (
        str(caught.value)
        == "Apify answered something we could not read while running apify/instagram-scraper."
    )


async def test_an_unknown_actor_names_the_setting_to_check(sandbox: Running) -> None:
    with pytest.raises(ProviderError) as caught:
        await sandbox.tracker(tiktok_actor="someone/missing-scraper").fetch_posts([TIKTOK_URL])
    assert str(caught.value) == (
        "Apify has no actor 'someone/missing-scraper': Actor was not found. Check the actor ids in the settings."
    )


async def test_apify_out_of_reach_is_a_provider_error() -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    tracker = ApifyTracker(token=SANDBOX_TOKEN, api_url=f"http://127.0.0.1:{port}", max_retries=0)
    with pytest.raises(ProviderError) as caught:
        await tracker.fetch_posts([TIKTOK_URL])
    assert str(caught.value) == "Apify is not answering right now. Try again in a few minutes."


# ----- the wire itself ----------------------------------------------------------------


async def test_the_wire_matches_apify(sandbox: Running) -> None:
    """2.x's /v2/acts path, long polling, the strict Run model and the pagination headers."""
    auth = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
    async with httpx.AsyncClient(base_url=sandbox.url, headers=auth) as http:
        started = await http.post(
            "/v2/acts/clockworks~tiktok-scraper/runs", json={"postURLs": [TIKTOK_URL, TIKTOK_URL]}
        )
        assert started.status_code == 201
        run = Run.model_validate(started.json()["data"])
        assert run.status in {"READY", "RUNNING", "SUCCEEDED"}
        done = await http.get(f"/v2/actor-runs/{run.id}", params={"waitForFinish": 5})
        finished = Run.model_validate(done.json()["data"])
        assert finished.status == "SUCCEEDED" and finished.finished_at is not None
        page = await http.get(
            f"/v2/datasets/{finished.default_dataset_id}/items", params={"offset": 1, "limit": 5}
        )
        assert {k: v for k, v in page.headers.items() if k.startswith("x-apify-pagination")} == {
            "x-apify-pagination-total": "2",
            "x-apify-pagination-offset": "1",
            "x-apify-pagination-count": "1",
            "x-apify-pagination-limit": "5",
            "x-apify-pagination-desc": "false",
        }
        assert page.json()[0]["webVideoUrl"] == TIKTOK_URL
        cover = await http.get(page.json()[0]["videoMeta"]["coverUrl"].removeprefix(sandbox.url))
        assert cover.headers["content-type"] == "image/svg+xml" and b"Sandbox" in cover.content

        bad_input = await http.post("/v2/actors/apify~instagram-scraper/runs", json={"resultsType": "posts"})
        assert bad_input.status_code == 400
        assert bad_input.json()["error"]["type"] == "invalid-input"
        no_token = await http.get(f"/v2/actor-runs/{run.id}", headers={"Authorization": ""})
        assert no_token.status_code == 401
    async with httpx.AsyncClient(base_url=sandbox.url) as http:
        by_query = await http.get(f"/v2/actor-runs/{run.id}", params={"token": SANDBOX_TOKEN})
        assert by_query.status_code == 200


async def test_mounted_under_a_prefix_as_the_app_does_in_sandbox_mode() -> None:
    imitation = ApifyImitation(now=NOW)
    app = Starlette(routes=[Mount("/sandbox/apify", app=imitation.app)])
    with serve(app) as url:
        tracker = ApifyTracker(token=SANDBOX_TOKEN, api_url=f"{url}/sandbox/apify", max_retries=0)
        async with tracker:
            [result] = await tracker.fetch_posts([INSTAGRAM_URL])
        assert result.post is not None
        assert result.post.cover_url == f"{url}/sandbox/apify/sandbox/covers/instagram-C3xYz_Ab-12.svg"
        async with httpx.AsyncClient() as http:
            cover = await http.get(result.post.cover_url)
        assert cover.status_code == 200 and cover.headers["content-type"] == "image/svg+xml"


async def test_mounted_behind_a_middleware_as_in_the_app() -> None:
    """The app wraps its routes in an ASGI middleware (security headers) under Reflex's own router."""
    imitation = ApifyImitation(now=NOW)

    def middleware(inner):
        async def wrapped(scope, receive, send):
            await inner(scope, receive, send)

        return wrapped

    ours = Starlette(routes=[Mount("/sandbox/apify", app=imitation.app)])
    app = Starlette(routes=[Mount("", app=middleware(ours))])
    with serve(app) as url:
        tracker = ApifyTracker(token=SANDBOX_TOKEN, api_url=f"{url}/sandbox/apify", max_retries=0)
        async with tracker:
            [result] = await tracker.fetch_posts([TIKTOK_URL])
        assert result.post is not None
        assert result.post.cover_url.startswith(f"{url}/sandbox/apify/sandbox/covers/tiktok-")
        async with httpx.AsyncClient() as http:
            cover = await http.get(result.post.cover_url)
        assert cover.status_code == 200 and cover.headers["content-type"] == "image/svg+xml"
