"""The provider catalog: every model Assetry knows, what it accepts, what it costs, when it retires.

This is the one place these facts live. The studio form offers only what an entry allows
(`form_options`), `studio.check` validates against it, the cost shown before generating
and the cost recorded on each generation come from its prices, `doctor` and `make smoke`
read it, and the sandbox imitations of fal.ai, Gemini and Anthropic refuse any model id
or option it does not allow, with the provider's own error shape. So a stale entry fails
a test instead of a creator's request.

Each price and limit names the page it was read on and the date (`Source`); a fact that
could not be confirmed on the provider's own page says so (`confirmed=False`, with a
note). Prices are USD per unit (image, second of video, caption request) and can be
overridden per model id with PRICE_TABLE. A configured model id the catalog does not
know, or one past its retirement date, is not offered in the studio (doctor says why); a
deprecated one is still offered and doctor names its successor.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

from assetry.config import Settings
from assetry.errors import BadInput

IMAGE, VIDEO, CAPTION = "image", "video", "caption"
KINDS = (VIDEO, IMAGE, CAPTION)
# Every aspect ratio the studio offers; a model may accept others, which the studio does not show.
ASPECTS = ("9:16", "1:1", "16:9")
TONES = ("friendly", "bold", "funny", "informative")
LENGTHS = ("short", "medium", "long")
READ_ON = date(2026, 12, 6)  # when the sources below were read
# What Google's Gemini 3 image models accept (Google Cloud's gemini-3.1-flash-image model page);
# the studio offers the ones in ASPECTS.
GEMINI_IMAGE_RATIOS = ("1:1", "1:4", "1:8", "2:3", "3:2", "3:4", "4:1", "4:3", "4:5", "5:4", "8:1", "9:16", "16:9", "21:9")  # fmt: skip


@dataclass(frozen=True)
class Source:
    """Where a fact was read, and when; `confirmed=False` when the provider's own page did not show it."""

    url: str
    read_on: date = READ_ON
    confirmed: bool = True
    note: str = ""


LOCAL = Source(url="assetry/integrations/offline.py", note="rendered on this machine, free")


@dataclass(frozen=True)
class ModelChoice:
    """One model: what it makes, what it accepts, its price and speed, and its retirement."""

    provider: str  # offline | fal | gemini | anthropic
    model: str
    kind: str
    label: str
    unit: str  # image | second | request
    price_usd: float
    typical_seconds: int  # per unit of `unit` for videos (seconds of waiting per second of clip)
    source: Source
    aspects: tuple[str, ...] = ()
    durations: tuple[int, ...] = ()
    max_count: int = 1
    max_output_tokens: int = 0  # text models: the most `max_tokens` may ask for (0: no limit known)
    # How the provider wants a video's length: veo3 takes "8s".
    duration_format: str = "{seconds}s"
    # None: the model has no sound switch. False: it has one and we ask for no sound (the price above).
    audio: bool | None = None
    audio_price_usd: float | None = None
    retires_on: date | None = None
    # Deprecated: the provider still serves it but has named a successor (shutdown date not yet known).
    deprecated_on: date | None = None
    retirement_source: Source | None = None  # where the shutdown or deprecation was announced
    replacement: str = ""
    offline: bool = False

    @property
    def key(self) -> str:
        """What the studio form sends: `<provider>:<model>`."""
        return f"{self.provider}:{self.model}"

    def cost(self, *, count: int = 1, duration_s: int = 0) -> float:
        units = duration_s if self.unit == "second" else count if self.unit == "image" else 1
        return round(self.price_usd * units, 4)

    def retired(self, today: date | None = None) -> bool:
        """Whether the provider has shut this model down (requests to it fail)."""
        return self.retires_on is not None and self.retires_on <= (today or _today())


@dataclass(frozen=True)
class FormOptions:
    """What the studio form offers for one model: nothing the model refuses."""

    aspects: tuple[str, ...]
    durations: tuple[int, ...]
    counts: tuple[int, ...]


_GEMINI_DEPRECATIONS = "https://ai.google.dev/gemini-api/docs/deprecations"
_GEMINI_CHANGELOG = "https://ai.google.dev/gemini-api/docs/changelog"
_GEMINI_PRICING = "https://ai.google.dev/gemini-api/docs/pricing"
_FAL_VEO3_FAST = "https://fal.ai/models/fal-ai/veo3/fast/llms.txt"
_GEMINI_25_FLASH_SHUT = Source(
    _GEMINI_DEPRECATIONS,
    confirmed=False,
    note="December 1, 2026, replacement gemini-3.5-flash-lite: this page as quoted on November 10, 2026 "
    "(dev.to/aideprecations). Earlier versions of the page said June 17, 2026, then October 16, 2026 "
    "('earliest possible' dates); on September 18, 2026 the changelog limited 2.5 models to projects that "
    "already used them. Past every one of these dates now.",
)
_HAIKU_3_RETIRED = Source(
    "https://24-ai.news/en/vijest/2026-04-21/anthropic-claude-haiku-3-retirement", confirmed=False,
    note="retired April 20, 2026 per news reports of Anthropic's release notes (one says April 19)",
)  # fmt: skip
_HAIKU_35_RETIRED = Source(
    "https://github.com/coder/coder/pull/22304", confirmed=False,
    note="retirement date quoted by a third party; Anthropic's deprecations table could not be read",
)  # fmt: skip

