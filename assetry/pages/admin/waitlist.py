"""Admin: the waitlist — search, export as CSV, invite by email."""

from __future__ import annotations

import dataclasses

import reflex as rx

from assetry.errors import AssetryError
from assetry.models.base import utcnow
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import waitlist
from assetry.services.admin.common import has_mail, parse_id
from assetry.state.admin import require_admin


@dataclasses.dataclass
class EntryView:
    id: str = ""
    email: str = ""
    joined: str = ""
    invited: str = ""


class AdminWaitlistState(rx.State):
    """The waitlist search, filter and page."""

    query: str = ""
    invited: str = "all"
    page: int = 1
    pages: int = 1
    total: int = 0
    waiting: int = 0
    rows: list[EntryView] = []
    can_email: bool = False
    error: str = ""
    notice: str = ""

    @rx.event
    async def load(self):
        self.notice = ""
        return await self._show("AdminWaitlistState.load", page=self.page)

    @rx.event
    async def search(self, form: dict):
        self.query = str(form.get("query", ""))[:254]
        return await self._show("AdminWaitlistState.search", page=1)

    @rx.event
    async def set_invited(self, value: str):
        self.invited = value if value in waitlist.INVITED else "all"
        return await self._show("AdminWaitlistState.set_invited", page=1)

    @rx.event
    async def previous_page(self):
        return await self._show("AdminWaitlistState.previous_page", page=self.page - 1)

    @rx.event
    async def next_page(self):
        return await self._show("AdminWaitlistState.next_page", page=self.page + 1)

    @rx.event
    async def export(self):
        admin, refusal = await require_admin(self, "AdminWaitlistState.export")
        if refusal:
            return refusal
        try:
            data = await waitlist.export_csv(admin.id, self.query, invited=self.invited)
        except AssetryError as problem:
            self.error = str(problem)
            return None
        return rx.download(data=data, filename=f"waitlist-{utcnow():%Y-%m-%d}.csv")

    @rx.event
    async def invite(self, entry_id: str):
        admin, refusal = await require_admin(self, "AdminWaitlistState.invite")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            entry = await waitlist.invite(admin.id, parse_id(entry_id, "waitlist entry"))
        except AssetryError as problem:
            self.error = str(problem)
        else:
            self.notice = f"Invitation sent to {entry.email}."
        return await self._show("AdminWaitlistState.invite", page=self.page)

    async def _show(self, action: str, *, page: int):
        admin, refusal = await require_admin(self, action)
        if refusal:
            return refusal
        self.can_email = has_mail()
        try:
            found = await waitlist.listing(admin.id, self.query, invited=self.invited, page=max(page, 1))
        except AssetryError as problem:
            self.error = str(problem)
            return None
        self.page, self.pages, self.total = found.page, found.pages, found.total
        self.waiting = found.extra["waiting"]
        self.rows = [
            EntryView(
                str(row.id), row.email, when(row.created_at), when(row.invited_at) if row.invited_at else ""
            )
            for row in found.rows
        ]
        return None


def _row(entry: EntryView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry.email),
        rx.table.cell(entry.joined),
        rx.table.cell(
            rx.cond(
                entry.invited != "",
                rx.text(entry.invited, size="2"),
                rx.cond(
                    AdminWaitlistState.can_email,
                    rx.button("Invite", size="1", on_click=AdminWaitlistState.invite(entry.id)),
                    rx.text("not yet", size="2", color_scheme="gray"),
                ),
            )
        ),
    )


def waitlist_page() -> rx.Component:
    state = AdminWaitlistState
    return admin_page(
        "Waitlist",
        rx.hstack(
            rx.form(
                rx.hstack(
                    rx.input(
                        name="query",
                        placeholder="Email contains…",
                        default_value=state.query,
                        max_length=254,
                        aria_label="Search the waitlist",
                    ),
                    rx.button("Search", type="submit"),
                    spacing="2",
                ),
                on_submit=state.search,
            ),
            rx.select(
                list(waitlist.INVITED),
                value=state.invited,
                on_change=state.set_invited,
                custom_attrs={"aria-label": "Show"},
            ),
            rx.button(rx.icon("download", size=16), "Export CSV", variant="soft", on_click=state.export),
            wrap="wrap",
            spacing="3",
            align="center",
        ),
        rx.text(f"{state.waiting} still waiting for an invitation.", size="2", color_scheme="gray"),
        rx.cond(
            ~state.can_email,
            rx.callout(
                "Email sending is not set up in this installation, so invitations can't be sent from here.",
                icon="info",
                color_scheme="gray",
            ),
        ),
        form_message(state.error, state.notice),
        table(["Email", "Joined", "Invited"], state.rows, _row),
        pager(state.page, state.pages, state.total, state.previous_page, state.next_page),
    )
