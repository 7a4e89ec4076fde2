"""A local imitation of the Apify API for the two post scrapers we use, in memory.

What it reproduces (see PROVIDERS.md, "Apify"):

- auth: the token as `Authorization: Bearer …` or `?token=`; a missing or wrong one
  is 401 `{"error": {"type": "user-or-token-not-found", "message": …}}`;
- `POST /v2/acts/{owner}~{name}/runs` and `/v2/actors/{owner}~{name}/runs` (apify-client
  3.x uses the latter, 2.x the former) with the JSON
  input, `timeout` (seconds) and `waitForFinish` query parameters; 201 with the run;
  unknown actor 404, invalid input 400 `invalid-input`;
- `GET /v2/actor-runs/{id}?waitForFinish=N` long-polls (N capped at 60, as Apify does)
  until the run is SUCCEEDED / FAILED / TIMED-OUT / ABORTED; `POST /v2/actor-runs/{id}/abort`;
  the run JSON carries every field apify-client 3.x validates (`id, actId, userId,
  startedAt, status, meta.origin, stats, options{build,timeoutSecs,memoryMbytes,diskMbytes},
  buildId, defaultKeyValueStoreId, defaultDatasetId, defaultRequestQueueId`, …);
- `GET /v2/datasets/{id}/items?offset&limit&desc&clean` with the
  `x-apify-pagination-total/-offset/-count/-limit/-desc` headers;
- `clockworks/tiktok-scraper` (`postURLs`) and `apify/instagram-scraper` (`directUrls`,
  `resultsType: "posts"`) items with the scrapers' field names, for ANY well-formed post
  URL: deterministic (seeded by the video id / shortcode) public posts whose numbers grow
  with the imitation's clock (`now`, settable) along a saturating curve.

Special posts: TikTok video `PRIVATE_VIDEO_ID` and Instagram shortcode `PRIVATE_SHORTCODE`
are private (an error item), `DELETED_VIDEO_ID` / `DELETED_SHORTCODE` are deleted (no item
for TikTok, a `not_found` error item for Instagram), `HIDDEN_LIKES_SHORTCODE` hides its
likes (`likesCount: -1`).

Switches: `faults` (`Faults`: an HTTP status for some requests, a run outcome, slow runs,
malformed or duplicated items, an unreadable items body, an invalid run JSON), `now`, and
`token`. `requests` records (method, path, query) of every call; `runs` the runs.
Covers are served by the imitation itself (`/sandbox/covers/{name}.svg`) so sandbox pages
load no outside images.
"""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import hashlib
import json
import math
import random
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from assetry.integrations.apify import (
    DEFAULT_INSTAGRAM_ACTOR,
    DEFAULT_TIKTOK_ACTOR,
    INSTAGRAM,
    TIKTOK,
    parse_post_url,
)

SANDBOX_TOKEN = "apify_api_sandbox_token"
PRIVATE_VIDEO_ID = "7000000000000000403"
DELETED_VIDEO_ID = "7000000000000000404"
PRIVATE_SHORTCODE = "PRIVATEPOST"
DELETED_SHORTCODE = "DELETEDPOST"
HIDDEN_LIKES_SHORTCODE = "HIDDENLIKES"
# Synthetic posts were made in the ~6 months before this moment (unless a TikTok id says when).
ANCHOR = datetime(2026, 6, 1, tzinfo=UTC)
MAX_WAIT_FOR_FINISH_S = 60
NO_LIMIT = 999_999_999_999
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_WORDS = [
    *("pasta", "sunrise", "studio", "routine", "hack", "glow", "recipe", "thrift", "tour", "desk"),
    *("minimal", "coffee", "garden", "sketch", "dance", "remix", "street", "market", "budget"),
    *("travel", "morning", "night", "vinyl", "ceramic", "yoga"),
]
_STATUS_ERRORS = {
    400: ("invalid-input", "Input is not valid."),
    402: ("not-enough-usage-to-run-paid-actor", "You have exceeded your monthly usage limit."),
    403: ("insufficient-permissions", "Insufficient permissions for the Actor."),
    404: ("record-not-found", "Record was not found."),
    429: ("rate-limit-exceeded", "You have exceeded the rate limit of 30 requests per second."),
    500: ("internal-server-error", "Internal server error."),
    502: ("bad-gateway", "Bad gateway."),
    503: ("service-unavailable", "Server is temporarily unavailable."),
}
_FAILURE_MESSAGES = {
    "FAILED": "The Actor process exited with code 1.",
    "TIMED-OUT": "Actor run timed out.",
    "ABORTED": "Actor run was aborted.",
}


