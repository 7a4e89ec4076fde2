"""What works: the figures of linked posts against hand-computed ones.

Views are chosen as 10^k - 1, so log10(1 + views) is k and the geometric means can be done on
paper: for k = 2, 3, 4, 2, 3 the mean is 2.8, the sample SD sqrt(0.7) = 0.83666, and with
t(0.975, 4) = 2.776445 from the tables the half-width is 2.776445 * 0.83666 / sqrt(5) = 1.038851;
so typical views 10^2.8 - 1 = 629.957, interval 10^1.761149 - 1 = 56.697 to 10^3.838851 - 1 = 6898.9.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.integrations import hooks
from assetry.models import Generation, MetricSnapshot, Post, PostLink, User
from assetry.services import studio, what_works

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
# Monday 2 November 2026, 12:00 UTC = 19:00 in Jakarta (UTC+7).
MONDAY_NOON_UTC = datetime(2026, 11, 2, 12, tzinfo=UTC)


async def a_user() -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=MONDAY_NOON_UTC))
    return user_id


async def a_generation(user_id: uuid.UUID, kind: str, **options) -> uuid.UUID:
    generation = Generation(user_id=user_id, kind=kind, prompt="p", provider="offline", model=f"{kind}-model",
                            options=options, status="succeeded")  # fmt: skip
    async with db.service_session() as session:
        session.add(generation)
    return generation.id


async def a_post(
    user_id: uuid.UUID,
    views: int,
    *,
    generation_id: uuid.UUID | None = None,
    likes: int = 0,
    title: str = "",
    posted: datetime = MONDAY_NOON_UTC,
    day_one_views: int | None = None,
    duration_s: float | None = None,
) -> uuid.UUID:
    """A post whose latest snapshot (10 days after posting) has these numbers."""
    post = Post(user_id=user_id, platform="tiktok", platform_post_id=uuid.uuid4().hex, title=title,
                posted_at=posted, duration_s=duration_s)  # fmt: skip
    async with db.service_session() as session:
        session.add(post)
        await session.flush()
        if day_one_views is not None:
            session.add(MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=posted + timedelta(hours=23),
                                       views=day_one_views))  # fmt: skip
        session.add(MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=posted + timedelta(days=10),
                                   views=views, likes=likes, comments=0, shares=0))  # fmt: skip
        if generation_id is not None:
            session.add(PostLink(user_id=user_id, post_id=post.id, generation_id=generation_id))
    return post.id


def group(result: what_works.WhatWorks, dimension: str, label: str) -> what_works.Figures:
    [found] = [g for d in result.dimensions if d.key == dimension for g in d.groups if g.label == label]
    return found


async def test_figures_match_the_hand_computed_ones(database: str) -> None:
    user = await a_user()
    video = await a_generation(user, "video", aspect_ratio="9:16", duration_s=5)
    image = await a_generation(user, "image", aspect_ratio="16:9")
    caption = await a_generation(user, "caption", tone="funny")
    for views, likes, day_one in ((99, 9, 9), (999, 9, 99), (9999, 99, 999), (99, 0, None), (999, 99, None)):
        await a_post(user, views, generation_id=video, likes=likes, day_one_views=day_one, title="#a #b hi",
                     duration_s=20)  # fmt: skip
    for _ in range(5):
        await a_post(user, 9, generation_id=image, posted=MONDAY_NOON_UTC + timedelta(days=1))
    for _ in range(2):
        await a_post(user, 99, generation_id=caption, title="x" * 70)
    for _ in range(5):
        await a_post(user, 99, title="not made here")

    result = await what_works.what_works(user, "Asia/Jakarta")

    videos = group(result, "format", "Video")
    assert videos.posts == 5 and videos.views.n == 5
    assert videos.views.value == pytest.approx(629.957, abs=0.01)
    assert videos.views.low == pytest.approx(56.697, abs=0.01)
    assert videos.views.high == pytest.approx(6898.9, abs=0.2)
    # Engagement: 9/99, 9/999, 99/9999, 0/99, 99/999 -> mean 0.041784, SD 0.048823,
    # half-width 2.776445 * 0.048823 / sqrt(5) = 0.060622, so the interval is clipped at 0.
    assert videos.engagement.value == pytest.approx(0.041784, abs=1e-5)
    assert (videos.engagement.low, videos.engagement.high) == (0.0, pytest.approx(0.102406, abs=1e-5))
    # Views at 24 h: 3 posts had a snapshot then (9, 99, 999): 10^2 - 1, too few for an interval.
    assert (videos.day_one.n, videos.day_one.value, videos.day_one.low) == (3, pytest.approx(99.0), None)
    # Images: five posts of 9 views, no spread: 9 to 9, below the baseline (five of 99).
    images = group(result, "format", "Image")
    assert (images.views.value, images.views.low, images.views.high) == pytest.approx((9.0, 9.0, 9.0))
    assert (images.verdict, videos.verdict) == ("below", "usual")
    # Videos' interval lies above the images': they lead both format and aspect ratio.
    assert videos.leads and not images.leads
    assert group(result, "aspect", "9:16").leads and group(
        result, "aspect", "16:9"
    ).views.high == pytest.approx(9)
    # Two caption posts: too few to say anything, and how many more are needed.
    captions = group(result, "format", "Captions")
    assert (captions.posts, captions.needed, captions.views.low, captions.verdict) == (2, 3, None, "")
    assert group(result, "tone", "funny").posts == 2
    assert [g.label for d in result.dimensions if d.key == "tone" for g in d.groups] == ["funny"]
    assert group(result, "caption_length", "medium (60–150 characters)").posts == 2
    assert group(result, "hashtags", "2 hashtags").posts == 5
    # The platform's 20 s wins over the 5 s asked for; posts with no duration have no group.
    assert [(g.label, g.posts) for d in result.dimensions if d.key == "duration" for g in d.groups] == [
        ("16–30 s", 5)
    ]
    # In Jakarta the posts went out on Monday (and Tuesday) at 19:00.
    assert group(result, "weekday", "Monday").posts == 7 and group(result, "weekday", "Tuesday").posts == 5
    assert group(result, "hours", "18:00–20:59").posts == 12
    assert (result.linked.posts, result.baseline.posts) == (12, 5)
    assert result.baseline.views.value == pytest.approx(99.0) and result.needed == 0


async def test_nothing_linked_says_how_many_posts_are_needed(database: str) -> None:
    user = await a_user()
    empty = await what_works.what_works(user)
    assert (empty.linked.posts, empty.baseline.posts, empty.needed) == (0, 0, 5)
    assert all(not d.groups for d in empty.dimensions)
    generation = await a_generation(user, "video", aspect_ratio="9:16")
    await a_post(user, 999, generation_id=generation)
    one = await what_works.what_works(user)
    assert (one.linked.posts, one.needed, one.linked.views.value, one.linked.views.low) == (
        1,
        4,
        pytest.approx(999.0),
        None,
    )


async def test_a_deleted_generation_returns_its_posts_to_the_baseline(database: str) -> None:
    from tests.jobs import run_jobs

    user = await a_user()
    generation = await a_generation(user, "video", aspect_ratio="9:16")
    for _ in range(2):
        await a_post(user, 99, generation_id=generation)
    assert (await what_works.what_works(user)).linked.posts == 2
    await studio.delete(user, generation)
    assert await kept_states(user) == {"UTC": False}
    await run_jobs()  # the deletion queued the job that computes them again
    assert await kept_states(user) == {"UTC": True}
    result = await what_works.what_works(user)
    assert (result.linked.posts, result.baseline.posts) == (0, 2)


HOOKED = {
    "POV: you finally tried latte art": "pov",
    "3 things nobody tells you about sourdough #bread": "number",
    "How I plan a week of meals\nand the rest": "how-to",
    "Don't skip this: the best knife trick": "warning",
    "Would you try pineapple on this? Honest answers only.": "question",
    "Sunday reset, done right.": "statement",
    "Stopwatch challenge: who wins?": "question",  # "Stop" only as a whole word
}


async def test_the_hook_is_the_style_of_the_captions_first_line_in_sql_as_in_python(database: str) -> None:
    user = await a_user()
    video = await a_generation(user, "video", aspect_ratio="9:16")
    for title in HOOKED:
        await a_post(user, 999, generation_id=video, title=title)
    for _ in range(5):
        await a_post(user, 99, generation_id=video, title="Ever wondered why? It's the light.")
    await a_post(user, 99, generation_id=video, title="")  # no caption: no hook
    result = await what_works.what_works(user)
    counted = {g.label: g.posts for d in result.dimensions if d.key == "hook" for g in d.groups}
    expected: dict[str, int] = {}
    for title, style in [*HOOKED.items(), *[("Ever wondered why? It's the light.", "question")] * 5]:
        assert hooks.recognise(title) == style, title
        label = hooks.BY_KEY[style].label
        expected[label] = expected.get(label, 0) + 1
    assert counted == expected
    questions = group(result, "hook", "A question")
    assert questions.posts == 7 and questions.views.has_interval
    # One post each: no interval, no verdict, and how many more it needs.
    assert (
        group(result, "hook", "POV (“POV: …”)").needed,
        group(result, "hook", "POV (“POV: …”)").verdict,
    ) == (4, "")


async def test_kept_figures_are_computed_again_when_their_inputs_change(database: str) -> None:
    from assetry.models import WhatWorksFigures
    from assetry.services import post_links

    user = await a_user()
    video = await a_generation(user, "video", aspect_ratio="9:16")
    image = await a_generation(user, "image", aspect_ratio="16:9")
    posts = [await a_post(user, 999, generation_id=video) for _ in range(5)]

    def formats(result: what_works.WhatWorks) -> dict[str, int]:
        return {g.label: g.posts for d in result.dimensions if d.key == "format" for g in d.groups}

    assert formats(await what_works.what_works(user)) == {"Video": 5}
    assert formats(await what_works.what_works(user)) == {"Video": 5}  # read back
    async with db.service_session() as session:
        [kept] = (
            await session.exec(sa.select(WhatWorksFigures).where(WhatWorksFigures.user_id == user))
        ).scalars()
        assert (kept.stamp, kept.changes, kept.rows_changes) == (f"{what_works.VERSION}:UTC", 0, 0)
    await post_links.link_post(user, posts[0], image)  # a link moved: same count, another generation
    assert formats(await what_works.what_works(user)) == {"Video": 4, "Image": 1}
    await post_links.unlink(user, posts[1])
    assert formats(await what_works.what_works(user)) == {"Video": 3, "Image": 1}
    async with db.service_session() as session:  # a sync brought newer numbers
        session.add(MetricSnapshot(user_id=user, post_id=posts[2], captured_at=MONDAY_NOON_UTC + timedelta(days=20),
                                   views=99_999))  # fmt: skip
    assert group(await what_works.what_works(user), "format", "Video").views.value == pytest.approx(
        (1000 * 1000 * 100_000) ** (1 / 3) - 1
    )
    # Another time zone: the same posts on another clock (Monday 12:00 UTC is Tuesday 01:00 in Auckland).
    assert group(await what_works.what_works(user, "Pacific/Auckland"), "weekday", "Tuesday").posts == 4


async def kept_states(user_id: uuid.UUID) -> dict[str, bool]:
    """Each kept time zone's figures: current (no input changed since they were computed) or not."""
    from assetry.models import WhatWorksFigures

    async with db.service_session() as session:
        rows = await session.exec(sa.select(WhatWorksFigures).where(WhatWorksFigures.user_id == user_id))
        return {row.stamp.split(":", 1)[1]: row.changes == row.rows_changes for row in rows.scalars()}


