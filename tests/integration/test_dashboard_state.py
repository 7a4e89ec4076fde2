"""The dashboard page's state: another metric or preset is drawn from what is loaded, a custom range is fetched.

Statements are counted on the app's own engine (every one this process sends to Postgres).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, time, timedelta

from assetry import db
from assetry.models import ConnectedAccount, MetricSnapshot, Post
from assetry.pages.analytics.connections import ConnectionsState
from assetry.pages.analytics.dashboard import DashboardState
from assetry.pages.analytics.page import AnalyticsState
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
    return list(state.series_figure["data"][0]["y"])


async def test_another_metric_or_preset_is_drawn_without_a_query_and_a_custom_range_is_fetched(
    database: str,
) -> None:
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
            likes_drawn, likes_label = _drawn(likes), likes.series_figure["data"][0]["name"]
            await tab.call(DashboardState.set_metric, metric="comments")
            comments_drawn = _drawn(await tab.state(DashboardState))
        assert queries.count == 0
        assert (likes_drawn, likes_label) == (complete["likes"], "Likes")
        assert comments_drawn == complete["comments"]

        for preset in ("7", "90", "30"):  # every preset was loaded with the page
            wanted = await dashboard.overview(
                user_id, dashboard.period_for(preset, today=dashboard.today_in("UTC"), zone="UTC")
            )
            with QueryCounter() as queries:
                sent = await tab.call(DashboardState.set_preset, preset=preset)
            shown = await tab.state(DashboardState)
            assert queries.count == 0
            # The heatmap is the same for every preset: it is not drawn or sent again.
            assert not any(
                "heatmap_rows" in var
                for delta in sent.deltas
                for sent_vars in delta.values()
                for var in sent_vars
            )
            assert shown.metric == "comments"
            assert _drawn(shown) == [v for day, v in wanted.series["comments"] if day != wanted.partial_day]
            assert shown.totals[0].value == f"{wanted.totals['views'].value:,}"
            assert [p.id for p in shown.top_posts] == [str(p.id) for p in wanted.top_posts]

        first = dashboard.today_in("UTC") - timedelta(days=9)
        with QueryCounter() as queries:
            await tab.call(DashboardState.set_preset, preset="custom")
            await tab.call(
                DashboardState.set_custom, form={"start": f"{first}", "end": f"{first + timedelta(days=2)}"}
            )
        assert queries.count > 0
        assert len(_drawn(await tab.state(DashboardState))) == 3
        with QueryCounter() as queries:
            await tab.call(DashboardState.set_preset, preset="7")
        assert queries.count == 0
        assert len(_drawn(await tab.state(DashboardState))) == 7 - (1 if expected.partial_day else 0)


async def test_the_page_load_shows_each_account_on_its_card_and_in_the_dashboards_picker(
    database: str,
) -> None:
    # The page's one load reads the accounts once for both: the picker must not lose them.
    user_id, token = await new_user("maya@example.com")
    await _history(user_id)
    async with Tab(cookie=token, path="/analytics") as tab:
        await tab.call(AnalyticsState.load)
        cards = (await tab.state(ConnectionsState)).accounts
        picker = (await tab.state(DashboardState)).account_options
    assert [(a.name, a.platform_label) for a in cards] == [("Maya", "TikTok")]
    assert [(o.id, o.label) for o in picker] == [(cards[0].id, "Maya (TikTok)")]
