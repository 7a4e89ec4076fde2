"""One post's page: its numbers over time and after 1 h, 6 h, 24 h, 7 d, 30 d, with its notes."""

from __future__ import annotations

import dataclasses
import uuid
from typing import ClassVar

import reflex as rx

from assetry.components import charts
from assetry.components.layout import app_page
from assetry.components.plot import plot
from assetry.models import User
from assetry.models.analytics import METRICS
from assetry.models.base import utcnow
from assetry.pages.analytics.dashboard import LABELS, number
from assetry.pages.analytics.made_with import MadeWithState, made_with_section
from assetry.pages.analytics.notes import NotesState, notes_section
from assetry.services import dashboard, platforms
from assetry.state.page_local import PageLocal
from assetry.state.session import open_page


@dataclasses.dataclass
class MilestoneView:
    label: str = ""
    views: str = ""
    why: str = ""


@dataclasses.dataclass
class MetricView:
    label: str = ""
    value: str = ""
    why: str = ""


class PostState(PageLocal, rx.State):
    found: bool = True
    post_id: str = ""
    title: str = ""
    meta: str = ""
    url: str = ""
    cover_url: str = ""
    milestones: list[MilestoneView] = []
    latest: list[MetricView] = []
    figure: dict = charts.EMPTY  # a plotly figure: its data and layout

    # A ClassVar (else Reflex makes it a backend var): PageLocal reads it from the class.
    _fills: ClassVar[tuple[type[PageLocal], ...]] = (NotesState,)

    @rx.event
    async def load(self):
        """The only on_load: the session check, the app shell and the post, its notes and its link, in one event."""
        return await open_page(self, self._open)

    async def _open(self, user: User):
        try:
            post_id = uuid.UUID(self.router.url.path.rstrip("/").rsplit("/", 1)[-1])
        except ValueError:
            post_id = None
        history = await dashboard.post_history(user.id, post_id) if post_id else None
        self.found = history is not None
        if history is None:
            return
        post, snapshots = history.post, history.snapshots
        self.post_id = str(post.id)
        self.title = post.title or "(no caption)"
        self.meta = f"{platforms.label(post.platform)} · published {post.posted_at:%b %-d, %Y %H:%M} UTC"
        self.url, self.cover_url = post.url, post.cover_url
        self.milestones = [
            MilestoneView(label, number(views), why) for label, views, why in history.milestones
        ]
        last = snapshots[-1] if snapshots else None
        self.latest = [
            MetricView(
                LABELS[m],
                number(getattr(last, m) if last else None),
                ""
                if last is None or getattr(last, m) is not None
                else dashboard.why_missing(post.platform, last.missing, m),
            )
            for m in METRICS
        ]
        points = [(s.captured_at.isoformat(), s.views) for s in snapshots if s.views is not None]
        self.figure = charts.history(points, "Views", since=post.posted_at, until=utcnow())
        await (await self.get_state(NotesState))._open(user)
        await (await self.get_state(MadeWithState))._open(user)


def post_page() -> rx.Component:
    return app_page(
        rx.cond(
            PostState.found,
            rx.vstack(
                rx.link("← Analytics", href="/analytics", size="2"),
                rx.hstack(
                    rx.cond(
                        PostState.cover_url != "",
                        rx.image(
                            src=PostState.cover_url,
                            width="5rem",
                            height="7rem",
                            object_fit="cover",
                            border_radius="var(--radius-3)",
                            alt="",
                        ),
                    ),
                    rx.vstack(
                        rx.heading(PostState.title, size="5"),
                        rx.text(PostState.meta, size="2", color_scheme="gray"),
                        rx.cond(
                            PostState.url != "",
                            rx.link("Open on the platform", href=PostState.url, is_external=True, size="2"),
                        ),
                        spacing="1",
                    ),
                    align="center",
                ),
                rx.grid(
                    rx.foreach(
                        PostState.latest,
                        lambda m: rx.card(
                            rx.vstack(
                                rx.text(m.label, size="1", color_scheme="gray"),
                                rx.text(m.value, size="5", weight="bold"),
                                rx.cond(m.why != "", rx.text(m.why, size="1", color_scheme="gray")),
                                spacing="1",
                            )
                        ),
                    ),
                    columns=rx.breakpoints(initial="2", sm="4"),
                    spacing="3",
                    width="100%",
                ),
                rx.card(
                    rx.vstack(
                        rx.heading("Views after posting", size="4", as_="h2"),
                        rx.grid(
                            rx.foreach(
                                PostState.milestones,
                                lambda m: rx.vstack(
                                    rx.text(m.label, size="1", color_scheme="gray"),
                                    rx.text(m.views, weight="bold"),
                                    rx.cond(m.why != "", rx.text(m.why, size="1", color_scheme="gray")),
                                    spacing="0",
                                ),
                            ),
                            columns=rx.breakpoints(initial="2", sm="5"),
                            spacing="3",
                            width="100%",
                        ),
                        plot(PostState.figure, height=charts.HISTORY_HEIGHT),
                        width="100%",
                    ),
                    width="100%",
                ),
                made_with_section(),
                notes_section(PostState.post_id),
                spacing="4",
                width="100%",
            ),
            rx.vstack(
                rx.heading("Post not found", size="6"),
                rx.text(
                    "This post isn't in your analytics (it may have been deleted with a disconnected account)."
                ),
                rx.link("Back to analytics", href="/analytics"),
            ),
        )
    )
