"""Tracking public posts by URL: paste links, their public numbers come through Apify on a schedule.

Links are parsed and normalised first (each refused one gets its own message);
accepted ones become `TrackedUrl` rows and a fetch job. Each fetch upserts the
post (source "tracked") and appends a metric snapshot, like the creator's own
posts, so they can be shown side by side.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.config import Mode, get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.integrations.apify import ApifyTracker, parse_post_urls
from assetry.jobs import queue
from assetry.jobs.task import Context
from assetry.models import MetricSnapshot, Post, TrackedUrl
from assetry.models.analytics import METRICS, TRACKED
from assetry.models.base import utcnow
from assetry.services import changes
from assetry.services.sync import refresh_interval

REFRESH_DUE = "tracking.refresh_due"
FETCH_TASK = "tracking.fetch"
MAX_TRACKED = 200
OK, ERROR, PENDING = "ok", "error", "pending"
# How long a page keeps following a new link for its first numbers (a fetch that failed for
# good leaves the link pending; the page's refresh button still shows what came later).
FIRST_FETCH_PATIENCE = timedelta(minutes=15)


@dataclass(frozen=True)
class LinkResult:
    """What happened to one pasted link."""

    input: str
    url: str | None
    accepted: bool
    message: str


def tracker() -> ApifyTracker:
    """Apify with the configured token, or the sandbox imitation mounted in this app."""
    settings = get_settings()
    if settings.apify_mode is Mode.CONFIGURED:
        token, api_url = settings.apify_token.get_secret_value(), settings.apify_api_url
    else:
        from assetry.sandbox.apify import SANDBOX_TOKEN

        token, api_url = SANDBOX_TOKEN, settings.public_url.rstrip("/") + "/sandbox/apify"
    return ApifyTracker(
        token=token,
        api_url=api_url,
        tiktok_actor=settings.apify_tiktok_actor,
        instagram_actor=settings.apify_instagram_actor,
        run_timeout_s=settings.apify_run_timeout_seconds,
    )


async def track(user_id: uuid.UUID, pasted: str) -> list[LinkResult]:
    """Add the pasted post links to the user's tracker; one result per link, in order."""
    if not pasted.strip():
        raise BadInput("Paste one or more TikTok or Instagram post links.")
    if len(pasted) > 50_000:
        raise BadInput("That's too much text at once; paste up to 100 links.")
    links = parse_post_urls(pasted)
    results: list[LinkResult] = []
    added: list[uuid.UUID] = []
    async with db.user_session(user_id) as session:
        existing = set(
            (await session.exec(select(TrackedUrl.url).where(TrackedUrl.user_id == user_id))).all()
        )
        room = MAX_TRACKED - len(existing)
        for link in links:
            if not link.ok:
                results.append(LinkResult(link.input, None, False, link.message))
            elif link.url in existing:
                results.append(LinkResult(link.input, link.url, False, "Already tracked."))
            elif room <= 0:
                results.append(
                    LinkResult(link.input, link.url, False, f"You can track up to {MAX_TRACKED} posts.")
                )
            else:
                row = TrackedUrl(
                    user_id=user_id, url=link.url, platform=link.platform, next_fetch_at=utcnow()
                )
                session.add(row)
                existing.add(link.url)
                added.append(row.id)
                room -= 1
                results.append(
                    LinkResult(link.input, link.url, True, "Tracking — numbers arrive in a minute.")
                )
        if added:
            await session.flush()
            await queue.enqueue(
                session,
                FETCH_TASK,
                {"user_id": str(user_id), "ids": [str(i) for i in added]},
                user_id=user_id,
                dedupe_key=f"track:{user_id}:{added[0]}",
            )
            await changes.notify(session, user_id, changes.TRACKED)
    return results


async def untrack(user_id: uuid.UUID, tracked_id: uuid.UUID) -> None:
    """Stop tracking a URL and delete what was fetched for it."""
    async with db.user_session(user_id) as session:
        row = await session.get(TrackedUrl, tracked_id)
        if row is None or row.user_id != user_id:
            raise NotAllowed("That link isn't in your tracker.")
        post_id = row.post_id
        await session.delete(row)
        if post_id is not None:
            await session.exec(sa.delete(Post).where(Post.id == post_id, Post.source == TRACKED))


@dataclass(frozen=True)
class TrackedRow:
    id: uuid.UUID
    url: str
    platform: str
    status: str
    message: str
    title: str
    author: str
    metrics: dict[str, int | None]
    missing: dict[str, str]
    last_fetched_at: object
    created_at: datetime

    def awaiting_first_numbers(self, now: datetime) -> bool:
        """Whether the link is new and its first numbers may still arrive any moment."""
        return self.status == PENDING and now - self.created_at < FIRST_FETCH_PATIENCE


