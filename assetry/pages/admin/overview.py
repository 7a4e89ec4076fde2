"""Admin overview: sign-ups, active users, generations and cost, sync health, waitlist — aggregates only."""

from __future__ import annotations

import dataclasses

import plotly.graph_objects as go
import reflex as rx

from assetry.components import admin_charts
from assetry.components.plot import plot
from assetry.errors import AssetryError
from assetry.models import User
from assetry.pages.admin.common import admin_page, form_message, table
from assetry.services.admin import overview
from assetry.state.admin import open_admin_page, require_admin
from assetry.state.page_local import PageLocal


@dataclasses.dataclass
class GroupView:
    kind: str = ""
    provider: str = ""
    status: str = ""
    count: str = ""
    cost: str = ""


@dataclasses.dataclass
class Figure:
    label: str = ""
    value: str = ""
    hint: str = ""


class AdminOverviewState(PageLocal, rx.State):
    """The overview's period and its figures."""

    period: str = "30"
    figures: list[Figure] = []
    groups: list[GroupView] = []
    failed_jobs: list[Figure] = []
    signups_chart: go.Figure = go.Figure()
    active_chart: go.Figure = go.Figure()
    generations_chart: go.Figure = go.Figure()
    waitlist_chart: go.Figure = go.Figure()
    error: str = ""

    @rx.event
    async def load(self):
        return await open_admin_page(self, "AdminOverviewState.load", self._open)

    async def _open(self, admin: User) -> None:
        await self._show(admin.id)

    @rx.event
    async def set_period(self, value: str | list[str]):
        admin, refusal = await require_admin(self, "AdminOverviewState.set_period")
        if refusal:
            return refusal
        if not isinstance(value, str) or value not in overview.PERIODS:
            self.error = "Pick 7, 30 or 90 days."
            return None
        self.period = value
        await self._show(admin.id)
        return None

    async def _show(self, admin_id):
        self.error = ""
        try:
            result = await overview.overview(admin_id, overview.period_days(self.period))
        except AssetryError as problem:
            self.error = str(problem)
            return
        self.figures = [
            Figure("Users", f"{result.users_total:,}", f"{sum(result.signups):,} signed up in this period"),
            Figure("Active today", f"{result.active_day:,}", "distinct users, UTC day so far"),
            Figure("Active this week", f"{result.active_week:,}", "last 7 UTC days, today included"),
            Figure("Active this month", f"{result.active_month:,}", "last 30 UTC days, today included"),
            Figure(
                "Generations",
                f"{result.generations_count:,}",
                f"${result.generations_cost:,.2f} in this period",
            ),
            Figure(
                "Accounts needing reconnect",
                f"{result.accounts_needing_reconnect:,}",
                f"of {result.accounts_total:,} connected",
            ),
            Figure("Jobs waiting", f"{result.jobs_queued:,}", f"{result.jobs_running:,} running now"),
            Figure("Waitlist", f"{result.waitlist_total:,}", f"{result.waitlist_invited:,} invited"),
        ]
        self.groups = [
            GroupView(g.kind, g.provider, g.status, f"{g.count:,}", f"${g.cost_usd:,.2f}")
            for g in result.generations
        ]
        self.failed_jobs = [Figure(kind, f"{n:,}", "") for kind, n in result.failed_jobs]
        self.signups_chart = admin_charts.daily(result.days, result.signups, "sign-ups")
        self.active_chart = admin_charts.daily(result.days, result.active, "active users")
        self.generations_chart = admin_charts.generations(
            [(f"{g.kind} · {g.provider}", g.status, g.count) for g in result.generations]
        )
        self.waitlist_chart = admin_charts.daily(result.days, result.waitlist, "on the waitlist", bars=False)


def _figure(item: Figure) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(item.label, size="2", color_scheme="gray"),
            rx.text(item.value, size="6", weight="bold"),
            rx.text(item.hint, size="1", color_scheme="gray"),
            spacing="1",
        ),
        width="100%",
    )


def _chart(title: str, figure, height: int = admin_charts.DAILY_HEIGHT) -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.text(title, weight="medium"),
            plot(figure, height=height),
            width="100%",
        ),
        width="100%",
    )


def _group_row(group: GroupView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(group.kind),
        rx.table.cell(group.provider),
        rx.table.cell(group.status),
        rx.table.cell(group.count),
        rx.table.cell(group.cost),
    )


def _failed_row(item: Figure) -> rx.Component:
    return rx.table.row(rx.table.cell(item.label), rx.table.cell(item.value))


def overview_page() -> rx.Component:
    state = AdminOverviewState
    return admin_page(
        "Overview",
        rx.hstack(
            rx.text("Period", size="2"),
            rx.segmented_control.root(
                rx.segmented_control.item("7 days", value="7"),
                rx.segmented_control.item("30 days", value="30"),
                rx.segmented_control.item("90 days", value="90"),
                value=state.period,
                on_change=state.set_period,
            ),
            rx.text("Counts only: no figure here names a user.", size="1", color_scheme="gray"),
            align="center",
            wrap="wrap",
            spacing="3",
        ),
        form_message(state.error),
        rx.grid(
            rx.foreach(state.figures, _figure),
            columns=rx.breakpoints(initial="2", md="4"),
            spacing="3",
            width="100%",
        ),
        rx.grid(
            _chart("Sign-ups a day", state.signups_chart),
            _chart("Active users a day", state.active_chart),
            rx.cond(
                state.groups.length() > 0,
                _chart(
                    "Generations by kind and provider",
                    state.generations_chart,
                    admin_charts.GENERATIONS_HEIGHT,
                ),
                rx.card(
                    rx.vstack(
                        rx.text("Generations by kind and provider", weight="medium"),
                        rx.text("No generation in this period.", color_scheme="gray"),
                    ),
                    width="100%",
                ),
            ),
            _chart("Waitlist size", state.waitlist_chart),
            columns=rx.breakpoints(initial="1", lg="2"),
            spacing="3",
            width="100%",
        ),
        rx.heading("Generations and cost", size="4", as_="h2"),
        rx.cond(
            state.groups.length() > 0,
            table(["Kind", "Provider", "Status", "Count", "Cost"], state.groups, _group_row),
            rx.text("No generation in this period.", color_scheme="gray"),
        ),
        rx.heading("Failed jobs in this period", size="4", as_="h2"),
        rx.cond(
            state.failed_jobs.length() > 0,
            table(["Kind", "Failed"], state.failed_jobs, _failed_row),
            rx.text("No job failed in this period.", color_scheme="gray"),
        ),
    )
