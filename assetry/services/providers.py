"""The generation provider instances the configuration selects, by provider name."""

from __future__ import annotations

import importlib
from typing import Any

from assetry.config import get_settings
from assetry.errors import BadInput
from assetry.services import catalog

QUEUED_PROVIDERS = {"fal"}


def for_generation(name: str) -> Any:
    """The provider client for a generation's provider name (queued ones are async context managers)."""
    settings = get_settings()
    if name == "offline":
        from assetry.integrations.offline import OfflineProvider

        return OfflineProvider()
    if name == "fal" and settings.fal_key:
        from assetry.integrations.fal import FalProvider

        return FalProvider(
            key=settings.fal_key.get_secret_value(),
            queue_url=settings.fal_queue_url,
            timeout_s=settings.fal_timeout_s,
            video_duration_format=_duration_format(settings.fal_video_model),
        )
    if name == "gemini" and settings.gemini_api_key:
        from assetry.integrations.gemini import GeminiProvider

        return GeminiProvider(
            api_key=settings.gemini_api_key.get_secret_value(),
            base_url=settings.gemini_base_url,
            timeout_s=settings.gemini_timeout_s,
            max_retries=settings.llm_max_retries,
        )
    if name == "anthropic" and settings.anthropic_api_key:
        from assetry.integrations.anthropic import AnthropicProvider

        return AnthropicProvider(
            api_key=settings.anthropic_api_key.get_secret_value(),
            base_url=settings.anthropic_base_url,
            timeout_s=settings.anthropic_timeout_s,
            max_retries=settings.llm_max_retries,
        )
    raise BadInput(f"The provider {name!r} is not configured on this installation any more.")


def load_sdks() -> list[str]:
    """Import the client modules (and their SDKs) of the configured providers, and say which:
    the first import of anthropic or google-genai takes seconds of CPU, which a job must not
    spend inside the event loop (nor loading the system's certificates for their one TLS
    context). A worker calls this in a thread before it takes its first job."""
    from assetry.integrations import tls

    settings = get_settings()
    keyed = {
        "fal": settings.fal_key,
        "gemini": settings.gemini_api_key,
        "anthropic": settings.anthropic_api_key,
    }
    loaded = [name for name, key in keyed.items() if key]
    for name in loaded:
        importlib.import_module(f"assetry.integrations.{name}")
    if loaded:
        tls.system_trust()
    return loaded


async def cancel_remote(name: str, model: str, request_id: str) -> None:
    """Tell a queue-based provider to stop a request, so a cancelled job isn't finished and billed."""
    if name not in QUEUED_PROVIDERS:
        return
    async with for_generation(name) as provider:
        await provider.cancel(model, request_id)


def _duration_format(model: str) -> str:
    """How the configured fal video model wants its length written (the catalog says; veo3: "8s")."""
    entry = catalog.known("fal", model)
    return entry.duration_format if entry is not None else "{seconds}s"
