"""Plan: a week calendar where the creator places what they made on the hour they mean to post it."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date, timedelta

import reflex as rx

from assetry.components.forms import label_for
from assetry.components.layout import app_page
from assetry.components.styles import NATIVE_SELECT
from assetry.errors import AssetryError
from assetry.models import User
from assetry.models.base import utcnow
from assetry.services import plan
from assetry.state.colours import Colour
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, open_page, signed_in_user
from assetry.state.watching import Progress, Watching

STATUS = {
    plan.PLANNED: ("Planned", "blue"),
    plan.WAITING: ("Waiting for the post", "amber"),
    plan.MISSED: ("Missed", "red"),
    plan.RECOGNISED: ("Recognised: confirm it on Analytics", "violet"),
    plan.POSTED: ("Posted", "green"),
}
HOURS = [f"{hour:02d}" for hour in range(24)]


@dataclasses.dataclass
class SlotView:
    id: str = ""
    time: str = ""
    what: str = ""
    status: str = ""
    status_color: Colour = "gray"
    gone: bool = False  # its generation was deleted
    can_change: bool = True
    post_id: str = ""
    post_detail: str = ""
    day: str = ""
    hour: str = ""


@dataclasses.dataclass
class BestView:
    hour: str = ""
    words: str = ""


@dataclasses.dataclass
class DayView:
    iso: str = ""
    title: str = ""
    today: bool = False
    past: bool = False
    best: list[BestView] = dataclasses.field(default_factory=list)
    slots: list[SlotView] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class ChoiceView:
    id: str = ""
    what: str = ""


def _slot(slot: plan.Slot, zone: str) -> SlotView:
    label, color = STATUS[slot.status]
    detail = ""
    if slot.post_id and slot.posted_local:
        day = "" if slot.posted_local.date() == slot.local.date() else f"{slot.posted_local:%a %-d} "
        detail = f"{slot.post_title or '(no caption)'} · posted {day}{slot.posted_local:%H:%M}"
    return SlotView(
        id=str(slot.id),
        time=f"{slot.local:%H}:00",
        what=slot.what,
        status=label,
        status_color=color,
        gone=slot.generation_id is None,
        can_change=slot.status not in (plan.POSTED, plan.RECOGNISED),
        post_id=str(slot.post_id or ""),
        post_detail=detail,
        day=slot.local.date().isoformat(),
        hour=f"{slot.local:%H}",
    )


class PlanState(PageLocal, Watching, rx.State):
    zone: str = "UTC"
    first: str = ""  # the week's first day (ISO), on the creator's clock
    range_label: str = ""
    days: list[DayView] = []
    best: list[str] = []
    choices: list[ChoiceView] = []
    # The form: what and when (also used to move a slot: `moving` holds its id).
    day: str = ""
    hour: str = "18"
    generation_id: str = ""
    moving: str = ""
    moving_what: str = ""
    error: str = ""
    loaded: bool = False

    @rx.event
    async def load(self):
        """The only on_load: the session check, the app shell and the week, in one event."""
        return await open_page(self, self._open)

    async def _open(self, user: User):
        self.zone, self.error, self.moving, self.moving_what = user.time_zone, "", "", ""
        self.first = ""
        await self._refresh(user.id)
        self.choices = [ChoiceView(str(c.id), c.what) for c in await plan.plannable(user.id)]
        if self.choices and self.generation_id not in {c.id for c in self.choices}:
            self.generation_id = self.choices[0].id
        self.loaded = True
        return PlanState.watch

    async def _refresh(self, user_id: uuid.UUID) -> None:
        first = date.fromisoformat(self.first) if self.first else None
        week = await plan.week(user_id, self.zone, first)
        self.first = week.first.isoformat()
        last = week.first + timedelta(days=6)
        self.range_label = f"{week.first:%a %b %-d} – {last:%a %b %-d}"
        if not self.day or self.day < week.today.isoformat():
            later = week.now_local + timedelta(hours=1)
            self.day = later.date().isoformat()
        by_weekday: dict[int, list[BestView]] = {}
        for best in week.best:
            by_weekday.setdefault(best.weekday, []).append(
                BestView(f"{best.hour:02d}", f"{best.hour:02d}:00 · {best.posts} posts")
            )
        self.best = [best.words() for best in week.best]
        days = []
        for offset in range(7):
            day = week.first + timedelta(days=offset)
            days.append(
                DayView(
                    iso=day.isoformat(),
                    title=f"{day:%a %b %-d}",
                    today=day == week.today,
                    past=day < week.today,
                    best=by_weekday.get(day.weekday(), []),
                    slots=[_slot(s, self.zone) for s in week.slots if s.local.date() == day],
                )
            )
        self.days = days

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        await self._refresh(user_id)
        return Progress(running=True)

    @rx.event
    async def shift(self, weeks: int):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        start = (
            date.fromisoformat(self.first)
            if self.first
            else utcnow().astimezone(plan.zone_of(self.zone)).date()
        )
        self.first = (start + timedelta(days=7 * max(-52, min(52, int(weeks))))).isoformat() if weeks else ""
        await self._refresh(user.id)
        return None

    @rx.event
    async def choose(self, day: str, hour: str):
        """A best hour or a slot's Move: put its day and hour in the form."""
        if await signed_in_user(self) is None:
            return rx.redirect(LOGIN_ROUTE)
        self.day, self.hour, self.error = str(day)[:10], str(hour)[:2], ""
        return None

    @rx.event
    async def start_moving(self, slot_id: str, what: str, day: str, hour: str):
        if await signed_in_user(self) is None:
            return rx.redirect(LOGIN_ROUTE)
        self.moving, self.moving_what = str(slot_id)[:36], str(what)[:200]
        self.day, self.hour, self.error = str(day)[:10], str(hour)[:2], ""
        return None

    @rx.event
    async def stop_moving(self):
        self.moving = self.moving_what = self.error = ""

    @rx.event
    async def save(self, form: dict):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        self.day, self.hour = str(form.get("day", ""))[:10], str(form.get("hour", ""))[:2]
        self.generation_id = str(form.get("generation_id", self.generation_id))[:36]
        try:
            day = date.fromisoformat(self.day)
            hour = int(self.hour)
        except ValueError:
            self.error = "Pick a day and an hour."
            return None
        try:
            if self.moving:
                slot = await plan.move(user.id, uuid.UUID(self.moving), day, hour, self.zone)
                said = f"Moved to {plan.hour_words(slot.planned_at.astimezone(plan.zone_of(self.zone)))}."
            else:
                if not self.generation_id:
                    self.error = "Make something in the studio first, then plan it here."
                    return None
                slot = await plan.place(user.id, uuid.UUID(self.generation_id), day, hour, self.zone)
                said = f"Planned for {plan.hour_words(slot.planned_at.astimezone(plan.zone_of(self.zone)))}."
        except (AssetryError, ValueError) as problem:
            self.error = str(problem) if isinstance(problem, AssetryError) else "Pick something to plan."
            return None
        self.error, self.moving, self.moving_what = "", "", ""
        zone = plan.zone_of(self.zone)
        local, today = slot.planned_at.astimezone(zone).date(), utcnow().astimezone(zone).date()
        self.first = local.isoformat() if local > today + timedelta(days=6) else ""
        await self._refresh(user.id)
        return rx.toast.success(said)

    @rx.event
    async def remove(self, slot_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await plan.remove(user.id, uuid.UUID(slot_id))
        except (AssetryError, ValueError) as problem:
            await self._refresh(user.id)
            return rx.toast.error(str(problem) if isinstance(problem, AssetryError) else plan.NOT_YOUR_SLOT)
        if self.moving == slot_id:
            self.moving = self.moving_what = ""
        await self._refresh(user.id)
        return rx.toast.success("Removed from your plan.")


def _slot_card(slot: SlotView) -> rx.Component:
    return rx.box(
        rx.vstack(
            rx.hstack(
                rx.text(slot.time, weight="bold", size="2"),
                rx.badge(slot.status, color_scheme=slot.status_color, variant="soft"),
                wrap="wrap",
                align="center",
                spacing="2",
            ),
            rx.text(slot.what, size="2", class_name="slot-what", style={"overflow_wrap": "anywhere"}),
            rx.cond(
                slot.gone,
                rx.text("Deleted from your library: no reminder for it.", size="1", color_scheme="red"),
            ),
            rx.cond(
                slot.post_id != "",
                rx.link(slot.post_detail, href="/analytics/post/" + slot.post_id, size="1"),
            ),
            rx.cond(
                slot.can_change,
                rx.hstack(
                    rx.button(
                        "Move",
                        size="1",
                        variant="soft",
                        on_click=PlanState.start_moving(slot.id, slot.what, slot.day, slot.hour),
                    ),
                    rx.button(
                        "Remove",
                        size="1",
                        variant="soft",
                        color_scheme="gray",
                        on_click=PlanState.remove(slot.id),
                    ),
                    spacing="2",
                ),
            ),
            spacing="1",
            width="100%",
        ),
        padding="0.5rem",
        border_radius="var(--radius-2)",
        border=f"1px solid {rx.color('gray', 5)}",
        width="100%",
        class_name="plan-slot",
    )


def _day(day: DayView) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(day.title, size="3", as_="h3"),
                rx.cond(day.today, rx.badge("Today", color_scheme="blue")),
                align="center",
                spacing="2",
                wrap="wrap",
            ),
            rx.foreach(
                day.best,
                lambda best: rx.button(
                    rx.icon("star", size=12),
                    best.words,
                    size="1",
                    variant="outline",
                    color_scheme="green",
                    title="One of your best hours: plan this hour",
                    disabled=day.past,
                    on_click=PlanState.choose(day.iso, best.hour),
                ),
            ),
            rx.foreach(day.slots, _slot_card),
            rx.cond(
                day.slots.length() == 0,
                rx.text("Nothing planned", size="1", color_scheme="gray"),
            ),
            spacing="2",
            width="100%",
        ),
        class_name="plan-day",
        id="day-" + day.iso,
        opacity=rx.cond(day.past, "0.75", "1"),
        width="100%",
        min_width="0",
    )