MODELS: tuple[ModelChoice, ...] = (
    ModelChoice(
        provider="offline", model="preview-image", kind=IMAGE, label="Offline preview image",
        unit="image", price_usd=0.0, typical_seconds=1, source=LOCAL, aspects=ASPECTS, max_count=4,
        offline=True,
    ),
    ModelChoice(
        provider="offline", model="preview-video", kind=VIDEO, label="Offline preview video",
        unit="second", price_usd=0.0, typical_seconds=1, source=LOCAL, aspects=ASPECTS,
        durations=(3, 5, 8), offline=True,
    ),
    ModelChoice(
        provider="offline", model="preview-captions", kind=CAPTION, label="Offline preview captions",
        unit="request", price_usd=0.0, typical_seconds=1, source=LOCAL, max_count=5, offline=True,
    ),
    ModelChoice(
        provider="fal", model="fal-ai/flux/schnell", kind=IMAGE, label="fal.ai · FLUX.1 [schnell]",
        unit="image", price_usd=0.003, typical_seconds=5, aspects=ASPECTS, max_count=4,
        source=Source(
            url="https://fal.ai/models/fal-ai/flux-1/schnell/llms.txt", confirmed=False,
            note="$0.003 per megapixel, read on fal's page for the same model under fal-ai/flux-1/schnell; "
            "the fal-ai/flux/schnell page itself was not readable. Our sizes are at most 1024x1024 (1 MP). "
            "num_images 1-4 and free width/height come from fal's API reference "
            "(fal.ai/docs/model-api-reference/image-generation-api/flux-schnell), not seen in full.",
        ),
    ),
    ModelChoice(
        provider="fal", model="fal-ai/veo3/fast", kind=VIDEO, label="fal.ai · Veo 3 Fast",
        unit="second", price_usd=0.10, typical_seconds=12, aspects=("9:16", "16:9"), durations=(4, 6, 8),
        duration_format="{seconds}s", audio=False, audio_price_usd=0.15,
        source=Source(
            url=_FAL_VEO3_FAST,
            note="$0.10 per second audio off, $0.15 audio on; aspect_ratio 16:9 or 9:16; duration 4s, 6s "
            "or 8s. The audio switch (generate_audio) was cut from the page text we could read; it is "
            "named so for the same model on Cloudflare's Veo 3 Fast page.",
        ),
    ),
    ModelChoice(
        provider="gemini", model="gemini-3.5-flash-lite", kind=CAPTION,
        label="Google Gemini · 3.5 Flash-Lite", unit="request", price_usd=0.003, typical_seconds=4,
        max_count=5,
        source=Source(
            url=_GEMINI_PRICING, confirmed=False,
            note="$0.30 per 1M input (text / image / video / audio) and $2.50 per 1M output tokens, quoted "
            "verbatim from this page (read 2026-10-07) in github.com/api-evangelist/deepmind "
            "plans/deepmind-plans-pricing.yml; Google's page itself was not readable here. Per request "
            "estimated for about 1,000 tokens in and 1,000 out (thinking included). GA on July 21, 2026 "
            f"({_GEMINI_CHANGELOG}); no shutdown date announced ({_GEMINI_DEPRECATIONS}).",
        ),
    ),
    ModelChoice(
        provider="gemini", model="gemini-nano-banana-2.1", kind=IMAGE,
        label="Google Gemini · Nano Banana 2.1", unit="image", price_usd=0.0336, typical_seconds=8,
        aspects=GEMINI_IMAGE_RATIOS, max_count=4,
        source=Source(
            url=_GEMINI_CHANGELOG, confirmed=False,
            note="GA on October 6, 2026 as the successor of gemini-3.1-flash-image (changelog); 1K, 2K and "
            "4K output (512 is refused), the 14 ratios of Gemini 3.1 Flash Image (Google Cloud's model page "
            "lists them; the changelog adds nothing new). $30 per 1M image-output "
            "tokens, $0.0336 per 1K image, is LiteLLM's announcement "
            "(github.com/BerriAI/litellm/discussions/44983); Google's pricing page was not readable here.",
        ),
    ),
    ModelChoice(
        provider="gemini", model="gemini-3.1-flash-image", kind=IMAGE,
        label="Google Gemini · 3.1 Flash Image", unit="image", price_usd=0.067, typical_seconds=8,
        aspects=GEMINI_IMAGE_RATIOS, max_count=4, deprecated_on=date(2026, 10, 6),
        retirement_source=Source(
            _GEMINI_CHANGELOG,
            note="October 6, 2026: deprecated, no shutdown date announced, migrate to gemini-nano-banana-2.1. "
            "Two third parties (LiteLLM, a skills.sh note) say it shut down on October 29, 2026; "
            "Google's pages read here do not say so.",
        ),
        replacement="gemini-nano-banana-2.1",
        source=Source(
            url=_GEMINI_PRICING, confirmed=False,
            note="Google's pricing page was not readable here; $0.067 per 1K image ($60 per 1M image-output "
            "tokens, 1,120 tokens an image) is what several API resellers quote from it. GA May 28, 2026 "
            f"({_GEMINI_CHANGELOG}).",
        ),
    ),
    ModelChoice(
        provider="anthropic", model="claude-haiku-4-5", kind=CAPTION, label="Anthropic · Claude Haiku 4.5",
        unit="request", price_usd=0.006, typical_seconds=4, max_count=5, max_output_tokens=64_000,
        source=Source(
            url="https://platform.claude.com/docs/en/models/haiku-4-5/overview",
            note="$1 per 1M input and $5 per 1M output tokens, 64K output tokens at most (the API's 400 says "
            "64000); model id claude-haiku-4-5-20251001 (the "
            "alias claude-haiku-4-5 is from the models overview). Status Legacy: still available, not "
            "deprecated, no retirement date; Anthropic suggests Claude Haiku 5.5. Per request estimated "
            "for about 1,000 tokens each way.",
        ),
    ),
    ModelChoice(
        provider="anthropic", model="claude-haiku-5-5", kind=CAPTION, label="Anthropic · Claude Haiku 5.5",
        unit="request", price_usd=0.0008, typical_seconds=4, max_count=5, max_output_tokens=128_000,
        source=Source(
            url="https://platform.claude.com/docs/en/models/haiku-5-5/overview",
            note="Latest Haiku, released October 7, 2026, 128K output tokens at most. $0.10 per 1M input and "
            "$0.50 per 1M output tokens "
            "for prompts up to 100,000 tokens. Its tokenizer counts about 30% more tokens than Haiku 4.5 "
            "and it thinks adaptively (thinking counts against max_tokens; migration guide), so per request "
            "estimated for about 1,300 tokens each way. Not the default until captions are checked with "
            "a real key.",
        ),
    ),
    # Shut down: kept so doctor can name the replacement and the imitations answer as the providers do.
    ModelChoice(
        provider="gemini", model="gemini-2.5-flash", kind=CAPTION, label="Google Gemini · 2.5 Flash",
        unit="request", price_usd=0.0, typical_seconds=4, max_count=5, source=_GEMINI_25_FLASH_SHUT,
        retires_on=date(2026, 12, 1), retirement_source=_GEMINI_25_FLASH_SHUT, replacement="gemini-3.5-flash-lite",
    ),
    ModelChoice(
        provider="gemini", model="gemini-2.5-flash-image", kind=IMAGE, label="Google Gemini · 2.5 Flash Image",
        unit="image", price_usd=0.0, typical_seconds=8, aspects=ASPECTS, max_count=4,
        source=Source(_GEMINI_DEPRECATIONS), retires_on=date(2026, 10, 2),
        retirement_source=Source(_GEMINI_DEPRECATIONS), replacement="gemini-nano-banana-2.1",
    ),
    ModelChoice(
        provider="gemini", model="gemini-3.1-flash-image-preview", kind=IMAGE,
        label="Google Gemini · 3.1 Flash Image (preview)", unit="image", price_usd=0.0, typical_seconds=8,
        aspects=ASPECTS, max_count=4, source=Source(_GEMINI_DEPRECATIONS), retires_on=date(2026, 6, 25),
        retirement_source=Source(_GEMINI_DEPRECATIONS), replacement="gemini-nano-banana-2.1",
    ),
    ModelChoice(
        provider="gemini", model="gemini-3-pro-image-preview", kind=IMAGE,
        label="Google Gemini · 3 Pro Image (preview)", unit="image", price_usd=0.0, typical_seconds=8,
        aspects=ASPECTS, max_count=4, source=Source(_GEMINI_DEPRECATIONS), retires_on=date(2026, 6, 25),
        retirement_source=Source(_GEMINI_DEPRECATIONS), replacement="gemini-nano-banana-2.1",
    ),
    ModelChoice(
        provider="gemini", model="gemini-2.0-flash", kind=CAPTION, label="Google Gemini · 2.0 Flash",
        unit="request", price_usd=0.0, typical_seconds=4, max_count=5,
        source=Source(_GEMINI_CHANGELOG), retires_on=date(2026, 6, 1), retirement_source=Source(_GEMINI_CHANGELOG),
        replacement="gemini-3.5-flash-lite",
    ),
    ModelChoice(
        provider="anthropic", model="claude-3-5-haiku-20241022", kind=CAPTION, label="Anthropic · Claude Haiku 3.5",
        unit="request", price_usd=0.0, typical_seconds=4, max_count=5,
        source=_HAIKU_35_RETIRED, retires_on=date(2026, 2, 19), retirement_source=_HAIKU_35_RETIRED,
        replacement="claude-haiku-4-5",
    ),
    ModelChoice(
        provider="anthropic", model="claude-3-haiku-20240307", kind=CAPTION, label="Anthropic · Claude Haiku 3",
        unit="request", price_usd=0.0, typical_seconds=4, max_count=5, source=_HAIKU_3_RETIRED,
        retires_on=date(2026, 4, 20), retirement_source=_HAIKU_3_RETIRED, replacement="claude-haiku-4-5",
    ),
)  # fmt: skip


