"""Public TikTok and Instagram posts by URL, read through Apify actors with apify-client 3.x.

Two parts:

- URL parsing (pure): `parse_post_urls(text)` takes whatever a creator pasted (one
  link a line, or separated by commas) and says, per entry, whether it is a TikTok or Instagram post
  and its normalised address, or why it is refused. Nothing here touches the network.
- `ApifyTracker`: runs `clockworks/tiktok-scraper` (`postURLs`) and
  `apify/instagram-scraper` (`directUrls`, `resultsType: "posts"`) through
  `ApifyClientAsync` at an explicit `api_url`, waits for the run with a bounded
  wait (a run still going after it is aborted), reads the run's dataset page by page
  and answers, per URL, a `PostData` or a message the creator can read (private,
  deleted, unreadable).

Exceptions (everything apify-client, impit or pydantic raise is mapped to one of these):

- `AuthExpired`: Apify answered 401 (token missing, wrong or revoked): check APIFY_TOKEN.
- `RateLimited`: Apify answered 429 after the client's own retries; Apify sends no
  Retry-After, so `retry_after` is our back-off (`RATE_LIMIT_BACKOFF_S`).
- `ProviderError`: the run FAILED, TIMED-OUT or was ABORTED, ran past our wait, the
  actor does not exist or cannot be used with this account, Apify failed (5xx after
  retries), was unreachable, or answered something we cannot read.
- `BadInput` is never raised for links: a refused link is an entry with a message,
  so one bad line never hides the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import impit
import pydantic
from apify_client import ApifyClientAsync
from apify_client.errors import ApifyApiError, ApifyClientError

from assetry.errors import AssetryError, AuthExpired, ProviderError, RateLimited
from assetry.integrations.social import HIDDEN, NOT_FOR_TYPE, PostData

log = logging.getLogger(__name__)

Platform = Literal["tiktok", "instagram"]
TIKTOK: Platform = "tiktok"
INSTAGRAM: Platform = "instagram"

DEFAULT_API_URL = "https://api.apify.com"
DEFAULT_TIKTOK_ACTOR = "clockworks/tiktok-scraper"
DEFAULT_INSTAGRAM_ACTOR = "apify/instagram-scraper"
MAX_URL_LENGTH = 2048
MAX_URLS_PER_PASTE = 100
RATE_LIMIT_BACKOFF_S = 60.0
TERMINAL_STATUSES = frozenset({"SUCCEEDED", "FAILED", "TIMED-OUT", "ABORTED"})

# Why a public number is missing (beside the shared reasons in social.py).
NOT_PUBLIC = "not shown publicly for this post"

# What a creator reads beside a link that is refused.
EMPTY = ""
TOO_LONG = f"This link is longer than {MAX_URL_LENGTH:,} characters: copy the post's address again."
NOT_WEB = "Only web links (starting with http:// or https://) can be tracked."
MALFORMED = "This is not a valid link: copy the post's address from the browser or the app's Share button."
OTHER_SITE = "Only TikTok and Instagram posts can be tracked."
TIKTOK_PROFILE = "This is a TikTok profile, not a post: open one of its videos and copy that link."
INSTAGRAM_PROFILE = "This is an Instagram profile, not a post: open one of its posts and copy that link."
TIKTOK_NOT_POST = "This TikTok link does not point to a video: open the video and copy its link."
INSTAGRAM_NOT_POST = "This Instagram link does not point to a post or reel: open the post and copy its link."
INSTAGRAM_STORY = "Instagram stories disappear after 24 hours and cannot be tracked: link a post or reel."
DUPLICATE = "Listed twice: it is tracked once."
TOO_MANY = f"Too many links at once: paste at most {MAX_URLS_PER_PASTE} at a time."

# What a creator reads beside a post Apify could not give us.
POST_PRIVATE = "This post is private: only public posts can be tracked."
POST_NOT_FOUND = "This post was not found: it may have been deleted or made private."
POST_UNREADABLE = (
    "Apify's result for this post could not be read; it will be tried again at the next refresh."
)

_TIKTOK_HOSTS = {"tiktok.com", "www.tiktok.com", "m.tiktok.com"}
_TIKTOK_SHORT_HOSTS = {"vm.tiktok.com", "vt.tiktok.com"}
_INSTAGRAM_HOSTS = {"instagram.com", "www.instagram.com", "m.instagram.com", "instagr.am", "www.instagr.am"}
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")
_HOST = re.compile(r"^[a-z0-9.-]+$")
_TIKTOK_USER = r"@[A-Za-z0-9._-]{0,64}"
_TIKTOK_POST = re.compile(rf"^/({_TIKTOK_USER})/(video|photo)/(\d{{1,25}})$")
_TIKTOK_MOBILE = re.compile(r"^/v/(\d{1,25})(?:\.html)?$")
_TIKTOK_SHORT = re.compile(r"^/([A-Za-z0-9]{4,32})$")
_TIKTOK_T = re.compile(r"^/t/([A-Za-z0-9]{4,32})$")
_TIKTOK_PROFILE = re.compile(rf"^/{_TIKTOK_USER}$")
_SHORTCODE = r"[A-Za-z0-9_-]{5,64}"
_INSTAGRAM_POST = re.compile(rf"^/(?:[A-Za-z0-9._]{{1,30}}/)?(p|reel|reels|tv)/({_SHORTCODE})$")
_INSTAGRAM_PROFILE = re.compile(r"^/[A-Za-z0-9._]{1,30}$")
_INSTAGRAM_RESERVED = {
    *("p", "reel", "reels", "tv", "explore", "accounts", "direct", "about", "developer", "legal", "web"),
}
_WRAPPING = "<>()[]{}\"'"


@dataclass(frozen=True)
class PostLink:
    """One pasted link: its normalised address and platform, or why it was refused (`message`)."""

    input: str
    url: str | None
    platform: Platform | None
    message: str = EMPTY
    # The post's identity on its platform ("tiktok:<video id>", "instagram:<shortcode>",
    # or the short link itself until Apify resolves it); equal keys are the same post.
    key: str | None = None

    @property
    def ok(self) -> bool:
        """Whether this link can be tracked."""
        return self.url is not None


def parse_post_url(text: str) -> PostLink:
    """Classify one pasted link as a TikTok or Instagram post (normalised), or refuse it with a message."""
    raw = text.strip()
    while raw != (trimmed := raw.strip(_WRAPPING).rstrip(".,;")):
        raw = trimmed
    if len(raw) > MAX_URL_LENGTH:
        return PostLink(text, None, None, TOO_LONG)
    scheme = _SCHEME.match(raw)
    if scheme and "." in scheme.group(1):
        scheme = None  # "tiktok.com:443/..." is a host and a port, not a scheme
    if scheme and scheme.group(1).lower() not in {"http", "https"}:
        return PostLink(text, None, None, NOT_WEB)
    candidate = raw if scheme else "https://" + raw.removeprefix("//")
    try:
        parts = urlsplit(candidate)
        host = (parts.hostname or "").lower().rstrip(".")
        _ = parts.port  # a non-numeric port raises here
    except ValueError:
        return PostLink(text, None, None, MALFORMED)
    if not host or not _HOST.match(host) or "." not in host or " " in raw:
        return PostLink(text, None, None, MALFORMED)
    path = re.sub(r"/{2,}", "/", parts.path).rstrip("/") or "/"
    if host in _TIKTOK_HOSTS or host in _TIKTOK_SHORT_HOSTS:
        return _tiktok_link(text, host, path)
    if host in _INSTAGRAM_HOSTS:
        return _instagram_link(text, path)
    return PostLink(text, None, None, OTHER_SITE)


def _tiktok_link(text: str, host: str, path: str) -> PostLink:
    if host in _TIKTOK_SHORT_HOSTS:
        if short := _TIKTOK_SHORT.match(path):
            url = f"https://{host}/{short.group(1)}"
            return PostLink(text, url, TIKTOK, key=url)
        return PostLink(text, None, TIKTOK, TIKTOK_NOT_POST)
    if post := _TIKTOK_POST.match(path):
        user, kind, video_id = post.groups()
        return PostLink(
            text, f"https://www.tiktok.com/{user}/{kind}/{video_id}", TIKTOK, key=f"tiktok:{video_id}"
        )
    if mobile := _TIKTOK_MOBILE.match(path):
        video_id = mobile.group(1)
        return PostLink(text, f"https://m.tiktok.com/v/{video_id}.html", TIKTOK, key=f"tiktok:{video_id}")
    if short := _TIKTOK_T.match(path):
        url = f"https://www.tiktok.com/t/{short.group(1)}"
        return PostLink(text, url, TIKTOK, key=url)
    if _TIKTOK_PROFILE.match(path) and path != "/@":
        return PostLink(text, None, TIKTOK, TIKTOK_PROFILE)
    return PostLink(text, None, TIKTOK, TIKTOK_NOT_POST)


def _instagram_link(text: str, path: str) -> PostLink:
    if post := _INSTAGRAM_POST.match(path):
        shortcode = post.group(2)
        return PostLink(
            text, f"https://www.instagram.com/p/{shortcode}/", INSTAGRAM, key=f"instagram:{shortcode}"
        )
    if path.startswith("/stories/") or path == "/stories":
        return PostLink(text, None, INSTAGRAM, INSTAGRAM_STORY)
    if _INSTAGRAM_PROFILE.match(path) and path[1:].lower() not in _INSTAGRAM_RESERVED:
        return PostLink(text, None, INSTAGRAM, INSTAGRAM_PROFILE)
    return PostLink(text, None, INSTAGRAM, INSTAGRAM_NOT_POST)


def parse_post_urls(text: str) -> list[PostLink]:
    """Every entry of a pasted text, each accepted or refused with a message.

    Entries are split on newlines, commas and semicolons, never on spaces inside one: "not a
    url at all" is one bad entry with one message. A line of several links separated by
    spaces (every piece looks like an address) still counts as several entries. A post
    listed twice (in any of its address forms) is accepted once; past `MAX_URLS_PER_PASTE`
    accepted links the rest are refused with `TOO_MANY`.
    """
    links: list[PostLink] = []
    seen: set[str] = set()
    accepted = 0
    for piece in _entries(text):
        link = parse_post_url(piece)
        if link.ok:
            if link.key in seen:
                link = PostLink(piece, None, link.platform, DUPLICATE, link.key)
            elif accepted >= MAX_URLS_PER_PASTE:
                link = PostLink(piece, None, link.platform, TOO_MANY, link.key)
            else:
                seen.add(link.key or "")
                accepted += 1
        links.append(link)
    return links


def _entries(text: str) -> list[str]:
    """The pasted entries: lines and comma/semicolon-separated parts, trimmed, empty ones dropped."""
    entries = []
    for part in re.split(r"[\r\n,;]+", text):
        entry = part.strip()
        if not entry.strip(_WRAPPING + ".,;"):
            continue
        words = entry.split()
        if len(words) > 1 and all(_looks_like_address(word) for word in words):
            entries += words
        else:
            entries.append(entry)
    return entries


def _looks_like_address(word: str) -> bool:
    """Whether a space-separated piece is written like a web address (a scheme, or a host and a path)."""
    word = word.strip(_WRAPPING)
    return "://" in word or word.lower().startswith("www.") or ("." in word and "/" in word)


# ----- fetching ---------------------------------------------------------------


@dataclass(frozen=True)
class PublicPost:
    """What Apify told us about one tracked URL: the post now, or why there is none."""

    url: str
    platform: Platform | None
    post: PostData | None = None
    message: str = EMPTY


@dataclass
class _Batch:
    actor: str
    platform: Platform
    links: list[PostLink] = field(default_factory=list)


class ApifyTracker:
    """Reads public TikTok and Instagram posts through Apify actors (one run per platform per call)."""

    def __init__(
        self,
        *,
        token: str,
        api_url: str = DEFAULT_API_URL,
        tiktok_actor: str = DEFAULT_TIKTOK_ACTOR,
        instagram_actor: str = DEFAULT_INSTAGRAM_ACTOR,
        run_timeout_s: int = 300,
        wait_s: float | None = None,
        page_size: int = 250,
        max_retries: int = 4,
        min_retry_delay_s: float = 0.5,
        client: ApifyClientAsync | None = None,
    ) -> None:
        """`run_timeout_s` is the actor's own limit (past it Apify marks the run TIMED-OUT);
        `wait_s` (default: that plus a minute) is how long we wait before aborting it."""
        self.tiktok_actor = tiktok_actor
        self.instagram_actor = instagram_actor
        self.run_timeout_s = run_timeout_s
        self.wait_s = wait_s if wait_s is not None else run_timeout_s + 60
        self.page_size = page_size
        self.client = client or ApifyClientAsync(
            token,
            api_url=api_url,
            max_retries=max_retries,
            min_delay_between_retries=timedelta(seconds=min_retry_delay_s),
        )

    async def aclose(self) -> None:
        """Close the HTTP connections the Apify client opened (if it opened any)."""
        if self.client._http_client is not None:
            await self.client._http_client.aclose()

    async def __aenter__(self) -> ApifyTracker:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def fetch_posts(self, urls: Iterable[str]) -> list[PublicPost]:
        """The public numbers of each URL now, one answer per URL in the order given."""
        links = [parse_post_url(url) for url in urls]
        batches = {
            TIKTOK: _Batch(self.tiktok_actor, TIKTOK),
            INSTAGRAM: _Batch(self.instagram_actor, INSTAGRAM),
        }
        for link in links:
            if link.ok and link.platform:
                batches[link.platform].links.append(link)
        answers: dict[str, PublicPost] = {}
        todo = [batch for batch in batches.values() if batch.links]
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(self._run_batch(batch)) for batch in todo]
        except* AssetryError as errors:
            raise errors.exceptions[0] from None
        for task in tasks:
            answers.update(task.result())
        return [
            answers.get(link.url or "", PublicPost(link.input, link.platform, None, link.message))
            for link in links
        ]

    async def _run_batch(self, batch: _Batch) -> dict[str, PublicPost]:
        urls = list(dict.fromkeys(link.url for link in batch.links if link.url))
        if batch.platform == TIKTOK:
            run_input: dict[str, Any] = {
                "postURLs": urls,
                "shouldDownloadVideos": False,
                "shouldDownloadCovers": False,
            }
        else:
            run_input = {"directUrls": urls, "resultsType": "posts", "resultsLimit": 1}
        with _mapped_errors(batch.actor):
            items = await self._run_actor(batch.actor, run_input)
        return _match(batch.platform, batch.links, items)

    async def _run_actor(self, actor: str, run_input: dict[str, Any]) -> list[Any]:
        """Start the actor, wait (bounded) for it to finish, and read its whole dataset."""
        started = await self.client.actor(actor).start(
            run_input=run_input, run_timeout=timedelta(seconds=self.run_timeout_s)
        )
        run_client = self.client.run(started.id)
        run = await run_client.wait_for_finish(wait_duration=timedelta(seconds=self.wait_s))
        if run is None:
            raise ProviderError(f"Apify lost the {actor} run {started.id}. Try again later.")
        if run.status not in TERMINAL_STATUSES:
            with contextlib.suppress(ApifyClientError):
                await run_client.abort()
            raise ProviderError(
                f"Apify's {actor} run was still {run.status} after {self.wait_s:g} s, so it was stopped. "
                "Try again later, or with fewer links."
            )
        if run.status != "SUCCEEDED":
            raise ProviderError(_run_failure(actor, run.status, run.status_message, run.options.timeout_secs))
        return await self._dataset_items(run.default_dataset_id)

    async def _dataset_items(self, dataset_id: str) -> list[Any]:
        dataset = self.client.dataset(dataset_id)
        items: list[Any] = []
        offset = 0
        while True:
            page = await dataset.list_items(offset=offset, limit=self.page_size, clean=True)
            items.extend(page.items)
            offset += page.count
            if not page.items or page.count == 0 or offset >= page.total:
                return items


def _run_failure(actor: str, status: str, status_message: str | None, timeout_secs: int) -> str:
    detail = f" ({status_message})" if status_message else ""
    if status == "TIMED-OUT":
        return (
            f"Apify's {actor} run timed out after {timeout_secs} s before reading every post{detail}. "
            "Try again with fewer links."
        )
    if status == "ABORTED":
        return f"Apify's {actor} run was aborted before it finished{detail}. Try again later."
    return f"Apify's {actor} run failed{detail}. Try again later."


@contextlib.contextmanager
def _mapped_errors(actor: str):
    """Turn what apify-client, impit and pydantic raise into the project's errors."""
    try:
        yield
    except AssetryError:
        raise
    except ApifyApiError as error:
        raise _api_error(actor, error) from error
    except (ApifyClientError, pydantic.ValidationError, ValueError, KeyError, TypeError) as error:
        log.warning("unreadable answer from Apify for %s: %r", actor, error)
        raise ProviderError(f"Apify answered something we could not read while running {actor}.") from error
    except (impit.HTTPError, impit.InvalidURL, OSError, TimeoutError) as error:
        log.warning("Apify unreachable for %s: %r", actor, error)
        raise ProviderError("Apify is not answering right now. Try again in a few minutes.") from error


