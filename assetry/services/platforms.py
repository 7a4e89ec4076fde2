"""TikTok and Instagram behind one shape, configured or in sandbox mode.

With a platform's app credentials set, its client talks to the real platform. Without
them the same client talks to the sandbox imitation mounted in this app
(`/sandbox/<platform>/...`): the browser sees its consent page there, and the
server reaches its API in-process. The grants and tokens it issued live in the database
(any backend or worker, before and after a restart); the UI labels sandbox accounts "Sandbox".
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from assetry.config import Mode, Settings, get_settings, signing_secret
from assetry.errors import BadInput, ProviderError
from assetry.integrations.social import PostData, PostPage, Profile, TokenSet
from assetry.services.sandbox_ledger import DatabaseLedger, shared_moment

PLATFORMS = {"tiktok": "TikTok", "instagram": "Instagram"}
SANDBOX_PREFIX = "/sandbox"
TIMEOUT = httpx.Timeout(30.0, connect=10.0)
INSIGHT_CONCURRENCY = 5


def label(platform: str) -> str:
    return PLATFORMS.get(platform, platform)


def check(platform: str) -> str:
    if platform not in PLATFORMS:
        raise BadInput("Assetry connects TikTok and Instagram accounts.")
    return platform


def is_sandbox(platform: str) -> bool:
    settings = get_settings()
    mode = settings.tiktok_mode if platform == "tiktok" else settings.instagram_mode
    return mode is Mode.EMBEDDED


def redirect_uri(platform: str) -> str:
    """The app's OAuth callback: the one redirect URI registered with the platform (matched exactly)."""
    return f"{get_settings().public_url.rstrip('/')}/oauth/{platform}/callback"


@functools.cache
def sandbox(platform: str) -> Any:
    """The imitation of a platform this process mounts under /sandbox/<platform>.

    Like the real platform, it sends the browser back only to the app's registered callback:
    any other `redirect_uri` gets its error page, so the mounted consent page redirects nowhere else.
    Each process has its own, but what they issue is kept in the database and their secrets come
    from SECRET_KEY: a grant made through one backend works on every backend and worker, and
    after a restart.
    """
    settings = get_settings()
    public = settings.public_url.rstrip("/") + f"{SANDBOX_PREFIX}/{platform}"
    ledger = DatabaseLedger(platform)
    if platform == "tiktok":
        from assetry.sandbox.tiktok import TikTokImitation

        return TikTokImitation(
            public_base=public,
            redirect_uris=[redirect_uri(platform)],
            ledger=ledger,
            client_secret=_sandbox_secret(settings, "tiktok client secret").hex(),
            media_key=_sandbox_secret(settings, "tiktok media links"),
        )
    from assetry.sandbox.instagram import InstagramImitation

    # Its posts count back from one moment for every instance (and after restarts): asked of
    # the database when the accounts are first needed, not while the app's routes are built.
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    anchor = functools.partial(shared_moment, platform, "timeline anchor", hour)
    return InstagramImitation(
        public_base=public, redirect_uris=(redirect_uri(platform),), ledger=ledger, anchor=anchor
    )


def _sandbox_secret(settings: Settings, purpose: str) -> bytes:
    """A sandbox secret every instance derives alike from the installation's signing key."""
    return hmac.new(signing_secret(settings), f"assetry sandbox {purpose}".encode(), hashlib.sha256).digest()


def _http(platform: str) -> httpx.AsyncClient:
    if is_sandbox(platform):
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox(platform).app), timeout=TIMEOUT)
    return httpx.AsyncClient(timeout=TIMEOUT)


def client(platform: str) -> Any:
    """The platform's client (a fresh HTTP client per use; nothing is shared between users)."""
    settings = get_settings()
    check(platform)
    sandboxed = is_sandbox(platform)
    public = settings.public_url.rstrip("/") + f"{SANDBOX_PREFIX}/{platform}"
    internal = "http://sandbox"  # in-process: the transport reaches the imitation directly
    if platform == "tiktok":
        from assetry.integrations.tiktok import TikTokClient

        imitation = sandbox(platform) if sandboxed else None
        return TikTokClient(
            _http(platform),
            client_key=imitation.client_key if imitation else settings.tiktok_client_key,
            client_secret=imitation.client_secret
            if imitation
            else settings.tiktok_client_secret.get_secret_value(),
            authorize_base=public if sandboxed else settings.tiktok_authorize_base,
            api_base=internal if sandboxed else settings.tiktok_api_base,
        )
    from assetry.integrations.instagram import InstagramClient

    imitation = sandbox(platform) if sandboxed else None
    return InstagramClient(
        http=_http(platform),
        authorize_url=f"{public}/oauth/authorize" if sandboxed else settings.instagram_authorize_url,
        api_url=internal if sandboxed else settings.instagram_api_url,
        graph_url=internal if sandboxed else settings.instagram_graph_url,
        client_id=imitation.client_id if imitation else settings.instagram_client_id,
        client_secret=imitation.client_secret
        if imitation
        else settings.instagram_client_secret.get_secret_value(),
        api_version=settings.instagram_api_version,
    )


