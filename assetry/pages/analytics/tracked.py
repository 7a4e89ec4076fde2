"""Tracked public posts on the analytics page: paste links, see their public numbers beside yours."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.components.tables import stacked_on_a_phone
from assetry.config import Mode, get_settings
from assetry.errors import AssetryError
from assetry.models import User
from assetry.models.base import utcnow
from assetry.pages.analytics.dashboard import number
from assetry.services import platforms, tracking
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, signed_in_user
from assetry.state.watching import Progress, Watching


@dataclasses.dataclass
class LinkResultView:
    input: str = ""
    accepted: bool = False
    message: str = ""


@dataclasses.dataclass
class TrackedView:
    id: str = ""
    url: str = ""
    platform: str = ""
    title: str = ""
    author: str = ""
    status: str = ""
    message: str = ""
    views: str = ""
    likes: str = ""
    comments: str = ""
    shares: str = ""


class TrackedState(PageLocal, Watching, rx.State):
    """Tracked links; while some are still being fetched, the watcher fills them in as they arrive."""

    results: list[LinkResultView] = []
    # Without an Apify token the numbers come from the mounted imitation: say so.
    sandbox: bool = False
    items: list[TrackedView] = []
    error: str = ""
    _awaiting: bool = False

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        return await self._open(user)

    async def _open(self, user: User):
        """Fill the section for the signed-in user (on its own, or with the whole page: `AnalyticsState`)."""
        await self._refresh(user.id)
        return self._watch_if_fetching()

    @rx.event
    async def track(self, form: dict):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        self.error = ""
        try:
            found = await tracking.track(user.id, str(form.get("links", "")))
        except AssetryError as problem:
            self.error = str(problem)
            return None
        self.results = [LinkResultView(r.input[:120], r.accepted, r.message) for r in found]
        await self._refresh(user.id)
        clear = [rx.set_value("links", "")] if all(r.accepted for r in found) else []
        return [*clear, *filter(None, [self._watch_if_fetching()])]

    def _watch_if_fetching(self):
        return TrackedState.watch if self._awaiting else None

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """A fetch pushed its numbers (or its error): show them; watch on while a new link waits for its first."""
        await self._refresh(user_id)
        return Progress(running=self._awaiting)

    @rx.event
    async def refresh(self):
        return await self.load()

    @rx.event
    async def untrack(self, tracked_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await tracking.untrack(user.id, uuid.UUID(tracked_id))
        except (AssetryError, ValueError) as problem:
            return rx.toast.error(str(problem))
        await self._refresh(user.id)
        return rx.toast.success("No longer tracked.")

    async def _refresh(self, user_id: uuid.UUID) -> None:
        self.sandbox = get_settings().apify_mode is Mode.EMBEDDED
        rows = await tracking.tracked(user_id)
        now = utcnow()
        self._awaiting = any(row.awaiting_first_numbers(now) for row in rows)
        self.items = [
            TrackedView(
                id=str(r.id),
                url=r.url,
                platform=platforms.label(r.platform),
                title=r.title or r.url,
                author=r.author,
                status=r.status,
                message=r.message,
                views=number(r.metrics["views"]),
                likes=number(r.metrics["likes"]),
                comments=number(r.metrics["comments"]),
                shares=number(r.metrics["shares"]),
            )
            for r in rows
        ]


def _result(result: LinkResultView) -> rx.Component:
    return rx.hstack(
        # Each icon named outright: an icon named by a var loads every icon's code.
        rx.cond(
            result.accepted,
            rx.icon("circle-check", size=16, color=rx.color("green", 10)),
            rx.icon("circle-x", size=16, color=rx.color("red", 10)),
        ),
        rx.text(result.input, size="1", weight="medium", style={"wordBreak": "break-all"}),
        rx.text(result.message, size="1", color_scheme="gray"),
        align="center",
        wrap="wrap",
        class_name="link-result",
    )


def _row(item: TrackedView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(
            rx.vstack(
                rx.link(
                    item.title,
                    href=item.url,
                    is_external=True,
                    size="2",
                    weight="medium",
                    style={"overflowWrap": "anywhere"},
                ),
                rx.text(
                    item.platform,
                    rx.cond(item.author != "", " · @" + item.author, ""),
                    size="1",
                    color_scheme="gray",
                ),
                rx.cond(item.status == "error", rx.text(item.message, size="1", color_scheme="red")),
                rx.cond(item.status == "pending", rx.text("Fetching…", size="1", color_scheme="gray")),
                spacing="0",
            )
        ),
        rx.table.cell(item.views, align="right"),
        rx.table.cell(item.likes, align="right"),
        rx.table.cell(item.comments, align="right"),
        rx.table.cell(item.shares, align="right"),
        rx.table.cell(
            rx.icon_button(
                rx.icon("x", size=14),
                variant="ghost",
                size="1",
                aria_label="Stop tracking",
                on_click=TrackedState.untrack(item.id),
            )
        ),
        class_name="tracked-row",
    )


def tracked_section() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("Tracked public posts", size="4", as_="h2"),
                rx.cond(TrackedState.sandbox, rx.badge("Sandbox", color_scheme="amber")),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("refresh-cw", size=14),
                    variant="ghost",
                    aria_label="Refresh list",
                    on_click=TrackedState.refresh,
                ),
                width="100%",
            ),
            rx.text(
                "Paste TikTok or Instagram post links, one per line or separated by commas. Their public numbers are refreshed "
                "on a schedule, fetched through Apify.",
                size="1",
                color_scheme="gray",
            ),
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="links",
                        id="links",
                        rows="3",
                        width="100%",
                        max_length=50_000,
                        placeholder="https://www.tiktok.com/@creator/video/…",
                        aria_label="Post links",
                    ),
                    rx.button("Track", type="submit"),
                    width="100%",
                ),
                on_submit=TrackedState.track,
                width="100%",
            ),
            rx.cond(
                TrackedState.error != "", rx.callout(TrackedState.error, color_scheme="red", role="alert")
            ),
            rx.foreach(TrackedState.results, _result),
            rx.cond(
                TrackedState.items.length() > 0,
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Post"),
                                rx.table.column_header_cell("Views", align="right"),
                                rx.table.column_header_cell("Likes", align="right"),
                                rx.table.column_header_cell("Comments", align="right"),
                                rx.table.column_header_cell("Shares", align="right"),
                                rx.table.column_header_cell(""),
                            )
                        ),
                        rx.table.body(rx.foreach(TrackedState.items, _row)),
                        size="1",
                        width="100%",
                        style=stacked_on_a_phone(["", "Views", "Likes", "Comments", "Shares", ""]),
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
            ),
            width="100%",
        ),
        width="100%",
    )
