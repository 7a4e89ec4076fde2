"""The analytics dashboard: totals and change, charts with notes, top posts, best time to post."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date
from urllib.parse import urlencode

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink

from assetry.components import charts, heatmap, plain
from assetry.components.plot import place_kept, plot_if
from assetry.components.styles import skipped_until_near
from assetry.components.tables import stacked_on_a_phone
from assetry.errors import BadInput
from assetry.models import ConnectedAccount, User
from assetry.services import connections, dashboard, platforms
from assetry.state.colours import Colour
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, signed_in_user

LABELS = {
    "views": "Views",
    "likes": "Likes",
    "comments": "Comments",
    "shares": "Shares",
    "saves": "Saves",
    "reach": "Reach",
    "interactions": "Interactions",
}
ALL = "all"
TOTALS_COLUMNS = rx.breakpoints(initial="2", sm="3", lg="4")
LABELS_VAR = rx.Var.create(LABELS)


@dataclasses.dataclass
class TotalView:
    metric: str = ""
    label: str = ""
    value: str = ""
    # The line under the number: the change, or why there is no number.
    change: str = ""
    change_color: Colour = "gray"


@dataclasses.dataclass
class TopPostView:
    id: str = ""
    title: str = ""
    platform: str = ""
    cover_url: str = ""
    published: str = ""
    views: str = ""
    likes: str = ""
    comments: str = ""
    shares: str = ""
    gained: str = ""


@dataclasses.dataclass
class AccountOption:
    id: str = ""
    label: str = ""


@dataclasses.dataclass
class FollowerView:
    account: str = ""
    followers: str = ""
    change: str = ""


def number(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _total_view(total: dashboard.Total) -> TotalView:
    if total.value is None:
        return TotalView(total.metric, LABELS[total.metric], "—", total.missing, "gray")
    if total.change_pct is None:
        change, color = (
            ("no earlier data to compare" if total.previous is None else "new this period"),
            "gray",
        )
    else:
        change = f"{total.change_pct:+.1f}% vs previous period"
        color = "green" if total.change_pct > 0 else "red" if total.change_pct < 0 else "gray"
    return TotalView(total.metric, LABELS[total.metric], f"{total.value:,}", change, color)


class DashboardState(PageLocal, rx.State):
    """The dashboard's filters and what they show."""

    preset: str = "30"
    start: str = ""
    end: str = ""
    account: str = ALL
    metric: str = "views"
    period_label: str = ""
    totals: list[TotalView] = []
    engagement: str = "—"
    engagement_change: str = ""
    followers: list[FollowerView] = []
    top_posts: list[TopPostView] = []
    series_figure: dict = charts.EMPTY  # a plotly figure: its data and layout
    heatmap_rows: list[heatmap.WeekdayRow] = []
    best_slot: str = ""
    best_slot_detail: str = ""
    metrics_available: list[str] = []
    account_options: list[AccountOption] = []
    has_data: bool = False
    # No account connected and no history kept: the page shows the connect panel instead.
    empty: bool = False
    error: str = ""
    # What the chart is drawn from, every metric's series: picking another metric asks the database nothing.
    _series: dict[str, list] = {}
    _notes: list[tuple] = []
    _partial_day: date | None = None
    # Every preset's figures, loaded together: switching between them asks the database nothing,
    # while they are for today on the creator's clock and the account shown (`_presets_for`).
    _presets: dict[str, dashboard.Overview] = {}
    _presets_for: tuple = ()
    _heatmap: list | None = None  # what `heatmap_rows` shows

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        return await self._open(user)

    async def _open(self, user: User, accounts: list[ConnectedAccount] | None = None) -> None:
        """Fill the dashboard for the signed-in user (on its own, or with the whole page: `AnalyticsState`,
        which hands over the accounts it read for the connections' cards)."""
        self._presets, self._presets_for = {}, ()  # the page opened: read what was synced since
        self._heatmap = None  # and draw it all
        await self._show_for(user, accounts)

    @rx.event
    async def set_preset(self, preset: str | list[str]):
        if isinstance(preset, str) and preset in (*dashboard.PRESETS, "custom"):
            self.preset = preset
            if (loaded := self._loaded(preset)) is not None:
                self._show(loaded)
            elif preset != "custom":
                return await self._refresh()
        return None

    @rx.event
    async def set_custom(self, form: dict):
        self.start, self.end = str(form.get("start", "")), str(form.get("end", ""))
        return await self._refresh()

    @rx.event
    async def set_account(self, account: str):
        self.account = account
        return await self._refresh()

    @rx.event
    def set_metric(self, metric: str | list[str]) -> None:
        if isinstance(metric, str) and metric in self._series:
            self.metric = metric
            self._draw_series()

    @rx.event
    async def export_csv(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        zone = user.time_zone
        try:
            account_ids = self._account_ids()
            period = dashboard.period_for(
                self.preset, today=dashboard.today_in(zone), zone=zone, start=self.start, end=self.end
            )
        except BadInput as problem:
            return rx.toast.error(str(problem))
        # The browser fetches it from our route, which writes the rows as it reads them.
        asked = {"preset": self.preset, "start": self.start, "end": self.end}
        asked |= {"account": str(account_ids[0])} if account_ids else {}
        return rx.download(
            url=f"{dashboard.CSV_ROUTE}?{urlencode(asked)}", filename=dashboard.csv_name(period)
        )

    async def _figures(self, user) -> dashboard.Overview:
        """The chosen range's figures: a custom range asked for; a preset's from what is loaded,
        else every preset's asked for together."""
        zone, account_ids = user.time_zone, self._account_ids()
        today = dashboard.today_in(zone)
        if self.preset not in dashboard.PRESETS:
            period = dashboard.period_for(self.preset, today=today, zone=zone, start=self.start, end=self.end)
            return await dashboard.overview(user.id, period, account_ids=account_ids)
        if self._presets_for != self._current(zone):
            periods = [dashboard.period_for(preset, today=today, zone=zone) for preset in dashboard.PRESETS]
            loaded = await dashboard.overviews(user.id, periods, account_ids=account_ids)
            self._presets = dict(zip(dashboard.PRESETS, loaded, strict=True))
            self._presets_for = self._current(zone)
        return self._presets[self.preset]

    def _current(self, zone: str) -> tuple:
        """What the loaded presets must be for to be shown: today on the creator's clock, the account."""
        return (dashboard.today_in(zone), zone, self.account)

    def _loaded(self, preset: str) -> dashboard.Overview | None:
        """The preset's figures if they are loaded and still current."""
        if preset not in self._presets or self._presets_for != self._current(self._presets_for[1]):
            return None
        return self._presets[preset]

    def _account_ids(self) -> list[uuid.UUID] | None:
        if self.account == ALL:
            return None
        try:
            return [uuid.UUID(self.account)]
        except ValueError:
            raise BadInput("Pick an account from the list.") from None

    async def _refresh(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        await self._show_for(user)
        return None

    async def _show_for(self, user: User, accounts: list[ConnectedAccount] | None = None) -> None:
        """Read and show the chosen range's figures (a problem with the range: its message); the
        account picker's accounts are read unless they were just read (`accounts`)."""
        self.error = ""
        if accounts is None:
            accounts = await connections.accounts_of(user.id)
        self.account_options = [
            AccountOption(str(a.id), f"{a.display_name or a.username} ({platforms.label(a.platform)})")
            for a in accounts
        ]
        if self.account != ALL and self.account not in {a.id for a in self.account_options}:
            self.account = ALL  # that account was disconnected
        try:
            result = await self._figures(user)
        except BadInput as problem:
            self.error = str(problem)
            return
        self._show(result)

    def _show(self, result: dashboard.Overview) -> None:
        period = result.period
        self.period_label = f"{period.start:%b %-d} – {period.end:%b %-d, %Y} ({period.zone})"
        self.has_data = result.has_data
        self.empty = not self.account_options and not result.has_data
        self.totals = [_total_view(result.totals[m]) for m in LABELS if m != "interactions"]
        self.metrics_available = [m for m in LABELS if m in result.series]
        if self.metric not in result.series and self.metrics_available:
            self.metric = self.metrics_available[0]
        rate, before = result.engagement_rate, result.previous_engagement_rate
        self.engagement = "—" if rate is None else f"{rate:.2f}%"
        self.engagement_change = (
            "" if rate is None or before is None else f"{rate - before:+.2f} points vs previous period"
        )
        self.followers = [
            FollowerView(
                name,
                "followers not shared with apps (TikTok basic access)"
                if now is None
                else f"{now:,} followers",
                "" if change is None else f"{change:+,} in this period",
            )
            for name, now, change in result.followers
        ]
        self.top_posts = [
            TopPostView(
                id=str(p.id),
                title=p.title or "(no caption)",
                platform=platforms.label(p.platform),
                cover_url=p.cover_url,
                published=f"{p.posted_at:%b %-d, %Y}",
                views=number(p.metrics.get("views")),
                likes=number(p.metrics.get("likes")),
                comments=number(p.metrics.get("comments")),
                shares=number(p.metrics.get("shares")),
                gained=number(p.gained.get("views")),
            )
            for p in result.top_posts
        ]
        self._series, self._partial_day = result.series, result.partial_day
        self._notes = [(n.day, n.body) for n in result.notes]
        self._draw_series()
        if result.heatmap != self._heatmap:  # the same for every preset: not drawn or sent again
            self._heatmap = result.heatmap
            self.heatmap_rows = heatmap.rows(result.heatmap)
        best = result.best_slot
        self.best_slot = "" if best is None else best.sentence()
        self.best_slot_detail = "" if best is None else best.detail()

    def _draw_series(self) -> None:
        figure = charts.time_series(
            self._series.get(self.metric, []), LABELS[self.metric], self._notes, self._partial_day
        )
        if figure != self.series_figure:  # the same chart is not sent again
            self.series_figure = figure


def _figure_card(
    label: str | rx.Var[str],
    value: rx.Var[str],
    line: rx.Var[str],
    line_colour: rx.Var[str] | str,
    class_name: str = "",
) -> rx.Component:
    """A figure, its name above and a line below: a Radix card, vstack and texts drawn as their own
    markup (eight of them mount with the page's data, each Radix component a few React components)."""
    return plain.card(
        plain.stack(
            plain.text(label, size=2, colour="gray"),
            plain.text(value, size=6, weight="bold"),
            plain.text(line, size=1, colour=line_colour),
        ),
        class_name=class_name,
    )


def _total_card(total: TotalView) -> rx.Component:
    return _figure_card(total.label, total.value, total.change, total.change_color, "total-card")


def _range_picker() -> rx.Component:
    return rx.vstack(
        rx.flex(
            rx.segmented_control.root(
                rx.segmented_control.item("7 days", value="7"),
                rx.segmented_control.item("30 days", value="30"),
                rx.segmented_control.item("90 days", value="90"),
                rx.segmented_control.item("Custom", value="custom"),
                value=DashboardState.preset,
                on_change=DashboardState.set_preset,
            ),
            rx.select.root(
                rx.select.trigger(aria_label="Account"),
                rx.select.content(
                    rx.select.item("All accounts", value=ALL),
                    rx.foreach(DashboardState.account_options, lambda a: rx.select.item(a.label, value=a.id)),
                ),
                value=DashboardState.account,
                on_change=DashboardState.set_account,
            ),
            rx.text(DashboardState.period_label, size="1", color_scheme="gray"),
            spacing="3",
            wrap="wrap",
            align="center",
        ),
        # The custom range gets a row of its own under the toolbar instead of wrapping it.
        rx.cond(
            DashboardState.preset == "custom",
            rx.form(
                rx.flex(
                    _labelled("From", rx.input(type="date", name="start", id="range-start",
                                               default_value=DashboardState.start)),
                    _labelled("To", rx.input(type="date", name="end", id="range-end",
                                             default_value=DashboardState.end)),
                    rx.button("Show", type="submit", variant="soft"),
                    spacing="3",
                    wrap="wrap",
                    align="end",
                ),
                on_submit=DashboardState.set_custom,
            ),
        ),
        spacing="3",
    )  # fmt: skip


def _labelled(label: str, control: rx.Component) -> rx.Component:
    """A form control with its visible label above it."""
    return rx.vstack(
        rx.el.label(label, html_for=control.id, style={"fontSize": "var(--font-size-1)"}),
        control,
        spacing="1",
    )


# Each row is plain elements with the classes Radix Themes would give them (Table.Row, Table.Cell,
# Link, Flex, Text): ten rows of Radix components were a quarter of the components React mounts
# when the page's data arrives, each with its props turned into classes and its styles hashed.
TOP_POST_STYLES = {
    "& .top-post-cell": {"--min-width": "14rem"},
    "& .top-post-link": {"color": "inherit", "&:hover": {"color": "var(--accent-8)"}},
    "& .top-post-cover": {
        "width": "2.5rem",
        "height": "3.5rem",
        "object_fit": "cover",
        "border_radius": "var(--radius-2)",
        "flex_shrink": "0",
    },
}


def _number_cell(value: rx.Var[str]) -> rx.Component:
    return rx.el.td(value, class_name="rt-TableCell", align="right")


def _top_post_row(post: TopPostView) -> rx.Component:
    return rx.el.tr(
        rx.el.td(
            ReactRouterLink.create(
                plain.stack(
                    rx.cond(
                        post.cover_url != "",
                        rx.el.img(src=post.cover_url, alt="", class_name="top-post-cover"),
                    ),
                    plain.stack(
                        plain.text(post.title, size=2, weight="medium"),
                        plain.text(post.platform, " · ", post.published, size=1, colour="gray"),
                        gap=0,
                    ),
                    direction="row",
                    align="center",
                    gap=3,
                ),
                to="/analytics/post/" + post.id,
                class_name="rt-Text rt-reset rt-Link rt-underline-none top-post-link",
            ),
            class_name="rt-TableCell rt-r-min-w top-post-cell",
        ),
        _number_cell(post.gained),
        _number_cell(post.views),
        _number_cell(post.likes),
        _number_cell(post.comments),
        _number_cell(post.shares),
        class_name="rt-TableRow",
    )


def dashboard_section() -> rx.Component:
    """The dashboard part of the analytics page (connections and trackers sit around it);
    nothing while there is nothing to show (the connections' panel says what to do)."""
    return rx.cond(DashboardState.empty, rx.fragment(), _dashboard())


def _dashboard() -> rx.Component:
    return rx.vstack(
        rx.hstack(
            _range_picker(),
            rx.spacer(),
            rx.button(
                rx.icon("download", size=14), "Export CSV", variant="soft", on_click=DashboardState.export_csv
            ),
            width="100%",
            wrap="wrap",
        ),
        rx.cond(
            DashboardState.error != "", rx.callout(DashboardState.error, color_scheme="red", role="alert")
        ),
        rx.grid(
            rx.foreach(DashboardState.totals, _total_card),
            _figure_card(
                "Engagement rate", DashboardState.engagement, DashboardState.engagement_change, "gray"
            ),
            columns=TOTALS_COLUMNS,
            spacing="3",
            width="100%",
        ),
        rx.cond(
            DashboardState.followers.length() > 0,
            rx.hstack(
                rx.foreach(
                    DashboardState.followers,
                    # Wraps: "…: followers not shared with apps (TikTok basic access)" is wider than a phone.
                    lambda f: rx.badge(
                        f.account,
                        ": ",
                        f.followers,
                        " ",
                        f.change,
                        variant="soft",
                        size="2",
                        style={"display": "inline-block", "white_space": "normal", "max_width": "100%"},
                    ),
                ),
                wrap="wrap",
            ),
        ),
        rx.card(
            rx.vstack(
                rx.hstack(
                    rx.heading("Over time", size="4", as_="h2"),
                    rx.spacer(),
                    rx.el.label(
                        "Metric", html_for="over-time-metric", style={"fontSize": "var(--font-size-2)"}
                    ),
                    rx.select.root(
                        rx.select.trigger(aria_label="Metric", id="over-time-metric"),
                        rx.select.content(
                            rx.foreach(
                                DashboardState.metrics_available,
                                lambda m: rx.select.item(LABELS_VAR[m], value=m),
                            )
                        ),
                        value=DashboardState.metric,
                        on_change=DashboardState.set_metric,
                    ),
                    width="100%",
                    align="center",
                ),
                plot_if(
                    DashboardState.has_data,
                    DashboardState.series_figure,
                    height=charts.SERIES_HEIGHT,
                    otherwise=rx.text(
                        "No numbers yet. They appear after the first sync of a connected account.",
                        color_scheme="gray",
                        size="2",
                    ),
                ),
                width="100%",
            ),
            width="100%",
        ),
        rx.card(
            rx.vstack(
                rx.heading("Top posts", size="4", as_="h2"),
                rx.box(
                    rx.table.root(
                        rx.table.header(
                            rx.table.row(
                                rx.table.column_header_cell("Post"),
                                rx.table.column_header_cell(
                                    "Views in period", align="right", white_space="nowrap"
                                ),
                                rx.table.column_header_cell("Views", align="right"),
                                rx.table.column_header_cell("Likes", align="right"),
                                rx.table.column_header_cell("Comments", align="right"),
                                rx.table.column_header_cell("Shares", align="right"),
                            )
                        ),
                        rx.table.body(rx.foreach(DashboardState.top_posts, _top_post_row)),
                        width="100%",
                        size="1",
                        style={
                            **TOP_POST_STYLES,
                            **stacked_on_a_phone(
                                ["", "Views in period", "Views", "Likes", "Comments", "Shares"]
                            ),
                        },
                    ),
                    overflow_x="auto",
                    width="100%",
                ),
                width="100%",
            ),
            width="100%",
            style=skipped_until_near(2200, 840),
        ),
        rx.card(
            rx.vstack(
                rx.heading("Best time to post", size="4", as_="h2"),
                rx.cond(
                    DashboardState.best_slot != "",
                    rx.vstack(
                        rx.text(DashboardState.best_slot, size="4", weight="bold", id="best-slot"),
                        rx.text(DashboardState.best_slot_detail, size="1", color_scheme="gray"),
                        spacing="1",
                    ),
                    rx.cond(
                        DashboardState.has_data,
                        rx.text(
                            f"Not enough posts yet to name a best time: a slot needs at least "
                            f"{dashboard.BEST_SLOT_MIN_POSTS} posts published in it.",
                            size="2",
                            color_scheme="gray",
                        ),
                    ),
                ),
                rx.text(
                    "Each square: the median views of your posts published on that weekday and hour "
                    "(your time zone), darker for more; grey squares had no post. On a phone the "
                    "squares show their shade only; a wider screen writes each number in.",
                    size="1",
                    color_scheme="gray",
                ),
                place_kept(
                    DashboardState.has_data,
                    heatmap.heatmap(DashboardState.heatmap_rows),
                    height=heatmap.HEIGHT,
                ),
                width="100%",
            ),
            width="100%",
            style=skipped_until_near(480),
        ),
        spacing="4",
        width="100%",
    )
