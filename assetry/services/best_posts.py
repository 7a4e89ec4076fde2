"""Write like my best posts: the captions a text model gets as examples of the creator's voice.

From `MIN_LINKED` linked posts on (posts the creator linked to what they made here, each with
its numbers), the examples are the captions of the linked posts with the most views: what
they made with Assetry and what it did. Before that, the captions of their own synced posts
with the most views, whatever made them; `needed` says how many more linked posts it takes.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import sqlalchemy as sa

from assetry import db
from assetry.services import dashboard
from assetry.services.what_works import MIN_POSTS

MIN_LINKED = MIN_POSTS
EXAMPLES = 5

_LINKED = sa.text(
    """
WITH latest AS (
    SELECT DISTINCT ON (s.post_id) s.post_id, s.views
    FROM metric_snapshots s JOIN post_links l ON l.post_id = s.post_id
    WHERE s.user_id = :user_id AND l.user_id = :user_id AND s.views IS NOT NULL
    ORDER BY s.post_id, s.captured_at DESC
)
SELECT p.title, count(*) OVER () AS linked
FROM latest JOIN posts p ON p.id = latest.post_id
WHERE p.user_id = :user_id
ORDER BY (p.title <> '') DESC, latest.views DESC, p.posted_at DESC
LIMIT :limit
"""
)


@dataclass(frozen=True)
class Examples:
    """The captions to imitate, and where they come from."""

    captions: list[str]
    linked: int  # linked posts with numbers

    @property
    def from_linked(self) -> bool:
        return self.linked >= MIN_LINKED

    @property
    def needed(self) -> int:
        return max(0, MIN_LINKED - self.linked)

    def words(self) -> str:
        """Where the examples come from, for the studio."""
        if self.from_linked:
            return f"Uses the captions of your best posts made with Assetry ({self.linked} linked posts)."
        return (
            f"Uses the captions of your top connected posts. From {MIN_LINKED} posts linked to what you made "
            f"here, it uses your best of those instead ({self.needed} more needed)."
        )


async def examples(user_id: uuid.UUID, limit: int = EXAMPLES) -> Examples:
    """The captions of the creator's best linked posts when there are enough, else of their best posts."""
    async with db.user_session(user_id) as session:
        rows = (await session.exec(_LINKED, params={"user_id": user_id, "limit": limit})).all()
    linked = rows[0].linked if rows else 0
    if linked >= MIN_LINKED:
        return Examples([row.title for row in rows if row.title], linked)
    return Examples(await dashboard.best_captions(user_id, limit), linked)
