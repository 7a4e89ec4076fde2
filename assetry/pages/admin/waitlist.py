"""Admin: the waitlist — search, export as CSV, invite by email (one entry, or everyone waiting)."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.errors import AssetryError
from assetry.models import User
from assetry.models.base import utcnow
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services import changes
from assetry.services.admin import invitations, waitlist
from assetry.services.admin.common import parse_id
from assetry.services.admin.paging import Page, Window
from assetry.state.admin_list import AdminListState
from assetry.state.watching import Progress, Watching


@dataclasses.dataclass
class EntryView:
    id: str = ""
    email: str = ""
    joined: str = ""
    invited: str = ""


class AdminWaitlistState(Watching, AdminListState, rx.State):
    """The waitlist search, filter and page."""

    query: str = ""
    invited: str = "all"
    waiting: int = 0
    rows: list[EntryView] = []
    notice: str = ""
    invitations: str = ""  # how the latest "invite everyone waiting" goes or went
    invitations_percent: int = 0
    inviting: bool = False

    @rx.event
    async def search(self, form: dict):
        self.query = str(form.get("query", ""))[:254]
        return await self._list("search")

    @rx.event
    async def set_invited(self, value: str):
        self.invited = value if value in waitlist.INVITED else "all"
        return await self._list("set_invited")

    @rx.event
    async def export(self):
        admin, refusal = await self._admin("export")
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
        admin, refusal = await self._admin("invite")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            email = await invitations.invite(admin.id, parse_id(entry_id, "waitlist entry"))
        except AssetryError as problem:
            self.error = str(problem)
        else:
            self.notice = f"Invitation sent to {email}."
        await self._refresh(admin.id)
        return None

    @rx.event
    async def invite_all(self):
        admin, refusal = await self._admin("invite_all")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            await invitations.invite_all(admin.id, self.query)
        except AssetryError as problem:
            self.error = str(problem)
            return None
        await self._show_invitations(admin.id)
        return AdminWaitlistState.watch

    async def _refusal(self):
        return await self._admin("watch")

    def _audience(self, _user: User) -> uuid.UUID | str:
        """A round is followed by every admin's page, whoever started it (pushed, never polled);
        only admins get here (`_refusal`)."""
        return changes.ADMINS

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """The round's progress; once it ended, the list again (who is invited now)."""
        await self._show_invitations(user_id)
        if not self.inviting and not self.error:
            await self._refresh(user_id)
        return Progress(running=self.inviting)

    async def _opened(self, admin_id: uuid.UUID):
        self.notice = ""
        await self._show_invitations(admin_id)
        return AdminWaitlistState.watch if self.inviting else None

    async def _show_invitations(self, admin_id: uuid.UUID) -> None:
        try:
            found = await invitations.latest(admin_id)
        except AssetryError as problem:
            self.error, self.inviting = str(problem), False
            return
        self.inviting = found is not None and found.running
        if found is None:
            self.invitations, self.invitations_percent = "", 0
            return
        self.invitations_percent = min(100, round(100 * found.sent / max(found.total, 1)))
        counted = f"{found.sent:,} of {found.total:,}"
        if found.running:
            self.invitations = f"Sending invitations to everyone waiting: {counted} sent."
        elif found.status == "succeeded":
            self.invitations = f"Invited everyone waiting on {when(found.started_at)}: {counted} sent."
        else:
            self.invitations = (
                f"Inviting everyone waiting stopped ({found.status}) after {counted}: {found.error}"
            )

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        return await waitlist.listing(admin_id, self.query, invited=self.invited, window=window)

    def _show_rows(self, found: Page) -> None:
        self.waiting = found.extra["waiting"]
        self.rows = [
            EntryView(
                str(row.id), row.email, when(row.created_at), when(row.invited_at) if row.invited_at else ""
            )
            for row in found.rows
        ]


def _row(entry: EntryView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry.email),
        rx.table.cell(entry.joined),
        rx.table.cell(
            rx.cond(
                entry.invited != "",
                rx.text(entry.invited, size="2"),
                rx.button("Invite", size="1", on_click=AdminWaitlistState.invite(entry.id)),
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
            rx.button(
                rx.icon("send", size=16),
                rx.cond(state.query != "", "Invite everyone waiting who matches", "Invite everyone waiting"),
                variant="soft",
                disabled=state.inviting | (state.waiting == 0),
                on_click=state.invite_all,
            ),
            wrap="wrap",
            spacing="3",
            align="center",
        ),
        rx.text(f"{state.waiting} still waiting for an invitation.", size="2", color_scheme="gray"),
        rx.cond(
            state.invitations != "",
            rx.vstack(
                rx.cond(
                    state.inviting,
                    rx.progress(value=state.invitations_percent, width="100%", max_width="32rem"),
                ),
                rx.text(state.invitations, size="2", id="bulk-invitations"),
                width="100%",
            ),
        ),
        form_message(state.error, state.notice),
        table(["Email", "Joined", "Invited"], state.rows, _row),
        pager(state),
    )
