"""Connected accounts on the analytics page: connect, health, reconnect, sync now, disconnect."""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import datetime

import reflex as rx

from assetry.config import Mode, get_settings
from assetry.errors import AssetryError
from assetry.models import ConnectedAccount, User
from assetry.models.analytics import NEEDS_RECONNECT
from assetry.models.base import utcnow
from assetry.services import connections, platforms
from assetry.state.colours import Colour
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, session_token, signed_in_user
from assetry.state.watching import Progress, Watching

OUTCOMES = {
    "connected": ("green", "Connected. Your first sync is running; numbers appear as it goes."),
    "reconnected": ("green", "Reconnected. Syncing again."),
    # What the two above become once the sync they announce has ended.
    "synced": ("green", "Connected, and the first sync is done: your numbers are below."),
    "denied": ("orange", "You didn't allow access on the consent screen, so nothing was connected."),
    "expired": ("red", "That connection link expired or was already used. Start again with Connect."),
    "mismatch": (
        "orange",
        "You signed in to a different account than the one you were reconnecting; nothing changed.",
    ),
    "failed": ("red", "The platform didn't complete the connection. Please try again in a minute."),
}
REVOKE_PAGES = {
    "tiktok": "TikTok: Settings → Security and permissions → Manage app permissions",
    "instagram": "Instagram: Settings → Apps and websites (or Facebook's Business Integrations)",
}


@dataclasses.dataclass
class AccountView:
    id: str = ""
    platform: str = ""
    platform_label: str = ""
    name: str = ""
    avatar_url: str = ""
    sandbox: bool = False
    needs_reconnect: bool = False
    status_message: str = ""
    syncing: bool = False
    last_sync: str = ""
    # "next …" while no sync runs; empty during one (the Syncing badge says it).
    next_sync: str = ""
    token_expiry: str = ""
    followers: str = ""


