"""Admin: the email outbox — every message the app sent, or (with no SMTP server) would have sent.

Single-use links in security mails are hidden (the service never hands them out); a
message whose delivery failed can be sent again.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import ClassVar

import reflex as rx

from assetry.errors import AssetryError
from assetry.models.mail import FAILED
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import outbox
from assetry.services.admin.common import parse_id
from assetry.services.admin.paging import Page, Window
from assetry.state.admin_list import AdminListState


@dataclasses.dataclass
class MailView:
    id: str = ""
    recipient: str = ""
    subject: str = ""
    template: str = ""
    status: str = ""
    created: str = ""
    sent: str = ""
    problem: str = ""
    body: str = ""
    can_send_again: bool = False


class AdminOutboxState(AdminListState, rx.State):
    """The outbox filter, page and the message being read."""

    page_size: ClassVar[int] = 30

    recipient: str = ""
    rows: list[MailView] = []
    current: MailView = MailView()
    notice: str = ""

    @rx.event
    async def search(self, form: dict):
        self.recipient = str(form.get("to", ""))[:254]
        return await self._list("search")

    @rx.event
    async def read(self, message_id: str):
        _admin, refusal = await self._admin("read")
        if refusal:
            return refusal
        # Only a message on the page this admin was shown can be opened.
        self.current = next((row for row in self.rows if row.id == str(message_id)), MailView())
        return None

    @rx.event
    async def send_again(self, message_id: str):
        admin, refusal = await self._admin("send_again")
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            message = await outbox.send_again(admin.id, parse_id(message_id, "message"))
        except AssetryError as problem:
            self.error = str(problem)
        else:
            self.notice = f"Queued to send again to {message.to_address}."
        await self._refresh(admin.id)
        return None

    async def _opened(self, admin_id: uuid.UUID) -> None:
        self.current = MailView()
        self.notice = ""

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        return await outbox.listing(admin_id, to=self.recipient, window=window)

    def _show_rows(self, found: Page) -> None:
        self.rows = [
            MailView(
                str(m.id), m.to_address, m.subject, m.template, m.status, when(m.created_at),
                when(m.sent_at) if m.sent_at else "", m.last_error, m.body_text, m.status == FAILED,
            )
            for m in found.rows
        ]  # fmt: skip


def _row(mail: MailView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(mail.created),
        rx.table.cell(mail.recipient),
        rx.table.cell(
            rx.link(mail.subject, on_click=AdminOutboxState.read(mail.id).prevent_default, cursor="pointer")
        ),
        rx.table.cell(mail.template),
        rx.table.cell(mail.status),
        rx.table.cell(rx.text(mail.problem, size="1", color_scheme="red")),
        rx.table.cell(
            rx.cond(
                mail.can_send_again,
                rx.button(
                    "Send again", size="1", variant="soft", on_click=AdminOutboxState.send_again(mail.id)
                ),
            )
        ),
    )


def outbox_page() -> rx.Component:
    state = AdminOutboxState
    return admin_page(
        "Outbox",
        rx.form(
            rx.hstack(
                rx.input(
                    name="to",
                    placeholder="Recipient starts with…",
                    default_value=state.recipient,
                    max_length=254,
                    aria_label="Recipient",
                ),
                rx.button("Search", type="submit"),
                spacing="2",
            ),
            on_submit=state.search,
        ),
        form_message(state.error, state.notice),
        rx.cond(
            state.current.id != "",
            rx.card(
                rx.vstack(
                    rx.heading(state.current.subject, size="4", as_="h2"),
                    rx.text(
                        "To " + state.current.recipient + " · " + state.current.created,
                        size="2",
                        color_scheme="gray",
                    ),
                    rx.text(state.current.body, white_space="pre-wrap", font_family="monospace", size="2"),
                ),
                width="100%",
            ),
        ),
        table(["Created", "To", "Subject", "Template", "Status", "Problem", ""], state.rows, _row),
        pager(state),
    )
