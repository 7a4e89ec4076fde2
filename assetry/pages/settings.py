"""Settings: profile, email, password, sessions, preferences, connected accounts, privacy rights."""

from __future__ import annotations

import dataclasses

import reflex as rx

from assetry.components.download import download_button
from assetry.components.forms import field, form_message, label_for, text_area
from assetry.components.layout import app_page
from assetry.components.styles import FORM_WIDTH, NATIVE_SELECT
from assetry.errors import BadInput, NotAllowed
from assetry.models import User
from assetry.pages.account_deleted import DeletedAccountState
from assetry.services import accounts, local_time, platforms, privacy, profile
from assetry.state.colours import Colour
from assetry.state.page_local import PageLocal
from assetry.state.session import (
    LOGIN_ROUTE,
    SessionState,
    empty_tabs_of,
    empty_user_states,
    open_page,
    session_token,
    signed_in_user,
)
from assetry.state.watching import Progress, Watching

EMAIL_OUTCOMES = {
    "confirmed": ("green", "Your new email address is confirmed and now signs you in."),
    "failed": (
        "red",
        "That confirmation link was already used, has expired or is not valid. Ask for a new one.",
    ),
}

FORM_MESSAGES = (
    "profile_error",
    "profile_notice",
    "email_error",
    "email_notice",
    "password_error",
    "password_notice",
    "sessions_notice",
    "prefs_notice",
    "request_error",
    "request_notice",
    "delete_error",
    "export_error",
)


@dataclasses.dataclass
class SessionRow:
    id: str = ""
    browser: str = ""
    ip: str = ""
    since: str = ""
    current: bool = False


@dataclasses.dataclass
class ConnectedRow:
    platform: str = ""
    name: str = ""
    status: str = ""


