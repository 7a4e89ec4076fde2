"""Linking a post to the generation it was made from: pick lists, moves, unlinks, deletions."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.errors import NotAllowed
from assetry.models import Generation, MatchProposal, Post, PostLink, User
from assetry.models.analytics import TRACKED
from assetry.services import post_links, studio

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)


async def a_user() -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=T0))
    return user_id


async def a_generation(
    user_id: uuid.UUID, made: datetime, prompt: str = "a cat", kind: str = "video"
) -> uuid.UUID:
    generation = Generation(
        user_id=user_id, kind=kind, prompt=prompt, provider="offline", model="m", status="succeeded",
        created_at=made, finished_at=made,
    )  # fmt: skip
    async with db.service_session() as session:
        session.add(generation)
    return generation.id


async def a_post(user_id: uuid.UUID, posted: datetime, title: str = "post", source: str = "own") -> uuid.UUID:
    post = Post(user_id=user_id, source=source, platform="tiktok", platform_post_id=uuid.uuid4().hex,
                title=title, posted_at=posted)  # fmt: skip
    async with db.service_session() as session:
        session.add(post)
    return post.id


async def links_of(user_id: uuid.UUID) -> list[tuple[uuid.UUID, uuid.UUID, str]]:
    async with db.service_session() as session:
        rows = await session.exec(
            sa.select(PostLink.post_id, PostLink.generation_id, PostLink.how).where(
                PostLink.user_id == user_id
            )
        )
        return sorted(rows.all())


async def test_link_from_either_side_and_unlink(database: str) -> None:
    user = await a_user()
    generation = await a_generation(user, T0)
    post = await a_post(user, T0 + timedelta(hours=3), "my cat")
    await post_links.link_post(user, post, generation)
    assert await links_of(user) == [(post, generation, "manual")]
    linked = await post_links.generation_of(user, post)
    assert (linked.id, linked.prompt) == (generation, "a cat")
    assert [p.title for p in await post_links.posts_of(user, generation)] == ["my cat"]
    assert await post_links.unlink(user, post) is True
    assert await links_of(user) == []
    assert await post_links.generation_of(user, post) is None
    assert await post_links.unlink(user, post) is False


async def test_linking_a_linked_post_moves_its_one_link_and_drops_its_proposal(database: str) -> None:
    user = await a_user()
    first, second = await a_generation(user, T0), await a_generation(user, T0 + timedelta(hours=1))
    post = await a_post(user, T0 + timedelta(hours=3))
    await post_links.link_post(user, post, first)
    async with db.service_session() as session:
        session.add(MatchProposal(user_id=user, post_id=post, generation_id=first, score=0.9))
    await post_links.link_post(user, post, second)
    assert await links_of(user) == [(post, second, "manual")]
    async with db.service_session() as session:
        assert await session.scalar(sa.select(sa.func.count()).select_from(MatchProposal)) == 0


async def test_the_database_refuses_two_links_or_two_proposals_for_one_post(database: str) -> None:
    user = await a_user()
    first, second = await a_generation(user, T0), await a_generation(user, T0)
    post = await a_post(user, T0 + timedelta(hours=1))
    for row in (PostLink, MatchProposal):
        with pytest.raises(sa.exc.IntegrityError):
            async with db.service_session() as session:
                session.add(row(user_id=user, post_id=post, generation_id=first))
                await session.flush()
                session.add(row(user_id=user, post_id=post, generation_id=second))


async def test_links_go_with_a_deleted_generation_and_a_deleted_post(database: str) -> None:
    user = await a_user()
    kept_generation, gone_generation = await a_generation(user, T0), await a_generation(user, T0)
    post_a, post_b = await a_post(user, T0 + timedelta(hours=1)), await a_post(user, T0 + timedelta(hours=2))
    await post_links.link_post(user, post_a, gone_generation)
    await post_links.link_post(user, post_b, kept_generation)
    await studio.delete(user, gone_generation)
    assert await links_of(user) == [(post_b, kept_generation, "manual")]
    assert await post_links.generation_of(user, post_a) is None
    async with db.service_session() as session:
        await session.delete(await session.get(Post, post_b))
    assert await links_of(user) == []
    assert await post_links.posts_of(user, kept_generation) == []


async def test_nobody_links_what_is_not_theirs(database: str) -> None:
    user, other = await a_user(), await a_user()
    mine, theirs = await a_generation(user, T0), await a_generation(other, T0)
    my_post, their_post = await a_post(user, T0), await a_post(other, T0)
    tracked = await a_post(user, T0, source=TRACKED)
    with pytest.raises(NotAllowed, match="isn't in your library"):
        await post_links.link_post(user, my_post, theirs)
    with pytest.raises(NotAllowed, match="isn't one of your synced posts"):
        await post_links.link_post(user, their_post, mine)
    with pytest.raises(NotAllowed, match="isn't one of your synced posts"):
        await post_links.link_post(user, tracked, mine)
    with pytest.raises(NotAllowed):
        await post_links.post_choices(user, theirs)
    with pytest.raises(NotAllowed):
        await post_links.generation_choices(user, their_post)
    assert await links_of(user) == [] and await links_of(other) == []
    assert await post_links.unlink(user, their_post) is False


async def test_pick_lists_put_the_likeliest_first(database: str) -> None:
    user = await a_user()
    made = T0 + timedelta(days=5)
    generation = await a_generation(user, made)
    older = await a_post(user, made - timedelta(days=2), "before it was made")
    oldest = await a_post(user, made - timedelta(days=4), "long before")
    soon = await a_post(user, made + timedelta(hours=2), "two hours after")
    later = await a_post(user, made + timedelta(days=3), "three days after")
    taken = await a_post(user, made + timedelta(hours=1), "already linked")
    elsewhere = await a_generation(user, made - timedelta(minutes=1))
    await post_links.link_post(user, taken, elsewhere)
    assert [p.id for p in await post_links.post_choices(user, generation)] == [
        soon,
        later,
        older,
        oldest,
        taken,
    ]
    [last] = [p for p in await post_links.post_choices(user, generation) if p.id == taken]
    assert last.linked_to == elsewhere

    before = await a_generation(user, made - timedelta(hours=5), "just before")
    long_before = await a_generation(user, made - timedelta(days=9), "long before")
    after = await a_generation(user, made + timedelta(days=10), "after the post")
    choices = await post_links.generation_choices(user, soon)
    assert [c.id for c in choices] == [generation, elsewhere, before, long_before, after]
