"""Admin: the support inbox (and privacy requests) — open, reply by email, mark done."""

from __future__ import annotations

import dataclasses

import reflex as rx

from assetry.errors import AssetryError
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import inbox
from assetry.services.admin.common import has_mail, parse_id
from assetry.state.admin import require_admin

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


class AdminInboxState(rx.State):
    """The inbox filters, the page of messages and the one being read."""

    status: str = inbox.OPEN
    kind: str = ALL
    kinds: list[str] = []
    page: int = 1
    pages: int = 1
    total: int = 0
    open_count: int = 0
    rows: list[MessageView] = []
    current: MessageView = MessageView()
    can_email: bool = False
    error: str = ""
    notice: str = ""

    @rx.event
    async def load(self):
        self.notice = ""
        self.current = MessageView()
        return await self._show("AdminInboxState.load", page=self.page)

    @rx.event
    async def set_status(self, value: str):
        self.status = value if value in inbox.STATUSES else inbox.OPEN
        return await self._show("AdminInboxState.set_status", page=1)

    @rx.event
    async def set_kind(self, value: str):
        self.kind = value if value in inbox.kinds() else ALL
        return await self._show("AdminInboxState.set_kind", page=1)

    @rx.event
    async def previous_page(self):
        return await self._show("AdminInboxState.previous_page", page=self.page - 1)

    @rx.event
    async def next_page(self):
        return await self._show("AdminInboxState.next_page", page=self.page + 1)

    @rx.event
    async def open_message(self, message_id: str):
        admin, refusal = await require_admin(self, "AdminInboxState.open_message")
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
        _admin, refusal = await require_admin(self, "AdminInboxState.close_message")
        if refusal:
            return refusal
        self.current = MessageView()
        return None

    @rx.event
    async def reply(self, form: dict):
        admin, refusal = await require_admin(self, "AdminInboxState.reply")
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
        await self._list(admin.id, self.page)
        return rx.set_value("reply", "")

    @rx.event
    async def mark(self, message_id: str, status: str):
        admin, refusal = await require_admin(self, "AdminInboxState.mark")
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
        await self._list(admin.id, self.page)
        return None

    async def _show(self, action: str, *, page: int):
        admin, refusal = await require_admin(self, action)
        if refusal:
            return refusal
        self.error = ""
        self.can_email = has_mail()
        self.kinds = [ALL, *inbox.kinds()] if inbox.kinds() else []
        await self._list(admin.id, max(page, 1))
        return None

    async def _list(self, admin_id, page: int) -> None:
        try:
            found = await inbox.listing(
                admin_id, status=self.status, kind="" if self.kind == ALL else self.kind, page=page
            )
        except AssetryError as problem:
            self.error = str(problem)
            return
        self.page, self.pages, self.total = found.page, found.pages, found.total
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
            rx.cond(
                state.can_email,
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
                rx.text(
                    "Email sending is not set up in this installation; answer from your own mailbox.",
                    size="2",
                    color_scheme="gray",
                ),
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
            rx.cond(
                state.kinds.length() > 0,
                rx.select(
                    state.kinds,
                    value=state.kind,
                    on_change=state.set_kind,
                    custom_attrs={"aria-label": "Kind"},
                ),
            ),
            rx.text(f"{state.open_count} open", size="2", color_scheme="gray"),
            align="center",
            spacing="3",
        ),
        form_message(state.error, state.notice),
        rx.cond(state.current.id != "", _reader()),
        table(["Received", "Kind", "From", "Subject", "", ""], state.rows, _row),
        pager(state.page, state.pages, state.total, state.previous_page, state.next_page),
    )