COVER_TIMEOUT = httpx.Timeout(15.0, connect=5.0)


async def cover_image(platform: str, url: str, limit: int) -> bytes:
    """A post's cover image as the platform serves it (a sandbox's, in-process); ProviderError if it can't be had."""
    public = get_settings().public_url.rstrip("/") + f"{SANDBOX_PREFIX}/{platform}/"
    sandboxed = platform in PLATFORMS and is_sandbox(platform) and url.startswith(public)
    if not url.startswith(("https://", "http://")):
        raise ProviderError("The post has no cover image address.")
    http = (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=sandbox(platform).app), timeout=COVER_TIMEOUT)
        if sandboxed
        else httpx.AsyncClient(timeout=COVER_TIMEOUT, follow_redirects=True)
    )
    target = "http://sandbox/" + url[len(public) :] if sandboxed else url
    try:
        async with http, http.stream("GET", target) as response:
            if response.status_code != 200:
                raise ProviderError(f"The cover image answered HTTP {response.status_code}.")
            content = b""
            async for chunk in response.aiter_bytes():
                content += chunk
                if len(content) > limit:
                    raise ProviderError("The cover image is larger than expected.")
            return content
    except httpx.HTTPError as error:
        raise ProviderError(f"The cover image could not be fetched ({type(error).__name__}).") from error


def code_from_callback(platform: str, params: dict[str, str]) -> str:
    """The authorization code of a callback, or BadInput when the creator refused."""
    if platform == "tiktok":
        from assetry.integrations.tiktok import TikTokClient

        return TikTokClient.code_from_callback(params)
    from assetry.integrations.instagram import code_from_callback

    return code_from_callback(params)


async def profile(platform: str, tokens: TokenSet) -> Profile:
    return await adapter(platform).profile(tokens.access_token)


async def refresh(platform: str, sealer, account) -> TokenSet:
    """New tokens for an account: TikTok rotates its refresh token, Instagram refreshes the long-lived one."""
    async with _closing(client(platform)) as platform_client:
        if platform == "tiktok":
            return await platform_client.refresh(sealer.open(account.refresh_token_enc))
        return await platform_client.refresh(sealer.open(account.access_token_enc))


async def revoke(platform: str, token: str) -> bool:
    """Revoke a token with the platform; False where the platform offers no revoke (Instagram Login)."""
    if platform != "tiktok":
        return False
    try:
        async with _closing(client(platform)) as platform_client:
            await platform_client.revoke(token)
    except ProviderError:
        return False
    return True


class Adapter(Protocol):
    async def profile(self, token: str) -> Profile: ...
    async def page(self, token: str, account_id: str, cursor: str | None) -> PostPage: ...
    async def with_metrics(self, token: str, posts: list[PostData]) -> list[PostData]: ...
    async def refresh(self, token: str, posts: list[PostData]) -> list[PostData]: ...


def adapter(platform: str) -> Adapter:
    return _TikTok() if check(platform) == "tiktok" else _Instagram()


class _closing:
    """`async with` for a platform client: closes its HTTP client afterwards."""

    def __init__(self, platform_client: Any) -> None:
        self.platform_client = platform_client

    async def __aenter__(self) -> Any:
        return self.platform_client

    async def __aexit__(self, *exc: object) -> None:
        http = getattr(self.platform_client, "_http", None) or getattr(self.platform_client, "http", None)
        if http is not None:
            await http.aclose()


class _TikTok:
    async def profile(self, token: str) -> Profile:
        async with _closing(client("tiktok")) as tiktok:
            return await tiktok.profile(token)

    async def page(self, token: str, account_id: str, cursor: str | None) -> PostPage:
        async with _closing(client("tiktok")) as tiktok:
            return await tiktok.videos(token, cursor)

    async def with_metrics(self, token: str, posts: list[PostData]) -> list[PostData]:
        return posts  # the video list carries the counts

    async def refresh(self, token: str, posts: list[PostData]) -> list[PostData]:
        async with _closing(client("tiktok")) as tiktok:
            return await tiktok.refresh_videos(token, [p.platform_id for p in posts])


class _Instagram:
    async def profile(self, token: str) -> Profile:
        async with _closing(client("instagram")) as instagram:
            return await instagram.profile(token)

    async def page(self, token: str, account_id: str, cursor: str | None) -> PostPage:
        async with _closing(client("instagram")) as instagram:
            return await instagram.media(token, account_id, after=cursor)

    async def with_metrics(self, token: str, posts: list[PostData]) -> list[PostData]:
        from assetry.integrations.instagram import PostGone

        limit = asyncio.Semaphore(INSIGHT_CONCURRENCY)
        async with _closing(client("instagram")) as instagram:

            async def one(post: PostData) -> PostData | None:
                async with limit:
                    try:
                        return await instagram.insights(token, post)
                    except PostGone:
                        return None

            found = await asyncio.gather(*(one(p) for p in posts))
        return [p for p in found if p is not None]

    async def refresh(self, token: str, posts: list[PostData]) -> list[PostData]:
        return await self.with_metrics(token, posts)
