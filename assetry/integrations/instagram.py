"""Instagram through the API with Instagram Login (business and creator accounts).

The flow (PROVIDERS.md): the browser goes to `authorize_url(...)`; Instagram sends it
back with `code` (which may end in `#_`) and `state`, or with `error`; the lead's
callback checks `state`, then `code_from_callback` and `exchange_code` turn the code
into a short-lived token (1 hour) and at once into a long-lived one (60 days).
Instagram Login has no refresh token: the long-lived access token itself is
refreshed with `refresh` once it is at least 24 hours old and before it expires, so
`TokenSet.refresh_token` stays None and `TokenSet.account_id` is the token reply's
`user_id` (the app-scoped id, the same as `Profile.account_id`).

authlib builds the authorize URL and the code-exchange form (`prepare_grant_uri`,
`prepare_token_request`); the requests go through the injected `httpx.AsyncClient`,
because Instagram's token reply is not RFC 6749's (a `data` list or a flat object,
`user_id` as a JSON number) and the long-lived exchange and the refresh are plain
GETs with the token in the query, which no OAuth 2 grant describes.

Revoking: Instagram Login documents no revoke endpoint (`DELETE /{user-id}/permissions`
belongs to Facebook Login), so this client has none. Disconnecting honestly means
deleting the token on our side and pointing the user to `APP_PERMISSIONS_URL`,
where they can remove the app themselves.

Exceptions (every httpx error and every Instagram error reply maps to one of these):

- `AuthExpired`: Graph code 190 (token expired, revoked, or unknown) and permission
  errors (code 10 outside a story's insights, 200): the account needs reconnecting.
  Never retry.
- `RateLimited`: Graph codes 4, 17, 32, 613 and HTTP 429; `retry_after` comes from
  `X-Business-Use-Case-Usage` (`estimated_time_to_regain_access`, minutes), else
  `Retry-After`, else a full `X-App-Usage` (then `APP_LIMIT_BACKOFF`), else `DEFAULT_BACKOFF`.
- `BadInput`: the user can fix it: denied consent, a sign-in code already used or
  expired, a personal account (only business or creator accounts can be connected);
  `PostGone` when a post was deleted or archived on Instagram.
- `ProviderError`: 5xx, timeouts, unreachable, replies we cannot read, our own
  misconfiguration (client secret, redirect URI), a refresh Instagram refused.

Missing numbers are not 0 (see `assetry.integrations.social`): an empty insights
set → NOT_YET; album children → NOT_FOR_TYPE (no request is made); a story seen by
fewer than 5 people (code 10) → TOO_FEW_VIEWERS; likes the owner hid → HIDDEN;
metrics stories do not have (likes, comments, saves) → NOT_FOR_TYPE. The retired
`impressions`, `plays` and `video_views` are never asked for: asking fails the whole
request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request

from assetry.errors import AuthExpired, BadInput, ProviderError, RateLimited
from assetry.integrations.social import (
    HIDDEN,
    NOT_FOR_TYPE,
    NOT_YET,
    TOO_FEW_VIEWERS,
    PostData,
    PostPage,
    Profile,
    TokenSet,
)

log = logging.getLogger(__name__)

SCOPES = ("instagram_business_basic", "instagram_business_manage_insights")
APP_PERMISSIONS_URL = "https://www.instagram.com/accounts/manage_access/"
PROFILE_FIELDS = "user_id,username,account_type,profile_picture_url,followers_count,media_count"
MEDIA_FIELDS = "id,caption,media_type,media_product_type,thumbnail_url,media_url,permalink,timestamp,like_count,comments_count"
CHILD_FIELDS = "id,media_type,media_url,thumbnail_url,permalink,timestamp"
PAGE_SIZE = 25
PROFESSIONAL_TYPES = frozenset({"BUSINESS", "MEDIA_CREATOR", "CREATOR"})
THROTTLE_CODES = frozenset({4, 17, 32, 613})
DEFAULT_BACKOFF = 60.0
APP_LIMIT_BACKOFF = 600.0  # the app-wide limit is a rolling hour: usage at 100% eases slowly

# Graph metric → our metric name.
METRICS = {
    "views": "views",
    "reach": "reach",
    "likes": "likes",
    "comments": "comments",
    "saved": "saves",
    "shares": "shares",
    "total_interactions": "interactions",
}
STORY_METRICS = ("views", "reach", "shares", "total_interactions")
MEDIA_TYPES = {"CAROUSEL_ALBUM": "carousel", "IMAGE": "image", "VIDEO": "video"}
ALBUM_ITEM = "album_item"  # PostData.media_type of a carousel's child

RECONNECT = "Instagram no longer accepts this connection (it expired or was revoked). Reconnect the account."
NOT_PERMITTED = (
    "Instagram refused access to this account's posts or insights. Only business or creator accounts "
    "can be connected, with every permission asked for: reconnect the account."
)
PERSONAL = (
    "Only Instagram business or creator accounts can be connected. Switch this account to a "
    "professional account in the Instagram app (Settings → Account type and tools), then connect again."
)
DENIED = "You did not allow Assetry to see your Instagram account, so nothing was connected."
CODE_SPENT = "This Instagram sign-in was already used or has expired. Please connect the account again."
THROTTLED = "Instagram asks us to slow down; we will try again later."
UNAVAILABLE = "Instagram is not answering right now. We will try again later."
UNREADABLE = "Instagram answered something we could not read. We will try again later."


class PostGone(BadInput):
    """The post no longer exists on Instagram (deleted or archived)."""


def code_from_callback(params: Mapping[str, str]) -> str:
    """The authorization code from the callback's query (without Instagram's `#_` tail).

    Raises BadInput when the user denied access or the callback holds no code.
    Checking `state` is the caller's job, before this.
    """
    if params.get("error"):
        if params.get("error_reason") == "user_denied" or params.get("error") == "access_denied":
            raise BadInput(DENIED)
        raise BadInput(
            f"Instagram did not connect the account: {params.get('error_description') or params['error']}"
        )
    code = (params.get("code") or "").strip()
    code = code.removesuffix("#_")
    if not code:
        raise BadInput("Instagram sent no sign-in code back. Please connect the account again.")
    return code


class InstagramClient:
    """One Instagram app (client id and secret) talking to Instagram or its sandbox imitation."""

    def __init__(
        self,
        *,
        authorize_url: str,
        api_url: str,
        graph_url: str,
        client_id: str,
        client_secret: str,
        http: httpx.AsyncClient,
        api_version: str = "v26.0",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.authorize_endpoint = authorize_url
        self.api_url = api_url.rstrip("/")
        self.graph_url = graph_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.http = http
        self.api_version = api_version
        self.clock = clock

    # ----- OAuth ---------------------------------------------------------------
    def authorize_url(self, state: str, redirect_uri: str) -> str:
        """Where to send the browser to ask for access (scopes comma-separated, as Instagram wants)."""
        return prepare_grant_uri(
            self.authorize_endpoint,
            self.client_id,
            "code",
            redirect_uri=redirect_uri,
            scope=",".join(SCOPES),
            state=state,
        )

    async def exchange_code(self, code: str, redirect_uri: str) -> TokenSet:
        """Turn the callback's code into a long-lived (60-day) token.

        The code is spent by the first step: if the long-lived exchange then fails, the
        user has to connect again (a ProviderError says Instagram failed, not them).
        """
        body = prepare_token_request(
            "authorization_code",
            code=code.strip().removesuffix("#_"),
            redirect_uri=redirect_uri,
            client_id=self.client_id,
            client_secret=self._client_secret,
        )
        response = await self._send(
            "POST",
            f"{self.api_url}/oauth/access_token",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        reply = self._read(response, oauth=True)
        short = reply["data"][0] if isinstance(reply.get("data"), list) and reply["data"] else reply
        access_token, user_id = short.get("access_token"), short.get("user_id")
        if not isinstance(access_token, str) or not access_token or user_id in (None, ""):
            raise ProviderError(UNREADABLE)
        permissions = short.get("permissions") or ""
        scope = permissions if isinstance(permissions, str) else ",".join(map(str, permissions))
        long_lived = await self._token_call(
            "access_token",
            {
                "grant_type": "ig_exchange_token",
                "client_secret": self._client_secret,
                "access_token": access_token,
            },
        )
        return replace(long_lived, scope=scope, account_id=str(user_id))

    async def refresh(self, access_token: str) -> TokenSet:
        """A fresh 60-day token for a long-lived one that is at least 24 hours old and unexpired."""
        return await self._token_call(
            "refresh_access_token", {"grant_type": "ig_refresh_token", "access_token": access_token}
        )

    async def _token_call(self, path: str, params: dict[str, str]) -> TokenSet:
        response = await self._send("GET", f"{self.graph_url}/{path}", params=params)
        reply = self._read(response)
        token, expires_in = reply.get("access_token"), reply.get("expires_in")
        if not isinstance(token, str) or not token or not isinstance(expires_in, int | float):
            raise ProviderError(UNREADABLE)
        return TokenSet(access_token=token, expires_at=self.clock() + timedelta(seconds=expires_in))

    # ----- data ----------------------------------------------------------------
    async def profile(self, access_token: str) -> Profile:
        """The connected account; raises BadInput for a personal account."""
        reply = await self._graph(access_token, "me", {"fields": PROFILE_FIELDS})
        account_id = str(reply.get("id") or reply.get("user_id") or "")
        username = str(reply.get("username") or "")
        if not account_id or not username:
            raise ProviderError(UNREADABLE)
        account_type = str(reply.get("account_type") or "").upper()
        if account_type not in PROFESSIONAL_TYPES:
            raise BadInput(PERSONAL)
        return Profile(
            account_id=account_id,
            display_name=username,
            avatar_url=str(reply.get("profile_picture_url") or ""),
            username=username,
            account_type=account_type,
            followers=_int(reply.get("followers_count")),
            posts=_int(reply.get("media_count")),
        )

    async def media(self, access_token: str, user_id: str, after: str | None = None) -> PostPage:
        """One page of the account's posts (newest first); `after` is the previous page's cursor."""
        params = {"fields": MEDIA_FIELDS, "limit": str(PAGE_SIZE)}
        if after:
            params["after"] = after
        reply = await self._graph(access_token, f"{user_id}/media", params)
        items = reply.get("data")
        if not isinstance(items, list):
            raise ProviderError(UNREADABLE)
        posts = [post for item in items if (post := _post(item)) is not None]
        paging = reply.get("paging") if isinstance(reply.get("paging"), dict) else {}
        cursors = paging.get("cursors") if isinstance(paging.get("cursors"), dict) else {}
        cursor = cursors.get("after") if isinstance(cursors.get("after"), str) else None
        has_more = bool(paging.get("next")) and bool(cursor) and bool(items)
        return PostPage(posts=posts, cursor=cursor if has_more else None, has_more=has_more)

    async def all_media(self, access_token: str, user_id: str) -> AsyncIterator[PostData]:
        """Every post of the account, newest first, each id once even when pages overlap."""
        seen: set[str] = set()
        after: str | None = None
        while True:
            page = await self.media(access_token, user_id, after)
            for post in page.posts:
                if post.platform_id not in seen:
                    seen.add(post.platform_id)
                    yield post
            if not page.has_more or page.cursor == after:
                return
            after = page.cursor

    async def stories(self, access_token: str, user_id: str) -> list[PostData]:
        """The account's live stories (the last 24 hours); the media list never holds them."""
        reply = await self._graph(access_token, f"{user_id}/stories", {"fields": MEDIA_FIELDS})
        items = reply.get("data")
        if not isinstance(items, list):
            raise ProviderError(UNREADABLE)
        return [post for item in items if (post := _post(item)) is not None]

    async def children(self, access_token: str, album: PostData) -> list[PostData]:
        """The pictures and videos inside a carousel (media_type `album_item`)."""
        reply = await self._graph(access_token, f"{album.platform_id}/children", {"fields": CHILD_FIELDS})
        items = reply.get("data")
        if not isinstance(items, list):
            raise ProviderError(UNREADABLE)
        children = []
        for item in items:
            child = _post(item, default_time=album.created_at)
            if child is not None:
                children.append(
                    replace(child, media_type=ALBUM_ITEM, title=album.title, metrics={}, missing={})
                )
        return children

    async def insights(self, access_token: str, post: PostData) -> PostData:
        """The post with its current numbers, and for each one missing, why."""
        every = [METRICS[name] for name in METRICS]
        if post.media_type == ALBUM_ITEM:
            return replace(post, metrics={}, missing=dict.fromkeys(every, NOT_FOR_TYPE))
        asked = STORY_METRICS if post.media_type == "story" else tuple(METRICS)
        not_for_type = {METRICS[name]: NOT_FOR_TYPE for name in METRICS if name not in asked}
        try:
            reply = await self._graph(
                access_token, f"{post.platform_id}/insights", {"metric": ",".join(asked)}
            )
        except _TooFewViewers:
            missing = {METRICS[name]: TOO_FEW_VIEWERS for name in asked} | not_for_type
            return replace(post, metrics={}, missing=missing)
        items = reply.get("data")
        if not isinstance(items, list):
            raise ProviderError(UNREADABLE)
        # Counts from the media list stay unless insights have newer ones.
        metrics = {name: value for name, value in post.metrics.items() if name in METRICS.values()}
        for item in items:
            if isinstance(item, dict) and item.get("name") in asked:
                value = _insight_value(item)
                if value is not None:
                    metrics[METRICS[item["name"]]] = value
        missing = dict(not_for_type)
        for name in asked:
            ours = METRICS[name]
            if ours not in metrics:
                hidden = ours == "likes" and post.missing.get("likes") == HIDDEN
                missing[ours] = HIDDEN if hidden else NOT_YET
        return replace(post, metrics=metrics, missing=missing)

    # ----- HTTP ----------------------------------------------------------------
    async def _graph(self, access_token: str, path: str, params: dict[str, str]) -> dict[str, Any]:
        response = await self._send(
            "GET",
            f"{self.graph_url}/{self.api_version}/{path}",
            # Meta documents graph.instagram.com calls with the token as the `access_token` query parameter.
            params={**params, "access_token": access_token},
        )
        return self._read(response, insights=path.endswith("/insights"))

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self.http.request(method, url, **kwargs)
        except httpx.TimeoutException as error:
            log.warning("Instagram timed out: %s %s", method, url.split("?")[0])
            raise ProviderError(UNAVAILABLE) from error
        except httpx.HTTPError as error:
            log.warning("Instagram unreachable: %s %s: %s", method, url.split("?")[0], type(error).__name__)
            raise ProviderError(UNAVAILABLE) from error

    def _read(
        self, response: httpx.Response, *, oauth: bool = False, insights: bool = False
    ) -> dict[str, Any]:
        """The reply's JSON object, or the right exception for an error reply."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.is_success:
            if not isinstance(body, dict):
                log.warning("Instagram sent an unreadable reply (%s)", response.status_code)
                raise ProviderError(UNREADABLE)
            return body
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            code, message = _int(error.get("code")), str(error.get("message") or "")
            subcode = _int(error.get("error_subcode"))
        elif isinstance(body, dict) and "error_message" in body:  # api.instagram.com's flat shape
            code, message, subcode = _int(body.get("code")), str(body.get("error_message") or ""), None
        else:
            code, message, subcode = None, "", None
        log.info("Instagram error %s: code=%s subcode=%s %s", response.status_code, code, subcode, message)
        if response.status_code == 429 or code in THROTTLE_CODES:
            raise RateLimited(THROTTLED, retry_after=retry_after_seconds(response))
        if code == 190:
            raise AuthExpired(RECONNECT)
        if code == 10 and insights and "viewers" in message.lower():
            raise _TooFewViewers(message)
        if code in {10, 200} or (code is not None and 200 < code < 300):
            raise AuthExpired(NOT_PERMITTED)
        if code == 100 and subcode == 33:
            raise PostGone("This post is no longer on Instagram (it was deleted or archived).")
        if oauth and response.status_code == 400 and code == 400:
            lowered = message.lower()
            if "redirect_uri" in lowered or "client secret" in lowered or "platform app" in lowered:
                raise ProviderError(f"Instagram refused our app's settings: {message}")
            raise BadInput(CODE_SPENT)
        if response.status_code >= 500 or code in {1, 2}:
            raise ProviderError(UNAVAILABLE)
        if message:
            raise ProviderError(f"Instagram refused the request: {message}")
        raise ProviderError(UNREADABLE)


class _TooFewViewers(ProviderError):
    """Graph code 10 on a story's insights: fewer than 5 people saw it."""


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _insight_value(item: dict[str, Any]) -> int | None:
    """`values[0].value` or `total_value.value`, whichever the reply uses."""
    values = item.get("values")
    if isinstance(values, list) and values and isinstance(values[0], dict):
        found = _int(values[0].get("value"))
        if found is not None:
            return found
    total = item.get("total_value")
    if isinstance(total, dict):
        return _int(total.get("value"))
    return None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    for pattern in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z"):
        try:
            return datetime.strptime(value, pattern).astimezone(UTC)
        except ValueError:
            continue
    return None