class SettingsState(PageLocal, Watching, rx.State):
    """Everything on the settings page; every handler resolves the user on the server first."""

    display_name: str = ""
    time_zone: str = "UTC"
    # The browser's own zone, offered in the picker while the person has not chosen one.
    browser_zone: str = ""
    _zone_chosen: bool = False
    email: str = ""
    pending_email: str = ""
    supabase_sign_in: bool = False
    product_emails: bool = False
    usage_opt_out: bool = False
    sessions: list[SessionRow] = []
    connected: list[ConnectedRow] = []

    export_status: str = ""
    export_percent: int = 0
    export_phase: str = ""
    export_url: str = ""
    export_expires: str = ""
    export_size: str = ""
    export_error: str = ""

    delete_open: bool = False
    delete_steps: list[str] = []

    profile_error: str = ""
    profile_notice: str = ""
    email_error: str = ""
    email_notice: str = ""
    email_banner: str = ""
    email_banner_color: Colour = "green"
    password_error: str = ""
    password_notice: str = ""
    sessions_notice: str = ""
    prefs_notice: str = ""
    request_error: str = ""
    request_notice: str = ""
    delete_error: str = ""

    @rx.event
    async def load(self):
        """The only on_load: the session check, the app shell and the account's settings, in one event."""
        return await open_page(self, self._open)

    async def _open(self, user: User):
        # A message answers one action; coming back to the page starts afresh.
        for name in FORM_MESSAGES:
            setattr(self, name, "")
        self.delete_open = False
        color, text = EMAIL_OUTCOMES.get(
            str(self.router.url.query_parameters.get("email", "")), ("green", "")
        )
        self.email_banner, self.email_banner_color = text, color
        await self._refresh(user.id)
        ask_zone = rx.call_script(
            "Intl.DateTimeFormat().resolvedOptions().timeZone", callback=SettingsState.set_browser_zone
        )
        return [ask_zone, *([SettingsState.watch] if self.export_status in ("queued", "running") else [])]

    @rx.event
    def set_browser_zone(self, zone: str):
        """Preselect the browser's zone when the account has none but the default."""
        zone = str(zone or "")
        unset = not self._zone_chosen and zone not in ("UTC", "Etc/UTC")
        self.browser_zone = zone if unset and zone in profile.TIME_ZONES else ""

    async def _refresh(self, user_id) -> None:
        found = await profile.profile(user_id)
        self.display_name, self.time_zone, self.email = found.display_name, found.time_zone, found.email
        self._zone_chosen = found.time_zone_chosen
        self.pending_email, self.supabase_sign_in = found.pending_email, found.auth_backend == "supabase"
        self.product_emails, self.usage_opt_out = found.product_emails, found.usage_opt_out
        current = await session_token(self)
        self.sessions = [
            SessionRow(
                id=row.id,
                browser=row.browser,
                ip=row.ip,
                since=f"{row.signed_in_at:%Y-%m-%d %H:%M} UTC",
                current=row.current,
            )
            for row in await profile.active_sessions(user_id, current)
        ]
        self.connected = [
            ConnectedRow(platform=platforms.label(platform), name=name, status=status.replace("_", " "))
            for platform, name, status in await profile.connected_summary(user_id)
        ]
        await self._refresh_export(user_id)

    async def _refresh_export(self, user_id) -> None:
        latest = await privacy.latest_export(user_id)
        if latest is None:
            self.export_status = ""
            return
        self.export_status, self.export_percent, self.export_phase = (
            latest.status,
            latest.percent,
            latest.phase,
        )
        self.export_url, self.export_error = latest.download_url, latest.error
        self.export_expires = (
            local_time.moment_in(latest.expires_at, self.time_zone) if latest.expires_at else ""
        )
        self.export_size = f"{latest.size_bytes / 1_000_000:.1f} MB"

    @rx.event
    async def save_profile(self, form: dict):
        self.profile_error = self.profile_notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await profile.update_profile(
                user.id,
                display_name=str(form.get("display_name", "")),
                time_zone=str(form.get("time_zone", "")),
            )
        except (BadInput, NotAllowed) as problem:
            self.profile_error = str(problem)
            return None
        await self._refresh(user.id)
        session = await self.get_state(SessionState)
        session.user_name = self.display_name
        self.profile_notice = "Saved."
        return None

    @rx.event
    async def change_email(self, form: dict):
        self.email_error = self.email_notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await profile.request_email_change(
                user.id, str(form.get("new_email", "")), str(form.get("email_password", ""))
            )
        except (BadInput, NotAllowed) as problem:
            self.email_error = str(problem)
            return None
        await self._refresh(user.id)
        self.email_notice = (
            f"We sent a confirmation link to {self.pending_email}. Your email changes when you open it "
            f"(within {profile.EMAIL_LINK_HOURS} hours)."
        )
        return [rx.set_value(name, "") for name in ("new_email", "email_password")]

    @rx.event
    async def cancel_email_change(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        await profile.cancel_email_change(user.id)
        await self._refresh(user.id)
        self.email_notice = "The email change was cancelled."
        return None

    @rx.event
    async def change_password(self, form: dict):
        self.password_error = self.password_notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        new = str(form.get("new_password", ""))
        if new != str(form.get("confirm_password", "")):
            self.password_error = "The two new passwords are not the same."
            return None
        try:
            await accounts.change_password(
                user.id, str(form.get("current_password", "")), new, keep_token=await session_token(self)
            )
        except (BadInput, NotAllowed) as problem:
            self.password_error = str(problem)
            return None
        await self._refresh(user.id)
        self.password_notice = "Password changed. Other browsers signed in to your account were logged out."
        return [rx.set_value(name, "") for name in ("current_password", "new_password", "confirm_password")]

    @rx.event
    async def log_out_others(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        count = await profile.log_out_others(user.id, await session_token(self))
        await self._refresh(user.id)
        self.sessions_notice = f"Logged out {count} other {'browser' if count == 1 else 'browsers'}."
        return None

    @rx.event
    async def set_product_emails(self, value: bool):
        return await self._save_preferences(product_emails=bool(value), usage_opt_out=self.usage_opt_out)

    @rx.event
    async def set_usage_opt_out(self, value: bool):
        return await self._save_preferences(product_emails=self.product_emails, usage_opt_out=bool(value))

    async def _save_preferences(self, *, product_emails: bool, usage_opt_out: bool):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        await profile.set_preferences(user.id, product_emails=product_emails, usage_opt_out=usage_opt_out)
        await self._refresh(user.id)
        self.prefs_notice = "Saved."
        return None

    @rx.event
    async def send_request(self, form: dict):
        self.request_error = self.request_notice = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await profile.send_privacy_request(
                user.id, str(form.get("request_kind", "")), str(form.get("body", ""))
            )
        except (BadInput, NotAllowed) as problem:
            self.request_error = str(problem)
            return None
        self.request_notice = "Thank you. Your request reached our team; we answer by email within 30 days."
        return rx.set_value("body", "")

    @rx.event
    async def start_export(self):
        self.export_error = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await privacy.request_export(user.id)
        except NotAllowed as problem:
            self.export_error = str(problem)
            return None
        await self._refresh_export(user.id)
        return SettingsState.watch

    async def _watch_step(self, user_id) -> Progress:
        """Follow the running export until it ends, so the page shows its progress live."""
        await self._refresh_export(user_id)
        running = self.export_status in ("queued", "running")
        ready = not running and self.export_status == "succeeded"
        return Progress(
            running=running, tell=[rx.toast.success("Your export is ready to download.")] if ready else []
        )

    @rx.event
    async def open_delete(self):
        self.delete_error = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        self.delete_steps = await privacy.deletion_preview(user.id)
        self.delete_open = True
        return None

    @rx.event
    def close_delete(self):
        self.delete_open = False

    @rx.event
    async def delete_account(self, form: dict):
        self.delete_error = ""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            due = await privacy.request_deletion(user.id, str(form.get("delete_password", "")))
        except (BadInput, NotAllowed) as problem:
            self.delete_error = str(problem)
            return None
        # Every session of the account is revoked already; the dead cookie goes at the next log-in.
        await empty_user_states(self)
        await empty_tabs_of(user.id, but=self.router.session.client_token)
        # Only this tab learns when the data is gone (set after emptying it): the next page reads it.
        (await self.get_state(DeletedAccountState))._remember(
            erased_by=privacy.erased_by(due, user.time_zone)
        )
        return rx.redirect("/account-deleted")

    @rx.event
    def to_settings(self):
        """/account moved here."""
        return rx.redirect("/settings")


def _section(title: str, *children: rx.Component, id: str) -> rx.Component:
    return rx.card(
        rx.vstack(rx.heading(title, size="4", as_="h2"), *children, spacing="3", width="100%"),
        width="100%",
        id=id,
    )


def _profile_section() -> rx.Component:
    return _section(
        "Profile",
        rx.form(
            rx.vstack(
                field(
                    "Display name",
                    "display_name",
                    max_length=80,
                    default_value=SettingsState.display_name,
                    key=SettingsState.display_name,
                ),
                _time_zone_picker(),
                form_message(SettingsState.profile_error, SettingsState.profile_notice),
                rx.button("Save profile", type="submit"),
                spacing="3",
                width="100%",
                max_width=FORM_WIDTH,
            ),
            on_submit=SettingsState.save_profile,
        ),
        id="profile",
    )


def _time_zone_picker() -> rx.Component:
    """A text box that searches the zones as you type (a city, a country's zone, an offset)."""
    chosen = rx.cond(SettingsState.browser_zone != "", SettingsState.browser_zone, SettingsState.time_zone)
    return rx.vstack(
        label_for("time_zone", "Time zone"),
        rx.el.input(
            name="time_zone",
            id="time_zone",
            list="time-zones",
            default_value=chosen,
            key=chosen,
            auto_complete="off",
            placeholder="Type a city, e.g. Paris",
            style=NATIVE_SELECT,
        ),
        rx.el.datalist(
            *[rx.el.option(label, value=zone) for zone, label in profile.time_zone_choices()],
            id="time-zones",
        ),
        rx.cond(
            SettingsState.browser_zone != "",
            rx.text(
                "Filled in from your browser (",
                SettingsState.browser_zone,
                "). Save to use it; your account shows UTC until then.",
                size="1",
                color_scheme="amber",
            ),
        ),
        rx.text(
            "Dashboards, best times to post and dates show in this zone. Type to search the list.",
            size="1",
            color_scheme="gray",
        ),
        spacing="1",
        width="100%",
    )


def _email_section() -> rx.Component:
    return _section(
        "Email address",
        rx.text("Your email: ", rx.text.strong(SettingsState.email, id="current-email")),
        rx.cond(
            SettingsState.pending_email != "",
            rx.hstack(
                rx.text(
                    "Waiting for confirmation of ",
                    rx.text.strong(SettingsState.pending_email),
                    ". Open the link we emailed there.",
                    size="2",
                ),
                rx.button(
                    "Cancel change", variant="ghost", size="1", on_click=SettingsState.cancel_email_change
                ),
                align="center",
                wrap="wrap",
            ),
        ),
        rx.form(
            rx.vstack(
                field("New email address", "new_email", type="email", auto_complete="email"),
                field(
                    "Your password",
                    "email_password",
                    type="password",
                    max_length=1024,
                    auto_complete="current-password",
                ),
                form_message(SettingsState.email_error, SettingsState.email_notice),
                rx.button("Send confirmation link", type="submit"),
                spacing="3",
                width="100%",
                max_width=FORM_WIDTH,
            ),
            on_submit=SettingsState.change_email,
        ),
        id="email",
    )


def _password_section() -> rx.Component:
    return _section(
        "Change password",
        rx.form(
            rx.vstack(
                field(
                    "Current password",
                    "current_password",
                    type="password",
                    max_length=1024,
                    auto_complete="current-password",
                ),
                field(
                    "New password",
                    "new_password",
                    type="password",
                    max_length=128,
                    auto_complete="new-password",
                ),
                field(
                    "New password again",
                    "confirm_password",
                    type="password",
                    max_length=128,
                    auto_complete="new-password",
                ),
                form_message(SettingsState.password_error, SettingsState.password_notice),
                rx.button("Change password", type="submit"),
                spacing="3",
                width="100%",
                max_width=FORM_WIDTH,
            ),
            on_submit=SettingsState.change_password,
        ),
        id="password",
    )


def _session_row(row: SessionRow) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.browser, rx.cond(row.current, rx.badge("this browser", margin_left="0.5rem"))),
        rx.table.cell(row.ip),
        rx.table.cell(row.since),
    )


