"""Admin: find users by email, newest first, a page at a time."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import users
from assetry.services.admin.paging import Page, Window
from assetry.state.admin_list import AdminListState


@dataclasses.dataclass
class UserView:
    id: str = ""
    email: str = ""
    name: str = ""
    joined: str = ""
    role: str = ""
    status: str = ""


class AdminUsersState(AdminListState, rx.State):
    """The search, the filter and the page of users it shows."""

    query: str = ""
    anywhere: bool = False
    role: str = "all"
    rows: list[UserView] = []

    @rx.event
    async def search(self, form: dict):
        self.query = str(form.get("query", ""))[:254]
        self.anywhere = form.get("anywhere") == "on"
        return await self._list("search")

    @rx.event
    async def set_role(self, value: str):
        if value in users.ROLES:
            self.role = value
        return await self._list("set_role")

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        return await users.search(admin_id, self.query, anywhere=self.anywhere, role=self.role, window=window)

    def _show_rows(self, found: Page) -> None:
        self.rows = [
            UserView(
                str(row.id),
                row.email,
                row.display_name,
                when(row.created_at),
                "admin" if row.is_admin else "",
                "disabled" if row.is_disabled else "active",
            )
            for row in found.rows
        ]


def _row(user: UserView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.link(user.email, href="/admin/users/" + user.id)),
        rx.table.cell(user.name),
        rx.table.cell(user.joined),
        rx.table.cell(
            rx.cond(user.role != "", rx.badge(user.role, color_scheme="purple", high_contrast=True), "")
        ),
        rx.table.cell(
            rx.badge(
                user.status,
                color_scheme=rx.cond(user.status == "disabled", "red", "green"),
                high_contrast=True,
            )
        ),
    )


def users_page() -> rx.Component:
    state = AdminUsersState
    return admin_page(
        "Users",
        rx.form(
            rx.hstack(
                rx.input(
                    name="query",
                    placeholder="Email starts with…",
                    max_length=254,
                    default_value=state.query,
                    aria_label="Search by email",
                ),
                rx.checkbox("Anywhere in the address", name="anywhere", default_checked=state.anywhere),
                rx.button("Search", type="submit"),
                rx.select(
                    ["all", "admins", "disabled"],
                    value=state.role,
                    on_change=state.set_role,
                    custom_attrs={"aria-label": "Show"},
                ),
                align="center",
                wrap="wrap",
                spacing="3",
            ),
            on_submit=state.search,
        ),
        form_message(state.error),
        table(["Email", "Name", "Joined", "Role", "Status"], state.rows, _row),
        pager(state),
    )