@dataclass
class Faults:
    """Misbehaviour to inject.

    `status` answers that HTTP status (with Apify's error body) to requests whose path
    contains `only`, `times` times (None: every time). `run_outcome` ends the next runs
    FAILED / TIMED-OUT / ABORTED; `run_seconds` makes runs take that long (real time).
    `malformed_items` breaks every other post item and adds a non-object item;
    `duplicate_items` writes each item twice; `unreadable_items` answers the items as
    invalid JSON; `invalid_run` leaves required fields out of the run JSON.
    """

    status: int | None = None
    only: str = ""
    times: int | None = None
    run_outcome: str | None = None
    run_seconds: float = 0.05
    malformed_items: bool = False
    duplicate_items: bool = False
    unreadable_items: bool = False
    invalid_run: bool = False


@dataclass
class ActorRun:
    """One run: when it started (sandbox clock and real clock), what it will end as, its items."""

    id: str
    actor: str
    act_id: str
    input_len: int
    started_at: datetime
    started: float
    seconds: float
    timeout_secs: int
    outcome: str
    dataset_id: str
    items: list[Any] = field(default_factory=list)
    aborted_at: float | None = None
    aborted: asyncio.Event = field(default_factory=asyncio.Event)

    def status(self) -> str:
        """RUNNING until its time is up, then its outcome (or ABORTED when aborted)."""
        if self.aborted_at is not None:
            return "ABORTED"
        elapsed = time.monotonic() - self.started
        if self.seconds > self.timeout_secs and elapsed >= self.timeout_secs:
            return "TIMED-OUT"
        return self.outcome if elapsed >= self.seconds else "RUNNING"

    def ends_in(self) -> float:
        """Seconds until the run ends on its own (its duration or its timeout, whichever comes first)."""
        return self.started + min(self.seconds, float(self.timeout_secs)) - time.monotonic()

    def finished_after(self) -> float | None:
        if self.aborted_at is not None:
            return self.aborted_at - self.started
        if self.status() == "RUNNING":
            return None
        return min(self.seconds, float(self.timeout_secs))


