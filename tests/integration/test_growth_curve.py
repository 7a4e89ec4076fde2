"""A new post's numbers are captured 1 h, 6 h, 24 h and 7 d after publication (sandbox TikTok, both DBs)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.models import MetricSnapshot, Post
from assetry.models.base import utcnow
from assetry.sandbox.tiktok import TikTokImitation
from assetry.services import connections, dashboard, growth, platforms
from tests.integration.test_tiktok_connection import consent, new_user
from tests.jobs import engine_jobs, run_jobs


@pytest.fixture
def tiktok() -> TikTokImitation:
    """The sandbox TikTok with its clock on ours (other tests move it)."""
    imitation = platforms.sandbox("tiktok")
    imitation.faults.clear()
    imitation.rate_limit_per_minute = None
    imitation.set_now(utcnow())
    return imitation


async def captures() -> list[sa.Row]:
    """The growth-capture jobs, soonest first."""
    return sorted(await engine_jobs(growth.CAPTURE_TASK), key=lambda job: job.scheduled_at)


async def test_new_posts_get_their_growth_curve_captured_on_schedule(
    database: str, tiktok: TikTokImitation
) -> None:
    # Three posts, the oldest at most 45 minutes old, and a month-old one would be past every milestone.
    # About one post in 25 is private (never listed), chosen by the handle: take one whose three are public.
    creator = None
    while creator is None or any(creator.is_private(k) for k in range(3)):
        handle = f"fresh.{uuid.uuid4().hex[:6]}"
        creator = tiktok.add_creator(handle, "Fresh Creator", videos=3, interval=timedelta(minutes=15))
    user_id, session_token = await new_user(f"{handle}@example.com")
    url = await connections.begin(user_id, session_token, "tiktok")
    await connections.complete("tiktok", await consent(tiktok, url, account=handle), session_token)
    await run_jobs()  # the first sync; captures wait for their moment

    async with db.service_session() as session:
        posts = {p.id: p for p in (await session.exec(select(Post).where(Post.user_id == user_id))).all()}
    queued = await captures()
    assert len(posts) == 3
    assert sorted(uuid.UUID(job.args["post_id"]) for job in queued) == sorted(posts)
    for job in queued:
        post = posts[uuid.UUID(job.args["post_id"])]
        # One hour after publication, to the second (the first sync saw each post before that).
        assert abs(job.scheduled_at - (post.posted_at + timedelta(hours=1))) < timedelta(seconds=2)
        assert job.status == "todo"

    # The hour has come for the first one: it runs, stores a snapshot and queues the 6 h capture.
    first = queued[0]
    post_id = uuid.UUID(first.args["post_id"])
    async with db.service_session() as session:
        await session.exec(
            sa.text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE id = :id"),
            params={"id": first.id},
        )
    await run_jobs()
    async with db.service_session() as session:
        snapshots = (
            await session.exec(select(MetricSnapshot).where(MetricSnapshot.post_id == post_id))
        ).all()
    [done] = [job for job in await captures() if job.id == first.id]
    assert len(snapshots) == 2 and done.status == "succeeded"
    following = [
        job for job in await captures() if job.args["post_id"] == str(post_id) and job.id != first.id
    ]
    assert len(following) == 1
    assert abs(following[0].scheduled_at - (posts[post_id].posted_at + timedelta(hours=6))) < timedelta(
        seconds=2
    )
    # The post page reads the capture as its 1 h figure when it ran within half an hour of it.
    history = await dashboard.post_history(user_id, post_id)
    assert history.milestones[1][0] == "6 h" and history.milestones[1][2] == "not reached yet"
