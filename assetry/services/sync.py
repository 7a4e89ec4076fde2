"""Background sync of connected accounts: full history first, then incremental, snapshots over time.

- First sync walks every page and stores them a batch of pages at a time; the page
  cursor after each stored batch is kept in the job's progress, so a retry after a
  rate limit or a crash continues where it stopped.
- Later syncs read new posts until a page holds nothing new, then refresh the numbers
  of posts that are due: newer posts more often than old ones.
- Each refresh appends a `MetricSnapshot` (a time series; nothing is overwritten).
  Posts are upserted by their platform id, so duplicated posts across pages or
  repeated runs never double-count.
- An expired or revoked token marks the account "needs reconnect" and the job ends
  without retrying; rate limits put the job back for later.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db
from assetry.errors import AuthExpired
from assetry.integrations.social import PostData
from assetry.jobs.task import Context, Fail
from assetry.models import AccountSnapshot, ConnectedAccount, MetricSnapshot, Post, SyncRun
from assetry.models.analytics import ACTIVE, METRICS, OWN
from assetry.models.base import utcnow
from assetry.models.runs import FAILED, QUEUED, RUNNING, SUCCEEDED
from assetry.services import changes, connections, growth, platforms, post_matching, what_works

SCHEDULE = "analytics.schedule_syncs"
SYNC_EVERY = timedelta(hours=1)
# How often a post's numbers are refreshed, by its age.
REFRESH_BY_AGE = (
    (timedelta(days=2), timedelta(hours=1)),
    (timedelta(days=30), timedelta(hours=6)),
    (timedelta(days=365), timedelta(days=1)),
)
REFRESH_OLDEST = timedelta(days=7)
MAX_REFRESH_PER_SYNC = 400
# A first sync stores its pages this many posts at a time (TikTok: 10 pages of 20).
FIRST_SYNC_BATCH = 200


def refresh_interval(age: timedelta) -> timedelta:
    """How long a post of this age waits between two refreshes of its numbers."""
    return next((every for limit, every in REFRESH_BY_AGE if age < limit), REFRESH_OLDEST)


async def sync_ended(payload: dict, status: str, message: str) -> None:
    account_id = uuid.UUID(payload["account_id"])
    await _end_run(account_id, FAILED, message)
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, account_id)
        if account is not None and account.status == ACTIVE:
            account.status_message = f"Last sync failed: {message}"[:500]
            account.next_sync_at = utcnow() + SYNC_EVERY


async def sync_account(ctx: Context) -> dict:
    account_id = uuid.UUID(ctx.payload["account_id"])
    async with db.service_session() as session:
        account = await session.get(ConnectedAccount, account_id)
    if account is None:
        return {"skipped": "disconnected"}
    started = utcnow()
    run = await _start_run(account)
    try:
        token = await connections.access_token(account_id)
        adapter = platforms.adapter(account.platform)
        profile = await adapter.profile(token)
        await _save_profile(account, profile)
        if not account.first_sync_done:
            stored = await _full_history(ctx, run, account, adapter, token)
        else:
            stored = await _new_posts(account, adapter, token)
        refreshed = await _refresh_due(account, adapter, token)
    except AuthExpired as expired:
        await connections.mark_needs_reconnect(account_id, str(expired))
        raise Fail(str(expired)) from None
    now = utcnow()
    async with db.service_session() as session:
        current = await session.get(ConnectedAccount, account_id)
        if current is not None:
            current.first_sync_done = True
            current.last_synced_at = now
            current.next_sync_at = now + SYNC_EVERY
            current.status_message = ""
            if (
                stored or refreshed
            ):  # new posts and numbers: What works is computed again now, not on its load
                await what_works.queue_keeping(session, account.user_id)
    await _end_run(account_id, SUCCEEDED, "", posts=stored)
    if stored:  # new posts: which generations became them?
        await post_matching.queue_after_sync(account_id, account.user_id, started)
    return {"posts": stored, "refreshed": refreshed}


async def _start_run(account: ConnectedAccount) -> SyncRun:
    """The account's unfinished run (queued, or running before a crash), now running."""
    async with db.service_session() as session:
        run = (
            await session.exec(
                select(SyncRun)
                .where(SyncRun.account_id == account.id, col(SyncRun.status).in_((QUEUED, RUNNING)))
                .order_by(SyncRun.created_at)
                .limit(1)
            )
        ).first()
        if run is None:  # queued before runs were recorded, or by an admin's retry
            run = SyncRun(user_id=account.user_id, account_id=account.id)
            session.add(run)
        run.status = RUNNING
        await changes.notify(session, account.user_id, changes.SYNC)
    return run


