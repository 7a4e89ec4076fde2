"""Admin: one user — account facts, quota, content counts, disable/enable, admin role, delete, audit trail."""

from __future__ import annotations

import dataclasses
import uuid
from typing import ClassVar

import reflex as rx

from assetry.errors import AssetryError, BadInput
from assetry.models import User
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services import platforms, privacy
from assetry.services.admin import audit_log, users
from assetry.services.admin.paging import Page, Window
from assetry.state.address import id_in_path
from assetry.state.admin import open_admin_page, require_admin
from assetry.state.admin_list import AdminListState
from assetry.state.page_local import PageLocal
from assetry.state.session import empty_tabs_of


@dataclasses.dataclass
class Fact:
    label: str = ""
    value: str = ""


@dataclasses.dataclass
class TrailView:
    at: str = ""
    actor: str = ""
    action: str = ""
    detail: str = ""


class AdminTrailState(AdminListState, rx.State):
    """The audit trail of the user on /admin/users/[user_id]: what happened to them and what they did."""

    page_size: ClassVar[int] = 20

    rows: list[TrailView] = []

    async def _opened(self, admin_id: uuid.UUID) -> None:
        self.page, self._first = 1, None  # another user's trail may have been open

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        user_id = id_in_path(self.router.url.path)
        if user_id is None:
            raise BadInput("That user doesn't exist.")
        return await audit_log.trail_of(admin_id, user_id, window=window)

    def _show_rows(self, found: Page) -> None:
        self.rows = [
            TrailView(when(row.created_at), row.actor_email or "the service", row.action, row.detail)
            for row in found.rows
        ]


class AdminUserState(PageLocal, rx.State):
    """The user shown on /admin/users/[user_id] and the actions on them."""

    _fills: ClassVar[tuple[type[PageLocal], ...]] = (AdminTrailState,)

    found: bool = True
    email: str = ""
    is_admin: bool = False
    is_disabled: bool = False
    is_self: bool = False
    quota: str = ""
    quota_hint: str = ""
    facts: list[Fact] = []
    counts: list[Fact] = []
    accounts: list[Fact] = []
    error: str = ""
    notice: str = ""

    def _user_id(self) -> uuid.UUID | None:
        return id_in_path(self.router.url.path)

    @rx.event
    async def load(self):
        """The page's one on_load: the user, then their audit trail (`AdminTrailState`)."""
        return await open_admin_page(self, "AdminUserState.load", self._open)

    async def _open(self, admin: User) -> None:
        self.error = self.notice = ""
        await self._show(admin.id)
        await (await self.get_state(AdminTrailState))._open(admin)

    @rx.event
    async def set_disabled(self, disabled: bool):
        return await self._act(
            "AdminUserState.set_disabled",
            lambda admin, user_id: users.set_disabled(admin, user_id, bool(disabled)),
            "Account disabled: its sessions ended and it can't log in."
            if disabled
            else "Account enabled: it can log in again.",
        )

    @rx.event
    async def set_admin(self, admin_role: bool):
        return await self._act(
            "AdminUserState.set_admin",
            lambda admin, user_id: users.set_admin(admin, user_id, bool(admin_role)),
            "Now an admin." if admin_role else "No longer an admin.",
        )

    @rx.event
    async def save_quota(self, form: dict):
        text = str(form.get("quota", ""))[:20]
        return await self._act(
            "AdminUserState.save_quota",
            lambda admin, user_id: users.set_quota(admin, user_id, users.parse_quota(text)),
            "Daily quota saved.",
        )

    @rx.event
    async def delete_account(self, form: dict):
        """The same path as self-deletion, confirmed with the acting admin's own password."""
        password = str(form.get("admin_password", ""))

        async def delete(admin_id: uuid.UUID, user_id: uuid.UUID) -> None:
            if user_id == admin_id:
                raise BadInput("Delete your own account from your settings page.")
            if self.is_admin:
                raise BadInput("Remove this user's admin role first (the last admin can't be removed).")
            await privacy.request_deletion(user_id, password, actor_id=admin_id)
            await empty_tabs_of(user_id, but=self.router.session.client_token)

        return await self._act(
            "AdminUserState.delete_account",
            delete,
            "Account closed: logged out everywhere, tokens revoked; its data is purged after the grace period.",
        )

    async def _act(self, action: str, change, notice: str):
        admin, refusal = await require_admin(self, action)
        if refusal:
            return refusal
        self.error = self.notice = ""
        user_id = self._user_id()
        if user_id is None:
            self.error = "That user doesn't exist."
            return None
        try:
            await change(admin.id, user_id)
        except AssetryError as problem:
            self.error = str(problem)
        else:
            self.notice = notice
        await self._show(admin.id)
        await (await self.get_state(AdminTrailState))._open(admin)  # what was just done is in the trail now
        return None

    async def _show(self, admin_id: uuid.UUID) -> None:
        user_id = self._user_id()
        detail = await users.detail(admin_id, user_id) if user_id else None
        self.found = detail is not None
        if detail is None:
            return
        self.email, self.is_admin, self.is_disabled = detail.email, detail.is_admin, detail.is_disabled
        self.is_self = detail.id == admin_id
        self.quota = "" if detail.daily_quota is None else str(detail.daily_quota)
        self.quota_hint = f"{detail.generations_today} of {detail.effective_quota} used today" + (
            " (site-wide default)" if detail.daily_quota is None else ""
        )
        self.facts = [
            Fact("Email", detail.email),
            Fact("Name", detail.display_name),
            Fact("Status", "disabled" if detail.is_disabled else "active"),
            Fact("Role", "admin" if detail.is_admin else "member"),
            Fact(
                "Signs in with", "Supabase Auth" if detail.auth_backend == "supabase" else "password (local)"
            ),
            Fact("Joined", when(detail.created_at)),
            Fact("Last log-in", when(detail.last_login_at)),
            Fact("Signed-in browsers", str(detail.live_sessions)),
            Fact("Time zone", detail.time_zone),
            Fact("In the EU", "yes" if detail.in_eu else "no"),
            Fact("Age confirmed", when(detail.age_confirmed_at)),
        ]
        self.counts = [Fact(label, f"{n:,}") for label, n in detail.counts]
        self.accounts = [
            Fact(
                f"{platforms.label(a.platform)} {f'@{a.username}' if a.username else '(no handle)'}"
                + (" (sandbox)" if a.sandbox else ""),
                f"{a.status} · last synced {when(a.last_synced_at)}",
            )
            for a in detail.accounts
        ]