def _api_error(actor: str, error: ApifyApiError) -> AssetryError:
    status = error.status_code
    said = f": {error.message}" if error.message else ""
    if status == 401:
        return AuthExpired(f"Apify refused our token (401{said}). Check APIFY_TOKEN.")
    if status == 429:
        return RateLimited(
            "Apify is limiting how fast we can ask; tracked posts will refresh a little later.",
            retry_after=RATE_LIMIT_BACKOFF_S,
        )
    if status == 404:
        return ProviderError(f"Apify has no actor {actor!r}{said}. Check the actor ids in the settings.")
    if status >= 500:
        return ProviderError(f"Apify had a server error ({status}). Try again in a few minutes.")
    return ProviderError(f"Apify refused to run {actor} ({status}{said}).")


# ----- items to posts ---------------------------------------------------------


def _match(platform: Platform, links: Sequence[PostLink], items: Sequence[Any]) -> dict[str, PublicPost]:
    """Pair each link with its item (by post id, else by the URL the actor was given)."""
    by_key: dict[str, Mapping[str, Any]] = {}
    for item in items:
        if not isinstance(item, Mapping):
            log.warning("Apify %s item is not an object but %s", platform, type(item).__name__)
            continue
        for key in _item_keys(platform, item):
            by_key.setdefault(key, item)
    answers: dict[str, PublicPost] = {}
    for link in links:
        url = link.url or ""
        item = by_key.get(link.key or "") or by_key.get(url)
        answers[url] = _answer(platform, url, item)
    return answers