async def _end_run(account_id: uuid.UUID, status: str, error: str, **values) -> None:
    async with db.service_session() as session:
        ended = await session.exec(
            sa.update(SyncRun)
            .where(SyncRun.account_id == account_id, SyncRun.status == RUNNING)
            .values(status=status, error=error[:2000], finished_at=utcnow(), **values)
            .returning(SyncRun.user_id)
        )
        for user_id in set(ended.scalars().all()):
            await changes.notify(session, user_id, changes.SYNC)


async def schedule_syncs(ctx: Context) -> dict:
    """Queue a sync for every active account whose next sync is due."""
    now = utcnow()
    async with db.service_session() as session:
        due = (
            await session.exec(
                select(ConnectedAccount).where(
                    ConnectedAccount.status == ACTIVE, col(ConnectedAccount.next_sync_at) <= now
                )
            )
        ).all()
        queued = [await connections.queue_sync(session, account.user_id, account.id) for account in due]
    return {"queued": sum(queued)}


async def _full_history(ctx: Context, run: SyncRun, account: ConnectedAccount, adapter, token: str) -> int:
    """Every page, stored a batch of pages at a time; the cursor after each batch is the run's progress."""
    cursor, stored = run.cursor, run.posts
    while True:
        batch: list[PostData] = []
        done = False
        try:
            while len(batch) < FIRST_SYNC_BATCH and not done:
                page = await adapter.page(token, account.platform_account_id, cursor)
                batch += await adapter.with_metrics(token, page.posts)
                cursor = page.cursor
                done = not page.has_more or not cursor
        finally:  # a rate limit or an expired token mid-batch keeps the pages already read
            if batch:
                stored += await save_posts(account, batch, utcnow())
                await _progress(run, cursor, stored)
        await ctx.checkpoint()
        if done:
            return stored


async def _progress(run: SyncRun, cursor: str | None, posts: int) -> None:
    async with db.service_session() as session:
        await session.exec(sa.update(SyncRun).where(SyncRun.id == run.id).values(cursor=cursor, posts=posts))
        await changes.notify(session, run.user_id, changes.SYNC)


async def _new_posts(account: ConnectedAccount, adapter, token: str) -> int:
    cursor, stored = None, 0
    while True:
        page = await adapter.page(token, account.platform_account_id, cursor)
        known = await _known_ids(account, [p.platform_id for p in page.posts])
        fresh = [p for p in page.posts if p.platform_id not in known]
        if fresh:
            stored += await save_posts(account, await adapter.with_metrics(token, fresh), utcnow())
        if not fresh or not page.has_more or not page.cursor:
            return stored
        cursor = page.cursor


async def _refresh_due(account: ConnectedAccount, adapter, token: str) -> int:
    now = utcnow()
    async with db.service_session() as session:
        # Plain rows, not ORM objects: after a first sync this reads every post and keeps none.
        posts = (
            await session.exec(
                select(*_POST_DATA_COLUMNS, Post.last_metrics_at)
                .where(Post.account_id == account.id)
                .order_by(col(Post.posted_at).desc())
            )
        ).all()
    due = [
        p
        for p in posts
        if p.last_metrics_at is None or now - p.last_metrics_at >= refresh_interval(now - p.posted_at)
    ][:MAX_REFRESH_PER_SYNC]
    if not due:
        return 0
    fresh = await adapter.refresh(token, [_as_post_data(p) for p in due])
    return await save_posts(account, fresh, now)


