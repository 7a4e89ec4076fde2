"""Dashboard numbers from snapshots: totals, change, series, reasons, history."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from assetry import db
from assetry.errors import BadInput
from assetry.models import ConnectedAccount, MetricSnapshot, Note, Post, User
from assetry.services import dashboard
from assetry.services.dashboard import Period

TODAY = date(2026, 11, 29)


def at(day: int, hour: int = 12) -> datetime:
    """A moment in November 2026 (UTC)."""
    return datetime(2026, 11, day, hour, tzinfo=UTC)


async def seed() -> tuple[uuid.UUID, dict[str, uuid.UUID]]:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=at(1)))
        account = ConnectedAccount(
            user_id=user_id, platform="tiktok", platform_account_id="open-1", display_name="Maya"
        )
        session.add(account)
        await session.flush()
        old = Post(
            user_id=user_id,
            account_id=account.id,
            platform="tiktok",
            platform_post_id="old",
            title="Old hit",
            posted_at=at(1),
        )
        new = Post(
            user_id=user_id,
            account_id=account.id,
            platform="tiktok",
            platform_post_id="new",
            title="New one",
            posted_at=at(25, 18),
        )
        session.add_all([old, new])
        await session.flush()
        # The old post: first seen on the 10th with 1,000 views, then 1,500 on the 20th, 2,100 on the 27th.
        for day, views, likes in ((10, 1000, 100), (20, 1500, 150), (27, 2100, 180)):
            session.add(
                MetricSnapshot(
                    user_id=user_id,
                    post_id=old.id,
                    captured_at=at(day),
                    views=views,
                    likes=likes,
                    missing={"saves": "not reported for this kind of post"},
                )
            )
        # The new post: 1 h after posting, 24 h, then 3 days.
        for captured, views in ((at(25, 19), 300), (at(26, 18), 900), (at(28, 18), 1200)):
            session.add(
                MetricSnapshot(
                    user_id=user_id,
                    post_id=new.id,
                    captured_at=captured,
                    views=views,
                    likes=30,
                    missing={"saves": "not reported for this kind of post"},
                )
            )
        session.add(Note(user_id=user_id, day=date(2026, 11, 26), body="Posted the collab", post_id=new.id))
    return user_id, {"old": old.id, "new": new.id}  # fmt: skip


async def test_totals_are_growth_observed_in_the_period(database: str) -> None:
    user_id, _ = await seed()
    week = Period(date(2026, 11, 23), TODAY)
    result = await dashboard.overview(user_id, week)
    # old post grew 1,500 → 2,100 on the 27th (+600); the new post counts in full (1,200).
    assert result.totals["views"].value == 600 + 1200
    # previous week (16th–22nd): the old post grew 1,000 → 1,500 on the 20th.
    assert result.totals["views"].previous == 500
    assert result.totals["views"].change_pct == pytest.approx(260.0)
    assert result.totals["likes"].value == 30 + 30
    assert result.posts_in_period == 1
    daily = dict(result.series["views"])
    assert daily[date(2026, 11, 25)] == 300  # the first value seen lands on the posting day
    assert (daily[date(2026, 11, 26)], daily[date(2026, 11, 27)], daily[date(2026, 11, 28)]) == (
        600,
        600,
        300,
    )
    assert sum(v for _, v in result.series["views"]) == result.totals["views"].value
    assert result.engagement_rate == pytest.approx(60 / 1800 * 100, abs=0.01)
    assert [n.body for n in result.notes] == ["Posted the collab"]
    assert [p.title for p in result.top_posts] == ["New one", "Old hit"]


async def test_missing_numbers_say_why_and_are_never_zero(database: str) -> None:
    user_id, _ = await seed()
    result = await dashboard.overview(user_id, Period(date(2026, 11, 23), TODAY))
    saves = result.totals["saves"]
    assert saves.value is None and saves.missing == "not reported for this kind of post"
    assert (result.totals["reach"].value, result.totals["reach"].missing) == (
        None,
        "TikTok's API doesn't report reach",
    )
    assert "saves" not in result.series


async def test_a_period_before_any_data_has_no_change_to_show(database: str) -> None:
    user_id, _ = await seed()
    result = await dashboard.overview(user_id, Period(date(2026, 10, 1), date(2026, 10, 7)))
    assert result.totals["views"].value is None and result.totals["views"].change_pct is None


async def test_account_filter_and_other_users_data(database: str) -> None:
    user_id, _ = await seed()
    other_id, _ = await seed()
    result = await dashboard.overview(user_id, Period(date(2026, 11, 23), TODAY), account_ids=[])
    assert result.totals["views"].value is None
    assert (await dashboard.overview(other_id, Period(date(2026, 11, 23), TODAY))).totals[
        "views"
    ].value == 1800


async def test_post_history_milestones(database: str) -> None:
    user_id, ids = await seed()
    history = await dashboard.post_history(user_id, ids["new"])
    milestones = {label: (views, why) for label, views, why in history.milestones}
    assert milestones["1 h"] == (300, "")
    assert milestones["24 h"] == (900, "")
    assert milestones["6 h"][0] is None and "weren't syncing" in milestones["6 h"][1]
    assert milestones["30 d"] == (None, "not reached yet")
    assert [n.body for n in history.notes] == ["Posted the collab"]
    assert await dashboard.post_history(uuid.uuid4(), ids["new"]) is None


async def test_heatmap_uses_the_creators_time_zone(database: str) -> None:
    user_id, _ = await seed()
    jakarta = await dashboard.overview(user_id, Period(date(2026, 11, 23), TODAY, "Asia/Jakarta"))
    # new post: Wed 25th 18:00 UTC = Thu 26th 01:00 in Jakarta (UTC+7)
    assert jakarta.heatmap[3][1] == 1200
    assert jakarta.heatmap[2][18] is None


def test_period_presets_and_bad_custom_ranges() -> None:
    assert dashboard.period_for("7", today=TODAY, zone="UTC") == Period(date(2026, 11, 23), TODAY)
    assert (
        dashboard.period_for("custom", today=TODAY, zone="UTC", start="2026-11-01", end="2026-12-31").end
        == TODAY
    )
    for start, end, message in (
        ("", "", "Pick a start"),
        ("2026-11-10", "2026-11-01", "after the end"),
        ("2024-01-01", "2026-01-01", "at most 366"),
        ("2027-01-01", "2027-01-02", "future"),
    ):
        with pytest.raises(BadInput, match=message):
            dashboard.period_for("custom", today=TODAY, zone="UTC", start=start, end=end)  # fmt: skip


async def test_csv_export_has_the_days_and_posts_and_defuses_formulas(database: str) -> None:
    user_id, ids = await seed()
    async with db.service_session() as session:
        post = await session.get(Post, ids["old"])
        post.title = "=HYPERLINK(evil)"
    result = await dashboard.overview(user_id, Period(date(2026, 11, 23), TODAY))
    lines = dashboard.to_csv(result).splitlines()
    assert lines[0] == "date,views,likes"
    assert "2026-11-27,600,30" in lines
    assert any(line.startswith("'=HYPERLINK(evil),tiktok,") for line in lines)