def _today() -> date:
    return datetime.now(UTC).date()


def known(provider: str, model: str) -> ModelChoice | None:
    """The catalog entry for one provider's model id, retired or not."""
    return next((m for m in MODELS if m.provider == provider and m.model == model), None)


def usable(provider: str, model: str, today: date | None = None) -> ModelChoice | None:
    """The entry if the provider still serves this model."""
    found = known(provider, model)
    return found if found is not None and not found.retired(today) else None


def configured_models(settings: Settings) -> list[tuple[str, str, str]]:
    """(provider, setting name, model id) for every model the configuration asks for."""
    found = []
    if settings.fal_key:
        found += [("fal", "FAL_IMAGE_MODEL", settings.fal_image_model)]
        found += [("fal", "FAL_VIDEO_MODEL", settings.fal_video_model)]
    if settings.gemini_api_key:
        found += [("gemini", "GEMINI_CAPTION_MODEL", settings.gemini_caption_model)]
        found += [("gemini", "GEMINI_IMAGE_MODEL", settings.gemini_image_model)]
    if settings.anthropic_api_key:
        found += [("anthropic", "ANTHROPIC_CAPTION_MODEL", settings.anthropic_caption_model)]
    return found


def problems(settings: Settings, today: date | None = None) -> list[str]:
    """What is wrong with the configured model ids: unknown to the catalog, shut down, or deprecated."""
    found = []
    for provider, name, model in configured_models(settings):
        entry = known(provider, model)
        if entry is None:
            found.append(f"{name}={model} is not in the provider catalog, so the studio does not offer it.")
        elif entry.retired(today):
            found.append(
                f"{name}={model} was shut down on {entry.retires_on.isoformat()} "
                f"({entry.retirement_source.url}); use {entry.replacement}."
            )
        elif entry.deprecated_on is not None:
            found.append(
                f"{name}={model} was deprecated on {entry.deprecated_on.isoformat()} "
                f"({entry.retirement_source.url}) and may stop working; use {entry.replacement}."
            )
    return found