def _item_keys(platform: Platform, item: Mapping[str, Any]) -> list[str]:
    keys = []
    if platform == TIKTOK and item.get("id") not in (None, ""):
        keys.append(f"tiktok:{item['id']}")
    if platform == INSTAGRAM and item.get("shortCode"):
        keys.append(f"instagram:{item['shortCode']}")
    for name in ("submittedVideoUrl", "inputUrl", "url", "webVideoUrl"):
        value = item.get(name)
        if isinstance(value, str):
            link = parse_post_url(value)
            keys.extend(k for k in (link.key, link.url) if k)
    return keys


def _answer(platform: Platform, url: str, item: Mapping[str, Any] | None) -> PublicPost:
    if item is None:
        return PublicPost(url, platform, None, POST_NOT_FOUND)
    if item.get("error"):
        said = f"{item.get('error')} {item.get('errorDescription') or ''}".lower()
        if "private" in said or "restricted" in said:
            return PublicPost(url, platform, None, POST_PRIVATE)
        return PublicPost(url, platform, None, POST_NOT_FOUND)
    try:
        post = tiktok_post(item) if platform == TIKTOK else instagram_post(item)
    except (KeyError, ValueError, TypeError) as error:
        log.warning("unreadable Apify %s item: %s", platform, error)
        return PublicPost(url, platform, None, POST_UNREADABLE)
    return PublicPost(url, platform, post)