def _sessions_section() -> rx.Component:
    return _section(
        "Where you're signed in",
        rx.table.root(
            rx.table.header(
                rx.table.row(
                    rx.table.column_header_cell("Browser"),
                    rx.table.column_header_cell("IP address"),
                    rx.table.column_header_cell("Signed in"),
                )
            ),
            rx.table.body(rx.foreach(SettingsState.sessions, _session_row)),
            width="100%",
        ),
        rx.hstack(
            rx.button("Log out other sessions", variant="soft", on_click=SettingsState.log_out_others),
            rx.text(SettingsState.sessions_notice, size="2", color_scheme="green", role="status"),
            align="center",
        ),
        id="sessions",
    )


def _switch_row(label: str, hint: str, checked, on_change, name: str) -> rx.Component:
    return rx.hstack(
        rx.switch(checked=checked, on_change=on_change, id=name, aria_label=label),
        rx.vstack(
            label_for(name, label),
            rx.text(hint, size="1", color_scheme="gray"),
            spacing="0",
        ),
        align="start",
        spacing="3",
    )


def _preferences_section() -> rx.Component:
    return _section(
        "Communication and usage data",
        _switch_row(
            "Product-update emails",
            "Occasional news about new features. Off unless you turn it on.",
            SettingsState.product_emails,
            SettingsState.set_product_emails,
            "product_emails",
        ),
        rx.text(
            "Account and security emails (confirmations, password changes, deletion) are always sent.",
            size="1",
            color_scheme="gray",
        ),
        _switch_row(
            "Don't tie my usage to me",
            "Pages you open and features you use are still counted, but stored without your account or IP address.",
            SettingsState.usage_opt_out,
            SettingsState.set_usage_opt_out,
            "usage_opt_out",
        ),
        rx.text(SettingsState.prefs_notice, size="2", color_scheme="green", role="status"),
        id="preferences",
    )


