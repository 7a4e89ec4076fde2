"""Recognising which generation a post came from: real rendered videos, covers served by the
sandbox TikTok and fetched the way a sync would, proposals confirmed and rejected."""

from __future__ import annotations

import functools
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.errors import NotAllowed
from assetry.integrations.generation import MediaFile
from assetry.integrations.offline import render_video
from assetry.models import Generation, GenerationOutput, MatchProposal, MatchRejection, Post, PostLink, User
from assetry.models.base import utcnow
from assetry.models.outcomes import VideoFingerprint
from assetry.services import connections, media, platforms, post_links, post_matching, sandbox_posting
from tests.integration.test_instagram_connection import consent as instagram_consent
from tests.integration.test_tiktok_connection import connect, new_user, run_jobs

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
CAT = "my cat learns to skateboard in the park"
SEA = "sunset timelapse over a quiet harbour"


@functools.cache
def rendered(prompt: str, seed: int) -> MediaFile:
    return render_video(prompt, duration_s=3, seed=seed)


async def a_user() -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=utcnow()))
    return user_id


async def a_video(user_id: uuid.UUID, prompt: str, seed: int, *, hours_ago: float = 5) -> uuid.UUID:
    """A finished video generation whose file (really rendered) is in media storage."""
    video = rendered(prompt, seed)
    made = utcnow() - timedelta(hours=hours_ago)
    generation = Generation(user_id=user_id, kind="video", prompt=prompt, provider="offline", model="m",
                            seed=seed, status="succeeded", created_at=made, finished_at=made)  # fmt: skip
    key = media.key_for(user_id, generation.id, 0, "video/mp4")
    await media.store().put(key, video.content, "video/mp4")
    async with db.service_session() as session:
        session.add(generation)
        await session.flush()
        session.add(GenerationOutput(user_id=user_id, generation_id=generation.id, storage_key=key,
                                     content_type="video/mp4", duration_s=3, width=video.width, height=video.height))  # fmt: skip
    return generation.id


async def a_post(user_id: uuid.UUID, *, caption: str, cover_url: str, hours_ago: float = 1) -> uuid.UUID:
    post = Post(user_id=user_id, platform="tiktok", platform_post_id=uuid.uuid4().hex, title=caption,
                cover_url=cover_url, posted_at=utcnow() - timedelta(hours=hours_ago))  # fmt: skip
    async with db.service_session() as session:
        session.add(post)
    return post.id


async def served_cover(video: MediaFile, at_seconds: float = 1.0) -> str:
    """The URL at which the sandbox TikTok serves this video's frame as a post's cover."""
    tiktok = platforms.sandbox("tiktok")
    video_id = await tiktok.publish(
        "maya.makes",  # not the creator the last test connects, whose sync would bring these in
        description="(cover only)",
        cover_jpeg=sandbox_posting.cover_from(video.content, at_seconds),
        duration_s=3,
        width=video.width,
        height=video.height,
    )
    return tiktok.cover_url(video_id)


async def proposed(user_id: uuid.UUID) -> dict[uuid.UUID, uuid.UUID]:
    async with db.service_session() as session:
        rows = await session.exec(
            select(MatchProposal.post_id, MatchProposal.generation_id).where(MatchProposal.user_id == user_id)
        )
        return dict(rows.all())


async def test_a_cover_that_is_a_frame_of_the_video_is_proposed(database: str) -> None:
    user = await a_user()
    cat, sea = await a_video(user, CAT, 1), await a_video(user, SEA, 1)
    post = await a_post(
        user, caption="new week new tricks", cover_url=await served_cover(rendered(CAT, 1), 1.3)
    )
    report = await post_matching.match_posts(user, [post])
    assert (report.examined, report.proposed, report.covers_missing) == (1, 1, 0)
    assert await proposed(user) == {post: cat}
    [proposal] = await post_matching.proposals(user)
    assert proposal.generation_id == cat and proposal.prompt == CAT
    assert "cover is a frame of this video" in proposal.reasons["cover"]
    assert "caption" not in proposal.reasons and proposal.reasons["timing"] == "Posted 4 h after it was made."
    async with db.service_session() as session:  # both videos were fingerprinted, once
        assert await session.scalar(select(sa.func.count()).select_from(VideoFingerprint)) == 2
    assert sea not in (await proposed(user)).values()


async def test_near_misses_are_not_proposed(database: str) -> None:
    """The same prompt rendered with another seed (same text panel, other picture), and the right
    cover posted after the match window, are not evidence."""
    user = await a_user()
    await a_video(user, CAT, 1)
    other_seed = await a_post(user, caption="weekend", cover_url=await served_cover(rendered(CAT, 2)))
    too_late = await a_post(
        user, caption="throwback", cover_url=await served_cover(rendered(CAT, 1)), hours_ago=1
    )
    async with db.service_session() as session:
        late = await session.get(Post, too_late)
        late.posted_at = utcnow() + post_matching.MATCH_WINDOW
    report = await post_matching.match_posts(user, [other_seed, too_late])
    assert report.proposed == 0 and await proposed(user) == {}


async def test_nothing_in_common_proposes_nothing(database: str) -> None:
    user = await a_user()
    await a_video(user, CAT, 1)
    post = await a_post(user, caption="Q&A with my followers", cover_url=await served_cover(rendered(SEA, 3)))
    assert (await post_matching.match_posts(user, [post])).proposed == 0


