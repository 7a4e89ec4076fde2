"""The stored running figures (migrations 0020, 0021) stay what the snapshots say, whatever changes them.

After each change (snapshots inserted in and out of order, a post removed, an account
disconnected with or without its history, the retention purges, an account deleted) the
three tables must hold exactly what `stored_figures.FILL` computes from the snapshots left;
and the dashboard read from them must show what the rule says (`expected`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from assetry import db, stored_figures
from assetry.models import MetricSnapshot, Post, User
from assetry.models.analytics import growth_quarters, post_figures, snapshot_reasons
from assetry.services import connections, dashboard, privacy, retention
from assetry.services import dashboard_figures as figures
from assetry.services.dashboard import Period
from tests.integration.test_dashboard_figures import NEW_YORK, History, expected, seed, shown
from tests.migrations import migrate_again_from

TABLES = (post_figures, growth_quarters, snapshot_reasons)
# After every snapshot the seed writes (the last in February 2027): the stored figures serve.
LATER = date(2027, 3, 1)


async def _stored(session) -> dict[str, list]:
    """Every row of the three tables, ids left out, in a stable order."""
    rows = {}
    for table in TABLES:
        columns = [c for c in table.c if c.name != "id"]
        found = (await session.exec(sa.select(*columns))).all()
        rows[table.name] = sorted((tuple(str(v) for v in row) for row in found), key=str)
    return rows


async def assert_figures_are_right() -> dict[str, list]:
    """The stored figures equal those computed afresh from the snapshots; returns them."""
    async with db.service_session() as session:
        kept = await _stored(session)
        for table in TABLES:
            await session.exec(sa.delete(table))
        for statement in stored_figures.FILL:
            await session.exec(sa.text(statement))
        afresh = await _stored(session)
        await session.rollback()
    assert kept == afresh
    return kept


def _owned_by(rows: dict[str, list], user_id: uuid.UUID) -> int:
    return sum(1 for table_rows in rows.values() for row in table_rows if str(user_id) in row)


@pytest.fixture
def readings(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Whether each dashboard statement read the stored figures (True) or the snapshots."""
    seen: list[bool] = []
    real = figures.dashboard_rows

    def spy(*args, stored: bool):
        seen.append(stored)
        return real(*args, stored=stored)

    monkeypatch.setattr(figures, "dashboard_rows", spy)
    return seen


async def _dashboard_follows_the_rule(history: History, readings: list[bool], zone: str = NEW_YORK) -> None:
    for period, account_ids in (
        (dashboard.period_for("90", today=LATER, zone=zone), None),
        (Period(date(2026, 6, 1), LATER, zone), None),
        (Period(date(2026, 10, 1), LATER, "Asia/Kolkata"), [history.accounts["instagram"]]),
    ):
        readings.clear()
        result = await dashboard.overview(history.user_id, period, account_ids=account_ids)
        assert readings == [True]
        assert shown(result) == expected(history, period, account_ids)


async def test_the_dashboard_reads_the_stored_figures_and_they_follow_the_rule(
    database: str, readings: list[bool]
) -> None:
    history = await seed()
    await assert_figures_are_right()
    await _dashboard_follows_the_rule(history, readings)
    await _dashboard_follows_the_rule(history, readings, zone="UTC")
    # A range that ended before the latest snapshots reads the snapshots, and follows the rule too.
    readings.clear()
    past = Period(date(2026, 10, 20), date(2026, 11, 5), NEW_YORK)
    assert shown(await dashboard.overview(history.user_id, past)) == expected(history, past, None)
    assert readings == [True, False]


async def test_snapshots_inserted_late_together_and_at_the_same_moment(
    database: str, readings: list[bool]
) -> None:
    history = await seed()
    rows = history.snapshots
    async with db.service_session() as session:
        await session.exec(sa.delete(MetricSnapshot).where(MetricSnapshot.user_id == history.user_id))
    assert _owned_by(await assert_figures_are_right(), history.user_id) == 0
    shuffled = rows[1::2] + rows[::2]
    for first in range(0, len(shuffled), 7):
        async with db.service_session() as session:
            session.add_all(
                MetricSnapshot(user_id=history.user_id, **row) for row in shuffled[first : first + 7]
            )
        await assert_figures_are_right()
    # Two more of one post at the same moment, in one statement, one lower than the other.
    post = history.posts[0]
    when = max(row["captured_at"] for row in rows if row["post_id"] == post["id"]) + timedelta(hours=1)
    extra = [
        {"post_id": post["id"], "captured_at": when, "views": 10**9, "missing": {"saves": "not ready yet"}},
        {"post_id": post["id"], "captured_at": when, "views": 5, "missing": {}},
    ]
    async with db.service_session() as session:
        session.add_all(MetricSnapshot(user_id=history.user_id, **row) for row in extra)
    history.snapshots.extend(dict.fromkeys(("likes", "comments", "shares", "saves", "reach", "interactions")) | row
                             for row in extra)  # fmt: skip
    await assert_figures_are_right()
    for period in (dashboard.period_for("90", today=LATER, zone=NEW_YORK), Period(date(2026, 6, 1), LATER)):
        figures_now = shown(await dashboard.overview(history.user_id, period))
        want = expected(history, period, None)
        # Of two snapshots at one moment, which is "the latest" is not defined: compare the rest.
        for key in ("totals", "series", "rates", "posts_in_period", "reasons"):
            assert figures_now[key] == want[key]


