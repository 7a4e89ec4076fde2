"""A local imitation of Instagram's API with Instagram Login.

One Starlette app plays the three hosts the real flow talks to (PROVIDERS.md):

- `www.instagram.com`: `GET /oauth/authorize` is an HTML consent page, clearly
  labelled "Sandbox", with an account chooser (`#account`) and the buttons `#allow`
  and `#deny`. Allow redirects to `redirect_uri?code=…&state=…#_` (the `#_` tail
  Instagram adds), Deny to `redirect_uri?error=access_denied&error_reason=user_denied
  &error_description=…&state=…`. An unknown `client_id`, a `redirect_uri` not
  registered, `response_type` other than `code` or an unknown scope get an error page
  and no redirect, as on Instagram.
- `api.instagram.com`: `POST /oauth/access_token` (form) turns a code into a
  short-lived token (1 hour). Codes are single-use, bound to their redirect URI and
  live one hour. The reply is `{"data": [{"access_token", "user_id", "permissions"}]}`
  or the flat `{"access_token", "user_id", "permissions"}` (switch `token_reply_shape`);
  errors here are Instagram's flat `{"error_type", "code", "error_message"}`.
- `graph.instagram.com`, with or without a `/vNN.N` version prefix:
  `GET /access_token?grant_type=ig_exchange_token` (short → long-lived, 60 days),
  `GET /refresh_access_token?grant_type=ig_refresh_token` (the long-lived token must
  be at least 24 hours old and unexpired), `GET /me`, `GET /{ig-user-id}/media`
  (newest first, `limit` ≤ 100, opaque `after`/`before` cursors, `paging.next` until
  the last page), `GET /{carousel-id}/children`, `GET /{ig-user-id}/stories` (live for
  24 hours) and `GET /{media-id}/insights`. The token comes as the `access_token` query
  parameter, the only form Meta documents for graph.instagram.com (an `Authorization`
  header alone is answered like a missing token). Errors are Graph's
  `{"error": {"message", "type": "OAuthException", "code", "error_subcode", "fbtrace_id"}}`:
  190 for a missing/unknown/expired/revoked token; 100 for retired metrics
  (`impressions`, `plays`, `video_views` fail the whole request), metrics a media
  product type does not have, album children's insights, unknown nodes; 10 for
  stories seen by fewer than 5 viewers and for personal accounts' media.

Insights: an empty `data` list while a post is less than an hour old (and for a
few "lagging" posts, until they are 48 hours old); posts whose owner hid likes
leave `like_count` out of the media list and `likes` out of insights. Items carry
`values: [{"value": N}]`, or `total_value: {"value": N}` when `insights_shape` says
so. Every Graph reply carries `X-App-Usage`.

Synthetic accounts (`ACCOUNTS`) are deterministic, seeded from the username:
business and creator accounts with about six months of reels, images, videos and
carousels (with children), a live story with 3 viewers and one with more, a
"huge" business account with 10,500 posts, and a personal account (which Instagram
Login would not let an app use: its media are refused). Post times count back from
`anchor` (default: when the imitation was made, to the hour; in sandbox mode the moment the
first instance of the app filed in the database, so every backend, worker and restart shows
the same timeline); metrics grow with
each post's age at the imitation's clock: set `now` (or call `advance`) to poll the
same post 1 h, 6 h, 24 h or 7 days after it went up.

Switches: `faults` (Graph rate-limit codes with usage headers, 5xx, a delay, a
malformed body, pages with missing fields, pages overlapping the previous one,
each optionally only after some requests, only for some paths, only a number of
times), `token_reply_shape`, `insights_shape`, `await revoke(user_id)`,
`delete_media(media_id)`. `requests` lists (method, path, query) of every call.

Codes and tokens it issued, and the reels published in the sandbox (`await publish(...)`), are
kept in a `Ledger` (`assetry.sandbox.ledger`): in memory by default, in the database in sandbox
mode, where every instance sees them; `await issued(token)` reads a token back.
"""

from __future__ import annotations

import asyncio
import base64
import bisect
import hashlib
import html
import json
import math
import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from assetry.sandbox.ledger import Ledger, MemoryLedger, Record

SANDBOX_CLIENT_ID = "sandbox-instagram-app"
SANDBOX_CLIENT_SECRET = "sandbox-instagram-secret"
SCOPES = frozenset(
    {
        "instagram_business_basic",
        "instagram_business_manage_insights",
        "instagram_business_manage_messages",
        "instagram_business_manage_comments",
        "instagram_business_content_publish",
    }
)
RETIRED_METRICS = frozenset({"impressions", "plays", "video_views"})
_FEED_METRICS = frozenset(
    {
        "views",
        "reach",
        "likes",
        "comments",
        "saved",
        "shares",
        "total_interactions",
        "profile_visits",
        "follows",
    }
)
METRICS_BY_PRODUCT = {
    "FEED": _FEED_METRICS,
    "REELS": _FEED_METRICS | {"ig_reels_avg_watch_time", "ig_reels_video_view_total_time"},
    "STORY": frozenset(
        {
            "views",
            "reach",
            "shares",
            "total_interactions",
            "replies",
            "follows",
            "navigation",
            "profile_visits",
        }
    ),
}
SHORT_LIVED_SECONDS = 3600
LONG_LIVED_SECONDS = 60 * 24 * 3600
CODE_SECONDS = 3600
MIN_STORY_VIEWERS = 5
PUBLISHED_IDS = 18_000_000_000_000_000  # reels published in the sandbox count up from here
_VERSION = re.compile(r"^v\d+\.\d+$")

