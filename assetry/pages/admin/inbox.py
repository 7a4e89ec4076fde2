"""Admin: the support inbox (and privacy requests) — open, reply by email, mark done."""

from __future__ import annotations

import dataclasses
import uuid
from typing import ClassVar

import reflex as rx

from assetry.errors import AssetryError
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import inbox
from assetry.services.admin.common import parse_id
from assetry.services.admin.paging import Page, Window
from assetry.state.admin_list import AdminListState

ALL = "all"


@dataclasses.dataclass
class MessageView:
    id: str = ""
    kind: str = ""
    sender: str = ""
    email: str = ""
    subject: str = ""
    body: str = ""
    status: str = ""
    received: str = ""
    replied: str = ""


class AdminInboxState(AdminListState, rx.State):
    """The inbox filters, the page of messages and the one being read."""

    page_size: ClassVar[int] = 30

    status: str = inbox.OPEN
    kind: str = ALL
    open_count: int = 0
    rows: list[MessageView] = []
    current: MessageView = MessageView()
    notice: str = ""

    @rx.event
    async def set_status(self, value: str):
        self.status = value if value in inbox.STATUSES else inbox.OPEN
        return await self._list("set_status")

    @rx.event
    async def set_kind(self, value: str):
        self.kind = value if value in inbox.KINDS else ALL
        return await self._list("set_kind")

    @rx.event
    async def open_message(self, message_id: str):
        admin, refusal = await self._admin("open_message")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            found = await inbox.get(admin.id, parse_id(message_id, "message"))
        except AssetryError as problem:
            self.error = str(problem)
            return None
        if found is None:
            self.error = "That message doesn't exist (any more)."
            return None
        self.current = _view(found)
        return None

    @rx.event
    async def close_message(self):
        _admin, refusal = await self._admin("close_message")
        if refusal:
            return refusal
        self.current = MessageView()
        return None

    @rx.event
    async def reply(self, form: dict):
        admin, refusal = await self._admin("reply")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            found = await inbox.reply(
                admin.id, parse_id(self.current.id, "message"), str(form.get("reply", ""))
            )
        except AssetryError as problem:
            self.error = str(problem)
            return None
        self.current = _view(found)
        self.notice = f"Reply sent to {found.email}."
        await self._refresh(admin.id)
        return rx.set_value("reply", "")

    @rx.event
    async def mark(self, message_id: str, status: str):
        admin, refusal = await self._admin("mark")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            found = await inbox.set_status(admin.id, parse_id(message_id, "message"), status)
        except AssetryError as problem:
            self.error = str(problem)
            return None
        self.notice = "Marked done." if found.status == inbox.DONE else "Opened again."
        if self.current.id == str(found.id):
            self.current = _view(found)
        await self._refresh(admin.id)
        return None

    async def _opened(self, admin_id: uuid.UUID) -> None:
        self.notice = ""
        self.current = MessageView()

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        return await inbox.listing(
            admin_id, status=self.status, kind="" if self.kind == ALL else self.kind, window=window
        )

    def _show_rows(self, found: Page) -> None:
        self.open_count = found.extra["open"]
        self.rows = [_view(row) for row in found.rows]


def _view(row: inbox.MessageRow) -> MessageView:
    return MessageView(
        str(row.id), row.kind, row.name or "—", row.email, row.subject, row.body, row.status,
        when(row.created_at), when(row.replied_at) if row.replied_at else "",
    )  # fmt: skip


def _row(message: MessageView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(message.received),
        rx.table.cell(message.kind),
        rx.table.cell(message.email),
        rx.table.cell(
            rx.link(
                message.subject,
                # The link has no address of its own: following its "#" would reload the page and close the message.
                on_click=AdminInboxState.open_message(message.id).prevent_default,
                cursor="pointer",
            )
        ),
        rx.table.cell(rx.cond(message.replied != "", "replied", "")),
        rx.table.cell(
            rx.cond(
                message.status == inbox.OPEN,
                rx.button(
                    "Done", size="1", variant="soft", on_click=AdminInboxState.mark(message.id, inbox.DONE)
                ),
                rx.button(
                    "Reopen", size="1", variant="soft", on_click=AdminInboxState.mark(message.id, inbox.OPEN)
                ),
            )
        ),
    )


def _reader() -> rx.Component:
    state = AdminInboxState
    current = state.current
    return rx.card(
        rx.vstack(
            rx.hstack(
                rx.heading(current.subject, size="4", as_="h2"),
                rx.spacer(),
                rx.icon_button(
                    rx.icon("x"), variant="ghost", on_click=state.close_message, aria_label="Close"
                ),
                width="100%",
            ),
            rx.text(
                current.sender + " · " + current.email + " · " + current.received,
                size="2",
                color_scheme="gray",
            ),
            rx.text(current.body, white_space="pre-wrap"),
            rx.cond(
                current.replied != "",
                rx.text("Last replied " + current.replied, size="2", color_scheme="gray"),
            ),
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="reply",
                        id="reply",
                        placeholder="Your reply…",
                        max_length=inbox.REPLY_MAX,
                        rows="6",
                        width="100%",
                    ),
                    rx.button("Send reply by email", type="submit"),
                    width="100%",
                ),
                on_submit=state.reply,
                width="100%",
            ),
            spacing="3",
            width="100%",
        ),
        width="100%",
    )


def inbox_page() -> rx.Component:
    state = AdminInboxState
    return admin_page(
        "Inbox",
        rx.hstack(
            rx.select(
                list(inbox.STATUSES),
                value=state.status,
                on_change=state.set_status,
                custom_attrs={"aria-label": "Status"},
            ),
            rx.select(
                [ALL, *inbox.KINDS],
                value=state.kind,
                on_change=state.set_kind,
                custom_attrs={"aria-label": "Kind"},
            ),
            rx.text(f"{state.open_count} open", size="2", color_scheme="gray"),
            align="center",
            spacing="3",
        ),
        form_message(state.error, state.notice),
        rx.cond(state.current.id != "", _reader()),
        table(["Received", "Kind", "From", "Subject", "", ""], state.rows, _row),
        pager(state),
    )