class ApifyImitation:
    """The Apify API for the TikTok and Instagram scrapers; `app` is the ASGI app to serve."""

    def __init__(
        self,
        *,
        token: str = SANDBOX_TOKEN,
        tiktok_actor: str = DEFAULT_TIKTOK_ACTOR,
        instagram_actor: str = DEFAULT_INSTAGRAM_ACTOR,
        now: datetime | None = None,
    ) -> None:
        self.token = token
        self.actors = {tiktok_actor: TIKTOK, instagram_actor: INSTAGRAM}
        self.now = now
        self.faults = Faults()
        self.runs: dict[str, ActorRun] = {}
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.user_id = _apify_id()
        self.app = Starlette(
            routes=[
                Route("/v2/acts/{actor}/runs", self._start, methods=["POST"]),
                Route("/v2/actors/{actor}/runs", self._start, methods=["POST"]),
                Route("/v2/actor-runs/{run_id}", self._get_run, methods=["GET"]),
                Route("/v2/actor-runs/{run_id}/abort", self._abort, methods=["POST"]),
                Route("/v2/datasets/{dataset_id}/items", self._items, methods=["GET"]),
                Route("/sandbox/covers/{name}.svg", self._cover, methods=["GET"]),
            ],
            exception_handlers={404: self._not_found, 405: self._not_allowed},
        )

    # ----- clock --------------------------------------------------------------
    def current_time(self) -> datetime:
        """The imitation's "now": the one set by a test, else the real time."""
        return self.now or datetime.now(UTC)

    # ----- plumbing -----------------------------------------------------------
    def _gate(self, request: Request) -> Response | None:
        """Record the request; answer an injected fault or a missing/wrong token."""
        self.requests.append((request.method, request.url.path, dict(request.query_params)))
        fault = self.faults
        if fault.status and fault.only in request.url.path and (fault.times is None or fault.times > 0):
            if fault.times is not None:
                fault.times -= 1
            return _error(fault.status, *_STATUS_ERRORS.get(fault.status, ("error", "Something went wrong.")))
        header = request.headers.get("authorization", "")
        given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        given = given or request.query_params.get("token", "")
        if not given or not secrets.compare_digest(given, self.token):
            return _error(
                401, "user-or-token-not-found", "User was not found or authentication token is not valid"
            )
        return None

    async def _not_found(self, request: Request, exc: Exception) -> Response:
        return _error(404, "page-not-found", "The requested page was not found.")

    async def _not_allowed(self, request: Request, exc: Exception) -> Response:
        return _error(405, "method-not-allowed", "This API endpoint does not support this HTTP method.")

    # ----- runs ---------------------------------------------------------------
    async def _start(self, request: Request) -> Response:
        if refusal := self._gate(request):
            return refusal
        actor = unquote(request.path_params["actor"]).replace("~", "/")
        platform = self.actors.get(actor)
        if platform is None:
            return _error(404, "record-not-found", "Actor was not found")
        body = await request.body()
        try:
            # apify-client gzips request bodies of 1 KiB and more, as the real API allows.
            if request.headers.get("content-encoding", "").lower() == "gzip":
                body = gzip.decompress(body)
            run_input = json.loads(body or b"{}")
        except (ValueError, OSError, EOFError):
            return _error(400, "invalid-input", "Input is not a valid JSON.")
        urls_field = "postURLs" if platform == TIKTOK else "directUrls"
        urls = run_input.get(urls_field) if isinstance(run_input, dict) else None
        if not isinstance(urls, list) or not all(isinstance(url, str) for url in urls):
            return _error(400, "invalid-input", f"Input is not valid: Field input.{urls_field} must be array")
        if platform == INSTAGRAM and run_input.get("resultsType", "posts") != "posts":
            return _error(400, "invalid-input", "Input is not valid: only resultsType 'posts' is imitated")
        try:
            timeout_secs = int(request.query_params.get("timeout", "3600"))
        except ValueError:
            return _error(400, "invalid-parameter", "Parameter 'timeout' must be an integer.")
        fault = self.faults
        now = self.current_time()
        run = ActorRun(
            id=_apify_id(),
            actor=actor,
            act_id=_apify_id(),
            input_len=len(body),
            started_at=now,
            started=time.monotonic(),
            seconds=fault.run_seconds,
            timeout_secs=max(timeout_secs, 0),
            outcome=fault.run_outcome or "SUCCEEDED",
            dataset_id=_apify_id(),
        )
        # Not request.url_for: in the app an ASGI middleware sits between the outermost router
        # and this mount, so that router cannot find the route by name. root_path holds the
        # mounts' prefixes.
        root = request.scope.get("root_path", "").rstrip("/")
        cover = f"{request.url.scheme}://{request.url.netloc}{root}/sandbox/covers/NAME.svg"
        make = _tiktok_item if platform == TIKTOK else _instagram_item
        items = [item for url in urls if (item := make(url, now, cover)) is not None]
        if fault.duplicate_items:
            items = [copy for item in items for copy in (item, dict(item))]
        if fault.malformed_items:
            items = [_broken(item) if n % 2 else item for n, item in enumerate(items)] + ["<html>oops</html>"]
        run.items = items
        self.runs[run.id] = run
        await self._wait(run, request)
        return JSONResponse({"data": self._run_json(run, request)}, status_code=201)

    async def _wait(self, run: ActorRun, request: Request) -> None:
        try:
            wait = min(int(request.query_params.get("waitForFinish", "0")), MAX_WAIT_FOR_FINISH_S)
        except ValueError:
            wait = 0
        remaining = min(float(max(wait, 0)), run.ends_in())
        if run.status() == "RUNNING" and remaining > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(run.aborted.wait(), remaining)

    def _run_json(self, run: ActorRun, request: Request) -> dict[str, Any]:
        status = run.status()
        took = run.finished_after()
        finished_at = run.started_at + timedelta(seconds=took) if took is not None else None
        data: dict[str, Any] = {
            "id": run.id,
            "actId": run.act_id,
            "userId": self.user_id,
            "actorTaskId": None,
            "startedAt": _iso(run.started_at),
            "finishedAt": _iso(finished_at) if finished_at else None,
            "status": status,
            "statusMessage": _FAILURE_MESSAGES.get(
                status, "Finished!" if status == "SUCCEEDED" else "Running"
            ),
            "isStatusMessageTerminal": status != "RUNNING",
            "meta": {"origin": "API", "userAgent": request.headers.get("user-agent", "")},
            "stats": {
                "inputBodyLen": run.input_len,
                "restartCount": 0,
                "resurrectCount": 0,
                "computeUnits": round((took or 0) / 3600, 6),
                "runTimeSecs": round(took or (time.monotonic() - run.started), 3),
            },
            "options": {
                "build": "latest",
                "timeoutSecs": run.timeout_secs,
                "memoryMbytes": 1024,
                "diskMbytes": 2048,
            },
            "buildId": _apify_id(),
            "buildNumber": "0.3.21",
            "exitCode": None if status == "RUNNING" else (1 if status == "FAILED" else 0),
            "defaultKeyValueStoreId": _apify_id(),
            "defaultDatasetId": run.dataset_id,
            "defaultRequestQueueId": _apify_id(),
            "containerUrl": f"https://{run.id.lower()}.runs.apify.net",
            "usageTotalUsd": round(0.004 * len(run.items), 4),
        }
        if self.faults.invalid_run:
            for name in ("actId", "defaultDatasetId", "options"):
                data.pop(name)
        return data

    async def _get_run(self, request: Request) -> Response:
        if refusal := self._gate(request):
            return refusal
        run = self.runs.get(request.path_params["run_id"])
        if run is None:
            return _error(404, "record-not-found", "Actor run was not found")
        await self._wait(run, request)
        return JSONResponse({"data": self._run_json(run, request)})

    async def _abort(self, request: Request) -> Response:
        if refusal := self._gate(request):
            return refusal
        run = self.runs.get(request.path_params["run_id"])
        if run is None:
            return _error(404, "record-not-found", "Actor run was not found")
        if run.status() == "RUNNING":
            run.aborted_at = time.monotonic()
            run.aborted.set()
        return JSONResponse({"data": self._run_json(run, request)})

    # ----- datasets -----------------------------------------------------------
    async def _items(self, request: Request) -> Response:
        if refusal := self._gate(request):
            return refusal
        run = next(
            (run for run in self.runs.values() if run.dataset_id == request.path_params["dataset_id"]), None
        )
        if run is None:
            return _error(404, "record-not-found", "Dataset was not found")
        # A run writes its items as it goes; a failed run leaves its dataset empty here.
        items = run.items if run.status() == "SUCCEEDED" else []
        query = request.query_params
        try:
            offset = max(int(query.get("offset", "0")), 0)
            limit = int(query["limit"]) if query.get("limit") else NO_LIMIT
        except ValueError:
            return _error(400, "invalid-parameter", "Parameters 'offset' and 'limit' must be integers.")
        desc = query.get("desc", "").lower() in {"1", "true"}
        rows = list(reversed(items)) if desc else list(items)
        page = rows[offset : offset + max(limit, 0)]
        if query.get("clean", "").lower() in {"1", "true"} or query.get("skipEmpty", "").lower() in {
            "1",
            "true",
        }:
            page = [item for item in page if item not in ({}, None)]
        headers = {
            "x-apify-pagination-total": str(len(items)),
            "x-apify-pagination-offset": str(offset),
            "x-apify-pagination-count": str(len(page)),
            "x-apify-pagination-limit": str(limit),
            "x-apify-pagination-desc": "true" if desc else "false",
        }
        if self.faults.unreadable_items:
            return Response('[{"id": "7', media_type="application/json", headers=headers)
        return JSONResponse(page, headers=headers)

    async def _cover(self, request: Request) -> Response:
        name = request.path_params["name"]
        rng = _rng(name)
        hue = rng.randrange(360)
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="360" height="640" viewBox="0 0 360 640">'
            f'<rect width="360" height="640" fill="hsl({hue},55%,45%)"/>'
            f'<circle cx="180" cy="300" r="{80 + rng.randrange(60)}" fill="hsl({(hue + 40) % 360},60%,65%)"/>'
            '<text x="180" y="600" font-family="sans-serif" font-size="22" fill="#fff" '
            'text-anchor="middle">Sandbox</text></svg>'
        )
        return Response(svg, media_type="image/svg+xml", headers={"cache-control": "public, max-age=86400"})


