"""What the studio can make with this configuration: models, their options, price and speed.

Only configured providers appear. The offline provider is always there: it renders
real files on this machine and everything it makes is labelled "Offline preview".
Prices are USD per unit (image, second of video, caption request) and can be
overridden per model id with PRICE_TABLE.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from assetry.config import Settings
from assetry.errors import BadInput

# USD per unit from the providers' public price lists (Nov 2026); PRICE_TABLE overrides them.
DEFAULT_PRICES = {
    "fal-ai/flux/schnell": 0.003,
    "fal-ai/veo3/fast": 0.40,
    "gemini-2.5-flash": 0.001,
    "gemini-2.5-flash-image": 0.039,
    "claude-haiku-4-5": 0.002,
}
IMAGE, VIDEO, CAPTION = "image", "video", "caption"
KINDS = (VIDEO, IMAGE, CAPTION)
ASPECTS = ("9:16", "1:1", "16:9")
TONES = ("friendly", "bold", "funny", "informative")
LENGTHS = ("short", "medium", "long")


@dataclass(frozen=True)
class ModelChoice:
    """A model a creator can pick for one kind of output."""

    provider: str
    model: str
    kind: str
    label: str
    unit: str  # image | second | request
    price_usd: float
    typical_seconds: int
    aspects: tuple[str, ...] = ASPECTS
    durations: tuple[int, ...] = ()
    max_count: int = 4
    offline: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        """What the studio form sends: `<provider>:<model>`."""
        return f"{self.provider}:{self.model}"

    def cost(self, *, count: int = 1, duration_s: int = 0) -> float:
        units = duration_s if self.unit == "second" else count if self.unit == "image" else 1
        return round(self.price_usd * units, 4)


def choices(settings: Settings) -> list[ModelChoice]:
    """Every model available with this configuration, offline first."""
    found = [
        ModelChoice(
            provider="offline", model="preview-image", kind=IMAGE,
            label="Offline preview image", unit="image", price_usd=0.0, typical_seconds=1, offline=True,
        ),
        ModelChoice(
            provider="offline", model="preview-video", kind=VIDEO,
            label="Offline preview video", unit="second", price_usd=0.0, typical_seconds=1,
            durations=(3, 5, 8), offline=True,
        ),
        ModelChoice(
            provider="offline", model="preview-captions", kind=CAPTION,
            label="Offline preview captions", unit="request", price_usd=0.0, typical_seconds=1,
            max_count=5, offline=True,
        ),
    ]  # fmt: skip
    if settings.fal_key:
        found += [
            ModelChoice(
                provider="fal", model=settings.fal_image_model, kind=IMAGE, label=f"fal.ai · {settings.fal_image_model}",
                unit="image", price_usd=DEFAULT_PRICES.get(settings.fal_image_model, 0.0), typical_seconds=5,
            ),
            ModelChoice(
                provider="fal", model=settings.fal_video_model, kind=VIDEO, label=f"fal.ai · {settings.fal_video_model}",
                unit="second", price_usd=DEFAULT_PRICES.get(settings.fal_video_model, 0.0), typical_seconds=12,
                durations=tuple(settings.fal_video_durations), max_count=1,
            ),
        ]  # fmt: skip
    if settings.gemini_api_key:
        found += [
            ModelChoice(
                provider="gemini", model=settings.gemini_caption_model, kind=CAPTION,
                label=f"Google Gemini · {settings.gemini_caption_model}", unit="request",
                price_usd=DEFAULT_PRICES.get(settings.gemini_caption_model, 0.0), typical_seconds=4, max_count=5,
            ),
            ModelChoice(
                provider="gemini", model=settings.gemini_image_model, kind=IMAGE,
                label=f"Google Gemini · {settings.gemini_image_model}", unit="image",
                price_usd=DEFAULT_PRICES.get(settings.gemini_image_model, 0.0), typical_seconds=8,
            ),
        ]  # fmt: skip
    if settings.anthropic_api_key:
        found.append(
            ModelChoice(
                provider="anthropic", model=settings.anthropic_caption_model, kind=CAPTION,
                label=f"Anthropic · {settings.anthropic_caption_model}", unit="request",
                price_usd=DEFAULT_PRICES.get(settings.anthropic_caption_model, 0.0), typical_seconds=4, max_count=5,
            )
        )  # fmt: skip
    return [_priced(choice, settings) for choice in found]


def find(settings: Settings, key: str, kind: str) -> ModelChoice:
    """The chosen model, if it exists here and makes this kind of output."""
    for choice in choices(settings):
        if choice.key == key and choice.kind == kind:
            return choice
    raise BadInput("That model isn't available here. Pick one from the list.")


def _priced(choice: ModelChoice, settings: Settings) -> ModelChoice:
    if choice.model in settings.price_table:
        return replace(choice, price_usd=settings.price_table[choice.model])
    return choice