async def test_a_removed_post_takes_its_figures_along(database: str) -> None:
    history = await seed()
    gone = history.posts[1]["id"]
    async with db.user_session(history.user_id) as session:
        await session.exec(sa.delete(Post).where(Post.id == gone))
    rows = await assert_figures_are_right()
    assert not any(str(gone) in row for table_rows in rows.values() for row in table_rows)
    history.posts = [p for p in history.posts if p["id"] != gone]
    history.snapshots = [s for s in history.snapshots if s["post_id"] != gone]
    period = Period(date(2026, 6, 1), LATER)
    assert shown(await dashboard.overview(history.user_id, period)) == expected(history, period, None)


@pytest.mark.parametrize("keep_history", [True, False])
async def test_a_disconnected_account_keeps_or_drops_its_posts_figures(
    database: str, readings: list[bool], keep_history: bool
) -> None:
    history = await seed()
    tiktok = history.accounts.pop("tiktok")
    await connections.disconnect(history.user_id, tiktok, keep_history=keep_history)
    rows = await assert_figures_are_right()
    assert not any(str(tiktok) in row for row in rows["growth_quarters"])
    for post in history.posts:
        if post["account_id"] == tiktok:
            post["account_id"] = None
    if not keep_history:
        dropped = {p["id"] for p in history.posts if p["account_id"] is None}
        history.posts = [p for p in history.posts if p["id"] not in dropped]
        history.snapshots = [s for s in history.snapshots if s["post_id"] not in dropped]
    history.followers = [f for f in history.followers if f["account_id"] != tiktok]
    await _dashboard_follows_the_rule(history, readings)


async def test_the_retention_purges_leave_the_figures_right(database: str) -> None:
    history = await seed()
    before = await assert_figures_are_right()
    await retention.run_all()
    assert await assert_figures_are_right() == before
    assert _owned_by(before, history.user_id)


async def test_a_deleted_account_leaves_no_figures_and_others_keep_theirs(database: str) -> None:
    history = await seed()  # and another creator's posts and snapshots
    async with db.service_session() as session:
        user = await session.get(User, history.user_id)
        user.deleted_at = user.deletion_due_at = datetime.now(UTC) - timedelta(days=1)
    before = await assert_figures_are_right()
    mine = str(history.user_id)
    assert _owned_by(before, history.user_id) and any(mine not in row for row in before["growth_quarters"])
    assert await privacy.purge_due_accounts() == 1
    async with db.service_session() as session:
        for table in TABLES:
            left = await session.scalar(sa.select(sa.func.count()).where(table.c.user_id == history.user_id))
            assert left == 0, table.name
    others = {table: [row for row in rows if mine not in row] for table, rows in before.items()}
    assert await assert_figures_are_right() == others


@pytest.mark.parametrize("revision", ["0019", "0020"])
async def test_the_migration_computes_the_figures_of_stored_snapshots(database: str, revision: str) -> None:
    history = await seed()
    before = await assert_figures_are_right()
    await migrate_again_from(revision)
    assert await assert_figures_are_right() == before
    period = dashboard.period_for("90", today=LATER, zone="UTC")
    assert shown(await dashboard.overview(history.user_id, period)) == expected(history, period, None)


async def test_figures_of_a_post_moved_to_another_account_tracked_or_republished(
    database: str, readings: list[bool]
) -> None:
    history = await seed()
    instagram = history.accounts["instagram"]
    moved = [p for p in history.posts if p["account_id"] == history.accounts["tiktok"]][:3]
    async with db.service_session() as session:
        await session.exec(
            sa.update(Post).where(Post.id.in_([p["id"] for p in moved])).values(account_id=instagram)
        )
    await assert_figures_are_right()
    for post in moved:
        post["account_id"] = instagram
    await _dashboard_follows_the_rule(history, readings)
    async with db.service_session() as session:
        await session.exec(sa.update(Post).where(Post.id == moved[0]["id"]).values(source="tracked"))
    await assert_figures_are_right()
    history.posts.remove(moved[0])
    history.snapshots = [s for s in history.snapshots if s["post_id"] != moved[0]["id"]]
    await _dashboard_follows_the_rule(history, readings)
    # A publish time corrected by a sync, a post said to be of the other platform.
    async with db.service_session() as session:
        await session.exec(
            sa.update(Post)
            .where(Post.id == moved[1]["id"])
            .values(posted_at=moved[1]["posted_at"] + timedelta(days=40))
        )
        await session.exec(sa.update(Post).where(Post.id == moved[2]["id"]).values(platform="instagram"))
    await assert_figures_are_right()
    moved[1]["posted_at"] += timedelta(days=40)
    moved[2]["platform"] = "instagram"
    await _dashboard_follows_the_rule(history, readings)
