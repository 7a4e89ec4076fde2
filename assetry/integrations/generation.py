"""What every generation provider (fal, Gemini, Anthropic, offline) takes and returns.

Providers are plain async classes with an explicit base URL and key; the studio
service picks one per request from the configuration. Errors are mapped to
`assetry.errors`: `BadInput` (the provider refused the request: the message says
why, shown to the user), `RateLimited` (429, with `retry_after`), `AuthExpired`
(bad or missing key), `ProviderError` (5xx, timeouts, malformed replies, failed jobs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

AspectRatio = Literal["9:16", "1:1", "16:9"]
# A caption for the post, a hook (the first line of the video), or a short spoken script.
CaptionKind = Literal["caption", "hook", "script"]
ASPECT_SIZES: dict[str, tuple[int, int]] = {"9:16": (720, 1280), "1:1": (1024, 1024), "16:9": (1280, 720)}


@dataclass(frozen=True)
class ImageRequest:
    prompt: str
    model: str
    aspect_ratio: AspectRatio = "1:1"
    count: int = 1
    seed: int | None = None


@dataclass(frozen=True)
class VideoRequest:
    prompt: str
    model: str
    aspect_ratio: AspectRatio = "9:16"
    duration_s: int = 5
    seed: int | None = None
    # Sound on or off for models that have the switch (priced differently); None sends nothing.
    audio: bool | None = None


@dataclass(frozen=True)
class CaptionRequest:
    prompt: str
    model: str
    tone: str = "friendly"  # friendly | bold | funny | informative
    length: Literal["short", "medium", "long"] = "short"
    hashtags: bool = True
    count: int = 3
    # Captions of the creator's best posts, when they opted into "write like my best posts".
    examples: list[str] = field(default_factory=list)
    kind: CaptionKind = "caption"
    # The style of each one's first line (integrations.hooks: pov, number, …), or "any".
    hook: str = "any"


@dataclass(frozen=True)
class MediaFile:
    """A generated file's bytes and what the library needs to show it."""

    content: bytes
    content_type: str  # image/png, image/webp, image/jpeg, video/mp4
    width: int | None = None
    height: int | None = None
    duration_s: float | None = None


@dataclass(frozen=True)
class QueueStatus:
    """Where a queued provider request is: IN_QUEUE (with position), IN_PROGRESS or COMPLETED."""

    state: Literal["IN_QUEUE", "IN_PROGRESS", "COMPLETED"]
    position: int | None = None
    logs: list[str] = field(default_factory=list)
