"""What the social platform clients (TikTok, Instagram) and the public-post tracker (Apify) return.

Clients take an explicit base URL, credentials and an injected `httpx.AsyncClient`;
they never touch the database. Errors map to `assetry.errors`: `AuthExpired`
(token revoked or expired: the account needs reconnecting — never retried),
`RateLimited` (429 / Graph codes 4, 17, 32, 613; `retry_after` in seconds),
`BadInput` (the user can fix it: a denied consent, a malformed URL), `ProviderError`
(5xx, timeouts, malformed replies).

A metric the platform does not give is not 0: it is absent from `metrics` and its
reason is in `missing` (e.g. {"reach": "not available for this post type"}).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# Why a number is missing, in words a creator understands.
RETIRED = "retired by the platform"
TOO_FEW_VIEWERS = "too few viewers for the platform to report it"
NOT_YET = "not available yet (platforms can take up to 48 hours)"
NOT_FOR_TYPE = "not reported for this kind of post"
HIDDEN = "hidden by the post's owner"


@dataclass(frozen=True)
class TokenSet:
    """OAuth tokens as the platform issued them (plain text: encrypt before storing)."""

    access_token: str
    expires_at: datetime
    refresh_token: str | None = None
    refresh_expires_at: datetime | None = None
    scope: str = ""
    account_id: str = ""  # TikTok open_id / Instagram user id, when the token reply names it


@dataclass(frozen=True)
class Profile:
    """The connected account as the platform describes it."""

    account_id: str
    display_name: str
    avatar_url: str = ""
    username: str = ""
    account_type: str = ""
    followers: int | None = None
    posts: int | None = None


@dataclass(frozen=True)
class PostData:
    """One post with the numbers the platform gave for it, now."""

    platform_id: str
    created_at: datetime
    title: str = ""
    url: str = ""
    cover_url: str = ""
    cover_expires_at: datetime | None = None  # signed cover links stop working (TikTok: ~6 h)
    media_type: str = ""  # video | image | carousel | reel | story
    duration_s: float | None = None
    author: str = ""
    # views, likes, comments, shares, saves, reach, interactions — only those given.
    metrics: dict[str, int] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PostPage:
    """A page of posts, newest first, and how to ask for the next one."""

    posts: list[PostData]
    cursor: str | None
    has_more: bool