def _post(item: Any, *, default_time: datetime | None = None) -> PostData | None:
    """A media item as PostData, or None (logged) when it lacks an id or a readable time."""
    if not isinstance(item, dict):
        return None
    media_id = item.get("id")
    created = _timestamp(item.get("timestamp")) or default_time
    if not isinstance(media_id, str | int) or not str(media_id) or created is None:
        log.warning("Instagram media item without id or timestamp skipped: %s", sorted(item))
        return None
    media_type = str(item.get("media_type") or "").upper()
    product = str(item.get("media_product_type") or "").upper()
    if product == "REELS":
        kind = "reel"
    elif product == "STORY":
        kind = "story"
    else:
        kind = MEDIA_TYPES.get(media_type, media_type.lower())
    metrics: dict[str, int] = {}
    missing: dict[str, str] = {}
    likes, comments = _int(item.get("like_count")), _int(item.get("comments_count"))
    if likes is not None:
        metrics["likes"] = likes
    elif comments is not None:  # the rest of the counts came: the owner hid the likes
        missing["likes"] = HIDDEN
    if comments is not None:
        metrics["comments"] = comments
    cover = item.get("thumbnail_url") if media_type == "VIDEO" else item.get("media_url")
    return PostData(
        platform_id=str(media_id),
        created_at=created,
        title=str(item.get("caption") or ""),
        url=str(item.get("permalink") or ""),
        cover_url=str(cover or item.get("thumbnail_url") or ""),
        media_type=kind,
        metrics=metrics,
        missing=missing,
    )


def _json_header(response: httpx.Response, name: str) -> Any:
    try:
        return json.loads(response.headers.get(name, ""))
    except ValueError:
        return None


def retry_after_seconds(response: httpx.Response) -> float:
    """Seconds to wait, from Meta's usage headers (or Retry-After), else a cautious default."""
    business = _json_header(response, "X-Business-Use-Case-Usage")
    if isinstance(business, dict):
        minutes = [
            _int(entry.get("estimated_time_to_regain_access")) or 0
            for entries in business.values()
            if isinstance(entries, list)
            for entry in entries
            if isinstance(entry, dict)
        ]
        if minutes and max(minutes) > 0:
            return max(minutes) * 60.0
    retry_after = response.headers.get("Retry-After", "").strip()
    if retry_after.isdigit():
        return float(retry_after)
    app = _json_header(response, "X-App-Usage")
    if isinstance(app, dict):
        used = [_int(value) or 0 for value in app.values()]
        if used and max(used) >= 100:
            return APP_LIMIT_BACKOFF
    return DEFAULT_BACKOFF
