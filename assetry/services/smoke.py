"""Live smoke tests: one cheap real call per configured provider (`make smoke`, never in `make test`).

For whoever holds the keys, on the day they are set: a caption from each caption model,
the smallest image from each image model, the cheapest video model's shortest clip (only
with SMOKE_VIDEO=1: it costs money), TikTok's and Instagram's `me` with a user token from
SMOKE_TIKTOK_TOKEN / SMOKE_INSTAGRAM_TOKEN, and Apify reading SMOKE_APIFY_URL. Each line
says ok (and what came back), failed (with the provider's message, as our integrations
report it), not configured, or skipped. No key or token is ever printed: every secret of
the configuration is masked in every line.

The calls go through the same integrations the app uses, so pointing the base URLs at the
sandbox imitations runs the whole thing locally (the tests do).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx
from pydantic import SecretStr

from assetry.config import Settings
from assetry.errors import AssetryError
from assetry.integrations.generation import ASPECT_SIZES, CaptionRequest, ImageRequest, VideoRequest
from assetry.services import catalog

OK, FAILED, NOT_CONFIGURED, SKIPPED = "ok", "failed", "not configured", "skipped"
PROMPT = "Smoke test: a small blue paper boat on a calm pond"
POLL_S = 2.0
IMAGE_WAIT_S = 180.0
VIDEO_WAIT_S = 900.0


@dataclass(frozen=True)
class Outcome:
    """One provider check: what was tried, how it went, and what came back or went wrong."""

    name: str
    status: str
    detail: str = ""


class _Unusable(Exception):
    """The configured model cannot be called (unknown to the catalog or shut down)."""


async def run(settings: Settings) -> list[Outcome]:
    """Every check, in order; a failure of one never stops the others."""
    checks: list[tuple[str, Callable[[], Awaitable[str]] | str]] = [
        ("fal.ai image", _fal_image(settings) if settings.fal_key else NOT_CONFIGURED),
        ("fal.ai video", _fal_video(settings) if settings.fal_key else NOT_CONFIGURED),
        ("gemini captions", _gemini_captions(settings) if settings.gemini_api_key else NOT_CONFIGURED),
        ("gemini image", _gemini_image(settings) if settings.gemini_api_key else NOT_CONFIGURED),
        ("anthropic captions", _anthropic(settings) if settings.anthropic_api_key else NOT_CONFIGURED),
        ("tiktok me", _tiktok(settings) if settings.smoke_tiktok_token else NOT_CONFIGURED),
        ("instagram me", _instagram(settings) if settings.smoke_instagram_token else NOT_CONFIGURED),
        ("apify", _apify(settings) if settings.apify_token and settings.smoke_apify_url else NOT_CONFIGURED),
    ]
    if settings.fal_key and not settings.smoke_video:
        checks[1] = ("fal.ai video", SKIPPED)
    outcomes = []
    for name, check in checks:
        if isinstance(check, str):
            outcomes.append(Outcome(name, check, _why(name, check)))
            continue
        try:
            outcomes.append(Outcome(name, OK, await check()))
        except _Unusable as problem:
            outcomes.append(Outcome(name, FAILED, str(problem)))
        except AssetryError as error:
            outcomes.append(Outcome(name, FAILED, f"{type(error).__name__}: {error}"))
    return outcomes


def report(outcomes: list[Outcome], settings: Settings) -> str:
    """The printable lines, with every secret of the configuration masked."""
    lines = [f"{o.name:<20} {o.status:<15} {o.detail}".rstrip() for o in outcomes]
    text = "\n".join(lines)
    for secret in _secrets(settings):
        text = text.replace(secret, "***")
    return text


def _why(name: str, status: str) -> str:
    if status == SKIPPED:
        return "set SMOKE_VIDEO=1 to make the cheapest model's shortest clip (it costs money)"
    needs = {
        "fal": "FAL_KEY",
        "gemini": "GEMINI_API_KEY",
        "anthropic": "ANTHROPIC_API_KEY",
        "tiktok": "SMOKE_TIKTOK_TOKEN",
        "instagram": "SMOKE_INSTAGRAM_TOKEN",
        "apify": "APIFY_TOKEN and SMOKE_APIFY_URL",
    }
    return f"set {next(v for k, v in needs.items() if name.startswith(k))}"


def _secrets(settings: Settings) -> list[str]:
    found = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and len(value.get_secret_value()) >= 4:
            found.append(value.get_secret_value())
    return sorted(found, key=len, reverse=True)


def _model(provider: str, model: str) -> catalog.ModelChoice:
    entry = catalog.known(provider, model)
    if entry is None:
        raise _Unusable(f"{model} is not in the provider catalog; not called")
    if entry.retired():
        raise _Unusable(f"{model} was shut down on {entry.retires_on}; not called")
    return entry


def _smallest(entry: catalog.ModelChoice) -> str:
    shapes = catalog.form_options(entry).aspects
    return min(shapes, key=lambda a: ASPECT_SIZES[a][0] * ASPECT_SIZES[a][1])


def _fal(settings: Settings, duration_format: str = "{seconds}s"):
    from assetry.integrations.fal import FalProvider

    return FalProvider(
        key=settings.fal_key.get_secret_value(),
        queue_url=settings.fal_queue_url,
        timeout_s=settings.fal_timeout_s,
        video_duration_format=duration_format,
    )


async def _fal_wait(fal, model: str, request_id: str, wait_s: float) -> list[str]:
    deadline = time.monotonic() + wait_s
    while (await fal.status(model, request_id)).state != "COMPLETED":
        if time.monotonic() > deadline:
            await fal.cancel(model, request_id)
            raise _Unusable(f"fal.ai did not finish within {wait_s:.0f} s (request {request_id}, cancelled)")
        await asyncio.sleep(POLL_S)
    return (await fal.result(model, request_id)).urls


def _fal_image(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        entry = _model("fal", settings.fal_image_model)
        request = ImageRequest(prompt=PROMPT, model=entry.model, aspect_ratio=_smallest(entry), count=1)
        async with _fal(settings) as fal:
            request_id = await fal.submit_image(request)
            urls = await _fal_wait(fal, entry.model, request_id, IMAGE_WAIT_S)
            image = await fal.download(urls[0], settings.max_media_bytes)
        return f"{entry.model}: 1 image {image.width}x{image.height}, about ${entry.cost(count=1):.3f}"

    return check


def _fal_video(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        cheapest = catalog.cheapest_clip("fal")
        if cheapest is None:
            raise _Unusable("no fal video model in the provider catalog")
        entry, seconds = cheapest
        request = VideoRequest(
            prompt=PROMPT,
            model=entry.model,
            aspect_ratio=entry.aspects[0],
            duration_s=seconds,
            audio=entry.audio,
        )
        async with _fal(settings, entry.duration_format) as fal:
            request_id = await fal.submit_video(request)
            urls = await _fal_wait(fal, entry.model, request_id, VIDEO_WAIT_S)
            video = await fal.download(urls[0], settings.max_media_bytes)
        cost = entry.cost(duration_s=seconds)
        return f"{entry.model}: {video.duration_s or seconds:.0f} s clip, about ${cost:.2f}"

    return check


def _gemini(settings: Settings):
    from assetry.integrations.gemini import GeminiProvider

    return GeminiProvider(
        api_key=settings.gemini_api_key.get_secret_value(),
        base_url=settings.gemini_base_url,
        timeout_s=settings.gemini_timeout_s,
        max_retries=0,
    )


def _gemini_captions(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        entry = _model("gemini", settings.gemini_caption_model)
        async with _gemini(settings) as gemini:
            captions = await gemini.captions(CaptionRequest(prompt=PROMPT, model=entry.model, count=1))
        return f"{entry.model}: {captions[0][:60]!r}"

    return check


def _gemini_image(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        entry = _model("gemini", settings.gemini_image_model)
        request = ImageRequest(prompt=PROMPT, model=entry.model, aspect_ratio=_smallest(entry), count=1)
        async with _gemini(settings) as gemini:
            images = await gemini.images(request)
        return (
            f"{entry.model}: 1 image {images[0].width}x{images[0].height}, about ${entry.cost(count=1):.3f}"
        )

    return check


def _anthropic(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        from assetry.integrations.anthropic import AnthropicProvider

        entry = _model("anthropic", settings.anthropic_caption_model)
        async with AnthropicProvider(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            timeout_s=settings.anthropic_timeout_s,
            max_retries=0,
        ) as claude:
            captions = await claude.captions(CaptionRequest(prompt=PROMPT, model=entry.model, count=1))
        return f"{entry.model}: {captions[0][:60]!r}"

    return check


def _tiktok(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        from assetry.integrations.tiktok import TikTokClient

        secret = settings.tiktok_client_secret.get_secret_value() if settings.tiktok_client_secret else ""
        async with httpx.AsyncClient(timeout=30) as http:
            client = TikTokClient(
                http,
                client_key=settings.tiktok_client_key or "",
                client_secret=secret,
                api_base=settings.tiktok_api_base,
            )
            profile = await client.profile(settings.smoke_tiktok_token.get_secret_value())
        return f"{profile.display_name or profile.account_id}"

    return check


def _instagram(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        from assetry.integrations.instagram import InstagramClient

        secret = (
            settings.instagram_client_secret.get_secret_value() if settings.instagram_client_secret else ""
        )
        async with httpx.AsyncClient(timeout=30) as http:
            client = InstagramClient(
                http=http,
                authorize_url=settings.instagram_authorize_url,
                api_url=settings.instagram_api_url,
                graph_url=settings.instagram_graph_url,
                client_id=settings.instagram_client_id or "",
                client_secret=secret,
                api_version=settings.instagram_api_version,
            )
            profile = await client.profile(settings.smoke_instagram_token.get_secret_value())
        return f"@{profile.username} ({profile.account_type}) on {settings.instagram_api_version}"

    return check


def _apify(settings: Settings) -> Callable[[], Awaitable[str]]:
    async def check() -> str:
        from assetry.integrations.apify import ApifyTracker

        async with ApifyTracker(
            token=settings.apify_token.get_secret_value(),
            api_url=settings.apify_api_url,
            tiktok_actor=settings.apify_tiktok_actor,
            instagram_actor=settings.apify_instagram_actor,
            run_timeout_s=settings.apify_run_timeout_seconds,
        ) as apify:
            (found,) = await apify.fetch_posts([settings.smoke_apify_url])
        if found.post is None:
            raise _Unusable(f"Apify read no post at {settings.smoke_apify_url}: {found.message}")
        return f"{found.platform} post {found.post.platform_id}: {found.post.metrics}"

    return check


def main(settings: Settings) -> int:
    """Run every check and print one line each; exit 1 when any configured check failed."""
    outcomes = asyncio.run(run(settings))
    print(report(outcomes, settings))
    return 1 if any(o.status == FAILED for o in outcomes) else 0
