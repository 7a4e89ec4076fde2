"""Which post a generation became: link, unlink, and the likeliest choices to pick from.

A link joins one of the creator's own synced posts to the generation it was made from.
A post has at most one link (linking it again moves the link); a generation can become
several posts (TikTok and Instagram). Deleting the post or the generation deletes the
link with it (the database cascades both ways).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.errors import NotAllowed
from assetry.models import Generation, MatchProposal, Post, PostLink
from assetry.models.analytics import OWN
from assetry.models.outcomes import MANUAL
from assetry.services import changes, what_works

SUCCEEDED = "succeeded"
CHOICES = 20
NOT_YOUR_POST = "That post isn't one of your synced posts (it may have been removed with its account)."
NOT_YOUR_GENERATION = "That generation isn't in your library (it may have been deleted)."


@dataclass(frozen=True)
class PostChoice:
    """One of the creator's posts, as a pick list shows it."""

    id: uuid.UUID
    platform: str
    title: str
    cover_url: str
    posted_at: datetime
    linked_to: uuid.UUID | None  # the generation it is already linked to, if any


@dataclass(frozen=True)
class GenerationChoice:
    """A generation, as a pick list shows it."""

    id: uuid.UUID
    kind: str
    prompt: str
    created_at: datetime


async def link(
    session: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID, generation_id: uuid.UUID, how: str = MANUAL
) -> PostLink:
    """Link the post to the generation in the caller's transaction (moving an existing link)."""
    post = await owned_post(session, user_id, post_id)
    generation = await session.get(Generation, generation_id)
    if generation is None or generation.user_id != user_id:
        raise NotAllowed(NOT_YOUR_GENERATION)
    await session.exec(sa.delete(MatchProposal).where(MatchProposal.post_id == post.id))
    await changes.notify(session, user_id, changes.LINKS)
    await what_works.queue_keeping(session, user_id)
    existing = (await session.exec(select(PostLink).where(PostLink.post_id == post.id))).first()
    if existing is not None:
        existing.generation_id, existing.how = generation.id, how
        return existing
    made = PostLink(user_id=user_id, post_id=post.id, generation_id=generation.id, how=how)
    session.add(made)
    await session.flush()
    return made


async def link_post(user_id: uuid.UUID, post_id: uuid.UUID, generation_id: uuid.UUID) -> PostLink:
    """The creator says: this post was made from that generation."""
    async with db.user_session(user_id) as session:
        return await link(session, user_id, post_id, generation_id)


async def unlink(user_id: uuid.UUID, post_id: uuid.UUID) -> bool:
    """Remove the post's link; False when it had none."""
    async with db.user_session(user_id) as session:
        result = await session.exec(
            sa.delete(PostLink).where(PostLink.user_id == user_id, PostLink.post_id == post_id)
        )
        await changes.notify(session, user_id, changes.LINKS)
        if result.rowcount:
            await what_works.queue_keeping(session, user_id)
        return result.rowcount > 0


async def owned_post(session: AsyncSession, user_id: uuid.UUID, post_id: uuid.UUID) -> Post:
    post = await session.get(Post, post_id)
    if post is None or post.user_id != user_id or post.source != OWN:
        raise NotAllowed(NOT_YOUR_POST)
    return post


async def generation_of(user_id: uuid.UUID, post_id: uuid.UUID) -> GenerationChoice | None:
    """The generation a post is linked to, or None."""
    async with db.user_session(user_id) as session:
        row = (
            await session.exec(
                select(Generation.id, Generation.kind, Generation.prompt, Generation.created_at)
                .join(PostLink, PostLink.generation_id == Generation.id)
                .where(PostLink.user_id == user_id, PostLink.post_id == post_id)
            )
        ).first()
    return GenerationChoice(*row) if row else None


async def posts_of(user_id: uuid.UUID, generation_id: uuid.UUID) -> list[PostChoice]:
    """The posts a generation is linked to, newest first."""
    async with db.user_session(user_id) as session:
        rows = (
            await session.exec(
                _post_columns()
                .join(PostLink, PostLink.post_id == Post.id)
                .where(PostLink.user_id == user_id, PostLink.generation_id == generation_id)
                .order_by(col(Post.posted_at).desc())
            )
        ).all()
    return [PostChoice(*row) for row in rows]


async def post_choices(
    user_id: uuid.UUID, generation_id: uuid.UUID, limit: int = CHOICES
) -> list[PostChoice]:
    """The creator's own posts to pick from, likeliest first.

    Likeliest: not linked yet, published after the generation was made (the sooner after, the
    likelier), then older posts newest first; posts already linked elsewhere come last."""
    async with db.user_session(user_id) as session:
        generation = await session.get(Generation, generation_id)
        if generation is None or generation.user_id != user_id:
            raise NotAllowed(NOT_YOUR_GENERATION)
        made = generation.created_at
        after = col(Post.posted_at) >= made
        rows = (
            await session.exec(
                _post_columns()
                .outerjoin(PostLink, PostLink.post_id == Post.id)
                .where(Post.user_id == user_id, Post.source == OWN)
                .order_by(
                    col(PostLink.id).is_not(None),
                    sa.case((after, 0), else_=1),
                    sa.case((after, col(Post.posted_at)), else_=None).asc(),
                    col(Post.posted_at).desc(),
                )
                .limit(limit)
            )
        ).all()
    return [PostChoice(*row) for row in rows]


async def generation_choices(
    user_id: uuid.UUID, post_id: uuid.UUID, limit: int = CHOICES
) -> list[GenerationChoice]:
    """The creator's finished generations to pick from: the ones made before the post, newest first."""
    async with db.user_session(user_id) as session:
        post = await owned_post(session, user_id, post_id)
        before = col(Generation.created_at) <= post.posted_at
        rows = (
            await session.exec(
                select(Generation.id, Generation.kind, Generation.prompt, Generation.created_at)
                .where(Generation.user_id == user_id, Generation.status == SUCCEEDED)
                .order_by(sa.case((before, 0), else_=1), col(Generation.created_at).desc())
                .limit(limit)
            )
        ).all()
    return [GenerationChoice(*row) for row in rows]


def _post_columns():
    return select(Post.id, Post.platform, Post.title, Post.cover_url, Post.posted_at, PostLink.generation_id)