def _connected_section() -> rx.Component:
    return _section(
        "Connected accounts",
        rx.cond(
            SettingsState.connected.length() > 0,
            rx.vstack(
                rx.foreach(
                    SettingsState.connected,
                    lambda row: rx.hstack(
                        rx.badge(row.platform),
                        rx.text(row.name),
                        rx.text(row.status, color_scheme="gray", size="2"),
                    ),
                ),
                spacing="2",
            ),
            rx.text("No TikTok or Instagram account is connected.", color_scheme="gray"),
        ),
        rx.link("Connect, reconnect or disconnect on the Analytics page", href="/analytics"),
        id="connected",
    )


def _request_section() -> rx.Component:
    return _section(
        "Privacy request",
        rx.text(
            "Ask for access to or correction of your data, object to a use of it, complain, or tell us a child "
            "under 13 uses Assetry. Our team answers by email.",
            size="2",
            color_scheme="gray",
        ),
        rx.form(
            rx.vstack(
                label_for("request_kind", "What is it about?"),
                rx.el.select(
                    rx.el.option("Choose…", value=""),
                    *[rx.el.option(text, value=key) for key, text in profile.PRIVACY_REQUESTS.items()],
                    name="request_kind",
                    id="request_kind",
                    style=NATIVE_SELECT,
                ),
                text_area("Your request", "body", max_length=5000),
                form_message(SettingsState.request_error, SettingsState.request_notice),
                rx.button("Send request", type="submit"),
                spacing="3",
                width="100%",
                max_width="36rem",
            ),
            on_submit=SettingsState.send_request,
        ),
        id="privacy-request",
    )