def choices(settings: Settings, today: date | None = None) -> list[ModelChoice]:
    """Every model available with this configuration, offline first (unknown or retired ids left out)."""
    found = [m for m in MODELS if m.offline]
    for provider, _, model in configured_models(settings):
        entry = usable(provider, model, today)
        if entry is not None and entry not in found:
            found.append(entry)
    return [_priced(choice, settings) for choice in found]


def find(settings: Settings, key: str, kind: str) -> ModelChoice:
    """The chosen model, if it exists here and makes this kind of output."""
    for choice in choices(settings):
        if choice.key == key and choice.kind == kind:
            return choice
    raise BadInput("That model isn't available here. Pick one from the list.")


def form_options(choice: ModelChoice) -> FormOptions:
    """The aspect ratios, lengths and counts the studio form offers for a model."""
    return FormOptions(
        aspects=tuple(a for a in ASPECTS if a in choice.aspects),
        durations=choice.durations,
        counts=tuple(range(1, choice.max_count + 1)) if choice.kind != VIDEO else (1,),
    )


def cheapest_clip(provider: str, today: date | None = None) -> tuple[ModelChoice, int] | None:
    """The provider's cheapest video model in use and its shortest length (for smoke tests)."""
    videos = [m for m in MODELS if m.provider == provider and m.kind == VIDEO and not m.retired(today)]
    if not videos:
        return None
    best = min(videos, key=lambda m: m.price_usd * min(m.durations))
    return best, min(best.durations)


def _priced(choice: ModelChoice, settings: Settings) -> ModelChoice:
    if choice.model in settings.price_table:
        return replace(choice, price_usd=settings.price_table[choice.model])
    return choice
