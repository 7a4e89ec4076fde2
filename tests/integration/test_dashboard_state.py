"""The dashboard page's state: another metric is drawn from what is loaded, another range is fetched.

Statements are counted on the app's own engine (every one this process sends to Postgres).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from assetry import db
from assetry.models import ConnectedAccount, MetricSnapshot, Post
from assetry.pages.analytics.dashboard import DashboardState
from assetry.services import dashboard
from tests.browserless import Tab
from tests.integration.test_studio import new_user
from tests.integration.test_watching import QueryCounter


async def _history(user_id: uuid.UUID) -> None:
    """Two posts of the last month, each seen a few times: views, likes and comments grow."""
    today = dashboard.today_in("UTC")
    noon = datetime.combine(today, time(12), UTC)
    async with db.service_session() as session:
        account = ConnectedAccount(
            user_id=user_id, platform="tiktok", platform_account_id="open-1", display_name="Maya"
        )
        session.add(account)
        await session.flush()
        for n, published in enumerate((20, 6)):
            post = Post(
                user_id=user_id,
                account_id=account.id,
                platform="tiktok",
                platform_post_id=f"video-{n}",
                title=f"Video {n}",
                posted_at=noon - timedelta(days=published),
            )
            session.add(post)
            await session.flush()
            for step, days_ago in enumerate(range(published - 1, 0, -2), start=1):
                session.add(
                    MetricSnapshot(
                        user_id=user_id,
                        post_id=post.id,
                        captured_at=noon - timedelta(days=days_ago),
                        views=1000 * step * (n + 1),
                        likes=70 * step,
                        comments=3 * step,
                    )
                )


def _drawn(state: DashboardState) -> list[int]:
    """The values of the chart's (first) line, as the browser is sent them."""
    return list(state.series_figure.data[0].y)


async def test_another_metric_is_drawn_without_a_query_and_another_range_is_fetched(database: str) -> None:
    user_id, token = await new_user("maya@example.com")
    await _history(user_id)
    period = dashboard.period_for("30", today=dashboard.today_in("UTC"), zone="UTC")
    expected = await dashboard.overview(user_id, period)
    complete = {  # today's point is drawn apart, as "so far"
        m: [v for day, v in points if day != expected.partial_day] for m, points in expected.series.items()
    }
    assert sum(complete["likes"]) > 0 and complete["likes"] != complete["views"]

    async with Tab(cookie=token, path="/analytics") as tab:
        await tab.call(DashboardState.load)
        assert _drawn(await tab.state(DashboardState)) == complete["views"]
        with QueryCounter() as queries:
            await tab.call(DashboardState.set_metric, metric="likes")
            likes = await tab.state(DashboardState)
            likes_drawn, likes_label = _drawn(likes), likes.series_figure.data[0].name
            await tab.call(DashboardState.set_metric, metric="comments")
            comments_drawn = _drawn(await tab.state(DashboardState))
        assert queries.count == 0
        assert (likes_drawn, likes_label) == (complete["likes"], "Likes")
        assert comments_drawn == complete["comments"]

        with QueryCounter() as queries:
            await tab.call(DashboardState.set_preset, preset="7")
        week = await tab.state(DashboardState)
        assert queries.count > 0
        assert week.metric == "comments"
        drawn_days = len(week.series_figure.data[0].x) + (1 if expected.partial_day else 0)
        assert drawn_days == 7
