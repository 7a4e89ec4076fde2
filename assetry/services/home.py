"""What the home page shows a creator: the first steps and what happened since last time.

The first steps are ticked from real rows (a finished generation, a connected account).
"Since last time" starts at the creator's previous log-in (at sign-up for a new account):
generations that finished since then, what their posts gained in the syncs since then,
and the post that gained the most views in the past seven days.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db, security
from assetry.models import AuthSession, ConnectedAccount, Generation, Post, User
from assetry.models.analytics import OWN
from assetry.models.base import utcnow
from assetry.services import dashboard_figures as figures

SUCCEEDED = "succeeded"
SHOWN_RESULTS = 3
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class FirstSteps:
    made_something: bool
    connected_an_account: bool

    @property
    def done(self) -> int:
        return int(self.made_something) + int(self.connected_an_account)


@dataclass(frozen=True)
class BestPost:
    id: uuid.UUID
    platform: str
    title: str
    views_gained: int


@dataclass
class SinceLastTime:
    since: datetime
    first_visit: bool  # no log-in before this one: "since last time" starts at sign-up
    finished: dict[str, int] = field(default_factory=dict)  # kind -> how many finished
    results: list[Generation] = field(default_factory=list)  # the latest few, newest first
    failed: int = 0
    accounts: int = 0
    views_gained: int | None = None  # None: no synced numbers since then
    followers_gained: int | None = None
    best_post: BestPost | None = None


@dataclass(frozen=True)
class Home:
    steps: FirstSteps
    since: SinceLastTime


async def for_creator(user_id: uuid.UUID, session_token: str, *, now: datetime | None = None) -> Home:
    """The home page's figures for the creator signed in with this session."""
    now = now or utcnow()
    async with db.user_session(user_id) as session:
        since, first_visit = await _last_time(session, user_id, session_token)
        ended = (
            await session.exec(
                select(Generation)
                .where(
                    Generation.user_id == user_id,
                    col(Generation.finished_at).is_not(None),
                    Generation.finished_at >= since,
                )
                .order_by(col(Generation.finished_at).desc())
            )
        ).all()
        made_before = (
            ended
            or (
                await session.exec(
                    select(Generation.id)
                    .where(Generation.user_id == user_id, Generation.status == SUCCEEDED)
                    .limit(1)
                )
            ).first()
        )
        accounts = (
            await session.exec(
                select(sa.func.count())
                .select_from(ConnectedAccount)
                .where(ConnectedAccount.user_id == user_id)
            )
        ).one()
        report = SinceLastTime(since=since, first_visit=first_visit, accounts=accounts)
        succeeded = [g for g in ended if g.status == SUCCEEDED]
        report.finished = dict(Counter(g.kind for g in succeeded))
        report.results = succeeded[:SHOWN_RESULTS]
        report.failed = sum(1 for g in ended if g.status == "failed")
        if accounts:
            await _numbers(session, user_id, report, now)
    steps = FirstSteps(made_something=bool(succeeded or made_before), connected_an_account=accounts > 0)
    return Home(steps=steps, since=report)


async def _last_time(session, user_id: uuid.UUID, session_token: str) -> tuple[datetime, bool]:
    """When this creator last logged in before the current session; their sign-up if never."""
    current = (
        await session.exec(
            select(AuthSession.created_at).where(
                AuthSession.user_id == user_id, AuthSession.token_hash == security.token_digest(session_token)
            )
        )
    ).first()
    earlier = [AuthSession.user_id == user_id]
    if current is not None:
        earlier.append(AuthSession.created_at < current)
    previous = (await session.exec(select(sa.func.max(AuthSession.created_at)).where(*earlier))).one()
    if previous is not None and current is not None:
        return previous, False
    joined = (await session.exec(select(User.created_at).where(User.id == user_id))).one()
    return joined, True


async def _numbers(session, user_id: uuid.UUID, report: SinceLastTime, now: datetime) -> None:
    """Views and followers gained since last time, and the week's best post, from the synced snapshots."""
    own_posts = [Post.user_id == user_id, Post.source == OWN]
    seen = figures.snapshots(user_id, own_posts, now)
    gained = figures.per_post(seen, report.since, now)
    views = (await session.exec(select(sa.func.sum(gained.c.views_gained)))).one()
    report.views_gained = None if views is None else int(views)
    followers = (await session.exec(figures.followers(user_id, None, report.since, now))).all()
    changes = [
        now_ - before for _name, _user, now_, before in followers if now_ is not None and before is not None
    ]
    report.followers_gained = sum(changes) if changes else None
    week = figures.per_post(figures.snapshots(user_id, own_posts, now), now - WEEK, now)
    best = (
        await session.exec(
            select(Post.id, Post.platform, Post.title, week.c.views_gained)
            .join(week, week.c.post_id == Post.id)
            .where(week.c.views_gained > 0)
            .order_by(week.c.views_gained.desc(), Post.id)
            .limit(1)
        )
    ).first()
    if best is not None:
        report.best_post = BestPost(id=best[0], platform=best[1], title=best[2], views_gained=int(best[3]))
