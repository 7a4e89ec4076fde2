"""A local imitation of TikTok Login Kit (web) and Display API v2.

What it reproduces, as TikTok does it (see PROVIDERS.md):

- the consent page at `GET /v2/auth/authorize/` (`client_key`, comma-separated
  `scope`, `response_type=code`, `redirect_uri`, `state`), labelled "Sandbox", with
  the requested scopes listed (the optional ones can be unticked), a choice of
  sandbox creator, and buttons `#allow` / `#deny`. Allow redirects to
  `redirect_uri?code=…&scopes=…&state=…`; Deny to
  `redirect_uri?error=access_denied&error_description=…&state=…`. An unknown
  `client_key` or a redirect URI that is not registered gets an error page, never a
  redirect;
- `POST /v2/oauth/token/` (form-encoded; `grant_type=authorization_code` or
  `refresh_token`) with the flat reply `access_token, expires_in, open_id,
  refresh_token, refresh_expires_in, scope, token_type`. Codes are single-use and
  live 10 minutes; refresh tokens ROTATE (the old one stops working at once);
  errors are flat: `{"error": "invalid_grant", "error_description", "log_id"}`;
- `POST /v2/oauth/revoke/` (form `client_key, client_secret, token`) → 200 with an
  empty body, as TikTok documents it (`revoke_body="{}"` answers the `{}` its example
  shows); it ends the whole grant (every access token and the refresh token);
- `GET /v2/user/info/?fields=…`, `POST /v2/video/list/?fields=…` with
  `{"cursor": <ms>, "max_count": ≤ 20}` (newest first; private videos are skipped,
  so a page can hold fewer than `max_count` while `has_more` is true) and
  `POST /v2/video/query/?fields=…` with `{"filters": {"video_ids": [≤ 20]}}`, all in
  the envelope `{"data": …, "error": {"code", "message", "log_id"}}`; errors
  `access_token_invalid` (401), `scope_not_authorized` (401), `invalid_params`
  (400), `rate_limit_exceeded` (429, with `Retry-After`), `internal_error` (500);
- a rate limit of `rate_limit_per_minute` (600) requests per endpoint over a
  sliding minute (None turns it off);
- `cover_image_url` / `avatar_url` point at images served here, signed with an
  `x-expires` six hours after the imitation's "now" (403 afterwards), and
  `share_url` at a small "Sandbox video" page.

Synthetic creators are deterministic: the same handle gives the same open_id,
video ids (TikTok-style: the creation time in the top 32 bits), titles and metric
curves on every run. Posts appear as the imitation's clock passes their creation
time, and views/likes/comments/shares grow along a saturating curve, so polling at
1 h, 6 h, 24 h and 7 d after a post gives different numbers. `now` is the wall
clock unless set (`set_now`, `advance`): tokens, codes, covers and metrics all
follow it. `CREATORS` are the three default ones (two of a few hundred posts over
six months, one "huge" archive of 10,000+); `add_creator` makes more.

What it issued (codes, grants, access and refresh tokens) is kept in a `Ledger`: in memory by
default, in the database in sandbox mode (`assetry.sandbox.ledger`), and so are the videos
published in the sandbox (every instance lists them, after a restart too). Its creators are
deterministic.

Switches: `faults` (an HTTP status with TikTok's error body, a custom error code,
`Retry-After`, malformed bodies, dropped fields, duplicated videos across pages,
a delay; `only` limits it to one endpoint, `after`/`times` to some requests),
`oauth_error_status` (HTTP status of OAuth errors: 400, or 200 as some TikTok
versions answer), `rate_limit_per_minute`, `access_token_seconds`,
`refresh_token_seconds`, `redirect_uris` (None accepts any http(s) URI).
`await publish(handle, ...)` posts a video now (sandbox mode's "Post this in the sandbox": a generated
video's cover frame and caption), listed and measured like the others.
`await revoke_user(open_id)` is the user removing the app in TikTok's settings
(tokens die mid-sync). To inspect: `counters` (successful `authorization_code`
and `refresh_token` grants, `revoke`), `requests` (method and path of every API
call), `await public_videos(handle)`, `await knows(kind, token)` ("access" or "refresh").
"""

from __future__ import annotations

import asyncio
import base64
import functools
import hashlib
import hmac
import html
import io
import json
import math
import random
import secrets
import time
from collections import Counter, deque
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode, urlsplit

from PIL import Image, ImageDraw
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from assetry.sandbox.ledger import Ledger, MemoryLedger

SANDBOX_CLIENT_KEY = "sbawassetrysandbox"
SANDBOX_APP_NAME = "Assetry"
SCOPES = {
    "user.info.basic": "Read your profile info (avatar and display name)",
    "user.info.profile": "Read your profile details (username, bio, verification)",
    "user.info.stats": "Read your profile statistics (followers, likes, videos)",
    "video.list": "Read your public videos and their views, likes, comments and shares",
}
REQUIRED_SCOPE = "user.info.basic"
USER_FIELDS = frozenset({"open_id", "union_id", "avatar_url", "avatar_large_url", "display_name"})
VIDEO_FIELDS = frozenset(
    {
        "id",
        "title",
        "video_description",
        "cover_image_url",
        "create_time",
        "share_url",
        "duration",
        "width",
        "height",
        "embed_link",
        "view_count",
        "like_count",
        "comment_count",
        "share_count",
    }
)
MAX_COUNT = 20
CODE_SECONDS = 600
MEDIA_SECONDS = 6 * 3600
DENIED = "The user denied the authorization request."
TOKEN_INVALID = "The access token is invalid or not found in the request."
SCOPE_MISSING = "The user did not authorize the scope required for completing this request."
RATE_LIMITED = "API rate limit exceeded, please retry later."
INTERNAL = "Something went wrong. Please try again later."