def _labelled(
    name: str, label: str, element, *children, value: rx.Var, type: str = "", **box
) -> rx.Component:
    """A native form field (select or date) with its label; remounted when the state sets its value."""
    props = {"type": type} if type else {}
    field = element(
        *children, name=name, id=name, default_value=value, key=value, style=NATIVE_SELECT, **props
    )
    return rx.vstack(label_for(name, label), field, spacing="1", **box)


def _form() -> rx.Component:
    return rx.form(
        rx.flex(
            rx.cond(
                PlanState.moving != "",
                rx.vstack(
                    rx.text("Moving", size="2", weight="medium"),
                    rx.text(PlanState.moving_what, size="2", style={"overflow_wrap": "anywhere"}),
                    spacing="1",
                    flex="2",
                    min_width="12rem",
                ),
                _labelled(
                    "generation_id",
                    "What",
                    rx.el.select,
                    rx.foreach(PlanState.choices, lambda c: rx.el.option(c.what, value=c.id)),
                    value=PlanState.generation_id,
                    flex="2",
                    min_width="12rem",
                ),
            ),
            _labelled("day", "Day", rx.el.input, type="date", value=PlanState.day, min_width="9rem"),
            _labelled(
                "hour",
                "Hour",
                rx.el.select,
                *[rx.el.option(f"{hour}:00", value=hour) for hour in HOURS],
                value=PlanState.hour,
                min_width="6rem",
            ),
            rx.hstack(
                rx.button(
                    rx.cond(PlanState.moving != "", "Move", "Plan"), type="submit", size="3", id="plan-save"
                ),
                rx.cond(
                    PlanState.moving != "",
                    rx.button(
                        "Cancel",
                        type="button",
                        size="3",
                        variant="soft",
                        color_scheme="gray",
                        on_click=PlanState.stop_moving,
                    ),
                ),
                spacing="2",
            ),
            gap="3",
            wrap="wrap",
            align="end",
            width="100%",
        ),
        on_submit=PlanState.save,
        width="100%",
    )