def _export_section() -> rx.Component:
    running = (SettingsState.export_status == "queued") | (SettingsState.export_status == "running")
    return _section(
        "Download your data",
        rx.text(
            "A ZIP with everything we hold about you: your account, generations and files, posts and their "
            "numbers, notes and more, as JSON and CSV. Passwords and access tokens are never included.",
            size="2",
            color_scheme="gray",
        ),
        rx.cond(
            running,
            rx.vstack(
                rx.progress(value=SettingsState.export_percent, width="100%", max_width=FORM_WIDTH),
                rx.text(
                    SettingsState.export_phase,
                    " (",
                    SettingsState.export_percent,
                    "%)",
                    size="2",
                    id="export-progress",
                ),
                width="100%",
            ),
        ),
        rx.cond(
            SettingsState.export_url != "",
            rx.vstack(
                download_button(
                    "Download your export (",
                    SettingsState.export_size,
                    ")",
                    href=SettingsState.export_url,
                    id="export-download",
                ),
                rx.text(
                    "The link works until ",
                    SettingsState.export_expires,
                    ", then the archive is deleted.",
                    size="1",
                ),
                spacing="1",
            ),
        ),
        rx.cond(SettingsState.export_status == "expired", rx.text("Your last export has expired.", size="2")),
        form_message(SettingsState.export_error),
        rx.button(
            "Start a new export",
            on_click=SettingsState.start_export,
            disabled=running,
            loading=running,
            variant="soft",
        ),
        id="export",
    )


def _delete_section() -> rx.Component:
    return _section(
        "Delete account",
        rx.text("Deleting your account can't be undone.", size="2", color_scheme="gray"),
        rx.cond(
            SettingsState.delete_open,
            rx.vstack(
                rx.text("This is exactly what happens:", weight="medium"),
                rx.list.ordered(rx.foreach(SettingsState.delete_steps, rx.list.item), id="delete-steps"),
                rx.form(
                    rx.vstack(
                        field(
                            "Enter your password to confirm",
                            "delete_password",
                            type="password",
                            max_length=1024,
                            auto_complete="current-password",
                        ),
                        form_message(SettingsState.delete_error),
                        rx.hstack(
                            rx.button("Delete my account", type="submit", color_scheme="red"),
                            rx.button(
                                "Keep my account",
                                type="button",
                                variant="soft",
                                on_click=SettingsState.close_delete,
                            ),
                        ),
                        spacing="3",
                        width="100%",
                        max_width=FORM_WIDTH,
                    ),
                    on_submit=SettingsState.delete_account,
                ),
                spacing="3",
                width="100%",
            ),
            rx.button(
                "Delete account…", color_scheme="red", variant="soft", on_click=SettingsState.open_delete
            ),
        ),
        id="delete",
    )


def settings_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.heading("Settings", size="7"),
            rx.cond(
                SettingsState.email_banner != "",
                rx.callout(
                    SettingsState.email_banner, color_scheme=SettingsState.email_banner_color, width="100%"
                ),
            ),
            _profile_section(),
            _email_section(),
            _password_section(),
            _sessions_section(),
            _preferences_section(),
            _connected_section(),
            _export_section(),
            _request_section(),
            _delete_section(),
            spacing="5",
            width="100%",
        )
    )


def account_moved() -> rx.Component:
    return app_page(rx.text("Settings moved to ", rx.link("Settings", href="/settings"), "."))