class ApiProblem(Exception):
    """A Display API error: HTTP status and `error.code` / `error.message`."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class OAuthProblem(Exception):
    """An OAuth endpoint error: the flat `error` / `error_description` shape."""

    def __init__(self, error: str, description: str, status: int | None = None) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class Faults:
    """Misbehaviour to inject into the API and OAuth endpoints.

    `status` answers with TikTok's error for that status (`code` overrides the error
    code); `malformed` is "truncated" (cut-off JSON), "html" (a gateway's HTML page)
    or "shape" (valid JSON, wrong structure). These skip the first `after` matching
    requests and then hit `times` of them (None: until cleared). `missing_fields`
    drops those fields from every other video; `duplicates` makes each page's cursor
    repeat its last video on the next page. `only` limits everything to paths
    ending with that text.
    """

    status: int | None = None
    code: str | None = None
    retry_after: str | None = None
    malformed: str | None = None
    delay: float = 0.0
    only: str | None = None
    after: int = 0
    times: int | None = None
    missing_fields: tuple[str, ...] = ()
    duplicates: bool = False
    seen: int = field(default=0, repr=False)
    hits: int = field(default=0, repr=False)

    def applies_to(self, path: str) -> bool:
        return self.only is None or path.rstrip("/").endswith(self.only.rstrip("/"))

    def fires(self, path: str) -> bool:
        """Count one matching request; whether the status/malformed fault hits it."""
        if (self.status is None and self.malformed is None) or not self.applies_to(path):
            return False
        self.seen += 1
        if self.seen <= self.after or (self.times is not None and self.hits >= self.times):
            return False
        self.hits += 1
        return True

    def clear(self) -> None:
        """No faults, counters back to zero."""
        for name, value in Faults().__dict__.items():
            setattr(self, name, value)

    def set(self, **changes: Any) -> None:
        """Replace every fault with these (e.g. `set(status=429, retry_after="30", times=1)`)."""
        self.clear()
        for name, value in changes.items():
            if name not in self.__dict__ or name in ("seen", "hits"):
                raise TypeError(f"unknown fault: {name}")
            setattr(self, name, value)


def _digest(*parts: object) -> int:
    text = "|".join(str(p) for p in parts).encode()
    return int.from_bytes(hashlib.sha256(text).digest()[:8], "big")


_HOOKS = (
    "POV:",
    "Quick tip:",
    "Day in the life:",
    "3 things nobody tells you about",
    "Trying",
    "Behind the scenes of",
    "Ranking",
    "Don't skip this:",
    "Honest review:",
    "How I do",
)


@dataclass(frozen=True)
class SandboxCreator:
    """A synthetic creator: one post every `interval` (jittered) from `start`, forever."""

    handle: str
    display_name: str
    start: datetime
    interval: timedelta
    audience: int  # typical lifetime views of a post
    topics: tuple[str, ...] = ("my week", "a new idea", "the studio")
    private_one_in: int = 25  # roughly one post in this many is private (not listed)

    @property
    def _start(self) -> int:
        return int(self.start.timestamp())

    @property
    def _step(self) -> int:
        return max(int(self.interval.total_seconds()), 3)

    def open_id(self, client_key: str) -> str:
        """TikTok gives each app its own id for a user; deterministic here."""
        return "-000" + hashlib.sha256(f"{client_key}:{self.handle}".encode()).hexdigest()[:32]

    @property
    def union_id(self) -> str:
        return "sbx-" + hashlib.sha256(f"union:{self.handle}".encode()).hexdigest()[:28]

    def slot_time(self, k: int) -> int:
        """Creation time (epoch seconds) of post `k`: inside its slot, never on an edge."""
        return self._start + k * self._step + 1 + _digest(self.handle, "t", k) % (self._step - 2)

    def video_id(self, k: int) -> str:
        return str((self.slot_time(k) << 32) | (_digest(self.handle, "id", k) & 0xFFFFFFFF))

    def slot_of(self, video_id: str) -> int | None:
        """The post a video id names, or None if it is not this creator's."""
        if not video_id.isdigit():
            return None
        created = int(video_id) >> 32
        k = (created - self._start) // self._step
        return k if k >= 0 and self.video_id(k) == video_id else None

    def count_at(self, now: float) -> int:
        """How many posts exist (private ones included) at `now`."""
        if now < self._start:
            return 0
        n = int((now - self._start) // self._step)
        return n + (1 if self.slot_time(n) <= now else 0)

    def last_before(self, moment: float) -> int:
        """The newest post created strictly before `moment` (epoch seconds), or -1."""
        if moment <= self._start:
            return -1
        n = int((moment - self._start) // self._step)
        return n if self.slot_time(n) < moment else n - 1

    def is_private(self, k: int) -> bool:
        return _digest(self.handle, "private", k) % self.private_one_in == 0

    def video(self, k: int, now: float) -> dict[str, Any]:
        """Post `k` as TikTok would describe it at `now` (media URLs added by the imitation)."""
        fixed, (lifetime, like_rate, comment_ratio, share_rate) = _post_traits(self, k)
        return fixed | _counts_at(now - fixed["create_time"], lifetime, like_rate, comment_ratio, share_rate)


def _counts_at(
    age_s: float, lifetime: float, like_rate: float, comment_ratio: float, share_rate: float
) -> dict:
    """A post's counts `age_s` seconds after it went out: most views in the first day, then a long tail."""
    hours = max(age_s, 0) / 3600
    grown = 0.75 * (1 - math.exp(-hours / 20)) + 0.25 * (1 - math.exp(-hours / 240))
    views = int(lifetime * grown)
    return {
        "view_count": views,
        "like_count": int(views * like_rate),
        "comment_count": int(views * like_rate * comment_ratio),
        "share_count": int(views * share_rate),
    }


@dataclass(frozen=True)
class PublishedVideo:
    """A post the creator "published" in the sandbox (a generated video's cover frame and caption)."""

    id: str
    handle: str
    description: str
    create_time: int
    duration: int
    width: int
    height: int
    rates: tuple[float, float, float, float]

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> PublishedVideo:
        """As the ledger keeps it (its cover is filed apart, under "cover")."""
        return cls(**record | {"rates": tuple(record["rates"])})

    def video(self, now: float) -> dict[str, Any]:
        fixed = {
            "id": self.id,
            "title": self.description[:150],
            "video_description": self.description,
            "create_time": self.create_time,
            "duration": self.duration,
            "width": self.width,
            "height": self.height,
        }
        return fixed | _counts_at(now - self.create_time, *self.rates)


@functools.lru_cache(maxsize=65_536)
def _post_traits(creator: SandboxCreator, k: int) -> tuple[dict[str, Any], tuple[float, float, float, float]]:
    """What never changes about post `k`: its description, and the shape of its audience."""
    created = creator.slot_time(k)
    rng = random.Random(f"{creator.handle}:{k}")
    hour = datetime.fromtimestamp(created, UTC).hour
    # Evenings reach more viewers: the creator's own best-time-to-post signal.
    prime = 1.6 if 17 <= hour <= 21 else 1.1 if 11 <= hour <= 16 else 0.6 if hour <= 6 else 0.9
    lifetime = creator.audience * prime * math.exp(rng.gauss(0, 0.9))
    rates = (lifetime, rng.uniform(0.04, 0.12), rng.uniform(0.02, 0.06), rng.uniform(0.002, 0.01))
    topic = creator.topics[rng.randrange(len(creator.topics))]
    title = f"{_HOOKS[rng.randrange(len(_HOOKS))]} {topic}"
    tags = " ".join(f"#{t}" for t in rng.sample(("fyp", "creator", "howto", "daily", "tips"), 2))
    fixed = {
        "id": creator.video_id(k),
        "title": title if rng.random() > 0.15 else "",
        "video_description": f"{title} {tags}",
        "create_time": created,
        "duration": rng.randint(7, 95),
        "width": 1080,
        "height": 1920,
    }
    return fixed, rates


CREATORS = (
    SandboxCreator(
        "maya.makes",
        "Maya Fernandes",
        datetime(2026, 5, 20, 16, tzinfo=UTC),
        timedelta(hours=14),
        42_000,
        ("my morning routine", "thrifted outfits", "studio lighting", "a 10-minute edit", "color grading"),
    ),
    SandboxCreator(
        "jon.cooks",
        "Jon Okafor",
        datetime(2026, 5, 1, 9, tzinfo=UTC),
        timedelta(hours=31),
        9_000,
        ("one-pan pasta", "street tacos", "knife skills", "a 5-ingredient dinner", "meal prep"),
    ),
    SandboxCreator(
        "archive.huge",
        "Huge Archive (sandbox)",
        datetime(2026, 5, 1, tzinfo=UTC),
        timedelta(minutes=21),
        2_500,
        ("clip", "repost", "throwback", "highlight"),
    ),
)


class TikTokImitation:
    """One in-memory TikTok app registration and its users; serve `.app` (ASGI) anywhere."""

    def __init__(
        self,
        *,
        client_key: str = SANDBOX_CLIENT_KEY,
        client_secret: str | None = None,
        app_name: str = SANDBOX_APP_NAME,
        creators: Iterable[SandboxCreator] = CREATORS,
        now: datetime | None = None,
        redirect_uris: Iterable[str] | None = None,
        rate_limit_per_minute: int | None = 600,
        access_token_seconds: int = 86_400,
        refresh_token_seconds: int = 365 * 86_400,
        oauth_error_status: int = 400,
        revoke_body: str = "",
        public_base: str | None = None,
        ledger: Ledger | None = None,
        media_key: bytes | None = None,
    ) -> None:
        """`ledger`: where codes, grants and tokens are kept (memory unless given); `media_key`
        signs cover and avatar links (random unless given: instances that share links share it)."""
        self.client_key = client_key
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.app_name = app_name
        self.creators: dict[str, SandboxCreator] = {c.handle: c for c in creators}
        self.redirect_uris = set(redirect_uris) if redirect_uris is not None else None
        self.rate_limit_per_minute = rate_limit_per_minute
        self.access_token_seconds = access_token_seconds
        self.refresh_token_seconds = refresh_token_seconds
        self.oauth_error_status = oauth_error_status
        self.revoke_body = revoke_body
        self.public_base = public_base
        self.faults = Faults()
        self.counters: Counter[str] = Counter()
        self.requests: list[tuple[str, str]] = []
        # Records: "code" (handle, scope, redirect_uri, expires_at, used), "grant" by its id (open_id,
        # handle, scope, refresh_expires_at, revoked), "refresh" and "access" tokens naming their grant.
        self.ledger: Ledger = ledger or MemoryLedger()
        self.clock: Callable[[], float] = time.monotonic  # the rate limiter's clock
        self._frozen = now
        self._windows: dict[str, deque[float]] = {}
        self._media_key = media_key or secrets.token_bytes(32)
        self.app = Starlette(routes=self._routes())

    # ----- what tests and sandbox mode use directly ---------------------------
    @property
    def now(self) -> datetime:
        return self._frozen or datetime.now(UTC)

    def set_now(self, moment: datetime) -> None:
        """Freeze the imitation's clock at `moment` (aware)."""
        if moment.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._frozen = moment

    def advance(self, delta: timedelta) -> None:
        """Move the imitation's clock forward (it stays frozen)."""
        self._frozen = self.now + delta

    def add_creator(
        self, handle: str, display_name: str, *, videos: int, interval: timedelta = timedelta(minutes=20)
    ) -> SandboxCreator:
        """A creator with exactly `videos` posts (private ones included) at the current `now`."""
        start = self.now - interval * videos
        creator = SandboxCreator(handle, display_name, start, interval, 5_000)
        self.creators[handle] = creator
        return creator

    def open_id(self, handle: str) -> str:
        return self.creators[handle].open_id(self.client_key)

    def handle_of(self, open_id: str) -> str | None:
        """The creator this app knows by `open_id`, or None."""
        return next((h for h, c in self.creators.items() if c.open_id(self.client_key) == open_id), None)

    async def publish(
        self, handle: str, *, description: str, cover_jpeg: bytes, duration_s: int, width: int, height: int
    ) -> str:
        """The creator posts a video now (the imitation's clock): it is listed, measured and its cover
        served like any other, by every instance sharing the ledger. Returns its id."""
        creator = self.creators[handle]
        created = int(self.now.timestamp())
        video_id = str((created << 32) | secrets.randbits(32))  # apart from another instance's
        rng = random.Random(video_id)
        lifetime = creator.audience * math.exp(rng.gauss(0, 0.5))
        rates = (lifetime, rng.uniform(0.04, 0.12), rng.uniform(0.02, 0.06), rng.uniform(0.002, 0.01))
        video = PublishedVideo(
            video_id, handle, description, created, max(1, duration_s), width, height, rates
        )
        await self.ledger.write("cover", video_id, {"jpeg": base64.b64encode(cover_jpeg).decode()})
        await self.ledger.write("published", video_id, asdict(video))
        return video_id

    async def _published(self) -> dict[str, PublishedVideo]:
        """The videos published in the sandbox (through any instance), by id."""
        return {r["id"]: PublishedVideo.from_record(r) for r in await self.ledger.every("published")}

    def cover_url(self, video_id: str) -> str:
        """Where the cover of a video is served now (signed, expiring like the others)."""
        return self._media_url(self.public_base or "http://sandbox", "cover", video_id)

    async def _published_between(self, handle: str, low: float, high: float) -> list[PublishedVideo]:
        """The creator's published videos created in [low, high], newest first."""
        published = (await self._published()).values()
        found = [p for p in published if p.handle == handle and low <= p.create_time <= high]
        return sorted(found, key=lambda p: p.create_time, reverse=True)

    async def public_videos(self, handle: str) -> list[str]:
        """Ids of the creator's listed (non-private) videos at `now`, newest first: the synthetic
        ones and those published in the sandbox (an id starts with its creation time)."""
        creator = self.creators[handle]
        now = self.now.timestamp()
        synthetic = [creator.video_id(k) for k in range(creator.count_at(now)) if not creator.is_private(k)]
        published = [p.id for p in await self._published_between(handle, 0, now)]
        return sorted(synthetic + published, key=int, reverse=True)

    async def revoke_user(self, open_id: str) -> None:
        """The user removed the app in TikTok's settings: every token of theirs stops working."""
        await self.ledger.amend("grant", {"revoked": True}, where={"open_id": open_id})

    async def expire_refresh_tokens(self) -> None:
        """Every refresh token reaches the end of its life now."""
        await self.ledger.amend("grant", {"refresh_expires_at": self.now.timestamp()})

    async def knows(self, kind: str, token: str) -> bool:
        """Whether this app issued `token` as an "access" or "refresh" token (spent or not renewed: no)."""
        return await self.ledger.read(kind, token) is not None

    # ----- routes ------------------------------------------------------------
    def _routes(self) -> list[Route]:
        return [
            Route("/v2/auth/authorize/", self._consent_page, methods=["GET"]),
            Route("/v2/auth/authorize/", self._consent_decision, methods=["POST"]),
            Route("/v2/oauth/token/", self._api(self._token, oauth=True), methods=["POST"]),
            Route("/v2/oauth/revoke/", self._api(self._revoke, oauth=True), methods=["POST"]),
            Route("/v2/user/info/", self._api(self._user_info), methods=["GET"]),
            Route("/v2/video/list/", self._api(self._video_list), methods=["POST"]),
            Route("/v2/video/query/", self._api(self._video_query), methods=["POST"]),
            Route("/sandbox-media/{kind:str}/{ident:str}.jpeg", self._media, methods=["GET"]),
            Route("/@{handle:str}/video/{video_id:str}", self._video_page, methods=["GET"]),
        ]

    def _api(
        self, handler: Callable[[Request], Awaitable[Any]], *, oauth: bool = False
    ) -> Callable[[Request], Awaitable[Response]]:
        """Logging, delay, rate limit, faults and error bodies around one endpoint."""

        async def endpoint(request: Request) -> Response:
            path = request.url.path
            self.requests.append((request.method, path))
            faults = self.faults
            if faults.delay and faults.applies_to(path):
                await asyncio.sleep(faults.delay)
            try:
                self._count_rate(path)
                if faults.fires(path):
                    fault = self._fault_response(oauth)
                    if fault is not None:
                        return fault
                    _raise_status(faults.status or 500, faults.code, faults.retry_after)
                data = await handler(request)
            except ClientDisconnect:
                return Response(status_code=499)
            except ApiProblem as problem:
                if oauth:  # the OAuth endpoints use the flat shape for every error
                    flat = OAuthProblem(problem.code, problem.message, problem.status)
                    return self._oauth_error(flat, problem.headers)
                return JSONResponse(
                    {"data": {}, "error": self._error(problem.code, problem.message)},
                    status_code=problem.status,
                    headers=problem.headers,
                )
            except OAuthProblem as problem:
                return self._oauth_error(problem)
            if isinstance(data, Response):
                return data
            if oauth:
                return JSONResponse(data)
            return JSONResponse({"data": data, "error": self._error("ok", "")})

        return endpoint

    def _fault_response(self, oauth: bool) -> Response | None:
        shape = self.faults.malformed
        if shape == "truncated":
            return Response('{"data": {"videos": [{"id": "7', media_type="application/json")
        if shape == "html":
            page = "<html><body><h1>502 Bad Gateway</h1></body></html>"
            return HTMLResponse(page, status_code=self.faults.status or 502)
        if shape == "shape":
            body = {"access_token": 42} if oauth else {"data": "videos", "error": {"code": "ok"}}
            return JSONResponse(body)
        return None

    def _count_rate(self, endpoint: str) -> None:
        if self.rate_limit_per_minute is None:
            return
        moment = self.clock()
        window = self._windows.setdefault(endpoint, deque())
        while window and window[0] <= moment - 60:
            window.popleft()
        if len(window) >= self.rate_limit_per_minute:
            wait = max(1, math.ceil(window[0] + 60 - moment))
            raise ApiProblem(429, "rate_limit_exceeded", RATE_LIMITED, {"Retry-After": str(wait)})
        window.append(moment)

    def _log_id(self) -> str:
        return self.now.strftime("%Y%m%d%H%M%S") + secrets.token_hex(10).upper()

    def _error(self, code: str, message: str) -> dict[str, str]:
        return {"code": code, "message": message, "log_id": self._log_id()}

    def _oauth_error(self, problem: OAuthProblem, headers: dict[str, str] | None = None) -> JSONResponse:
        body = {"error": problem.error, "error_description": problem.description, "log_id": self._log_id()}
        status = problem.status if problem.status in (429, 500, 502, 503) else self.oauth_error_status
        return JSONResponse(body, status_code=status, headers=headers or {})

    # ----- consent -------------------------------------------------------------
    def _check_client(self, params: dict[str, str]) -> str | None:
        """Why the request cannot even be redirected back (an error page), or None."""
        if params.get("client_key") != self.client_key:
            return "client_key: the app is not registered with TikTok."
        uri = params.get("redirect_uri", "")
        parts = urlsplit(uri)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
            return "redirect_uri: missing or not an absolute http(s) address."
        if self.redirect_uris is not None and uri not in self.redirect_uris:
            return "redirect_uri: not registered for this app."
        return None

    def _redirect(self, uri: str, params: dict[str, str]) -> RedirectResponse:
        joiner = "&" if urlsplit(uri).query else "?"
        return RedirectResponse(uri + joiner + urlencode(params), status_code=302)

    async def _consent_page(self, request: Request) -> Response:
        params = dict(request.query_params)
        problem = self._check_client(params)
        if problem:
            return HTMLResponse(_error_page(problem), status_code=400)
        state = {"state": params["state"]} if "state" in params else {}
        if params.get("response_type") != "code":
            return self._redirect(
                params["redirect_uri"],
                {"error": "unsupported_response_type", "error_description": "response_type must be code"}
                | state,
            )
        scopes = [s for s in params.get("scope", "").split(",") if s]
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            return self._redirect(
                params["redirect_uri"],
                {
                    "error": "invalid_scope",
                    "error_description": f"Invalid scope: {','.join(unknown) or '(none)'}",
                }
                | state,
            )
        return HTMLResponse(self._consent_html(params, scopes))

    async def _consent_decision(self, request: Request) -> Response:
        form = await request.form()
        params = {k: str(v) for k, v in form.items() if k != "scope"}
        problem = self._check_client(params)
        if problem:
            return HTMLResponse(_error_page(problem), status_code=400)
        state = {"state": params["state"]} if params.get("state") else {}
        if params.get("decision") != "allow":
            return self._redirect(
                params["redirect_uri"], {"error": "access_denied", "error_description": DENIED} | state
            )
        requested = [s for s in params.get("requested", "").split(",") if s in SCOPES]
        ticked = {str(v) for v in form.getlist("scope")}
        granted = [s for s in requested if s == REQUIRED_SCOPE or s in ticked]
        handle = params.get("account", "")
        if handle not in self.creators or REQUIRED_SCOPE not in requested:
            return HTMLResponse(_error_page("Choose one of the sandbox accounts."), status_code=400)
        code = secrets.token_urlsafe(32)
        issued = {"handle": handle, "scope": ",".join(granted), "redirect_uri": params["redirect_uri"]}
        await self.ledger.write(
            "code", code, issued | {"expires_at": self.now.timestamp() + CODE_SECONDS, "used": False}
        )
        return self._redirect(params["redirect_uri"], {"code": code, "scopes": ",".join(granted)} | state)

    def _consent_html(self, params: dict[str, str], scopes: list[str]) -> str:
        esc = html.escape
        hidden = (
            "".join(
                f'<input type="hidden" name="{name}" value="{esc(params.get(name, ""))}">'
                for name in ("client_key", "redirect_uri", "state", "response_type")
            )
            + f'<input type="hidden" name="requested" value="{esc(",".join(scopes))}">'
        )
        scope_rows = "".join(
            f'<li><label><input type="checkbox" name="scope" value="{esc(s)}" checked'
            f"{' disabled' if s == REQUIRED_SCOPE else ''}> {esc(SCOPES[s])}"
            f" <code>{esc(s)}</code></label></li>"
            for s in scopes
        )
        now = self.now.timestamp()
        accounts = "".join(
            f'<li><label><input type="radio" name="account" value="{esc(c.handle)}"'
            f"{' checked' if i == 0 else ''}> <strong>{esc(c.display_name)}</strong> "
            f"@{esc(c.handle)} · {c.count_at(now):,} videos</label></li>"
            for i, c in enumerate(self.creators.values())
        )
        return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sandbox TikTok — authorize {esc(self.app_name)}</title>
<style>
body{{font-family:system-ui,sans-serif;background:#f1f1f2;margin:0;color:#161823}}
main{{max-width:28rem;margin:2rem auto;background:#fff;border-radius:12px;padding:1.5rem}}
.badge{{display:inline-block;background:#fe2c55;color:#fff;border-radius:4px;padding:.1rem .5rem;font-weight:600}}
ul{{list-style:none;padding:0}} li{{margin:.5rem 0}} code{{color:#666;font-size:.8em}}
.buttons{{display:flex;gap:1rem}} button{{flex:1;padding:.7rem;border-radius:6px;font-size:1rem;border:1px solid #ccc}}
#allow{{background:#fe2c55;color:#fff;border:none}}
</style></head><body><main>
<p><span class="badge">Sandbox</span> This is Assetry's local imitation of TikTok, not the real TikTok.
No data leaves this computer and every account here is made up.</p>
<h1>{esc(self.app_name)} would like to access your TikTok account</h1>
<form method="post">{hidden}
<h2>Continue as</h2><ul>{accounts}</ul>
<h2>{esc(self.app_name)} is asking to</h2><ul>{scope_rows}</ul>
<div class="buttons"><button id="deny" type="submit" name="decision" value="deny">Deny</button>
<button id="allow" type="submit" name="decision" value="allow">Allow</button></div>
</form></main></body></html>"""

    # ----- OAuth ---------------------------------------------------------------
    async def _client_form(self, request: Request) -> dict[str, str]:
        if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
            raise OAuthProblem("invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
        form = {k: str(v) for k, v in (await request.form()).items()}
        key_ok = hmac.compare_digest(form.get("client_key", "").encode(), self.client_key.encode())
        secret_ok = hmac.compare_digest(form.get("client_secret", "").encode(), self.client_secret.encode())
        if not (key_ok and secret_ok):
            raise OAuthProblem("invalid_client", "Client key or secret is incorrect.")
        return form

    async def _token(self, request: Request) -> dict[str, Any]:
        form = await self._client_form(request)
        grant_type = form.get("grant_type")
        now = self.now.timestamp()
        renewed = {"refresh_expires_at": now + self.refresh_token_seconds}
        if grant_type == "authorization_code":
            key = form.get("code", "")
            code = await self.ledger.read("code", key)
            if code is None or code["used"] or code["expires_at"] <= now:
                raise OAuthProblem("invalid_grant", "Authorization code is expired.")
            if form.get("redirect_uri") != code["redirect_uri"]:
                raise OAuthProblem("invalid_grant", "Redirect URI does not match the authorization request.")
            if not await self.ledger.amend("code", {"used": True}, key=key, where={"used": False}):
                raise OAuthProblem("invalid_grant", "Authorization code is expired.")  # redeemed meanwhile
            grant_id = secrets.token_hex(16)
            grant = {
                "open_id": self.creators[code["handle"]].open_id(self.client_key),
                "handle": code["handle"],
                "scope": code["scope"],
                "revoked": False,
            }
            await self.ledger.write("grant", grant_id, grant | renewed)
            self.counters["authorization_code"] += 1
        elif grant_type == "refresh_token":
            # Rotation: the old refresh token is spent, by whichever request takes it first.
            spent = await self.ledger.remove("refresh", form.get("refresh_token", ""))
            grant_id = spent["grant"] if spent else ""
            grant = await self.ledger.read("grant", grant_id) if spent else None
            if grant is None or grant["revoked"] or grant["refresh_expires_at"] <= now:
                raise OAuthProblem("invalid_grant", "Refresh token is invalid or expired.")
            await self.ledger.amend("grant", renewed, key=grant_id)
            self.counters["refresh_token"] += 1
        else:
            raise OAuthProblem("unsupported_grant_type", "The grant_type is not supported.")
        refresh = "rft." + secrets.token_urlsafe(40)
        await self.ledger.write("refresh", refresh, {"grant": grant_id})
        access = "act." + secrets.token_urlsafe(40)
        await self.ledger.write(
            "access", access, {"grant": grant_id, "expires_at": now + self.access_token_seconds}
        )
        return {
            "access_token": access,
            "expires_in": self.access_token_seconds,
            "open_id": grant["open_id"],
            "refresh_expires_in": self.refresh_token_seconds,
            "refresh_token": refresh,
            "scope": grant["scope"],
            "token_type": "Bearer",
        }

    async def _revoke(self, request: Request) -> Response:
        form = await self._client_form(request)
        token = form.get("token", "")
        issued = await self.ledger.read("access", token) or await self.ledger.read("refresh", token)
        grant = await self.ledger.read("grant", issued["grant"]) if issued else None
        if grant is None or grant["revoked"]:
            raise OAuthProblem("invalid_request", "The token is invalid or has been revoked.")
        await self.ledger.amend("grant", {"revoked": True}, key=issued["grant"])
        self.counters["revoke"] += 1
        return Response(self.revoke_body, media_type="application/json")

    # ----- Display API -----------------------------------------------------------
    async def _authorize(self, request: Request, scope: str) -> tuple[dict[str, Any], SandboxCreator]:
        """The grant behind the request's bearer token and its creator, or 401."""
        header = request.headers.get("authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else ""
        access = await self.ledger.read("access", token) if token else None
        grant = await self.ledger.read("grant", access["grant"]) if access else None
        if grant is None or grant["revoked"] or access["expires_at"] <= self.now.timestamp():
            raise ApiProblem(401, "access_token_invalid", TOKEN_INVALID)
        if scope not in grant["scope"].split(","):
            raise ApiProblem(401, "scope_not_authorized", SCOPE_MISSING)
        return grant, self.creators[grant["handle"]]

    def _fields(self, request: Request, known: frozenset[str]) -> list[str]:
        raw = request.query_params.get("fields", "")
        fields = [f.strip() for f in raw.split(",") if f.strip()]
        if not fields:
            raise ApiProblem(400, "invalid_params", "The fields parameter is required.")
        unknown = [f for f in fields if f not in known]
        if unknown:
            raise ApiProblem(400, "invalid_params", f"Invalid fields: {','.join(unknown)}")
        return fields

    async def _user_info(self, request: Request) -> dict[str, Any]:
        grant, creator = await self._authorize(request, "user.info.basic")
        fields = self._fields(request, USER_FIELDS)
        avatar = self._media_url(self._base(request), "avatar", creator.handle)
        user = {
            "open_id": grant["open_id"],
            "union_id": creator.union_id,
            "avatar_url": avatar,
            "avatar_large_url": avatar,
            "display_name": creator.display_name,
        }
        return {"user": {f: user[f] for f in fields}}

    async def _video_list(self, request: Request) -> dict[str, Any]:
        _, creator = await self._authorize(request, "video.list")
        fields = self._fields(request, VIDEO_FIELDS)
        body = await _json_body(request)
        max_count = body.get("max_count", 10)
        cursor = body.get("cursor")
        if type(max_count) is not int or not 1 <= max_count <= MAX_COUNT:
            raise ApiProblem(400, "invalid_params", f"max_count must be an integer from 1 to {MAX_COUNT}.")
        if cursor is not None and (type(cursor) is not int or cursor < 0):
            raise ApiProblem(400, "invalid_params", "cursor must be a non-negative integer (ms timestamp).")
        now = self.now.timestamp()
        newest = creator.count_at(now) - 1
        if cursor is not None:
            newest = min(newest, creator.last_before(cursor / 1000))
        slots = range(newest, max(newest - max_count, -1), -1)
        listed = [k for k in slots if not creator.is_private(k)]
        base = self._base(request)
        videos = [self._video(base, creator, k, fields, i) for i, k in enumerate(listed)]
        # Videos published in the sandbox join the page whose time span holds them.
        high = now if cursor is None else cursor / 1000 - 0.001
        low = creator.slot_time(slots[-1]) if slots and slots[-1] > 0 else 0
        extra = [
            self._published_video(base, p, fields)
            for p in await self._published_between(creator.handle, low, high)
        ]
        if extra:
            videos = sorted(videos + extra, key=lambda v: int(v["id"]) >> 32, reverse=True)
        if not slots:
            return {"videos": videos, "cursor": cursor or 0, "has_more": False}
        oldest = slots[-1]
        next_cursor = creator.slot_time(oldest) * 1000
        if self.faults.duplicates and self.faults.applies_to(request.url.path):
            next_cursor += 1000  # one second later: the page's last video comes again
        return {"videos": videos, "cursor": next_cursor, "has_more": oldest > 0}

    async def _video_query(self, request: Request) -> dict[str, Any]:
        _, creator = await self._authorize(request, "video.list")
        fields = self._fields(request, VIDEO_FIELDS)
        body = await _json_body(request)
        filters = body.get("filters")
        ids = filters.get("video_ids") if isinstance(filters, dict) else None
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise ApiProblem(400, "invalid_params", "filters.video_ids must be a list of video id strings.")
        if len(ids) > MAX_COUNT:
            raise ApiProblem(400, "invalid_params", f"At most {MAX_COUNT} video_ids per request.")
        now = self.now.timestamp()
        videos, published_now = [], await self._published()
        for i, video_id in enumerate(dict.fromkeys(ids)):
            published = published_now.get(video_id)
            if published is not None and published.handle == creator.handle:
                videos.append(self._published_video(self._base(request), published, fields))
                continue
            k = creator.slot_of(video_id)
            if k is not None and k < creator.count_at(now) and not creator.is_private(k):
                videos.append(self._video(self._base(request), creator, k, fields, i))
        return {"videos": videos, "cursor": 0, "has_more": False}

    def _video(self, base: str, creator: SandboxCreator, k: int, fields: list[str], i: int) -> dict:
        video = creator.video(k, self.now.timestamp())
        video["cover_image_url"] = self._media_url(base, "cover", video["id"])
        video["share_url"] = f"{base}/@{creator.handle}/video/{video['id']}"
        video["embed_link"] = f"{base}/@{creator.handle}/video/{video['id']}?embed=1"
        dropped = set(self.faults.missing_fields) if i % 2 == 0 else set()
        return {f: video[f] for f in fields if f not in dropped}

    def _published_video(self, base: str, published: PublishedVideo, fields: list[str]) -> dict:
        video = published.video(self.now.timestamp())
        video["cover_image_url"] = self._media_url(base, "cover", published.id)
        video["share_url"] = f"{base}/@{published.handle}/video/{published.id}"
        video["embed_link"] = f"{base}/@{published.handle}/video/{published.id}?embed=1"
        return {f: video[f] for f in fields if f in video}

    # ----- media -------------------------------------------------------------
    def _signature(self, kind: str, ident: str, expires: int) -> str:
        message = f"{kind}:{ident}:{expires}".encode()
        return hmac.new(self._media_key, message, hashlib.sha256).hexdigest()[:24]

    def _base(self, request: Request) -> str:
        """Where this imitation is reached (behind a mount, its prefix included)."""
        if self.public_base:
            return self.public_base
        # root_path holds a Mount's prefix; Starlette's request.base_url leaves it out.
        root = request.scope.get("root_path", "").rstrip("/")
        return f"{request.url.scheme}://{request.url.netloc}{root}"

    def _media_url(self, base: str, kind: str, ident: str) -> str:
        expires = int(self.now.timestamp()) + MEDIA_SECONDS
        signature = self._signature(kind, ident, expires)
        return f"{base}/sandbox-media/{kind}/{ident}.jpeg?x-expires={expires}&x-signature={signature}"

    async def _media(self, request: Request) -> Response:
        kind, ident = request.path_params["kind"], request.path_params["ident"]
        try:
            expires = int(request.query_params.get("x-expires", ""))
        except ValueError:
            return Response("Access Denied", status_code=403, media_type="text/plain")
        signature = request.query_params.get("x-signature", "")
        valid = hmac.compare_digest(signature.encode(), self._signature(kind, ident, expires).encode())
        if kind not in ("cover", "avatar") or not valid or expires <= self.now.timestamp():
            return Response("Access Denied", status_code=403, media_type="text/plain")
        headers = {"Cache-Control": "private, max-age=3600"}
        published = await self.ledger.read("cover", ident) if kind == "cover" else None
        content = base64.b64decode(published["jpeg"]) if published is not None else _image(kind, ident)
        return Response(content, media_type="image/jpeg", headers=headers)

    async def _video_page(self, request: Request) -> Response:
        creator = self.creators.get(request.path_params["handle"])
        published = (await self._published()).get(request.path_params["video_id"])
        k = creator.slot_of(request.path_params["video_id"]) if creator else None
        if creator is not None and published is not None and published.handle == creator.handle:
            video = published.video(self.now.timestamp())
        elif creator is None or k is None or k >= creator.count_at(self.now.timestamp()):
            return HTMLResponse(_error_page("This video is not available."), status_code=404)
        else:
            video = creator.video(k, self.now.timestamp())
        body = (
            f'<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Sandbox video</title></head>'
            f"<body><p><strong>Sandbox</strong> video by @{html.escape(creator.handle)} (made up, not on TikTok)</p>"
            f"<h1>{html.escape(video['video_description'])}</h1>"
            f"<p>{video['view_count']:,} views · {video['like_count']:,} likes</p></body></html>"
        )
        return HTMLResponse(body)


def _raise_status(status: int, code: str | None, retry_after: str | None) -> None:
    defaults = {
        400: ("invalid_params", "The request parameters are malformed."),
        401: ("access_token_invalid", TOKEN_INVALID),
        429: ("rate_limit_exceeded", RATE_LIMITED),
    }
    default_code, message = defaults.get(status, ("internal_error", INTERNAL))
    if code == "scope_not_authorized":
        message = SCOPE_MISSING
    headers = {"Retry-After": retry_after} if retry_after and status == 429 else {}
    raise ApiProblem(status, code or default_code, message, headers)


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise ApiProblem(400, "invalid_params", "The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise ApiProblem(400, "invalid_params", "The request body must be a JSON object.")
    return body


def _error_page(problem: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Sandbox TikTok — error</title></head>'
        f"<body><p><strong>Sandbox</strong></p><h1>Something went wrong</h1><p>{html.escape(problem)}</p>"
        "</body></html>"
    )


@functools.lru_cache(maxsize=512)
def _image(kind: str, ident: str) -> bytes:
    """A small deterministic JPEG: a colour field per video or avatar."""
    seed = _digest(kind, ident)
    colour = (80 + seed % 160, 60 + (seed >> 8) % 160, 90 + (seed >> 16) % 150)
    size = (270, 480) if kind == "cover" else (200, 200)
    image = Image.new("RGB", size, colour)
    draw = ImageDraw.Draw(image)
    draw.rectangle((10, size[1] - 50, size[0] - 10, size[1] - 10), fill=(255, 255, 255))
    draw.text((20, size[1] - 40), "SANDBOX", fill=(0, 0, 0))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=70)
    return out.getvalue()