def _count(item: Mapping[str, Any], name: str) -> int | None:
    """A count from an item: None when absent, -1 kept (hidden), anything else not a whole number refused."""
    value = item.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise TypeError(f"{name} is {value!r}, not a count")
    number = float(value)  # "123" and 123.0 are fine; "12K" raises ValueError
    if not number.is_integer() or number < -1:
        raise ValueError(f"{name} is {value!r}, not a count")
    return int(number)


def _metrics(
    item: Mapping[str, Any], fields: Mapping[str, str | None]
) -> tuple[dict[str, int], dict[str, str]]:
    metrics: dict[str, int] = {}
    missing: dict[str, str] = {}
    for metric, name in fields.items():
        value = _count(item, name) if name else None
        if value is None:
            missing[metric] = NOT_PUBLIC
        elif value < 0:
            missing[metric] = HIDDEN
        else:
            metrics[metric] = value
    return metrics, missing


def _when(value: Any) -> datetime:
    if isinstance(value, bool) or value in (None, ""):
        raise ValueError("the post has no creation time")
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str) and value.isdigit():
        return datetime.fromtimestamp(int(value), UTC)
    if isinstance(value, str):
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    raise TypeError(f"creation time {value!r} is not a time")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _required_id(item: Mapping[str, Any], name: str) -> str:
    value = item.get(name)
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise ValueError(f"the post has no {name}")
    return str(value)