# username, account type, number of feed posts, followers
ACCOUNTS: tuple[tuple[str, str, int, int], ...] = (
    ("sandbox_studio", "BUSINESS", 180, 48_200),
    ("sandbox_creator", "MEDIA_CREATOR", 320, 152_000),
    ("sandbox_huge", "BUSINESS", 10_500, 2_400_000),
    ("sandbox_personal", "PERSONAL", 12, 310),
)


class GraphProblem(Exception):
    """A Graph API error reply."""

    def __init__(self, message: str, code: int, subcode: int | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.code, self.subcode, self.status = message, code, subcode, status


class OAuthProblem(Exception):
    """An error of api.instagram.com's token endpoint (its flat shape)."""

    def __init__(self, message: str, code: int = 400) -> None:
        super().__init__(message)
        self.message, self.code = message, code


@dataclass
class Faults:
    """Misbehaviour to inject into API calls (not the consent page).

    A fault fires on requests whose path contains `only` (every API path when None),
    once `after` such requests have gone through normally, `times` times (None: always).
    """

    rate_limit_code: int | None = None  # Graph throttling code: 4, 17, 32, 613
    rate_limit_status: int = 400
    regain_minutes: int = 7  # estimated_time_to_regain_access in X-Business-Use-Case-Usage
    server_error: int | None = None  # 500, 502, 503
    malformed: bool = False
    delay: float = 0.0
    missing_fields: bool = False  # media pages: some items lack fields, one lacks an id
    duplicates: bool = False  # media pages start a few items before the cursor
    only: str | None = None
    after: int = 0
    times: int | None = None
    _seen: int = 0
    _fired: int = 0

    def clear(self) -> None:
        for spec in fields(self):
            setattr(self, spec.name, spec.default)

    def fires(self, path: str) -> bool:
        """Whether the next request on `path` misbehaves (and count it). Set one fault at a time."""
        if self.only is not None and self.only not in path:
            return False
        self._seen += 1
        if self._seen <= self.after:
            return False
        if self.times is not None and self._fired >= self.times:
            return False
        self._fired += 1
        return True


@dataclass
class SandboxMedia:
    """One post (or album child, or story) and the numbers it grows towards."""

    id: str
    owner: str  # username
    posted_at: datetime
    media_type: str  # IMAGE | VIDEO | CAROUSEL_ALBUM
    product_type: str  # FEED | REELS | STORY
    caption: str = ""
    peak_views: int = 0
    tau_hours: float = 24.0
    reach_rate: float = 0.7
    like_rate: float = 0.05
    comment_rate: float = 0.05
    save_rate: float = 0.1
    share_rate: float = 0.1
    hidden_likes: bool = False
    lagging: bool = False
    children: list[SandboxMedia] = field(default_factory=list)
    parent: str | None = None
    viewers: int | None = None  # stories: how many people saw it
    deleted: bool = False

    def numbers(self, now: datetime) -> dict[str, int]:
        """The lifetime metrics at `now` (Graph's names)."""
        hours = max(0.0, (now - self.posted_at).total_seconds() / 3600)
        if self.viewers is not None:
            views = self.viewers
        else:
            views = int(self.peak_views * (1 - math.exp(-hours / self.tau_hours)))
        likes = int(views * self.like_rate)
        comments = int(likes * self.comment_rate)
        saved = int(likes * self.save_rate)
        shares = int(likes * self.share_rate)
        return {
            "views": views,
            "reach": int(views * self.reach_rate),
            "likes": likes,
            "comments": comments,
            "saved": saved,
            "shares": shares,
            "total_interactions": likes + comments + saved + shares,
            "profile_visits": int(views * 0.004),
            "follows": int(views * 0.0005),
            "replies": int(views * 0.01),
            "navigation": int(views * 0.6),
            "ig_reels_avg_watch_time": 4200,
            "ig_reels_video_view_total_time": views * 4200,
        }


@dataclass
class SandboxAccount:
    """One Instagram account of the sandbox."""

    user_id: str  # app-scoped id: the token reply's user_id and /me's id
    professional_id: str  # /me's user_id
    username: str
    account_type: str
    followers: int
    media: list[SandboxMedia]  # feed posts, newest first
    stories: list[SandboxMedia]


@dataclass
class IssuedToken:
    token: str
    user_id: str
    long_lived: bool
    issued_at: datetime
    expires_at: datetime
    scopes: tuple[str, ...]
    revoked: bool = False

    def record(self) -> Record:
        """What the ledger keeps (under the token itself)."""
        return {
            "user_id": self.user_id,
            "long_lived": self.long_lived,
            "issued_at": self.issued_at.timestamp(),
            "expires_at": self.expires_at.timestamp(),
            "scopes": list(self.scopes),
            "revoked": self.revoked,
        }

    @classmethod
    def from_record(cls, token: str, record: Record) -> IssuedToken:
        return cls(
            token,
            record["user_id"],
            record["long_lived"],
            datetime.fromtimestamp(record["issued_at"], UTC),
            datetime.fromtimestamp(record["expires_at"], UTC),
            tuple(record["scopes"]),
            record["revoked"],
        )


def _stamp(moment: datetime) -> str:
    """Graph's timestamp format: 2025-03-01T14:05:09+0000."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


_CAPTION_WORDS = (
    "morning routine",
    "studio day",
    "behind the scenes",
    "new drop",
    "3 tips for better light",
    "what I eat in a day",
    "before / after",
    "Q&A",
    "tiny kitchen hacks",
    "golden hour",
    "packing orders",
    "trying the trend",
)


def _build_account(index: int, spec: tuple[str, str, int, int], anchor: datetime) -> SandboxAccount:
    username, account_type, count, followers = spec
    rng = random.Random(f"instagram:{username}")
    user_id = str(26_000_000_000_000_000 + index * 1_000_003 + rng.randrange(1000))
    professional_id = str(17_841_400_000_000_000 + index * 1_000_003 + rng.randrange(1000))
    history = timedelta(days=max(182, count // 4))
    # Minutes back from the anchor, newest first; the newest went up 20 minutes before it.
    offsets = sorted(rng.uniform(60, history.total_seconds() / 60) for _ in range(count - 1))
    offsets.insert(0, 20.0)
    scale = followers / 10
    media: list[SandboxMedia] = []
    next_id = 17_900_000_000_000_000 + index * 100_000_000
    for n, minutes in enumerate(offsets):
        roll = rng.random()
        if roll < 0.5:
            media_type, product = "VIDEO", "REELS"
        elif roll < 0.8:
            media_type, product = "IMAGE", "FEED"
        elif roll < 0.95:
            media_type, product = "CAROUSEL_ALBUM", "FEED"
        else:
            media_type, product = "VIDEO", "FEED"
        post = SandboxMedia(
            id=str(next_id),
            owner=username,
            posted_at=anchor - timedelta(minutes=minutes),
            media_type=media_type,
            product_type=product,
            caption=f"{rng.choice(_CAPTION_WORDS).capitalize()} #{n + 1}",
            peak_views=int(scale * rng.lognormvariate(0, 0.9) * (3 if product == "REELS" else 1)) + 20,
            tau_hours=rng.uniform(6, 48),
            reach_rate=rng.uniform(0.55, 0.85),
            like_rate=rng.uniform(0.02, 0.09),
            comment_rate=rng.uniform(0.02, 0.08),
            save_rate=rng.uniform(0.05, 0.2),
            share_rate=rng.uniform(0.03, 0.15),
            hidden_likes=rng.random() < 0.05,
            lagging=rng.random() < 0.03,
        )
        next_id += 1
        if media_type == "CAROUSEL_ALBUM":
            for _ in range(rng.randint(2, 6)):
                post.children.append(
                    SandboxMedia(
                        id=str(next_id),
                        owner=username,
                        posted_at=post.posted_at,
                        media_type=rng.choice(("IMAGE", "IMAGE", "VIDEO")),
                        product_type="FEED",
                        parent=post.id,
                    )
                )
                next_id += 1
        media.append(post)
    stories = []
    if account_type != "PERSONAL":
        for hours_ago, viewers in ((3, 3), (5, 240 + rng.randrange(100))):
            stories.append(
                SandboxMedia(
                    id=str(next_id),
                    owner=username,
                    posted_at=anchor - timedelta(hours=hours_ago),
                    media_type="IMAGE",
                    product_type="STORY",
                    viewers=viewers,
                )
            )
            next_id += 1
    return SandboxAccount(user_id, professional_id, username, account_type, followers, media, stories)


class InstagramImitation:
    """One in-memory Instagram; serve `.app` (an ASGI app) anywhere."""

    def __init__(
        self,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        redirect_uris: tuple[str, ...] = (),
        anchor: datetime | Callable[[], datetime] | None = None,
        public_base: str | None = None,
        ledger: Ledger | None = None,
    ) -> None:
        """`public_base`: where browsers reach this imitation (its pictures' links start there);
        `ledger`: where the codes and tokens it issues are kept (memory unless given); `anchor`,
        or a function asked for it once the accounts are first needed (the moment every instance
        of the app agrees on, in sandbox mode)."""
        self.client_id = client_id
        self.media_base = (public_base or "https://sandbox.instagram.invalid").rstrip("/")
        self.client_secret = client_secret
        self.redirect_uris = redirect_uris  # empty: any http(s) URI is accepted
        self.now: datetime | None = None  # None: the real clock
        self._anchor = anchor or datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
        self.faults = Faults()
        self.token_reply_shape = "data"  # or "flat"
        self.insights_shape = "values"  # or "total_value"
        self.usage_percent = 3
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.default_account = ACCOUNTS[0][0]
        self._accounts: dict[str, SandboxAccount] | None = None
        self._user_index: dict[str, SandboxAccount] = {}
        self._media_index: dict[str, SandboxMedia] = {}
        self._deleted: set[str] = set()
        # Records: "code" (user_id, redirect_uri, scopes, issued_at, used) and "token" (IssuedToken.record).
        self.ledger: Ledger = ledger or MemoryLedger()
        self.app = Starlette(
            routes=[
                Route("/oauth/authorize", self._consent_page, methods=["GET"]),
                Route("/oauth/authorize", self._consent_decision, methods=["POST"]),
                Route("/oauth/access_token", self._code_exchange, methods=["POST"]),
                Route("/sandbox-media/{kind:str}/{name:str}.svg", self._picture, methods=["GET"]),
                Route("/sandbox-media/covers/{name:str}.jpeg", self._cover, methods=["GET"]),
                Route("/{path:path}", self._graph, methods=["GET"]),
            ]
        )

    # ----- what tests and sandbox mode use directly ---------------------------
    @property
    def anchor(self) -> datetime:
        """The moment the accounts' posts count back from."""
        if callable(self._anchor):
            self._anchor = self._anchor()
        return self._anchor

    @property
    def accounts(self) -> dict[str, SandboxAccount]:
        """The synthetic accounts by username, made on first use (from `anchor`)."""
        if self._accounts is None:
            accounts = {
                spec[0]: _build_account(n, spec, self.anchor) for n, spec in enumerate(ACCOUNTS, start=1)
            }
            for account in accounts.values():
                self._user_index[account.user_id] = account
                self._user_index[account.professional_id] = account
                for post in [*account.media, *account.stories]:
                    self._media_index[post.id] = post
                    for child in post.children:
                        self._media_index[child.id] = child
            self._accounts = accounts
        return self._accounts

    @property
    def _by_user_id(self) -> dict[str, SandboxAccount]:
        """Each account under its Instagram user id and its professional account's id."""
        return self._user_index if self.accounts else {}

    @property
    def _media(self) -> dict[str, SandboxMedia]:
        """Every post, story and carousel child by id."""
        return self._media_index if self.accounts else {}

    def clock(self) -> datetime:
        """The imitation's idea of now."""
        return self.now or datetime.now(UTC)

    def advance(self, by: timedelta) -> None:
        """Move the imitation's clock forward (starting from the real clock if unset)."""
        self.now = self.clock() + by

    def account(self, username: str) -> SandboxAccount:
        return self.accounts[username]

    def visible_media(self, username: str) -> list[SandboxMedia]:
        """The feed posts of this account that exist at the imitation's clock, newest first."""
        media = self.accounts[username].media
        # Newest first: skip the posts not made yet by bisecting on the negated times.
        start = bisect.bisect_left(media, -self.clock().timestamp(), key=lambda m: -m.posted_at.timestamp())
        visible = media[start:]
        if self._deleted:
            visible = [m for m in visible if not m.deleted]
        return visible

    def media_item(self, media_id: str) -> SandboxMedia:
        return self._media[media_id]

    async def revoke(self, user_id: str) -> None:
        """The user removes the app in Instagram's settings: every token of theirs stops working."""
        account = self._by_user_id[user_id]
        await self.ledger.amend("token", {"revoked": True}, where={"user_id": account.user_id})

    async def issued(self, token: str) -> IssuedToken | None:
        """The token as this imitation issued it, or None."""
        record = await self.ledger.read("token", token)
        return IssuedToken.from_record(token, record) if record else None

    def username_of(self, user_id: str) -> str | None:
        """The account an app-scoped (or professional) id names, or None."""
        account = self._by_user_id.get(user_id)
        return account.username if account else None

    async def publish(self, username: str, *, caption: str, cover_jpeg: bytes) -> str:
        """The account posts a reel now (the imitation's clock), its thumbnail `cover_jpeg`; returns
        its id. Every instance sharing the ledger shows it."""
        account = self.accounts[username]
        media_id = str(PUBLISHED_IDS + secrets.randbits(52))  # and apart from another instance's
        rng = random.Random(f"instagram:published:{media_id}")
        record = {
            "id": media_id,
            "owner": username,
            "posted_at": self.clock().isoformat(),
            "caption": caption,
            "peak_views": int(account.followers / 10 * rng.lognormvariate(0, 0.5) * 3) + 20,
            "tau_hours": rng.uniform(6, 48),
        }
        await self.ledger.write("cover", media_id, {"jpeg": base64.b64encode(cover_jpeg).decode()})
        await self.ledger.write("published", media_id, record)
        self._take_in(record)
        return media_id

    async def _catch_up(self) -> None:
        """Take in the reels published in the sandbox through any instance (or before a restart)."""
        for record in await self.ledger.every("published"):
            if record["id"] not in self._media:
                self._take_in(record)

    def _take_in(self, record: Record) -> None:
        post = SandboxMedia(
            id=record["id"],
            owner=record["owner"],
            posted_at=datetime.fromisoformat(record["posted_at"]),
            media_type="VIDEO",
            product_type="REELS",
            caption=record["caption"],
            peak_views=record["peak_views"],
            tau_hours=record["tau_hours"],
        )
        # The feed stays newest first (`visible_media` bisects it).
        bisect.insort(self.accounts[post.owner].media, post, key=lambda m: -m.posted_at.timestamp())
        self._media[post.id] = post

    async def _cover(self, request: Request) -> Response:
        cover = await self.ledger.read("cover", request.path_params["name"])
        if cover is None:
            return Response("Not found", status_code=404)
        jpeg = base64.b64decode(cover["jpeg"])
        return Response(jpeg, media_type="image/jpeg", headers={"cache-control": "max-age=3600"})

    def delete_media(self, media_id: str) -> None:
        """The owner deletes (or archives) a post."""
        self._media[media_id].deleted = True
        self._deleted.add(media_id)

    def restore_media(self) -> None:
        """Bring every deleted post back."""
        for media_id in self._deleted:
            self._media[media_id].deleted = False
        self._deleted.clear()

    async def grant_code(self, username: str, redirect_uri: str, scopes: tuple[str, ...] = ()) -> str:
        """What pressing Allow does, without the browser; returns the code as Instagram sends it."""
        code = secrets.token_urlsafe(24)
        issued = {
            "user_id": self.accounts[username].user_id,
            "redirect_uri": redirect_uri,
            "scopes": list(scopes or ("instagram_business_basic", "instagram_business_manage_insights")),
            "issued_at": self.clock().timestamp(),
            "used": False,
        }
        await self.ledger.write("code", code, issued)
        return code + "#_"

    # ----- consent page (www.instagram.com) -----------------------------------
    def _authorize_problem(self, params: Any) -> str | None:
        if params.get("client_id") != self.client_id:
            return "Invalid platform app"
        redirect_uri = params.get("redirect_uri", "")
        if not re.match(r"^https?://", redirect_uri) or (
            self.redirect_uris and redirect_uri not in self.redirect_uris
        ):
            return "Invalid redirect_uri: the URL is not on the app's list of valid OAuth redirect URIs."
        if params.get("response_type") != "code":
            return "Invalid response_type: only 'code' is supported."
        scopes = [s for s in params.get("scope", "").split(",") if s]
        unknown = [s for s in scopes if s not in SCOPES]
        if not scopes or unknown:
            return f"Invalid Scopes: {', '.join(unknown) or '(none)'}"
        return None

    async def _consent_page(self, request: Request) -> Response:
        self.requests.append(("GET", request.url.path, dict(request.query_params)))
        params = request.query_params
        problem = self._authorize_problem(params)
        if problem:
            return HTMLResponse(
                _page("Sorry, this page isn't available", f"<p id='problem'>{html.escape(problem)}</p>"), 400
            )
        hidden = "".join(
            f'<input type="hidden" name="{name}" value="{html.escape(params.get(name, ""))}">'
            for name in ("client_id", "redirect_uri", "response_type", "scope", "state")
        )
        options = "".join(
            f'<option value="{a.username}"{" selected" if a.username == self.default_account else ""}>'
            f"@{a.username} ({a.account_type.replace('_', ' ').lower()})</option>"
            for a in self.accounts.values()
        )
        wanted = "".join(f"<li>{html.escape(s)}</li>" for s in params.get("scope", "").split(","))
        body = f"""
<p><span class="badge">Sandbox</span> This is Assetry's local imitation of Instagram, not the real
Instagram. No data leaves this computer and every account here is made up.</p>
<form method="post" action="{html.escape(request.url.path)}">
  {hidden}
  <h2><label for="account">Continue as</label></h2>
  <select id="account" name="account">{options}</select>
  <h2>The app is asking to</h2><ul class="scopes">{wanted}</ul>
  <div class="buttons">
    <button id="deny" type="submit" name="decision" value="deny">Deny</button>
    <button id="allow" type="submit" name="decision" value="allow">Allow</button>
  </div>
</form>"""
        return HTMLResponse(_page("Sandbox Instagram: allow access?", body))

    async def _consent_decision(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.requests.append(("POST", request.url.path, {k: v for k, v in form.items() if k != "state"}))
        problem = self._authorize_problem(form)
        if problem:
            return HTMLResponse(
                _page("Sorry, this page isn't available", f"<p id='problem'>{html.escape(problem)}</p>"), 400
            )
        redirect_uri, state = form["redirect_uri"], form.get("state", "")
        joiner = "&" if "?" in redirect_uri else "?"
        if form.get("decision") != "allow":
            query = {
                "error": "access_denied",
                "error_reason": "user_denied",
                "error_description": "The user denied your request.",
            }
            if state:
                query["state"] = state
            return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(query)}", status_code=302)
        account = self.accounts.get(form.get("account", ""), self.accounts[self.default_account])
        code = (await self.grant_code(account.username, redirect_uri, tuple(form["scope"].split(","))))[:-2]
        query = {"code": code} | ({"state": state} if state else {})
        return RedirectResponse(f"{redirect_uri}{joiner}{urlencode(query)}#_", status_code=302)

    # ----- token endpoint (api.instagram.com) ---------------------------------
    async def _code_exchange(self, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        self.requests.append(
            ("POST", request.url.path, {k: v for k, v in form.items() if k != "client_secret"})
        )
        fault = await self._fault(request.url.path)
        if fault is not None:
            return fault
        try:
            return JSONResponse(await self._exchange(form))
        except OAuthProblem as problem:
            body = {"error_type": "OAuthException", "code": problem.code, "error_message": problem.message}
            return JSONResponse(body, status_code=problem.code)

    async def _exchange(self, form: dict[str, str]) -> dict:
        if form.get("client_id") != self.client_id:
            raise OAuthProblem("Invalid platform app")
        if form.get("client_secret") != self.client_secret:
            raise OAuthProblem("Error validating client secret.")
        if form.get("grant_type") != "authorization_code":
            raise OAuthProblem("Invalid grant_type: only authorization_code is supported")
        key = form.get("code", "")
        issued = await self.ledger.read("code", key)
        if issued is None:
            raise OAuthProblem("Invalid authorization code")
        if issued["used"]:
            raise OAuthProblem("This authorization code has been used")
        if self.clock().timestamp() - issued["issued_at"] > CODE_SECONDS:
            raise OAuthProblem("This authorization code has expired")
        if form.get("redirect_uri") != issued["redirect_uri"]:
            raise OAuthProblem(
                "Error validating verification code. Please make sure your redirect_uri is identical "
                "to the one you used in the OAuth dialog request"
            )
        if not await self.ledger.amend("code", {"used": True}, key=key, where={"used": False}):
            raise OAuthProblem("This authorization code has been used")  # by a request just before
        token = await self._issue(issued["user_id"], long_lived=False, scopes=tuple(issued["scopes"]))
        if self.token_reply_shape == "flat":
            return {
                "access_token": token.token,
                "user_id": int(token.user_id),
                "permissions": list(token.scopes),
            }
        return {
            "data": [
                {
                    "access_token": token.token,
                    "user_id": int(token.user_id),
                    "permissions": ",".join(token.scopes),
                }
            ]
        }

    async def _issue(self, user_id: str, *, long_lived: bool, scopes: tuple[str, ...]) -> IssuedToken:
        now = self.clock()
        seconds = LONG_LIVED_SECONDS if long_lived else SHORT_LIVED_SECONDS
        prefix = "IGAA" if long_lived else "IGQV"
        token = IssuedToken(
            prefix + secrets.token_urlsafe(40),
            user_id,
            long_lived,
            now,
            now + timedelta(seconds=seconds),
            scopes,
        )
        await self.ledger.write("token", token.token, token.record())
        return token

    # ----- Graph API (graph.instagram.com) ------------------------------------
    async def _graph(self, request: Request) -> Response:
        path = "/" + request.path_params["path"]
        self.requests.append(("GET", path, dict(request.query_params)))
        fault = await self._fault(path)
        if fault is not None:
            return fault
        parts = [p for p in path.split("/") if p]
        if parts and _VERSION.match(parts[0]):
            parts = parts[1:]
        await self._catch_up()
        try:
            if parts == ["access_token"]:
                body = await self._long_lived(request)
            elif parts == ["refresh_access_token"]:
                body = await self._refresh(request)
            else:
                token = await self._authenticate(request)
                body = self._node(request, token, parts)
        except GraphProblem as problem:
            error = {"message": problem.message, "type": "OAuthException", "code": problem.code}
            if problem.subcode is not None:
                error["error_subcode"] = problem.subcode
            error["fbtrace_id"] = "Sbx" + secrets.token_hex(8)
            return JSONResponse({"error": error}, status_code=problem.status, headers=self._usage_headers())
        if parts[-1:] == ["media"] and self.faults.missing_fields and self.faults.fires(path):
            body = _with_missing_fields(body)
        return JSONResponse(body, headers=self._usage_headers())

    def _usage_headers(self) -> dict[str, str]:
        usage = self.usage_percent
        return {"X-App-Usage": json.dumps({"call_count": usage, "total_time": usage, "total_cputime": usage})}

    async def _fault(self, path: str) -> Response | None:
        """The misbehaving reply a request-level fault calls for, if it fires now."""
        faults = self.faults
        if not (faults.rate_limit_code or faults.server_error or faults.malformed or faults.delay):
            return None
        if not faults.fires(path):
            return None
        if faults.delay:
            await asyncio.sleep(faults.delay)
        if faults.rate_limit_code is not None:
            return self._throttled(faults.rate_limit_code)
        if faults.server_error == 502:
            return HTMLResponse("<html><body>502 Bad Gateway</body></html>", 502)
        if faults.server_error is not None:
            error = {
                "message": "An unexpected error has occurred. Please retry your request later.",
                "type": "OAuthException",
                "code": 2,
                "is_transient": True,
                "fbtrace_id": "Sbx" + secrets.token_hex(8),
            }
            return JSONResponse({"error": error}, status_code=faults.server_error)
        if faults.malformed:
            return Response('{"data": [{"id": "1790', status_code=200, media_type="application/json")
        return None

    def _throttled(self, code: int) -> Response:
        messages = {
            4: "(#4) Application request limit reached",
            17: "(#17) User request limit reached",
            32: "(#32) Page request limit reached",
            613: "(#613) Calls to this api have exceeded the rate limit.",
        }
        headers = {"X-App-Usage": json.dumps({"call_count": 100, "total_time": 41, "total_cputime": 37})}
        if code != 4:
            usage = {
                "type": "instagram",
                "call_count": 100,
                "total_cputime": 30,
                "total_time": 45,
                "estimated_time_to_regain_access": self.faults.regain_minutes,
            }
            headers["X-Business-Use-Case-Usage"] = json.dumps({"17841400000000000": [usage]})
        error = {
            "message": messages.get(code, f"(#{code}) Rate limit reached"),
            "type": "OAuthException",
            "code": code,
            "is_transient": True,
            "fbtrace_id": "Sbx" + secrets.token_hex(8),
        }
        return JSONResponse({"error": error}, status_code=self.faults.rate_limit_status, headers=headers)

    def _presented_token(self, request: Request) -> str:
        return request.query_params.get("access_token", "")

    async def _check(self, presented: str) -> IssuedToken:
        if not presented:
            raise GraphProblem(
                "An active access token must be used to query information about the current user.", 2500
            )
        token = await self.issued(presented)
        if token is None:
            raise GraphProblem("Invalid OAuth access token - Cannot parse access token", 190)
        if token.revoked:
            raise GraphProblem(
                f"Error validating access token: The user has not authorized application {self.client_id}.",
                190,
                458,
            )
        if self.clock() >= token.expires_at:
            raise GraphProblem(
                "Error validating access token: Session has expired on "
                f"{token.expires_at.strftime('%A, %d-%b-%y %H:%M:%S')} UTC.",
                190,
                463,
            )
        return token

    async def _authenticate(self, request: Request) -> IssuedToken:
        return await self._check(self._presented_token(request))

    async def _long_lived(self, request: Request) -> dict:
        params = request.query_params
        if params.get("grant_type") != "ig_exchange_token":
            raise GraphProblem("Unsupported grant_type; use ig_exchange_token.", 100)
        if params.get("client_secret") != self.client_secret:
            raise GraphProblem("Error validating client secret.", 101)
        short = await self._check(params.get("access_token", ""))
        if short.long_lived:
            raise GraphProblem("Invalid parameter: the access token is already a long-lived token.", 100)
        token = await self._issue(short.user_id, long_lived=True, scopes=short.scopes)
        return {"access_token": token.token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    async def _refresh(self, request: Request) -> dict:
        params = request.query_params
        if params.get("grant_type") != "ig_refresh_token":
            raise GraphProblem("Unsupported grant_type; use ig_refresh_token.", 100)
        old = await self._check(params.get("access_token", ""))
        if not old.long_lived:
            raise GraphProblem("Only long-lived access tokens can be refreshed.", 100)
        if self.clock() - old.issued_at < timedelta(hours=24):
            raise GraphProblem(
                "The access token can only be refreshed once it is at least 24 hours old.", 100
            )
        token = await self._issue(old.user_id, long_lived=True, scopes=old.scopes)
        return {"access_token": token.token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}

    def _node(self, request: Request, token: IssuedToken, parts: list[str]) -> dict:
        owner = self._by_user_id[token.user_id]
        fields = [f for f in request.query_params.get("fields", "").split(",") if f]
        if parts == ["me"]:
            return self._me(owner, fields)
        if len(parts) == 2 and parts[1] in {"media", "stories"}:
            account = owner if parts[0] == "me" else self._by_user_id.get(parts[0])
            if account is None or account is not owner:
                raise _missing_node(parts[0])
            if account.account_type == "PERSONAL":
                raise GraphProblem("(#10) Application does not have permission for this action", 10)
            if parts[1] == "stories":
                now = self.clock()
                live = [s for s in account.stories if timedelta(0) <= now - s.posted_at < timedelta(hours=24)]
                return {"data": [self._media_json(s, fields) for s in live]}
            return self._media_page(request, account, fields)
        if len(parts) == 2 and parts[1] in {"children", "insights"}:
            media = self._media.get(parts[0])
            if (
                media is None
                or media.deleted
                or media.owner != owner.username
                or media.posted_at > self.clock()
            ):
                raise _missing_node(parts[0])
            if parts[1] == "children":
                if media.media_type != "CAROUSEL_ALBUM":
                    return {"data": []}
                return {"data": [self._media_json(c, fields or ["id"]) for c in media.children]}
            return self._insights(request, token, media)
        raise GraphProblem(
            f"Unsupported get request. Object with ID '{parts[0] if parts else ''}' does not exist, "
            "cannot be loaded due to missing permissions, or does not support this operation.",
            100,
            33,
        )

    def _me(self, account: SandboxAccount, fields: list[str]) -> dict:
        everything = {
            "id": account.user_id,
            "user_id": account.professional_id,
            "username": account.username,
            "name": account.username.replace("_", " ").title(),
            "account_type": account.account_type,
            "profile_picture_url": f"{self.media_base}/sandbox-media/avatars/{account.username}.svg",
            "followers_count": account.followers,
            "follows_count": 180,
            "media_count": len(self.visible_media(account.username)),
        }
        return {"id": account.user_id} | {f: everything[f] for f in fields if f in everything}

    async def _picture(self, request: Request) -> Response:
        """A made-up picture for an avatar or a post, so sandbox pages load no outside images."""
        kind, name = request.path_params["kind"], request.path_params["name"]
        if kind not in ("avatars", "media"):
            return Response("Not found", status_code=404)
        hue = int(hashlib.sha256(name.encode()).hexdigest()[:4], 16) % 360
        shape = (
            '<circle cx="80" cy="80" r="80"/>'
            if kind == "avatars"
            else '<rect width="160" height="160" rx="12"/>'
        )
        svg = (
            '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160">'
            f'<g fill="hsl({hue},60%,55%)">{shape}</g></svg>'
        )
        return Response(svg, media_type="image/svg+xml", headers={"cache-control": "max-age=3600"})

    def _media_json(self, media: SandboxMedia, fields: list[str]) -> dict:
        numbers = media.numbers(self.clock())
        picture = f"{self.media_base}/sandbox-media/media/{media.id}.svg"
        everything: dict[str, Any] = {
            "id": media.id,
            "caption": media.caption,
            "media_type": media.media_type,
            "media_product_type": media.product_type,
            "media_url": f"https://sandbox.instagram.invalid/media/{media.id}.mp4"
            if media.media_type == "VIDEO"
            else picture,
            "permalink": f"https://www.instagram.com/p/SBX{media.id[-8:]}/",
            "timestamp": _stamp(media.posted_at),
            "comments_count": numbers["comments"],
            "username": media.owner,
        }
        if media.media_type == "VIDEO":
            published = int(media.id) >= PUBLISHED_IDS
            everything["thumbnail_url"] = (
                f"{self.media_base}/sandbox-media/covers/{media.id}.jpeg" if published else picture
            )
        if not media.hidden_likes:
            everything["like_count"] = numbers["likes"]
        if media.parent or media.product_type == "STORY":
            everything.pop("caption")
            everything.pop("comments_count")
            everything.pop("like_count", None)
        return {"id": media.id} | {f: everything[f] for f in fields if f in everything}

    def _media_page(self, request: Request, account: SandboxAccount, fields: list[str]) -> dict:
        params = request.query_params
        try:
            limit = min(100, max(1, int(params.get("limit", "25"))))
        except ValueError as error:
            raise GraphProblem("(#100) Param limit must be a number", 100) from error
        visible = self.visible_media(account.username)
        start = 0
        if params.get("after"):
            start = _read_cursor(params["after"], account.username) + 1
            if self.faults.duplicates and self.faults.fires(request.url.path):
                start = max(0, start - 3)
        page = visible[start : start + limit]
        body: dict[str, Any] = {"data": [self._media_json(m, fields) for m in page]}
        if page:
            first, last = start, start + len(page) - 1
            paging: dict[str, Any] = {
                "cursors": {
                    "before": _cursor(first, account.username),
                    "after": _cursor(last, account.username),
                }
            }
            if last + 1 < len(visible):
                paging["next"] = str(request.url.include_query_params(after=_cursor(last, account.username)))
            body["paging"] = paging
        return body

    def _insights(self, request: Request, token: IssuedToken, media: SandboxMedia) -> dict:
        if "instagram_business_manage_insights" not in token.scopes:
            raise GraphProblem("(#10) Application does not have permission for this action", 10)
        metrics = [m.strip() for m in request.query_params.get("metric", "").split(",") if m.strip()]
        if not metrics:
            raise GraphProblem("(#100) The parameter metric is required", 100)
        for name in metrics:
            if name in RETIRED_METRICS:
                raise GraphProblem(
                    f"(#100) Starting from version v22.0 and above, the {name} metric is no longer "
                    "supported. Please use views instead.",
                    100,
                    2108006 if name == "impressions" else None,
                )
        if media.parent is not None:
            raise GraphProblem("(#100) Insights are not available for media inside a carousel album.", 100)
        supported = METRICS_BY_PRODUCT[media.product_type]
        for name in metrics:
            if name not in supported:
                raise GraphProblem(
                    f"(#100) The Media Insights API does not support the {name} metric for this media product type.",
                    100,
                )
        now = self.clock()
        if media.viewers is not None and media.viewers < MIN_STORY_VIEWERS:
            raise GraphProblem("(#10) Not enough viewers for the media to show insights", 10)
        age = now - media.posted_at
        if age < timedelta(hours=1) or (media.lagging and age < timedelta(hours=48)):
            return {"data": []}
        numbers = media.numbers(now)
        data = []
        for name in metrics:
            if name == "likes" and media.hidden_likes:
                continue
            item: dict[str, Any] = {"name": name, "period": "lifetime"}
            if self.insights_shape == "total_value":
                item["total_value"] = {"value": numbers[name]}
            else:
                item["values"] = [{"value": numbers[name]}]
            item["title"] = name.replace("_", " ").capitalize()
            item["description"] = f"The {name.replace('_', ' ')} of this media (sandbox)."
            item["id"] = f"{media.id}/insights/{name}/lifetime"
            data.append(item)
        return {"data": data}


def _missing_node(node: str) -> GraphProblem:
    return GraphProblem(
        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        100,
        33,
    )


def _cursor(index: int, username: str) -> str:
    return base64.urlsafe_b64encode(f"{username}:{index}".encode()).decode().rstrip("=")


def _read_cursor(cursor: str, username: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        name, index = raw.rsplit(":", 1)
        if name != username:
            raise ValueError(name)
        return int(index)
    except ValueError as error:
        raise GraphProblem("(#100) Invalid pagination cursor", 100) from error


def _with_missing_fields(body: dict) -> dict:
    """Some items lose optional fields, one loses its id and one its timestamp."""
    items = [dict(item) for item in body["data"]]
    for n, item in enumerate(items):
        if n % 5 == 1:
            for name in ("caption", "permalink", "thumbnail_url", "media_url", "media_product_type"):
                item.pop(name, None)
    if len(items) > 3:
        items[2].pop("id", None)
        items[3].pop("timestamp", None)
    return body | {"data": items}


def _page(title: str, body: str) -> str:
    """A sandbox page drawn like the TikTok sandbox's: a white card on grey, the platform's colours."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font-family: system-ui, sans-serif; background: #f1f1f2; margin: 0; color: #262626; }}
main {{ max-width: 28rem; margin: 2rem auto; background: #fff; border-radius: 12px; padding: 1.5rem; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.1rem; margin-top: 1.5rem; }}
.badge {{ display: inline-block; color: #fff; border-radius: 4px; padding: .1rem .5rem; font-weight: 600;
  background: linear-gradient(45deg, #f58529, #dd2a7b, #8134af); }}
ul {{ padding-left: 1.2rem; }} li {{ margin: .4rem 0; font-family: ui-monospace, monospace; color: #555; }}
select {{ width: 100%; font-size: 1rem; padding: .6rem; border: 1px solid #ccc; border-radius: 6px;
  background: #fff; }}
.buttons {{ display: flex; gap: 1rem; margin-top: 1.5rem; }}
button {{ flex: 1; padding: .7rem; border-radius: 6px; font-size: 1rem; border: 1px solid #ccc;
  background: #fff; }}
#allow {{ background: #0095f6; color: #fff; border: none; }}
</style></head>
<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>"""
