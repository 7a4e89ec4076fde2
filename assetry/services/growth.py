"""A new post's growth curve: when its numbers are captured, 1 h, 6 h, 24 h and 7 d after publication.

Hourly syncs alone land near those moments only by chance, so each young post gets its
own capture jobs: when a sync first stores a post, `schedule_next` queues a capture at the
first of those moments still ahead; each capture (the task in `services.sync`) stores a
snapshot and queues the next one, until the last. A snapshot counts for a milestone when
it is within `tolerance` of it (the post page reads them the same way).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from assetry.jobs import queue
from assetry.models.base import utcnow

CAPTURE_TASK = "analytics.capture_growth"
CAPTURES = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=7))


def tolerance(offset: timedelta) -> timedelta:
    """How far from a milestone a snapshot may be and still count as that milestone."""
    return max(offset / 4, timedelta(minutes=30))


def next_capture(posted_at: datetime, after: datetime) -> datetime | None:
    """The next growth capture of a post published at `posted_at`, for a post whose numbers
    were last taken at `after`: the first milestone later than that, or None after the last."""
    return next((posted_at + offset for offset in CAPTURES if posted_at + offset > after), None)


async def schedule_next(
    session: AsyncSession,
    *,
    user_id: uuid.UUID,
    post_id: uuid.UUID,
    posted_at: datetime,
    after: datetime,
) -> datetime | None:
    """Queue the post's next growth capture in the caller's transaction; returns when it runs (or None)."""
    moment = next_capture(posted_at, after)
    if moment is None:
        return None
    await queue.enqueue(
        session,
        CAPTURE_TASK,
        {"post_id": str(post_id), "at": moment.isoformat()},
        user_id=user_id,
        dedupe_key=f"growth:{post_id}:{int(moment.timestamp())}",
        delay_seconds=max(0.0, (moment - utcnow()).total_seconds()),
    )
    return moment