async def tracked(user_id: uuid.UUID) -> list[TrackedRow]:
    """The user's tracked links with the latest numbers of their posts."""
    async with db.user_session(user_id) as session:
        rows = (
            await session.exec(
                select(TrackedUrl, Post)
                .join(Post, Post.id == TrackedUrl.post_id, isouter=True)
                .where(TrackedUrl.user_id == user_id)
                .order_by(col(TrackedUrl.created_at).desc())
            )
        ).all()
        post_ids = [post.id for _, post in rows if post is not None]
        latest: dict[uuid.UUID, MetricSnapshot] = {}
        if post_ids:
            for snapshot in (
                await session.exec(
                    select(MetricSnapshot)
                    .where(col(MetricSnapshot.post_id).in_(post_ids))
                    .order_by(MetricSnapshot.captured_at)
                )
            ).all():
                latest[snapshot.post_id] = snapshot
    result = []
    for row, post in rows:
        snapshot = latest.get(post.id) if post else None
        result.append(
            TrackedRow(
                id=row.id,
                url=row.url,
                platform=row.platform,
                status=row.status,
                message=row.message,
                title=post.title if post else "",
                author=post.author if post else "",
                metrics={m: getattr(snapshot, m) if snapshot else None for m in METRICS},
                missing=dict(snapshot.missing or {}) if snapshot else {},
                last_fetched_at=row.last_fetched_at,
                created_at=row.created_at,
            )
        )
    return result


async def fetch(ctx: Context) -> dict:
    """Fetch the public numbers of some tracked URLs and store them as snapshots."""
    user_id = uuid.UUID(ctx.payload["user_id"])
    ids = [uuid.UUID(i) for i in ctx.payload["ids"]]
    async with db.service_session() as session:
        rows = list((await session.exec(select(TrackedUrl).where(col(TrackedUrl.id).in_(ids)))).all())
    if not rows:
        return {"fetched": 0}
    async with tracker() as apify:
        answers = await apify.fetch_posts([row.url for row in rows])
    now = utcnow()
    async with db.service_session() as session:
        for row, answer in zip(rows, answers, strict=True):
            current = await session.get(TrackedUrl, row.id)
            if current is None:  # untracked meanwhile
                continue
            current.last_fetched_at = now
            if answer.post is None:
                current.status, current.message = ERROR, answer.message[:500]
                current.next_fetch_at = now + timedelta(days=1)
                continue
            data = answer.post
            post = await session.get(Post, current.post_id) if current.post_id else None
            if post is None:
                post = Post(
                    user_id=user_id,
                    source=TRACKED,
                    platform=current.platform,
                    platform_post_id=data.platform_id,
                    posted_at=data.created_at,
                )
                existing = (
                    await session.exec(
                        select(Post).where(
                            Post.user_id == user_id,
                            Post.source == TRACKED,
                            Post.platform == current.platform,
                            Post.platform_post_id == data.platform_id,
                        )
                    )
                ).first()
                post = existing or post
                session.add(post)
                await session.flush()
            post.title, post.url, post.author = data.title[:4000], current.url, data.author[:200]
            post.cover_url = data.cover_url[:2000]
            post.last_metrics_at = now
            current.post_id, current.status, current.message = post.id, OK, ""
            current.next_fetch_at = now + refresh_interval(now - post.posted_at)
            session.add(
                MetricSnapshot(
                    user_id=user_id,
                    post_id=post.id,
                    captured_at=now,
                    missing={k: v for k, v in data.missing.items() if k in METRICS},
                    **{m: data.metrics.get(m) for m in METRICS},
                )
            )
        await changes.notify(session, user_id, changes.TRACKED)
    return {"fetched": len(rows)}


async def refresh_due(_ctx: Context) -> dict:
    """Queue fetches for tracked URLs whose next refresh is due, one job per user."""
    now = utcnow()
    async with db.service_session() as session:
        due = (
            await session.exec(
                select(TrackedUrl.user_id, TrackedUrl.id)
                .where(col(TrackedUrl.next_fetch_at) <= now)
                .limit(5000)
            )
        ).all()
        by_user: dict[uuid.UUID, list[str]] = {}
        for user_id, tracked_id in due:
            by_user.setdefault(user_id, []).append(str(tracked_id))
        for user_id, ids in by_user.items():
            await queue.enqueue(
                session,
                FETCH_TASK,
                {"user_id": str(user_id), "ids": ids[:100]},
                user_id=user_id,
                dedupe_key=f"track:{user_id}:due",
            )
    return {"users": len(by_user)}