async def test_a_link_made_or_removed_has_a_job_compute_the_kept_figures_before_the_next_load(
    database: str,
) -> None:
    from assetry.services import post_links
    from tests.jobs import run_jobs

    user, stranger = await a_user(), await a_user()
    video = await a_generation(user, "video", aspect_ratio="9:16")
    image = await a_generation(user, "image", aspect_ratio="16:9")
    posts = [await a_post(user, 999, generation_id=video) for _ in range(5)]
    theirs = await a_generation(stranger, "video")
    their_post = await a_post(stranger, 5)
    await post_links.link_post(stranger, their_post, theirs)  # keeps no figures: no job for them
    await what_works.what_works(user, "Asia/Jakarta")
    await what_works.what_works(user, "UTC")
    assert await kept_states(user) == {"Asia/Jakarta": True, "UTC": True}

    await post_links.link_post(user, posts[0], image)
    await post_links.unlink(user, posts[1])  # one job waits for the creator: the second is not queued
    assert await kept_states(user) == {"Asia/Jakarta": False, "UTC": False}
    async with db.service_session() as session:
        waiting = await session.exec(
            sa.text("SELECT args FROM procrastinate_jobs WHERE task_name = :task AND status = 'todo'"),
            params={"task": what_works.KEEP},
        )
        assert [args["user_id"] for args in waiting.scalars()] == [str(user)]
    await run_jobs()
    assert await kept_states(user) == {"Asia/Jakarta": True, "UTC": True}
    assert await kept_states(stranger) == {}
    result = await what_works.what_works(user, "UTC")  # read back: the job's figures
    assert {g.label: g.posts for d in result.dimensions if d.key == "format" for g in d.groups} == {
        "Video": 3,
        "Image": 1,
    }
    assert (result.linked.posts, result.baseline.posts) == (4, 1)
