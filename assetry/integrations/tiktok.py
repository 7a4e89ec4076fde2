"""TikTok Login Kit (web) and Display API v2: connect an account, read its profile and videos.

One `TikTokClient` per app registration, wrapping an injected `httpx.AsyncClient`,
with explicit base URLs (the real ones by default; sandbox mode passes the mounted
imitation's). It never touches the database and never retries: the sync jobs decide
when to try again.

OAuth and authlib: TikTok names the client `client_key`, not `client_id`, sends the
scope comma-separated, and wants the key and the secret in the form body. authlib's
`OAuth2Client` puts `client_id` into both the authorize URL and the token request
and is itself an `httpx.AsyncClient` (so it cannot use the injected one), which is
why this module uses authlib's request-building helpers (`add_params_to_uri`,
`prepare_token_request`) and not its client class.

PKCE: TikTok documents PKCE only for its mobile and desktop kits (and the desktop
one derives the challenge as a hex SHA-256, not RFC 7636's base64url). Login Kit
for web is a confidential-client flow: the code is worthless without our
`client_secret`, which never leaves the server. So the authorize URL carries no
`code_challenge`; the protection is a single-use `state` bound to the session
(the caller's job) and an exact `redirect_uri` registered with TikTok.

Errors (everything httpx raises or TikTok answers maps to one of these):

- `AuthExpired`: the connection no longer works and the creator must reconnect:
  `access_token_invalid`, an OAuth `invalid_grant` (a code already used or expired,
  a refresh token spent by rotation, expired or revoked), and
  `scope_not_authorized` (the creator did not allow video access: the message
  asks them to reconnect and allow it). Never retried.
- `RateLimited`: 429 / `rate_limit_exceeded`; `retry_after` from the
  `Retry-After` header, else 60 s (TikTok counts requests per endpoint per minute).
- `BadInput`: the creator denied consent (`code_from_callback`), or a caller passed
  a page cursor or video id that cannot be TikTok's; nothing is sent then.
- `ProviderError`: 5xx / `internal_error`, `invalid_params` (a request we built
  wrong), a refused client key or secret, timeouts, unreachable hosts, and replies
  we cannot read. Messages carry TikTok's `log_id` when there is one.

Data: `create_time` (epoch seconds) becomes an aware UTC datetime; metrics are
`views`, `likes`, `comments`, `shares` from `view_count`, `like_count`,
`comment_count`, `share_count`, and a count TikTok leaves out (or sends as null) is
absent from `metrics` with its reason in `missing`. `cover_image_url` is a signed
CDN link that expires after about six hours (`PostData.cover_expires_at` says when,
read from its `x-expires`): show it soon or fetch it again with `refresh_videos`.
A listed video without an id or a creation time cannot be stored and is skipped
(and logged).
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NoReturn

import httpx
from authlib.common.urls import add_params_to_uri, url_encode
from authlib.oauth2.rfc6749.parameters import prepare_token_request

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.social import NOT_YET, PostData, PostPage, Profile, TokenSet

log = logging.getLogger(__name__)

AUTHORIZE_BASE = "https://www.tiktok.com"
API_BASE = "https://open.tiktokapis.com"
SCOPES = ("user.info.basic", "video.list")
USER_FIELDS = "open_id,union_id,avatar_url,display_name"
VIDEO_FIELDS = (
    "id,title,video_description,cover_image_url,create_time,share_url,duration,"
    "view_count,like_count,comment_count,share_count"
)
MAX_COUNT = 20  # videos per list page and ids per query, TikTok's maximum
METRICS = {"view_count": "views", "like_count": "likes", "comment_count": "comments", "share_count": "shares"}
DEFAULT_RETRY_AFTER = 60.0
# TikTok takes up to two days to settle a new post's numbers; after that a missing one is TikTok's choice.
SETTLING = timedelta(hours=48)
NOT_GIVEN = "not reported by TikTok for this post"

RECONNECT = "TikTok no longer accepts Assetry's access to this account (it was revoked or has expired). Reconnect your TikTok account."
RECONNECT_FOR_VIDEOS = (
    "TikTok did not give Assetry access to your videos. Reconnect your TikTok account and "
    "leave video access allowed on TikTok's consent screen."
)
CODE_SPENT = "This TikTok sign-in was already used or has expired. Connect your TikTok account again."
DENIED = "You didn't allow Assetry to access your TikTok account, so nothing was connected. Connect again and choose Allow to see your videos here."
_VIDEO_ID = re.compile(r"^\d{1,25}$")
_X_EXPIRES = re.compile(r"[?&]x-expires=(\d{1,12})(?:&|$)")


def _utcnow() -> datetime:
    return datetime.now(UTC)


class TikTokClient:
    """Login Kit (web) and Display API v2 for one TikTok app (client key and secret)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        client_key: str,
        client_secret: str,
        authorize_base: str = AUTHORIZE_BASE,
        api_base: str = API_BASE,
        scopes: Iterable[str] = SCOPES,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._http = http
        self._client_key = client_key
        self._client_secret = client_secret
        self.authorize_base = authorize_base.rstrip("/")
        self.api_base = api_base.rstrip("/")
        self.scopes = tuple(scopes)
        self._clock = clock

    # ----- OAuth -------------------------------------------------------------
    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """Where to send the creator's browser to ask for consent (no PKCE on the web: see above)."""
        params = [
            ("client_key", self._client_key),
            ("scope", ",".join(self.scopes)),
            ("response_type", "code"),
            ("redirect_uri", redirect_uri),
            ("state", state),
        ]
        return add_params_to_uri(f"{self.authorize_base}/v2/auth/authorize/", params)

    @staticmethod
    def code_from_callback(params: Mapping[str, str]) -> str:
        """The authorization code from the callback's query; the caller checks `state` first."""
        error = params.get("error")
        if error == "access_denied":
            raise BadInput(DENIED)
        if error:
            description = params.get("error_description") or "no description"
            raise ProviderError(f"TikTok could not connect the account ({error}: {description}).")
        code = params.get("code")
        if not code:
            raise BadInput("TikTok's answer had no authorization code. Connect your TikTok account again.")
        return code

    def missing_scopes(self, tokens: TokenSet) -> list[str]:
        """The scopes this client asks for that the creator did not grant."""
        granted = {s.strip() for s in re.split(r"[,\s]+", tokens.scope) if s.strip()}
        return [s for s in self.scopes if s not in granted]

    async def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Trade the callback's code for tokens; `account_id` is the creator's open_id."""
        body = prepare_token_request(
            "authorization_code",
            code=code,
            redirect_uri=redirect_uri,
            client_key=self._client_key,
            client_secret=self._client_secret,
        )
        return self._token_set(await self._oauth("/v2/oauth/token/", body, spent=CODE_SPENT))

    async def refresh(self, refresh_token: str) -> TokenSet:
        """New tokens; the refresh token rotates, so store the returned one before using it."""
        body = prepare_token_request(
            "refresh_token",
            refresh_token=refresh_token,
            client_key=self._client_key,
            client_secret=self._client_secret,
        )
        return self._token_set(await self._oauth("/v2/oauth/token/", body, spent=RECONNECT))

    async def revoke(self, token: str) -> None:
        """End Assetry's access (disconnect). A token TikTok already refuses counts as revoked."""
        body = url_encode(
            [("client_key", self._client_key), ("client_secret", self._client_secret), ("token", token)]
        )
        try:
            await self._oauth("/v2/oauth/revoke/", body, spent=RECONNECT)
        except AuthExpired:
            log.info("tiktok revoke: the token was already invalid")

    def _token_set(self, reply: dict[str, Any]) -> TokenSet:
        access, expires_in = reply.get("access_token"), reply.get("expires_in")
        if not isinstance(access, str) or not access or not _is_count(expires_in):
            raise ProviderError("TikTok's token reply had no usable access token.")
        now = self._clock()
        refresh, refresh_in = reply.get("refresh_token"), reply.get("refresh_expires_in")
        return TokenSet(
            access_token=access,
            expires_at=now + timedelta(seconds=expires_in),
            refresh_token=refresh if isinstance(refresh, str) and refresh else None,
            refresh_expires_at=now + timedelta(seconds=refresh_in) if _is_count(refresh_in) else None,
            scope=str(reply.get("scope") or ""),
            account_id=str(reply.get("open_id") or ""),
        )

    async def _oauth(self, path: str, body: str, *, spent: str) -> dict[str, Any]:
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Cache-Control": "no-cache"}
        response = await self._send("POST", path, content=body, headers=headers)
        if response.status_code == 200 and not response.content.strip():
            return {}  # a revoke succeeds with an empty body (TikTok's docs; their example shows `{}`)
        reply = _json(response)
        error = reply.get("error") if isinstance(reply, dict) else None
        if isinstance(error, dict):  # the API envelope (e.g. a rate limit in front of the OAuth service)
            return _raise_api_error(response, reply)
        if error:
            # Errors arrive with 4xx, and from some TikTok versions with 200: the body decides.
            description = str(reply.get("error_description") or "")
            where = _log_ref(reply.get("log_id"))
            if response.status_code == 429 or error == "rate_limit_exceeded":
                raise RateLimited(
                    "TikTok is limiting how often Assetry can ask. It will try again shortly.",
                    retry_after=_retry_after(response),
                )
            if error == "invalid_grant":
                raise AuthExpired(spent)
            if error == "invalid_client":
                raise ProviderError(
                    f"TikTok refused Assetry's client key or secret{where}; check the TikTok app settings."
                )
            if error == "invalid_request" and path.endswith("/revoke/"):
                raise AuthExpired(spent)  # TikTok's answer for a token it no longer knows
            raise ProviderError(f"TikTok refused the sign-in request ({error}: {description}){where}.")
        if response.status_code >= 400 or not isinstance(reply, dict):
            _raise_unreadable(response)
        return reply

    # ----- Display API ---------------------------------------------------------
    async def profile(self, access_token: str) -> Profile:
        """The connected creator: open_id, display name, avatar."""
        reply = await self._api("GET", "/v2/user/info/", access_token, fields=USER_FIELDS)
        user = _dig(reply, "data", "user")
        if not isinstance(user, dict) or not user.get("open_id"):
            _raise_shape("user info")
        return Profile(
            account_id=str(user["open_id"]),
            display_name=str(user.get("display_name") or ""),
            avatar_url=str(user.get("avatar_url") or ""),
        )

    async def videos(self, access_token: str, cursor: str | int | None = None) -> PostPage:
        """One page of the creator's videos, newest first, starting before `cursor` (None: the newest)."""
        body: dict[str, Any] = {"max_count": MAX_COUNT}
        if cursor is not None:
            body["cursor"] = _cursor(cursor)
        reply = await self._api("POST", "/v2/video/list/", access_token, fields=VIDEO_FIELDS, json=body)
        data = _dig(reply, "data")
        items = data.get("videos") if isinstance(data, dict) else None
        if not isinstance(items, list) or not isinstance(data.get("has_more"), bool):
            _raise_shape("video list")
        has_more = data["has_more"]
        next_cursor = data.get("cursor")
        if has_more and not (
            _is_count(next_cursor) or (isinstance(next_cursor, str) and next_cursor.isdigit())
        ):
            _raise_shape("video list")
        return PostPage(
            posts=self._posts(items),
            cursor=str(next_cursor) if has_more else None,
            has_more=has_more,
        )

    async def all_videos(
        self, access_token: str, cursor: str | int | None = None, *, newer_than: datetime | None = None
    ) -> AsyncIterator[PostPage]:
        """Every page from `cursor` on, each video once even when TikTok repeats it across pages.

        With `newer_than`, paging stops at the first video created before it (an
        incremental sync). Each page keeps TikTok's cursor, so a job can store it and
        resume after a rate limit.
        """
        seen: set[str] = set()
        cursors: set[str] = set()
        while True:
            page = await self.videos(access_token, cursor)
            fresh = []
            for post in page.posts:
                if post.platform_id not in seen:
                    seen.add(post.platform_id)
                    fresh.append(post)
            reached_old = newer_than is not None and any(p.created_at < newer_than for p in page.posts)
            if newer_than is not None:
                fresh = [p for p in fresh if p.created_at >= newer_than]
            has_more = page.has_more and not reached_old
            yield PostPage(fresh, page.cursor if has_more else None, has_more)
            if not has_more:
                return
            if page.cursor in cursors or page.cursor == (None if cursor is None else str(cursor)):
                raise ProviderError("TikTok sent the same page of videos again; the sync will resume later.")
            cursors.add(page.cursor)
            cursor = page.cursor

    async def refresh_videos(self, access_token: str, ids: Iterable[str]) -> list[PostData]:
        """Current numbers for known videos (batches of 20); videos TikTok no longer shows are left out."""
        wanted = list(dict.fromkeys(str(i) for i in ids))
        bad = [i for i in wanted if not _VIDEO_ID.match(i)]
        if bad:
            raise BadInput(f"These are not TikTok video ids: {', '.join(bad[:5])}.")
        posts: dict[str, PostData] = {}
        for start in range(0, len(wanted), MAX_COUNT):
            batch = wanted[start : start + MAX_COUNT]
            body = {"filters": {"video_ids": batch}}
            reply = await self._api("POST", "/v2/video/query/", access_token, fields=VIDEO_FIELDS, json=body)
            items = _dig(reply, "data", "videos")
            if not isinstance(items, list):
                _raise_shape("video query")
            for post in self._posts(items):
                if post.platform_id in batch:
                    posts.setdefault(post.platform_id, post)
        return list(posts.values())

    def _posts(self, items: list[Any]) -> list[PostData]:
        now = self._clock()
        posts = []
        for item in items:
            post = _post(item, now)
            if post is None:
                log.warning(
                    "tiktok: skipped a video without a usable id or create_time (fields: %s)",
                    sorted(item) if isinstance(item, dict) else type(item).__name__,
                )
            else:
                posts.append(post)
        return posts

    async def _api(
        self, method: str, path: str, access_token: str, *, fields: str, json: Any = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {access_token}"}
        response = await self._send(method, path, params={"fields": fields}, json=json, headers=headers)
        reply = _json(response)
        error = reply.get("error") if isinstance(reply, dict) else None
        if response.status_code < 300 and (
            error is None or (isinstance(error, dict) and error.get("code") == "ok")
        ):
            return reply
        return _raise_api_error(response, reply)

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._http.request(method, f"{self.api_base}{path}", **kwargs)
        except httpx.TimeoutException:
            raise ProviderError("TikTok did not answer in time. Assetry will try again later.") from None
        except httpx.HTTPError as error:
            raise ProviderError(f"Assetry could not reach TikTok ({type(error).__name__}).") from None


def _raise_api_error(response: httpx.Response, reply: Any) -> NoReturn:
    error = reply.get("error") if isinstance(reply, dict) else None
    if not isinstance(error, dict):
        _raise_unreadable(response)
    code = str(error.get("code") or "")
    message = str(error.get("message") or "")
    where = _log_ref(error.get("log_id"))
    status = response.status_code
    if code == "rate_limit_exceeded" or status == 429:
        raise RateLimited(
            "TikTok is limiting how often Assetry can ask. It will try again shortly.",
            retry_after=_retry_after(response),
        )
    if code in ("scope_not_authorized", "scope_permission_missed"):
        raise AuthExpired(RECONNECT_FOR_VIDEOS)
    if code == "access_token_invalid" or status == 401:
        raise AuthExpired(RECONNECT)
    if code == "invalid_params":
        raise ProviderError(f"TikTok refused Assetry's request as invalid ({message}){where}.")
    if status >= 500 or code == "internal_error":
        raise ProviderError(
            f"TikTok had a problem answering ({code or status}){where}. Assetry will try again later."
        )
    raise ProviderError(f"TikTok answered with an error ({code or status}: {message}){where}.")


def _raise_unreadable(response: httpx.Response) -> NoReturn:
    raise ProviderError(
        f"TikTok answered something Assetry cannot read (HTTP {response.status_code}). Assetry will try again later."
    )


def _raise_shape(what: str) -> NoReturn:
    raise ProviderError(f"TikTok's {what} reply was not in the expected shape. Assetry will try again later.")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        _raise_unreadable(response)


def _dig(reply: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(reply, dict):
            return None
        reply = reply.get(key)
    return reply


def _log_ref(log_id: Any) -> str:
    return f" (TikTok log id {log_id})" if log_id else ""


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _retry_after(response: httpx.Response) -> float:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return DEFAULT_RETRY_AFTER
    return seconds if seconds >= 0 else DEFAULT_RETRY_AFTER


def _cursor(cursor: str | int) -> int:
    text = str(cursor)
    if not text.isdigit() or len(text) > 19:
        raise BadInput(f"{text!r} is not a TikTok page cursor.")
    return int(text)


def _post(item: Any, now: datetime) -> PostData | None:
    if not isinstance(item, dict):
        return None
    video_id, created = item.get("id"), item.get("create_time")
    if isinstance(video_id, int) and not isinstance(video_id, bool):
        video_id = str(video_id)
    if not isinstance(video_id, str) or not _VIDEO_ID.match(video_id) or not _is_count(created):
        return None
    created_at = datetime.fromtimestamp(created, UTC)
    metrics: dict[str, int] = {}
    missing: dict[str, str] = {}
    for wire, name in METRICS.items():
        value = item.get(wire)
        if _is_count(value):
            metrics[name] = value
        else:
            missing[name] = NOT_YET if now - created_at < SETTLING else NOT_GIVEN
    duration = item.get("duration")
    cover = item.get("cover_image_url")
    cover = cover if isinstance(cover, str) else ""
    return PostData(
        platform_id=video_id,
        created_at=created_at,
        title=str(item.get("title") or item.get("video_description") or ""),
        url=str(item.get("share_url") or ""),
        cover_url=cover,
        cover_expires_at=_expiry(cover),
        media_type="video",
        duration_s=float(duration) if _is_count(duration) else None,
        metrics=metrics,
        missing=missing,
    )


def _expiry(url: str) -> datetime | None:
    """When a signed TikTok CDN link stops working, from its `x-expires` parameter."""
    found = _X_EXPIRES.search(url)
    return datetime.fromtimestamp(int(found[1]), UTC) if found else None
