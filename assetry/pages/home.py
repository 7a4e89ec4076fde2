"""Home: where a signed-in creator lands. The first steps, then what happened since last time."""

from __future__ import annotations

import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import reflex as rx

from assetry.components.layout import app_page
from assetry.models import User
from assetry.services.home import for_creator
from assetry.services.platforms import PLATFORMS
from assetry.state.generations import KIND_LABELS
from assetry.state.page_local import PageLocal
from assetry.state.session import open_page, session_token

PLURALS = {
    "video": ("video", "videos"),
    "image": ("image", "images"),
    "caption": ("caption set", "caption sets"),
}


@dataclasses.dataclass
class ResultLink:
    id: str = ""
    kind: str = ""
    prompt: str = ""


class HomeState(PageLocal, rx.State):
    """The figures of the home page, read from the services on each visit."""

    greeting: str = "Welcome"
    made_something: bool = False
    connected: bool = False
    steps_done: int = 0
    since_label: str = ""
    finished: str = ""
    results: list[ResultLink] = []
    failed: str = ""
    has_accounts: bool = False
    views: str = ""
    followers: str = ""
    best_post_id: str = ""
    best_post_title: str = ""
    best_post_gain: str = ""

    @rx.event
    async def load(self):
        """The only on_load: the session check, the app shell and the page's figures, in one event."""
        return await open_page(self, self._open)

    async def _open(self, user: User):
        found = await for_creator(user.id, await session_token(self))
        steps, since = found.steps, found.since
        self.greeting = _greeting(user.display_name, first_visit=since.first_visit)
        self.made_something, self.connected = steps.made_something, steps.connected_an_account
        self.steps_done = steps.done
        self.since_label = (
            "Since you joined"
            if since.first_visit
            else f"Since your last log-in, {_on_their_clock(since.since, user.time_zone)}"
        )
        self.finished = _finished(since.finished)
        self.results = [
            ResultLink(id=str(g.id), kind=KIND_LABELS.get(g.kind, g.kind), prompt=g.prompt)
            for g in since.results
        ]
        self.failed = f"{since.failed} didn't work out; see the library for why." if since.failed else ""
        self.has_accounts = since.accounts > 0
        self.views = _views(since.views_gained)
        self.followers = _followers(since.followers_gained)
        best = since.best_post
        self.best_post_id = str(best.id) if best else ""
        self.best_post_title = (best.title or "Untitled post") if best else ""
        self.best_post_gain = (
            f"+{best.views_gained:,} views in the past 7 days on {PLATFORMS.get(best.platform, best.platform)}"
            if best
            else ""
        )


def _greeting(name: str, *, first_visit: bool) -> str:
    if name.strip():
        return f"Welcome, {name.strip()}"
    return "Welcome to Assetry" if first_visit else "Welcome back"


def _on_their_clock(moment: datetime, zone: str) -> str:
    try:
        local = moment.astimezone(ZoneInfo(zone))
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    return f"{local:%b} {local.day} at {local:%H:%M}"


def _finished(by_kind: dict[str, int]) -> str:
    if not by_kind:
        return ""
    parts = [
        f"{count} {PLURALS[kind][count != 1]}" for kind, count in sorted(by_kind.items()) if kind in PLURALS
    ]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"{listed} finished."


def _views(gained: int | None) -> str:
    if not gained:
        return "No new views measured on your posts since then."
    return f"{gained:+,} views on your posts."


def _followers(gained: int | None) -> str:
    if not gained:
        return ""
    return f"{gained:+,} follower." if abs(gained) == 1 else f"{gained:+,} followers."


def _step(done: rx.Var[bool], title: str, text: str, action: str, href: str, step_id: str) -> rx.Component:
    return rx.hstack(
        rx.cond(
            done,
            rx.icon("circle-check", size=22, color=rx.color("green", 10), aria_label="Done"),
            rx.icon("circle", size=22, color=rx.color("gray", 8), aria_label="To do"),
        ),
        rx.vstack(
            rx.text(title, weight="medium", size="3"),
            rx.text(text, size="2", color_scheme="gray"),
            rx.cond(
                done,
                rx.text("Done", size="2", color_scheme="green"),
                rx.link(rx.button(action, size="2"), href=href),
            ),
            spacing="1",
            min_width="0",
        ),
        align="start",
        spacing="3",
        width="100%",
        id=step_id,
        class_name="first-step",
    )


def _first_steps() -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading("First steps", size="4", as_="h2"),
                rx.badge(HomeState.steps_done, " of 2 done", color_scheme="violet", variant="soft"),
                justify="between",
                align="center",
                width="100%",
            ),
            _step(
                HomeState.made_something,
                "Make your first video or image",
                "Write a prompt in the studio: a video, an image or captions, ready in moments.",
                "Open the studio",
                "/studio",
                "step-make",
            ),
            _step(
                HomeState.connected,
                "Connect TikTok or Instagram",
                "See how your posts really do: views, likes and the best time to post.",
                "Connect an account",
                "/analytics",
                "step-connect",
            ),
            spacing="4",
            width="100%",
        ),
        width="100%",
    )


def _since_last_time() -> rx.Component:
    nothing_yet = (HomeState.finished == "") & (HomeState.failed == "") & ~HomeState.has_accounts
    return rx.card(
        rx.vstack(
            rx.heading(HomeState.since_label, size="4", as_="h2"),
            rx.cond(
                nothing_yet,
                rx.text(
                    "Nothing new yet. What you make and the numbers of your posts show up here.", size="2"
                ),
            ),
            rx.cond(HomeState.finished != "", rx.text(HomeState.finished, size="3", weight="medium")),
            rx.foreach(
                HomeState.results,
                lambda result: rx.link(
                    rx.hstack(
                        rx.badge(result.kind, variant="outline"),
                        rx.text(result.prompt, size="2", trim="both", style={"overflowWrap": "anywhere"}),
                        spacing="2",
                        align="center",
                        min_width="0",
                    ),
                    href="/library/" + result.id,
                    underline="none",
                    color="inherit",
                    class_name="since-result",
                ),
            ),
            rx.cond(HomeState.failed != "", rx.text(HomeState.failed, size="2", color_scheme="gray")),
            rx.cond(
                HomeState.has_accounts,
                rx.vstack(
                    rx.text(HomeState.views, size="2"),
                    rx.cond(HomeState.followers != "", rx.text(HomeState.followers, size="2")),
                    rx.cond(
                        HomeState.best_post_id != "",
                        rx.vstack(
                            rx.text("Best post of the week", size="2", weight="medium"),
                            rx.link(
                                HomeState.best_post_title,
                                href="/analytics/post/" + HomeState.best_post_id,
                                size="2",
                                style={"overflowWrap": "anywhere"},
                            ),
                            rx.text(HomeState.best_post_gain, size="1", color_scheme="gray"),
                            spacing="1",
                            id="best-post",
                        ),
                    ),
                    spacing="2",
                    width="100%",
                ),
            ),
            spacing="3",
            width="100%",
            id="since-last-time",
        ),
        width="100%",
    )


def home_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.heading(HomeState.greeting, size="7"),
            rx.cond(HomeState.steps_done < 2, _first_steps()),
            _since_last_time(),
            rx.cond(
                HomeState.steps_done == 2,
                rx.hstack(
                    rx.link(rx.button(rx.icon("sparkles", size=16), "New in the studio"), href="/studio"),
                    rx.link(rx.button("Open analytics", variant="soft"), href="/analytics"),
                    spacing="3",
                    wrap="wrap",
                ),
            ),
            spacing="5",
            width="100%",
            max_width="44rem",
        )
    )