async def test_a_cover_that_cannot_be_fetched_leaves_the_caption_to_decide(database: str) -> None:
    user = await a_user()
    cat = await a_video(user, CAT, 1)
    await a_video(user, SEA, 1)
    gone = (await served_cover(rendered(CAT, 1))).replace(
        "x-signature=", "x-signature=0"
    )  # the platform says 403
    reused = await a_post(user, caption="My cat learns to skateboard!! #fyp", cover_url=gone)
    silent = await a_post(user, caption="just vibes", cover_url="https://cdn.invalid/cover.jpeg")
    report = await post_matching.match_posts(user, [reused, silent])
    assert (report.proposed, report.covers_missing) == (1, 2)
    assert await proposed(user) == {reused: cat}
    [proposal] = await post_matching.proposals(user, post_id=reused)
    assert "cover" not in proposal.reasons
    assert proposal.reasons["caption"] == "The caption shares 3 words with it (75% of the shorter text)."


async def test_a_rejected_pair_stays_rejected_and_the_next_likeliest_is_proposed(database: str) -> None:
    user = await a_user()
    cat = await a_video(user, CAT, 1, hours_ago=3)
    caption_twin = await a_video(user, "cat learns skateboard tricks", 4, hours_ago=30)
    post = await a_post(user, caption="cat learns skateboard", cover_url=await served_cover(rendered(CAT, 1)))
    await post_matching.match_posts(user, [post])
    assert await proposed(user) == {post: cat}
    await post_matching.reject(user, post)
    assert await proposed(user) == {}
    await post_matching.match_posts(user, [post])
    assert await proposed(user) == {post: caption_twin}
    await post_matching.reject(user, post)
    await post_matching.match_posts(user, [post])
    assert await proposed(user) == {}
    async with db.service_session() as session:
        rejected = (await session.exec(select(MatchRejection.generation_id))).all()
    assert sorted(rejected) == sorted([cat, caption_twin])
    with pytest.raises(NotAllowed, match="no proposal"):
        await post_matching.reject(user, post)


async def test_confirming_links_the_post_and_linked_posts_are_not_matched_again(database: str) -> None:
    user, other = await a_user(), await a_user()
    cat = await a_video(user, CAT, 1)
    post = await a_post(
        user, caption="cat learns to skateboard", cover_url=await served_cover(rendered(CAT, 1))
    )
    await post_matching.match_posts(user, [post])
    with pytest.raises(NotAllowed):
        await post_matching.confirm(other, post)
    await post_matching.confirm(user, post)
    assert (await post_links.generation_of(user, post)).id == cat
    async with db.service_session() as session:
        assert (await session.exec(select(PostLink.how))).all() == ["confirmed"]
    assert await proposed(user) == {}
    assert (await post_matching.match_posts(user, [post])).examined == 0


async def test_a_sandbox_post_of_a_generated_video_is_proposed_after_the_sync(database: str) -> None:
    """The whole way: connect the sandbox TikTok and Instagram, post a generated video on both,
    sync, match as a job after each sync."""
    tiktok = platforms.sandbox("tiktok")
    tiktok.faults.clear()
    tiktok.rate_limit_per_minute = None
    user, session_token = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    on_tiktok = await connect(user, session_token, tiktok)
    url = await connections.begin(user, session_token, "instagram")
    callback = await instagram_consent(platforms.sandbox("instagram"), url, "sandbox_studio")
    on_instagram = await connections.complete("instagram", callback, session_token)
    await run_jobs()  # the first syncs: history only, nothing to propose
    assert await proposed(user) == {}
    cat = await a_video(user, CAT, 1, hours_ago=2)
    posted = await sandbox_posting.post_in_sandbox(user, cat)
    assert posted == ["TikTok (Jon Okafor)", "Instagram (sandbox_studio)"]
    for account in (on_tiktok, on_instagram):
        await connections.sync_now(user, account.account_id)
    await run_jobs()
    found = await proposed(user)
    async with db.service_session() as session:
        posts = [await session.get(Post, post_id) for post_id in found]
    assert sorted(p.platform for p in posts) == ["instagram", "tiktok"]
    assert all(p.title == CAT for p in posts) and set(found.values()) == {cat}
    for proposal in await post_matching.proposals(user):
        assert "cover is a frame of this video" in proposal.reasons["cover"]


async def test_each_sync_has_a_job_compute_what_works_again_so_the_page_load_does_not(database: str) -> None:
    from assetry.services import what_works
    from tests.integration.test_what_works import kept_states

    tiktok = platforms.sandbox("tiktok")
    tiktok.faults.clear()
    tiktok.rate_limit_per_minute = None
    user, session_token = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    account = await connect(user, session_token, tiktok)
    await run_jobs()  # the first sync: the history
    before = await what_works.what_works(user, "UTC")  # the creator opened What works once
    assert await kept_states(user) == {"UTC": True}
    cat = await a_video(user, CAT, 1, hours_ago=2)
    await sandbox_posting.post_in_sandbox(user, cat)
    await connections.sync_now(user, account.account_id)
    await run_jobs()  # the sync, then its jobs: matching, and What works computed again
    assert await kept_states(user) == {"UTC": True}
    after = await what_works.what_works(user, "UTC")
    assert after.baseline.posts == before.baseline.posts + 1  # the new post, in the kept figures
