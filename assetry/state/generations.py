"""How a generation looks on a page: plain dataclasses the studio and library pages render."""

from __future__ import annotations

import dataclasses
from datetime import datetime

from assetry.models import Generation, GenerationOutput
from assetry.models.base import utcnow
from assetry.services import media
from assetry.services.studio import LibraryEntry, Noted
from assetry.state.colours import Colour

KIND_LABELS = {"video": "Video", "image": "Image", "caption": "Captions"}
STATUS_LABELS = {
    "queued": "Queued",
    "running": "Running",
    "cancelling": "Cancelling…",
    "succeeded": "Done",
    "failed": "Failed",
    "cancelled": "Cancelled",
}
STATUS_COLORS: dict[str, Colour] = {
    "queued": "gray",
    "running": "blue",
    "cancelling": "orange",
    "succeeded": "green",
    "failed": "red",
    "cancelled": "orange",
}


@dataclasses.dataclass
class OutputView:
    id: str = ""
    kind: str = ""  # image | video | caption
    url: str = ""
    download_url: str = ""
    text: str = ""
    size: str = ""


@dataclasses.dataclass
class GenerationCard:
    """What a card in a list shows of a generation, and no more: a library page sends dozens."""

    id: str = ""
    kind: str = ""
    kind_label: str = ""
    prompt: str = ""
    status_label: str = ""
    status_color: Colour = "gray"
    created: str = ""
    offline: bool = False
    cover_url: str = ""
    cover_kind: str = ""
    first_caption: str = ""
    # The file itself (its signed /media link) when the cover is a bucket's: shown instead if the
    # cover is missing there (an image saved before covers were, until `make-covers` has run).
    file_url: str = ""


@dataclasses.dataclass
class GenerationView(GenerationCard):
    """A generation as its own page and the studio show it: its progress, details and outputs."""

    status: str = ""
    progress: str = ""
    error: str = ""
    details: str = ""
    active: bool = False
    cancelling: bool = False
    outputs: list[OutputView] = dataclasses.field(default_factory=list)


def view(
    generation: Generation,
    outputs: list[GenerationOutput],
    *,
    phase: str = "",
    position: int | None = None,
) -> GenerationView:
    """Everything a page shows about one generation (URLs are signed for its owner)."""
    output_views = [_output_view(generation.kind, output) for output in outputs]
    files = [o for o in output_views if o.url]
    captions = [o for o in output_views if o.kind == "caption"]
    return GenerationView(
        **_labels(generation),
        error=generation.error,
        details=_details(generation),
        cover_url=files[0].url if files else "",
        cover_kind=files[0].kind if files else "",
        first_caption=captions[0].text if captions else "",
        outputs=output_views,
        **_where(generation.status, phase, position, generation.started_at),
    )


def card(entry: LibraryEntry) -> GenerationCard:
    """A generation as a card in a list draws it: its cover (the first file, else the first
    caption) and labels. No list of outputs, no progress or details: each file's two signed
    links were half of what a library page sent, and a card shows none of them."""
    # The file's own signed link: shown when there is no cover, the fallback of a bucket's cover;
    # a cover inside the page needs none.
    inside = (entry.cover_src or "").startswith("data:")
    file = media.link_to(entry.cover_key, entry.user_id) if entry.cover_key and not inside else ""
    return GenerationCard(
        **_labels(entry),
        status_label=STATUS_LABELS.get(entry.status, entry.status),
        status_color=STATUS_COLORS.get(entry.status, "gray"),
        # The small cover, inside the page or straight from the bucket: no request to the server.
        cover_url=entry.cover_src or file,
        cover_kind=_kind_of(entry.cover_type or "") if entry.cover_key else "",
        first_caption=entry.first_caption or "",
        file_url=file if entry.cover_src and not inside else "",
    )


def moved(item: GenerationView, change: Noted) -> GenerationView:
    """A generation the page shows, as a note says it now stands (queued, running or cancelling)."""
    return dataclasses.replace(
        item, **_where(change.status, change.phase, change.position, change.started_at)
    )


def _labels(generation: Generation | LibraryEntry) -> dict:
    """What every card and page says of a generation, whatever its state."""
    return {
        "id": str(generation.id),
        "kind": generation.kind,
        "kind_label": KIND_LABELS.get(generation.kind, generation.kind),
        "prompt": generation.prompt,
        "created": f"{generation.created_at:%b %-d, %Y %H:%M} UTC",
        "offline": generation.provider == "offline",
    }


def _where(status: str, phase: str, position: int | None, started_at: datetime | None) -> dict:
    """What a page shows of how far a generation is: its badge, its progress, whether it runs."""
    cancelling = phase == "cancelling" and status in ("queued", "running")
    return {
        "status": status,
        "status_label": "Cancelling…" if cancelling else STATUS_LABELS.get(status, status),
        "status_color": STATUS_COLORS.get("cancelled" if cancelling else status, "gray"),
        "progress": "" if cancelling else _progress(status, started_at, phase, position),
        "active": status in ("queued", "running"),
        "cancelling": cancelling,
    }


def _output_view(kind: str, output: GenerationOutput) -> OutputView:
    if output.storage_key:
        return OutputView(
            id=str(output.id),
            kind=_kind_of(output.content_type),
            url=media.url_for(output),
            download_url=media.url_for(output, download=True),
            size=f"{output.size_bytes / 1e6:.1f} MB"
            if output.size_bytes >= 1e5
            else f"{output.size_bytes / 1e3:.0f} kB",
        )
    return OutputView(id=str(output.id), kind="caption", text=output.text or "")


def _kind_of(content_type: str) -> str:
    return "video" if content_type.startswith("video/") else "image"


def _progress(status: str, started_at: datetime | None, phase: str, position: int | None) -> str:
    if status == "queued":
        return "Waiting for a worker"
    if status != "running":
        return ""
    elapsed = _elapsed(started_at)
    if phase == "in_queue":
        where = f" (position {position})" if position is not None else ""
        return f"In the provider's queue{where} · {elapsed}"
    return f"Running · {elapsed}"


def _elapsed(since: datetime | None) -> str:
    seconds = int((utcnow() - since).total_seconds()) if since else 0
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def _details(generation: Generation) -> str:
    options = generation.options
    parts = [generation.model]
    if "aspect_ratio" in options:
        parts.append(options["aspect_ratio"])
    if generation.kind == "video":
        parts.append(f"{options.get('duration_s', 5)} s")
    if generation.kind == "caption":
        parts.append(f"{options.get('tone', '')}, {options.get('length', '')}")
    if generation.cost_usd:
        parts.append(f"${generation.cost_usd:.3f}")
    return " · ".join(parts)
