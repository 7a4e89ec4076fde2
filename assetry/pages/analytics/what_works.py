"""What works: how the creator's linked posts did, by what they made and how they posted it."""

from __future__ import annotations

import dataclasses

import reflex as rx

from assetry.components.layout import app_page
from assetry.models import User
from assetry.services import what_works
from assetry.services.what_works import MIN_POSTS, Estimate, Figures
from assetry.state.colours import Colour
from assetry.state.page_local import PageLocal
from assetry.state.session import open_page

VERDICTS = {
    "above": ("Above your usual", "green"),
    "below": ("Below your usual", "red"),
    "usual": ("Within your usual range", "gray"),
}
METHOD = (
    f"Typical views are the geometric mean of each post's latest views, with a 95% t-interval on "
    f"log(1 + views); engagement is the mean of likes, comments, shares and saves per view, with a 95% "
    f"t-interval; views at 24 h use each post's snapshot nearest 24 hours after posting (18–30 h). A group "
    f"gets an interval from {MIN_POSTS} posts on, and is called above or below your usual only when its "
    f"interval and your other posts' do not overlap."
)


@dataclasses.dataclass
class GroupView:
    label: str = ""
    posts: str = ""
    views: str = ""
    views_range: str = ""
    engagement: str = ""
    engagement_range: str = ""
    day_one: str = ""
    day_one_range: str = ""
    verdict: str = ""
    verdict_color: Colour = "gray"
    leads: bool = False


@dataclasses.dataclass
class DimensionView:
    title: str = ""
    summary: str = ""
    groups: list[GroupView] = dataclasses.field(default_factory=list)


def _count(value: float) -> str:
    return f"{value:,.0f}"


def _percent(value: float) -> str:
    return f"{value * 100:.1f}%"


def _range(estimate: Estimate, show) -> str:
    return f"{show(estimate.low)} – {show(estimate.high)}" if estimate.has_interval else ""


def _group(figures: Figures) -> GroupView:
    day_one = figures.day_one
    verdict, color = VERDICTS.get(figures.verdict, ("", "gray"))
    if figures.needed:
        verdict = f"{figures.needed} more linked post{'s' if figures.needed > 1 else ''} needed"
    return GroupView(
        label=figures.label,
        posts=f"{figures.posts:,} post{'s' if figures.posts != 1 else ''}",
        views=_count(figures.views.value) if figures.views.value is not None else "—",
        views_range=_range(figures.views, _count),
        engagement=_percent(figures.engagement.value) if figures.engagement.value is not None else "—",
        engagement_range=_range(figures.engagement, _percent),
        day_one=f"{_count(day_one.value)} ({day_one.n} with a 24 h snapshot)"
        if day_one.value is not None
        else "—",
        day_one_range=_range(day_one, _count),
        verdict=verdict,
        verdict_color=color,
        leads=figures.leads,
    )


class WhatWorksState(PageLocal, rx.State):
    linked: GroupView = GroupView()
    baseline: GroupView = GroupView()
    dimensions: list[DimensionView] = []
    needed: int = MIN_POSTS
    loaded: bool = False

    @rx.event
    async def load(self):
        """The page's one on_load: the shell, then the figures (which keep a row of their own)."""
        return await open_page(self, self._open, own_transactions=True)

    async def _open(self, user: User) -> None:
        result = await what_works.what_works(user.id, user.time_zone)
        self.linked, self.baseline = _group(result.linked), _group(result.baseline)
        if result.baseline.needed:
            self.baseline.verdict = f"Fewer than {MIN_POSTS} posts: no interval yet"
        self.needed = result.needed
        self.dimensions = [
            DimensionView(
                title=d.title,
                summary=f"{d.leader.label} leads." if d.leader else "No clear leader yet.",
                groups=[_group(g) for g in d.groups],
            )
            for d in result.dimensions
            if d.groups
        ]
        self.loaded = True


def _figure(label: str, value: rx.Var, interval: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="1", color_scheme="gray"),
        rx.text(value, weight="bold"),
        rx.cond(interval != "", rx.text("95%: ", interval, size="1", color_scheme="gray")),
        spacing="0",
        min_width="8rem",
    )


def _group_card(group: GroupView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.text(group.label, weight="bold"),
                rx.text(group.posts, size="1", color_scheme="gray"),
                rx.cond(group.leads, rx.badge("Leads", color_scheme="green")),
                rx.cond(
                    group.verdict != "",
                    rx.badge(group.verdict, color_scheme=group.verdict_color, variant="soft"),
                ),
                wrap="wrap",
                align="center",
                spacing="2",
            ),
            rx.flex(
                _figure("Typical views", group.views, group.views_range),
                _figure("Engagement", group.engagement, group.engagement_range),
                _figure("Views at 24 h", group.day_one, group.day_one_range),
                wrap="wrap",
                gap="4",
            ),
            spacing="2",
            width="100%",
        ),
        width="100%",
    )


def _dimension(dimension: DimensionView) -> rx.Component:
    return rx.vstack(
        rx.hstack(
            rx.heading(dimension.title, size="4", as_="h2"),
            rx.text(dimension.summary, size="2", color_scheme="gray"),
            align="baseline",
            wrap="wrap",
            spacing="3",
        ),
        rx.foreach(dimension.groups, _group_card),
        width="100%",
        spacing="2",
    )


def what_works_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.link("← Analytics", href="/analytics", size="2"),
            rx.heading("What works", size="7"),
            rx.text(
                "How your posts made with Assetry did, by what you made and when you posted it, "
                "against your other posts.",
                color_scheme="gray",
            ),
            rx.cond(
                WhatWorksState.needed > 0,
                rx.callout(
                    rx.text(
                        WhatWorksState.needed,
                        " more linked posts needed before any figure here says something. Link a post from "
                        "its page (Made with Assetry) or from a library item (I posted this).",
                    ),
                    icon="info",
                ),
            ),
            rx.grid(
                _group_card(WhatWorksState.linked),
                _group_card(WhatWorksState.baseline),
                columns=rx.breakpoints(initial="1", md="2"),
                spacing="3",
                width="100%",
            ),
            rx.foreach(WhatWorksState.dimensions, _dimension),
            rx.text(METHOD, size="1", color_scheme="gray"),
            spacing="4",
            width="100%",
        )
    )