def _when(moment: datetime | None, never: str) -> str:
    """How long ago or from now, as the account card says it: "12 min ago", "in 3 h"."""
    if moment is None:
        return never
    delta = moment - utcnow()
    minutes = int(abs(delta.total_seconds()) // 60)
    if minutes == 0:
        return "in under a minute" if delta.total_seconds() > 0 else "just now"
    span = (
        f"{minutes} min"
        if minutes < 120
        else f"{minutes // 60} h"
        if minutes < 2880
        else f"{minutes // 1440} days"
    )
    return f"in {span}" if delta.total_seconds() > 0 else f"{span} ago"


def _next_sync(moment: datetime | None) -> str:
    """When the next scheduled sync runs; one that is due waits for the scheduler's next round."""
    if moment is not None and moment <= utcnow():
        return "soon"
    return _when(moment, "not scheduled")


class ConnectionsState(PageLocal, Watching, rx.State):
    """The list of connected accounts and what a creator can do with each."""

    accounts: list[AccountView] = []
    outcome: str = ""
    outcome_color: Colour = "green"
    revoke_hint: str = ""
    # In sandbox mode the Connect buttons open demo consent pages with made-up creators.
    sandbox: bool = False

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        return await self._open(user)

    async def _open(self, user: User, found: list[tuple[ConnectedAccount, bool]] | None = None):
        """Fill the section for the signed-in user (on its own, or with the whole page: `AnalyticsState`,
        which reads the accounts once for this section and the dashboard: `found`)."""
        query = self.router.url.query_parameters
        outcome = str(query.get("oauth", ""))
        await self._refresh(user.id, found)
        running = any(a.syncing for a in self.accounts)
        if outcome in ("connected", "reconnected") and not running:
            outcome = "synced"  # came back after the sync ended (a reload, a second tab)
        color, text = OUTCOMES.get(outcome, ("green", ""))
        self.outcome, self.outcome_color = text, color
        return ConnectionsState.watch if running else None

    @rx.event
    async def connect(self, platform: str, account_id: str = ""):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            url = await connections.begin(
                user.id,
                await session_token(self),
                platform,
                reconnect=uuid.UUID(account_id) if account_id else None,
            )
        except (AssetryError, ValueError) as problem:
            return rx.toast.error(str(problem))
        # A full page load: the consent page is served by the platform (or the mounted sandbox), not by the app.
        return rx.call_script(f"window.location.assign({json.dumps(url)})")

    @rx.event
    async def sync_now(self, account_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await connections.sync_now(user.id, uuid.UUID(account_id))
        except (AssetryError, ValueError) as problem:
            return rx.toast.error(str(problem))
        await self._refresh(user.id)
        return [rx.toast.info("Syncing…"), ConnectionsState.watch]

    @rx.event
    async def disconnect(self, account_id: str, keep_history: bool):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        platform = next((a.platform for a in self.accounts if a.id == account_id), "")
        try:
            revoked = await connections.disconnect(
                user.id, uuid.UUID(account_id), keep_history=bool(keep_history)
            )
        except (AssetryError, ValueError) as problem:
            return rx.toast.error(str(problem))
        await self._refresh(user.id)
        self.revoke_hint = "" if revoked else REVOKE_PAGES.get(platform, "")
        kept = "Your synced history was kept." if keep_history else "Its synced history was deleted."
        how = (
            "access was revoked with the platform"
            if revoked
            else "the platform offers no revoke for apps like ours"
        )
        return [rx.toast.success(f"Disconnected: tokens deleted and {how}. {kept}"), _reload_dashboard()]

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """Refresh the account list, and the dashboard with it, while a sync runs; when it
        ends, the banner that announced it says it is done."""
        await self._refresh(user_id)
        running = any(a.syncing for a in self.accounts)
        if not running and self.outcome in (OUTCOMES["connected"][1], OUTCOMES["reconnected"][1]):
            self.outcome_color, self.outcome = OUTCOMES["synced"]
        return Progress(running=running, tell=[_reload_dashboard()])

    async def _refresh(
        self, user_id: uuid.UUID, found: list[tuple[ConnectedAccount, bool]] | None = None
    ) -> None:
        if found is None:
            found = await connections.accounts_and_syncs(user_id)
        self.sandbox = get_settings().tiktok_mode is Mode.EMBEDDED
        self.accounts = [
            AccountView(
                id=str(a.id),
                platform=a.platform,
                platform_label=platforms.label(a.platform),
                name=a.display_name or a.username or a.platform_account_id,
                avatar_url=a.avatar_url,
                sandbox=a.sandbox,
                needs_reconnect=a.status == NEEDS_RECONNECT,
                status_message=a.status_message,
                syncing=syncing,
                last_sync=_when(a.last_synced_at, "not yet"),
                next_sync="" if syncing else _next_sync(a.next_sync_at),
                token_expiry=_when(a.token_expires_at, "unknown"),
                followers="" if a.followers is None else f"{a.followers:,} followers",
            )
            for a, syncing in found
        ]


def _reload_dashboard():
    from assetry.pages.analytics.dashboard import DashboardState

    return DashboardState.load


def _account_card(account: AccountView) -> rx.Component:
    return rx.card(
        rx.hstack(
            # The name is written beside it: the picture is decoration (alt="").
            rx.avatar(
                src=account.avatar_url,
                fallback=account.name[:2],
                size="4",
                radius="full",
                custom_attrs={"alt": ""},
            ),
            rx.vstack(
                rx.hstack(
                    rx.text(account.name, weight="bold"),
                    rx.badge(account.platform_label, variant="outline"),
                    rx.cond(account.sandbox, rx.badge("Sandbox", color_scheme="amber")),
                    rx.cond(account.needs_reconnect, rx.badge("Needs reconnect", color_scheme="red")),
                    rx.cond(account.syncing, rx.badge(rx.spinner(size="1"), "Syncing", color_scheme="blue")),
                    wrap="wrap",
                    align="center",
                ),
                rx.text(
                    "Last sync ",
                    account.last_sync,
                    rx.cond(account.next_sync != "", " · next " + account.next_sync, ""),
                    " · token expires ",
                    account.token_expiry,
                    rx.cond(account.followers != "", " · " + account.followers, ""),
                    size="1",
                    color_scheme="gray",
                ),
                rx.cond(
                    account.status_message != "",
                    rx.text(account.status_message, size="1", color_scheme="red"),
                ),
                spacing="1",
                flex="1",
                # Narrower than this, the buttons wrap below instead of squeezing the details.
                min_width="13rem",
            ),
            rx.hstack(
                rx.cond(
                    account.needs_reconnect,
                    rx.button(
                        "Reconnect", size="2", on_click=ConnectionsState.connect(account.platform, account.id)
                    ),
                    rx.button(
                        "Sync now",
                        size="2",
                        variant="soft",
                        on_click=ConnectionsState.sync_now(account.id),
                        disabled=account.syncing,
                    ),
                ),
                _disconnect_dialog(account),
                wrap="wrap",
            ),
            align="center",
            width="100%",
            wrap="wrap",
        ),
        width="100%",
        class_name="connected-account",
    )


def _disconnect_dialog(account: AccountView) -> rx.Component:
    return rx.alert_dialog.root(
        rx.alert_dialog.trigger(rx.button("Disconnect", size="2", variant="soft", color_scheme="red")),
        rx.alert_dialog.content(
            rx.alert_dialog.title("Disconnect ", account.name, "?"),
            rx.alert_dialog.description(
                "Assetry deletes its access tokens for this account and revokes them with the platform where "
                "the platform allows it. Choose what happens to the posts and numbers synced so far."
            ),
            rx.vstack(
                rx.alert_dialog.action(
                    rx.button(
                        "Disconnect and keep history",
                        variant="soft",
                        width="100%",
                        on_click=ConnectionsState.disconnect(account.id, True),
                    ),
                ),
                rx.alert_dialog.action(
                    rx.button(
                        "Disconnect and delete history",
                        color_scheme="red",
                        width="100%",
                        on_click=ConnectionsState.disconnect(account.id, False),
                    ),
                ),
                rx.alert_dialog.cancel(rx.button("Keep connected", variant="ghost", width="100%")),
                spacing="2",
                padding_top="1rem",
            ),
        ),
    )


def connections_section() -> rx.Component:
    return rx.vstack(
        rx.cond(
            ConnectionsState.outcome != "",
            rx.callout(ConnectionsState.outcome, color_scheme=ConnectionsState.outcome_color, width="100%"),
        ),
        rx.cond(
            ConnectionsState.revoke_hint != "",
            rx.callout(
                "To remove Assetry on the platform's side as well, open "
                + ConnectionsState.revoke_hint
                + ".",
                color_scheme="blue",
                width="100%",
            ),
        ),
        rx.foreach(ConnectionsState.accounts, _account_card),
        rx.cond(ConnectionsState.accounts.length() > 0, _connect_buttons(), _connect_panel()),
        spacing="3",
        width="100%",
    )


def _connect_buttons() -> rx.Component:
    return rx.hstack(
        rx.button(
            rx.icon("music-2", size=16),
            "Connect TikTok",
            on_click=ConnectionsState.connect("tiktok", ""),
            id="connect-tiktok",
        ),
        rx.button(
            rx.icon("camera", size=16),
            "Connect Instagram",
            on_click=ConnectionsState.connect("instagram", ""),
            id="connect-instagram",
        ),
        wrap="wrap",
    )


def _connect_panel() -> rx.Component:
    """What a creator with no account connected sees instead of an empty dashboard."""
    return rx.card(
        rx.vstack(
            rx.icon("chart-line", size=28, color=rx.color("accent", 9)),
            rx.heading("Connect an account to see your numbers", size="5", as_="h2"),
            rx.text(
                "Connect TikTok or Instagram and Assetry reads your posts and their numbers: totals and "
                "change, a chart over time, your top posts and the best time to post. Nothing is posted "
                "for you, and you can disconnect at any time.",
                size="2",
                color_scheme="gray",
            ),
            _connect_buttons(),
            rx.cond(
                ConnectionsState.sandbox,
                rx.hstack(
                    rx.button(
                        rx.icon("flask-conical", size=16),
                        "Try the sandbox demo",
                        variant="outline",
                        on_click=ConnectionsState.connect("tiktok", ""),
                        id="sandbox-demo",
                    ),
                    rx.text(
                        "This server runs in sandbox mode: connecting opens a demo consent page with "
                        "made-up creators and months of posts.",
                        size="1",
                        color_scheme="gray",
                    ),
                    align="center",
                    wrap="wrap",
                ),
            ),
            spacing="3",
            align="start",
            width="100%",
        ),
        width="100%",
        id="connect-panel",
    )