def tiktok_post(item: Mapping[str, Any]) -> PostData:
    """A clockworks/tiktok-scraper item as a post."""
    author = item.get("authorMeta") if isinstance(item.get("authorMeta"), Mapping) else {}
    video = item.get("videoMeta") if isinstance(item.get("videoMeta"), Mapping) else {}
    created = item.get("createTime") if item.get("createTime") is not None else item.get("createTimeISO")
    metrics, missing = _metrics(
        item,
        {
            "views": "playCount",
            "likes": "diggCount",
            "comments": "commentCount",
            "shares": "shareCount",
            "saves": "collectCount",
        },
    )
    duration = video.get("duration")
    return PostData(
        platform_id=_required_id(item, "id"),
        created_at=_when(created),
        title=_text(item.get("text")),
        url=_text(item.get("webVideoUrl")),
        cover_url=_text(video.get("coverUrl")),
        media_type="image" if item.get("isSlideshow") else "video",
        duration_s=float(duration)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        else None,
        author=_text(author.get("name")),
        metrics=metrics,
        missing=missing,
    )


_INSTAGRAM_TYPES = {"Image": "image", "Video": "video", "Sidecar": "carousel"}


def instagram_post(item: Mapping[str, Any]) -> PostData:
    """An apify/instagram-scraper item (resultsType "posts") as a post."""
    shortcode = _required_id(item, "shortCode")
    kind = _INSTAGRAM_TYPES.get(_text(item.get("type")), "")
    if kind == "video" and item.get("productType") == "clips":
        kind = "reel"
    is_video = kind in {"video", "reel"}
    views = None
    if is_video:
        views = "videoPlayCount" if item.get("videoPlayCount") is not None else "videoViewCount"
    metrics, missing = _metrics(
        item,
        {"views": views, "likes": "likesCount", "comments": "commentsCount", "shares": None, "saves": None},
    )
    if not is_video:
        missing["views"] = NOT_FOR_TYPE
    duration = item.get("videoDuration")
    return PostData(
        platform_id=_required_id(item, "id"),
        created_at=_when(item.get("timestamp")),
        title=_text(item.get("caption")),
        url=_text(item.get("url")) or f"https://www.instagram.com/p/{shortcode}/",
        cover_url=_text(item.get("displayUrl")),
        media_type=kind,
        duration_s=float(duration)
        if isinstance(duration, int | float) and not isinstance(duration, bool)
        else None,
        author=_text(item.get("ownerUsername")),
        metrics=metrics,
        missing=missing,
    )