def _fact(fact: Fact) -> rx.Component:
    return rx.data_list.item(rx.data_list.label(fact.label), rx.data_list.value(fact.value))


def _trail_row(row: TrailView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(row.at), rx.table.cell(row.actor), rx.table.cell(row.action), rx.table.cell(row.detail)
    )


def _actions() -> rx.Component:
    state = AdminUserState
    return rx.card(
        rx.vstack(
            rx.heading("Actions", size="4", as_="h2"),
            rx.hstack(
                rx.cond(
                    state.is_disabled,
                    rx.button("Enable account", on_click=state.set_disabled(False), color_scheme="green"),
                    rx.button(
                        "Disable account",
                        on_click=state.set_disabled(True),
                        color_scheme="red",
                        disabled=state.is_self,
                    ),
                ),
                rx.cond(
                    state.is_admin,
                    rx.button("Remove admin role", on_click=state.set_admin(False), variant="soft"),
                    rx.button("Make admin", on_click=state.set_admin(True), variant="soft"),
                ),
                wrap="wrap",
                spacing="3",
            ),
            rx.form(
                rx.hstack(
                    rx.input(
                        name="quota",
                        placeholder="default",
                        default_value=state.quota,
                        max_length=6,
                        input_mode="numeric",
                        aria_label="Daily generation quota",
                        width="8rem",
                    ),
                    rx.button("Save daily quota", type="submit", variant="soft"),
                    rx.text(state.quota_hint, size="2", color_scheme="gray"),
                    align="center",
                    wrap="wrap",
                    spacing="3",
                ),
                on_submit=state.save_quota,
            ),
            rx.form(
                rx.hstack(
                    rx.input(
                        name="admin_password",
                        type="password",
                        placeholder="Your admin password",
                        aria_label="Your admin password, to confirm deletion",
                        max_length=1024,
                        width="14rem",
                    ),
                    rx.button(
                        "Delete account",
                        type="submit",
                        color_scheme="red",
                        variant="soft",
                        disabled=state.is_self,
                    ),
                    align="center",
                    wrap="wrap",
                    spacing="3",
                ),
                on_submit=state.delete_account,
            ),
            rx.text(
                "Leave the quota empty for the site-wide default. Disabling ends every session of the account. "
                "Deleting follows the same path as when a user deletes their own account.",
                size="1",
                color_scheme="gray",
            ),
            spacing="3",
        ),
        width="100%",
    )


def user_page() -> rx.Component:
    state = AdminUserState
    return admin_page(
        "User",
        rx.cond(
            state.found,
            rx.vstack(
                rx.link("← All users", href="/admin/users", size="2"),
                rx.heading(state.email, size="5", as_="h2"),
                form_message(state.error, state.notice),
                _actions(),
                rx.grid(
                    rx.card(rx.data_list.root(rx.foreach(state.facts, _fact))),
                    rx.card(
                        rx.vstack(
                            rx.text("Their content", weight="medium"),
                            rx.data_list.root(rx.foreach(state.counts, _fact)),
                            rx.text("Connected accounts", weight="medium"),
                            rx.cond(
                                state.accounts.length() > 0,
                                rx.data_list.root(rx.foreach(state.accounts, _fact)),
                                rx.text("None.", color_scheme="gray", size="2"),
                            ),
                        )
                    ),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="3",
                    width="100%",
                ),
                rx.heading("Audit trail", size="4", as_="h2"),
                table(["When", "Who", "What", "Detail"], AdminTrailState.rows, _trail_row),
                pager(AdminTrailState),
                spacing="4",
                width="100%",
            ),
            rx.vstack(
                rx.text("There is no user here. They may have deleted their account."),
                rx.link("Back to all users", href="/admin/users"),
            ),
        ),
    )
