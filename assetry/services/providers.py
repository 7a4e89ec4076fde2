"""The generation provider instances the configuration selects, by provider name."""

from __future__ import annotations

from typing import Any

from assetry.errors import BadInput


def for_generation(name: str) -> Any:
    """The provider client for a generation's provider name."""
    if name == "offline":
        from assetry.integrations.offline import OfflineProvider

        return OfflineProvider()
    raise BadInput(f"The provider {name!r} is not configured on this installation any more.")


async def cancel_remote(name: str, model: str, request_id: str) -> None:
    """Tell a queue-based provider to stop a request (best effort; offline renders have nothing to stop)."""
    del name, model, request_id
