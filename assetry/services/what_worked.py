"""Start the next one from what worked: the settings of the best-performing linked generation,
and variations of them that change one named thing, so a later comparison means something."""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from assetry import db
from assetry.config import Settings
from assetry.errors import BadInput
from assetry.integrations import hooks
from assetry.models import Generation
from assetry.services import catalog, studio

# What a variation may change, in the creator's words, and for which kinds.
DIMENSIONS = {
    "aspect_ratio": ("aspect ratio", (catalog.VIDEO, catalog.IMAGE)),
    "duration_s": ("duration", (catalog.VIDEO,)),
    "tone": ("tone", (catalog.CAPTION,)),
    "length": ("length", (catalog.CAPTION,)),
    "hook": ("hook", (catalog.CAPTION,)),
}

_BEST = sa.text(
    """
WITH latest AS (
    SELECT DISTINCT ON (s.post_id) s.post_id, s.views
    FROM metric_snapshots s JOIN post_links l ON l.post_id = s.post_id
    WHERE s.user_id = :user_id AND l.user_id = :user_id AND s.views IS NOT NULL
    ORDER BY s.post_id, s.captured_at DESC
)
SELECT l.generation_id, count(*) AS posts, exp(avg(ln(1 + latest.views))) - 1 AS typical_views
FROM post_links l JOIN latest ON latest.post_id = l.post_id
JOIN generations g ON g.id = l.generation_id
WHERE l.user_id = :user_id AND g.kind IN ('video', 'image', 'caption')
GROUP BY l.generation_id
ORDER BY typical_views DESC, posts DESC, l.generation_id
LIMIT 1
"""
)


@dataclass(frozen=True)
class Starting:
    """The settings to start from, and why: the generation they come from and how its posts did."""

    request: studio.StudioRequest
    generation_id: uuid.UUID
    posts: int
    typical_views: float


async def best_linked(user_id: uuid.UUID) -> Starting | None:
    """The settings of the linked generation whose posts got the most typical views, or None."""
    async with db.user_session(user_id) as session:
        row = (await session.exec(_BEST, params={"user_id": user_id})).first()
        if row is None:
            return None
        generation = await session.get(Generation, row.generation_id)
    return Starting(
        studio.request_of(generation, seed=None), generation.id, row.posts, float(row.typical_views)
    )


def vary(
    settings: Settings, request: studio.StudioRequest, dimension: str
) -> tuple[studio.StudioRequest, str]:
    """The same request with only `dimension` changed to its next allowed value; and what changed, in words."""
    if dimension not in DIMENSIONS or request.kind not in DIMENSIONS[dimension][1]:
        raise BadInput(
            "Pick what to vary: aspect ratio or duration for a video, tone, length or hook for captions."
        )
    choice = catalog.find(settings, request.model_key, request.kind)
    allowed = {
        "aspect_ratio": catalog.form_options(choice).aspects,
        "duration_s": choice.durations,
        "tone": catalog.TONES,
        "length": catalog.LENGTHS,
        "hook": tuple(hooks.BY_KEY),
    }[dimension]
    current = getattr(request, dimension)
    others = [value for value in allowed if value != current]
    if not others:
        raise BadInput(f"{choice.label} offers only one {DIMENSIONS[dimension][0]}.")
    following = list(allowed).index(current) + 1 if current in allowed else 0
    changed = allowed[following % len(allowed)] if allowed[following % len(allowed)] != current else others[0]
    unit = " s" if dimension == "duration_s" else ""
    said = f"Only the {DIMENSIONS[dimension][0]} changed: {current}{unit} → {changed}{unit}."
    return dataclasses.replace(request, **{dimension: changed}), said
