"""The home page's figures from the database: first steps, and what happened since last time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from assetry import db, security
from assetry.models import (
    AccountSnapshot,
    AuthSession,
    ConnectedAccount,
    Generation,
    MetricSnapshot,
    Post,
    User,
)
from assetry.services import home

NOW = datetime(2026, 11, 29, 12, tzinfo=UTC)
TOKEN = "the-current-session-token"


def at(day: int, hour: int = 12) -> datetime:
    """A moment in November 2026 (UTC)."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def _session(user_id: uuid.UUID, started: datetime, token: str) -> AuthSession:
    return AuthSession(
        user_id=user_id,
        token_hash=security.token_digest(token),
        created_at=started,
        expires_at=started + timedelta(days=14),
    )


def _generation(user_id: uuid.UUID, kind: str, prompt: str, status: str, finished: datetime) -> Generation:
    return Generation(
        user_id=user_id, kind=kind, prompt=prompt, provider="offline", model="preview",
        status=status, created_at=finished - timedelta(minutes=1), finished_at=finished,
    )  # fmt: skip


async def _new_creator() -> uuid.UUID:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(
            User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=at(1), created_at=at(1))
        )
        await session.flush()
        session.add(_session(user_id, at(1), TOKEN))
    return user_id


async def test_a_new_creator_has_every_step_ahead_and_nothing_since_joining(database: str) -> None:
    user_id = await _new_creator()
    found = await home.for_creator(user_id, TOKEN, now=NOW)
    assert found.steps == home.FirstSteps(made_something=False, connected_an_account=False)
    assert found.steps.done == 0
    since = found.since
    assert (since.since, since.first_visit) == (at(1), True)
    assert (since.finished, since.results, since.failed, since.accounts) == ({}, [], 0, 0)
    assert since.views_gained is since.followers_gained is since.best_post is None


async def test_since_the_previous_log_in_jobs_views_followers_and_the_weeks_best_post(database: str) -> None:
    user_id = await _new_creator()
    async with db.service_session() as session:
        # The log-in before this one was on the 20th; this session began on the 28th.
        session.add(_session(user_id, at(20), "an-earlier-session"))
        session.add_all(
            [
                _generation(user_id, "video", "Before last time", "succeeded", at(5)),
                _generation(user_id, "image", "A fox in the snow", "succeeded", at(22)),
                _generation(user_id, "caption", "Latte art captions", "succeeded", at(23)),
                _generation(user_id, "image", "This one broke", "failed", at(24)),
            ]
        )
        account = ConnectedAccount(user_id=user_id, platform="tiktok", platform_account_id="open-1")
        session.add(account)
        await session.flush()
        old = Post(user_id=user_id, account_id=account.id, platform="tiktok", platform_post_id="old",
                   title="Old hit", posted_at=at(1))  # fmt: skip
        new = Post(user_id=user_id, account_id=account.id, platform="tiktok", platform_post_id="new",
                   title="New one", posted_at=at(25, 18))  # fmt: skip
        session.add_all([old, new])
        await session.flush()
        for post, snapshots in (
            (old, ((at(10), 1000), (at(21), 1500), (at(27), 2100))),
            (new, ((at(25, 19), 300), (at(26, 18), 900), (at(28, 18), 1200))),
        ):
            for captured, views in snapshots:
                session.add(
                    MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=captured, views=views)
                )
        for captured, followers in ((at(10), 500), (at(27), 560)):
            session.add(
                AccountSnapshot(
                    user_id=user_id, account_id=account.id, captured_at=captured, followers=followers
                )
            )
    async with db.service_session() as session:
        session.add(_session(user_id, at(28), "the-session-of-today"))

    found = await home.for_creator(user_id, "the-session-of-today", now=NOW)
    assert found.steps.done == 2
    since = found.since
    assert (since.since, since.first_visit) == (at(20), False)
    assert since.finished == {"image": 1, "caption": 1}
    assert [g.prompt for g in since.results] == ["Latte art captions", "A fox in the snow"]
    assert since.failed == 1
    # The old post rose 500 then 600 after the 20th; the new one, published since, counts in full.
    assert since.views_gained == 500 + 600 + 1200
    assert since.followers_gained == 60
    # The past seven days: the new post gained 1,200 views, the old one 600.
    assert since.best_post == home.BestPost(id=new.id, platform="tiktok", title="New one", views_gained=1200)