# ----- synthetic posts ------------------------------------------------------------


def _rng(seed: str) -> random.Random:
    return random.Random(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:8], "big"))


def _apify_id() -> str:
    """A 17-character id like Apify's."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(17))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class _Curve:
    """How one post's views grow: most in the first days, a slow tail after."""

    created_at: datetime
    final_views: int
    half_life_h: float
    rates: dict[str, float]

    def views(self, now: datetime) -> int:
        age_h = (now - self.created_at).total_seconds() / 3600
        if age_h <= 0:
            return 0
        early = 1 - math.exp(-age_h * math.log(2) / self.half_life_h)
        tail = 0.05 * math.log1p(age_h / (24 * 30))  # old posts keep finding a few viewers
        return int(self.final_views * (0.85 * early + tail))

    def counts(self, now: datetime) -> dict[str, int]:
        views = self.views(now)
        return {"views": views} | {name: int(views * rate) for name, rate in self.rates.items()}


def _curve(rng: random.Random, created_at: datetime) -> _Curve:
    return _Curve(
        created_at=created_at,
        final_views=int(10 ** rng.uniform(2.3, 6.6)),
        half_life_h=rng.uniform(4, 60),
        rates={
            "likes": rng.uniform(0.03, 0.12),
            "comments": rng.uniform(0.001, 0.008),
            "shares": rng.uniform(0.001, 0.02),
            "saves": rng.uniform(0.002, 0.03),
        },
    )