def plan_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.heading("Plan", size="7"),
            rx.text(
                "Place what you made on the hour you mean to post it. We remind you then, by email and "
                "here; once a sync sees the post, its slot shows it. Times are on your clock (",
                PlanState.zone,
                ", ",
                rx.link("change it in Settings", href="/settings"),
                ").",
                color_scheme="gray",
            ),
            rx.card(
                rx.vstack(
                    rx.heading("Your best hours", size="4", as_="h2"),
                    rx.cond(
                        PlanState.best.length() > 0,
                        rx.vstack(
                            rx.foreach(PlanState.best, lambda words: rx.text(words, size="2")),
                            rx.text(
                                "From your own posts: the hours (on your clock) whose posts have the highest "
                                "median views, among hours with at least 2 posts. Marked with a star below.",
                                size="1",
                                color_scheme="gray",
                            ),
                            spacing="1",
                        ),
                        rx.text(
                            "Not enough posts yet: an hour is named once at least 2 of your synced posts "
                            "were published in it. Connect an account on Analytics to see yours.",
                            size="2",
                            color_scheme="gray",
                        ),
                    ),
                    spacing="2",
                ),
                width="100%",
            ),
            rx.cond(
                PlanState.loaded & (PlanState.choices.length() == 0),
                rx.callout(
                    rx.text(
                        "Nothing to plan yet: make a video, an image or captions in the ",
                        rx.link("Studio", href="/studio"),
                        " first.",
                    ),
                    icon="info",
                ),
                _form(),
            ),
            rx.cond(
                PlanState.error != "",
                rx.callout(
                    PlanState.error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"
                ),
            ),
            rx.hstack(
                rx.button(
                    rx.icon("chevron-left", size=16),
                    "Earlier",
                    variant="soft",
                    size="2",
                    on_click=PlanState.shift(-1),
                ),
                rx.button("This week", variant="soft", size="2", on_click=PlanState.shift(0)),
                rx.button(
                    "Later",
                    rx.icon("chevron-right", size=16),
                    variant="soft",
                    size="2",
                    on_click=PlanState.shift(1),
                ),
                rx.text(PlanState.range_label, size="2", weight="medium", id="plan-range"),
                align="center",
                wrap="wrap",
                spacing="2",
            ),
            rx.grid(
                rx.foreach(PlanState.days, _day),
                columns=rx.breakpoints(initial="1", sm="2", lg="4"),
                spacing="3",
                width="100%",
                id="plan-week",
            ),
            spacing="4",
            width="100%",
        )
    )
