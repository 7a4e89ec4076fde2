"""Dashboard numbers from snapshots: totals, change, series, reasons, history."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest

from assetry import db, web
from assetry.errors import BadInput
from assetry.models import ConnectedAccount, MetricSnapshot, Note, Post, User
from assetry.services import dashboard
from assetry.services.accounts import SESSION_COOKIE
from assetry.services.dashboard import Period
from tests.admin_people import session_token

TODAY = date(2026, 11, 29)
NOT_TIKTOKS = (
    "reach: TikTok's API doesn't report reach; interactions: TikTok's API doesn't report interactions"
)


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


async def download(user_id: uuid.UUID | None, **asked: str) -> httpx.Response:
    """What the browser gets from the dashboard's CSV link (with the user's session cookie)."""
    cookies = {SESSION_COOKIE: await session_token(user_id)} if user_id else {}
    transport = httpx.ASGITransport(app=web.routes())
    async with httpx.AsyncClient(transport=transport, base_url="http://test", cookies=cookies) as client:
        return await client.get(dashboard.CSV_ROUTE, params=asked)


async def csv_of(user_id: uuid.UUID, start: date, end: date) -> str:
    reply = await download(user_id, preset="custom", start=start.isoformat(), end=end.isoformat())
    assert reply.status_code == 200, reply.text
    return reply.text


async def test_csv_export_has_the_days_and_posts_and_defuses_formulas(database: str) -> None:
    user_id, ids = await seed()
    async with db.service_session() as session:
        post = await session.get(Post, ids["old"])
        post.title = "=HYPERLINK(evil)"
    lines = (await csv_of(user_id, date(2026, 11, 23), TODAY)).splitlines()
    assert lines[0].startswith("date,views,likes,comments")
    assert any(line.startswith("2026-11-27,600,30,") for line in lines)
    assert any(line.startswith("'=HYPERLINK(evil),tiktok,") for line in lines)


async def test_the_csv_download_is_the_whole_range_however_many_posts_a_batch_holds(
    database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    user_id, _ = await seed()
    reply = await download(user_id, preset="custom", start="2026-11-26", end="2026-11-28")
    assert reply.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        reply.headers["content-disposition"]
        == 'attachment; filename="assetry-analytics-2026-11-26-2026-11-28.csv"'
    )
    not_yet = "no data for this period yet (numbers start when the account is first synced)"
    day = f"comments: {not_yet}; shares: {not_yet}; saves: not reported for this kind of post; " + NOT_TIKTOKS
    post = (
        "comments now: not reported by the platform; shares now: not reported by the platform; "
        "saves now: not reported for this kind of post; "
        + NOT_TIKTOKS.replace("reach:", "reach now:").replace("interactions:", "interactions now:")
    )
    assert reply.text.split("\r\n") == [
        "date,views,likes,comments,shares,saves,reach,interactions,why empty",
        f"2026-11-26,600,0,,,,,,{day}",  # the new post rose 300 → 900
        f"2026-11-27,600,30,,,,,,{day}",  # the old one 1,500 → 2,100 views, 150 → 180 likes
        f"2026-11-28,300,0,,,,,,{day}",  # the new post 900 → 1,200
        "",
        "post,platform,published,url,views in period,views now,likes now,comments now,shares now,saves now,"
        "reach now,interactions now,why empty",
        f"New one,tiktok,2026-11-25T18:00:00+00:00,,900,1200,30,,,,,,{post}",
        f"Old hit,tiktok,2026-11-01T12:00:00+00:00,,600,2100,180,,,,,,{post}",
        "",
    ]
    monkeypatch.setattr(dashboard, "CSV_BATCH", 1)  # a post at a time: the same file
    assert await csv_of(user_id, date(2026, 11, 26), date(2026, 11, 28)) == reply.text


async def test_the_csv_link_serves_only_a_logged_in_creator_and_a_valid_range(database: str) -> None:
    user_id, _ = await seed()
    assert (await download(None, preset="30")).status_code == 403
    refused = await download(user_id, preset="custom", start="2026-11-28", end="2026-11-26")
    assert (refused.status_code, refused.text) == (400, "The start date is after the end date.")
    assert (await download(user_id, preset="30", account="not-an-id")).status_code == 400


async def seed_slots() -> uuid.UUID:
    """Posts published at known weekdays and hours (UTC), each with its latest views."""
    user_id = uuid.uuid4()
    published = [
        (datetime(2026, 11, 26, 19, 30, tzinfo=UTC), 1000),  # Thursday 19:xx
        (datetime(2026, 11, 19, 19, 10, tzinfo=UTC), 1400),  # Thursday 19:xx
        (datetime(2026, 11, 12, 19, 50, tzinfo=UTC), 1800),  # Thursday 19:xx
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), 900),  # Monday 08:xx
        (datetime(2026, 11, 16, 8, 30, tzinfo=UTC), 700),  # Monday 08:xx
        (datetime(2026, 11, 21, 12, 0, tzinfo=UTC), 5000),  # Saturday 12:xx, alone in its slot
        (datetime(2026, 11, 24, 10, 0, tzinfo=UTC), 600),  # Tuesday 10:xx, alone in its slot
    ]
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=at(1)))
        account = ConnectedAccount(user_id=user_id, platform="tiktok", platform_account_id="open-2")
        session.add(account)
        await session.flush()
        for n, (moment, views) in enumerate(published):
            post = Post(
                user_id=user_id, account_id=account.id, platform="tiktok",
                platform_post_id=f"p{n}", title=f"Post {n}", posted_at=moment,
            )  # fmt: skip
            session.add(post)
            await session.flush()
            # An earlier, smaller snapshot: only the latest counts.
            for captured, value in ((moment + timedelta(hours=1), views // 10), (at(28), views)):
                session.add(
                    MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=captured, views=value)
                )
    return user_id


async def test_the_best_slot_is_named_from_the_creators_posts_in_their_time_zone(database: str) -> None:
    user_id = await seed_slots()
    result = await dashboard.overview(user_id, Period(date(2026, 11, 1), TODAY))
    # Slots with 2+ posts: Thursday 19:00 (1000, 1400, 1800: median 1400) and Monday 08:00
    # (700, 900: median 800). Saturday's 5,000 is one post only. Every post's median:
    # 600 700 900 [1000] 1400 1800 5000 → 1000. 1400 vs 1000 → +40 %.
    best = result.best_slot
    assert (best.weekday, best.hour, best.median_views, best.posts, best.typical_views) == (
        3,
        19,
        1400,
        3,
        1000,
    )
    assert best.change_pct == 40
    assert best.sentence() == "Thursdays 19:00–20:00, +40 % views vs your typical post"
    assert "Median 1,400 views over the 3 posts published then" in best.detail()
    assert result.heatmap[3][19] == 1400 and result.heatmap[0][8] == 800 and result.heatmap[5][12] == 5000
    # In Paris (UTC+1 in November) the same posts went out an hour later on the clock.
    paris = await dashboard.overview(user_id, Period(date(2026, 11, 1), TODAY, "Europe/Paris"))
    assert paris.best_slot.sentence() == "Thursdays 20:00–21:00, +40 % views vs your typical post"


async def test_no_best_slot_without_two_posts_in_one_slot(database: str) -> None:
    user_id, _ = await seed()  # two posts, in different slots
    result = await dashboard.overview(user_id, Period(date(2026, 11, 1), TODAY))
    assert result.has_data and result.best_slot is None


async def test_today_is_marked_partial_only_when_the_period_ends_today(database: str) -> None:
    user_id, _ = await seed()
    today = dashboard.today_in("Pacific/Kiritimati")  # UTC+14: often a day ahead of UTC
    live = await dashboard.overview(user_id, Period(today - timedelta(days=6), today, "Pacific/Kiritimati"))
    assert live.partial_day == today
    past = await dashboard.overview(user_id, Period(date(2026, 11, 1), TODAY))
    assert past.partial_day is None


async def test_csv_rows_per_post_leave_unreported_numbers_empty_and_say_why(database: str) -> None:
    user_id, _ = await seed()
    rows = list(csv.reader(io.StringIO(await csv_of(user_id, date(2026, 11, 23), TODAY))))
    header = rows[0]
    assert header == [
        "date",
        "views",
        "likes",
        "comments",
        "shares",
        "saves",
        "reach",
        "interactions",
        "why empty",
    ]
    by_day = {row[0]: row for row in rows[1:8]}
    assert by_day["2026-11-27"][:3] == ["2026-11-27", "600", "30"]
    assert by_day["2026-11-27"][5] == ""  # saves: never reported, so empty, not 0
    assert "saves: not reported for this kind of post" in by_day["2026-11-27"][-1]
    assert "reach: TikTok's API doesn't report reach" in by_day["2026-11-27"][-1]
    posts_at = rows.index([]) + 1
    assert rows[posts_at][:5] == ["post", "platform", "published", "url", "views in period"]
    posts = {row[0]: dict(zip(rows[posts_at], row, strict=True)) for row in rows[posts_at + 1 :]}
    assert set(posts) == {"New one", "Old hit"}
    new = posts["New one"]
    assert (new["views in period"], new["views now"], new["likes now"]) == ("1200", "1200", "30")
    assert (new["saves now"], new["reach now"], new["comments now"]) == ("", "", "")
    assert new["why empty"] == (
        "comments now: not reported by the platform; shares now: not reported by the platform; "
        "saves now: not reported for this kind of post; reach now: TikTok's API doesn't report reach; "
        "interactions now: TikTok's API doesn't report interactions"
    )
    # A period with nothing observed for a post: its growth is unknown, not 0.
    text = await csv_of(user_id, date(2026, 11, 11), date(2026, 11, 15))
    old_row = next(row for row in csv.reader(io.StringIO(text)) if row and row[0] == "Old hit")
    assert old_row[4] == "" and "views in period: no snapshot in this period" in old_row[-1]