def _caption(rng: random.Random) -> str:
    words = rng.sample(_WORDS, 4)
    return f"{words[0].capitalize()} {words[1]} {words[2]} #{words[3]} #sandbox"


def _tiktok_item(url: str, now: datetime, cover: str) -> dict[str, Any] | None:
    link = parse_post_url(url)
    if not link.ok or link.platform != TIKTOK:
        return {"url": url, "error": "Invalid URL", "errorDescription": "This is not a TikTok video URL."}
    key = link.key or url
    if key.startswith("tiktok:"):
        video_id = key.removeprefix("tiktok:")
    else:  # a short link: the sandbox "resolves" it to a stable video id
        video_id = str(7_300_000_000_000_000_000 + _rng(key).randrange(10**17))
    if video_id == DELETED_VIDEO_ID:
        return None
    if video_id == PRIVATE_VIDEO_ID:
        return {"url": url, "submittedVideoUrl": url, "error": "Video is private", "errorDescription": ""}
    rng = _rng(f"tiktok:{video_id}")
    user = (link.url or "").split("/")[3].removeprefix("@") if "/@" in (link.url or "") else ""
    user = user or f"sandbox.{rng.choice(_WORDS)}{rng.randrange(100)}"
    stamp = int(video_id) >> 32
    if int(datetime(2016, 9, 1, tzinfo=UTC).timestamp()) <= stamp <= int(ANCHOR.timestamp()):
        created = datetime.fromtimestamp(stamp, UTC)
    else:
        created = ANCHOR - timedelta(days=rng.uniform(1, 180), minutes=rng.randrange(1440))
    curve = _curve(rng, created)
    counts = curve.counts(now)
    duration = rng.randrange(7, 180)
    return {
        "id": video_id,
        "text": _caption(rng),
        "createTime": int(created.timestamp()),
        "createTimeISO": _iso(created),
        "webVideoUrl": f"https://www.tiktok.com/@{user}/video/{video_id}",
        "submittedVideoUrl": url,
        "playCount": counts["views"],
        "diggCount": counts["likes"],
        "shareCount": counts["shares"],
        "commentCount": counts["comments"],
        "collectCount": counts["saves"],
        "authorMeta": {
            "id": str(rng.randrange(10**18)),
            "name": user,
            "nickName": user.title(),
            "verified": False,
        },
        "videoMeta": {
            "height": 1024,
            "width": 576,
            "duration": duration,
            "coverUrl": cover.replace("NAME", f"tiktok-{video_id}"),
        },
        "musicMeta": {"musicName": "original sound", "musicOriginal": True},
        "hashtags": [{"name": word} for word in _caption(rng).split("#")[1:2]],
        "isSlideshow": False,
        "isPinned": False,
    }