async def save_posts(account: ConnectedAccount, posts: list[PostData], captured_at: datetime) -> int:
    """Upsert posts by platform id and append one snapshot each; returns how many posts were new.

    New posts and snapshots go in as multi-row inserts (a first sync writes thousands);
    posts already stored are updated through the ORM.
    """
    unique = {p.platform_id: p for p in posts}
    if not unique:
        return 0
    async with db.service_session() as session:
        existing = {
            p.platform_post_id: p
            for p in (
                await session.exec(
                    select(Post).where(
                        Post.user_id == account.user_id,
                        Post.source == OWN,
                        Post.platform == account.platform,
                        col(Post.platform_post_id).in_(list(unique)),
                    )
                )
            ).all()
        }
        new_posts: list[dict] = []
        snapshots: list[dict] = []
        for platform_id, data in unique.items():
            measured = bool(data.metrics or data.missing)
            post = existing.get(platform_id)
            if post is None:
                post_id = uuid.uuid4()
                new_posts.append(
                    {
                        "id": post_id,
                        "user_id": account.user_id,
                        "account_id": account.id,
                        "source": OWN,
                        "platform": account.platform,
                        "platform_post_id": platform_id,
                        "title": data.title[:4000],
                        "url": data.url[:2000],
                        "cover_url": data.cover_url[:2000],
                        "media_type": data.media_type[:32],
                        "duration_s": data.duration_s,
                        "author": "",
                        "posted_at": data.created_at,
                        "last_metrics_at": captured_at if measured else None,
                        "created_at": captured_at,
                    }
                )
            else:
                post_id = post.id
                post.account_id = account.id
                post.title = data.title[:4000] or post.title
                post.url = data.url[:2000] or post.url
                post.cover_url = data.cover_url[:2000] or post.cover_url
                post.media_type = data.media_type[:32] or post.media_type
                post.duration_s = data.duration_s if data.duration_s is not None else post.duration_s
                if measured:
                    post.last_metrics_at = captured_at
            if measured:
                snapshots.append(
                    {
                        "id": uuid.uuid4(),
                        "user_id": account.user_id,
                        "post_id": post_id,
                        "captured_at": captured_at,
                        "missing": {k: v for k, v in data.missing.items() if k in METRICS},
                        **{m: data.metrics.get(m) for m in METRICS},
                    }
                )
        if new_posts:  # posts first: snapshots reference them
            await session.exec(sa.insert(Post.__table__), params=new_posts)
        if snapshots:
            await session.exec(sa.insert(MetricSnapshot.__table__), params=snapshots)
        for post in new_posts:  # young posts get their growth curve captured on time
            await growth.schedule_next(
                session,
                user_id=account.user_id,
                post_id=post["id"],
                posted_at=post["posted_at"],
                after=captured_at,
            )
    return len(new_posts)


async def capture_growth(ctx: Context) -> dict:
    """Take one post's numbers now (a milestone of its growth curve) and queue the next capture."""
    post_id = uuid.UUID(ctx.payload["post_id"])
    async with db.service_session() as session:
        post = await session.get(Post, post_id)
        account = await session.get(ConnectedAccount, post.account_id) if post and post.account_id else None
    if post is None or account is None or account.status != ACTIVE:
        return {"skipped": "post or account gone"}
    token = await connections.access_token(account.id)
    now = utcnow()
    fresh = await platforms.adapter(account.platform).refresh(token, [_as_post_data(post)])
    await save_posts(account, fresh, now)
    # The next milestone after this one, even if the job ran a little before its moment.
    after = max(now, datetime.fromisoformat(ctx.payload["at"]))
    async with db.service_session() as session:
        following = await growth.schedule_next(
            session, user_id=post.user_id, post_id=post.id, posted_at=post.posted_at, after=after
        )
    return {"captured": len(fresh), "next": following.isoformat() if following else None}


async def _save_profile(account: ConnectedAccount, profile) -> None:
    async with db.service_session() as session:
        current = await session.get(ConnectedAccount, account.id)
        if current is None:
            return
        connections.apply_profile(current, profile)
        session.add(
            AccountSnapshot(
                user_id=current.user_id,
                account_id=current.id,
                captured_at=utcnow(),
                followers=profile.followers,
                posts=profile.posts,
            )
        )


async def _known_ids(account: ConnectedAccount, ids: list[str]) -> set[str]:
    if not ids:
        return set()
    async with db.service_session() as session:
        return set(
            (
                await session.exec(
                    select(Post.platform_post_id).where(
                        Post.account_id == account.id, col(Post.platform_post_id).in_(ids)
                    )
                )
            ).all()
        )


_POST_DATA_COLUMNS = (
    Post.platform_post_id,
    Post.posted_at,
    Post.title,
    Post.url,
    Post.cover_url,
    Post.media_type,
    Post.duration_s,
)


def _as_post_data(post) -> PostData:
    """A stored post (an ORM object or a row with the same names) as the adapters take it."""
    return PostData(
        platform_id=post.platform_post_id,
        created_at=post.posted_at,
        title=post.title,
        url=post.url,
        cover_url=post.cover_url,
        media_type=post.media_type,
        duration_s=post.duration_s,
    )