def _instagram_item(url: str, now: datetime, cover: str) -> dict[str, Any] | None:
    link = parse_post_url(url)
    if not link.ok or link.platform != INSTAGRAM:
        return {
            "inputUrl": url,
            "error": "invalid_url",
            "errorDescription": "This is not an Instagram post URL.",
        }
    shortcode = (link.key or "").removeprefix("instagram:")
    if shortcode == DELETED_SHORTCODE:
        return {"inputUrl": url, "error": "not_found", "errorDescription": "Post does not exist"}
    if shortcode == PRIVATE_SHORTCODE:
        return {"inputUrl": url, "error": "restricted_page", "errorDescription": "This post is private."}
    rng = _rng(f"instagram:{shortcode}")
    created = ANCHOR - timedelta(days=rng.uniform(1, 180), minutes=rng.randrange(1440))
    kind = rng.choices(["Video", "Image", "Sidecar"], weights=[5, 3, 2])[0]
    curve = _curve(rng, created)
    counts = curve.counts(now)
    hidden = shortcode == HIDDEN_LIKES_SHORTCODE or rng.random() < 0.08
    owner = f"sandbox.{rng.choice(_WORDS)}{rng.randrange(100)}"
    item: dict[str, Any] = {
        "inputUrl": url,
        "id": str(3_000_000_000_000_000_000 + rng.randrange(10**18)),
        "type": kind,
        "shortCode": shortcode,
        "caption": _caption(rng),
        "hashtags": ["sandbox"],
        "mentions": [],
        "url": f"https://www.instagram.com/p/{shortcode}/",
        "commentsCount": counts["comments"],
        "dimensionsHeight": 1350 if kind != "Video" else 1920,
        "dimensionsWidth": 1080,
        "displayUrl": cover.replace("NAME", f"instagram-{shortcode}"),
        "images": [],
        "likesCount": -1 if hidden else counts["likes"],
        "timestamp": _iso(created),
        "ownerFullName": owner.title(),
        "ownerUsername": owner,
        "ownerId": str(rng.randrange(10**10)),
        "productType": {"Video": "clips", "Image": "feed", "Sidecar": "carousel_container"}[kind],
        "isSponsored": False,
    }
    if kind == "Video":
        item |= {
            "videoUrl": "",
            "videoViewCount": counts["views"] // 2,
            "videoPlayCount": counts["views"],
            "videoDuration": round(rng.uniform(6, 90), 3),
        }
    return item


def _broken(item: Any) -> Any:
    """The item with its creation time gone and a count that is not a number."""
    if not isinstance(item, dict):
        return item
    broken = {k: v for k, v in item.items() if k not in {"createTime", "createTimeISO", "timestamp"}}
    if "playCount" in broken:
        broken["playCount"] = "12.3K"
    return broken


def _error(status: int, kind: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message}}, status_code=status)
