"""Admin: the email outbox — every message the app sent, or (with no SMTP server) would have sent."""

from __future__ import annotations

import dataclasses

import reflex as rx

from assetry.errors import AssetryError
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import outbox
from assetry.state.admin import require_admin


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


class AdminOutboxState(rx.State):
    """The outbox filter, page and the message being read."""

    recipient: str = ""
    page: int = 1
    pages: int = 1
    total: int = 0
    rows: list[MailView] = []
    current: MailView = MailView()
    available: bool = True
    error: str = ""

    @rx.event
    async def load(self):
        self.current = MailView()
        return await self._show("AdminOutboxState.load", page=self.page)

    @rx.event
    async def search(self, form: dict):
        self.recipient = str(form.get("to", ""))[:254]
        return await self._show("AdminOutboxState.search", page=1)

    @rx.event
    async def previous_page(self):
        return await self._show("AdminOutboxState.previous_page", page=self.page - 1)

    @rx.event
    async def next_page(self):
        return await self._show("AdminOutboxState.next_page", page=self.page + 1)

    @rx.event
    async def read(self, message_id: str):
        _admin, refusal = await require_admin(self, "AdminOutboxState.read")
        if refusal:
            return refusal
        # Only a message on the page this admin was shown can be opened.
        self.current = next((row for row in self.rows if row.id == str(message_id)), MailView())
        return None

    async def _show(self, action: str, *, page: int):
        admin, refusal = await require_admin(self, action)
        if refusal:
            return refusal
        self.error = ""
        self.available = outbox.available()
        try:
            found = await outbox.listing(admin.id, to=self.recipient, page=max(page, 1))
        except AssetryError as problem:
            self.error = str(problem)
            return None
        self.page, self.pages, self.total = found.page, found.pages, found.total
        self.rows = [
            MailView(
                str(m.id), m.to_address, m.subject, m.template, m.status, when(m.created_at),
                when(m.sent_at) if m.sent_at else "", m.last_error, m.body_text,
            )
            for m in found.rows
        ]  # fmt: skip
        return None


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
    )


def outbox_page() -> rx.Component:
    state = AdminOutboxState
    return admin_page(
        "Outbox",
        rx.cond(
            state.available,
            rx.vstack(
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
                form_message(state.error),
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
                            rx.text(
                                state.current.body, white_space="pre-wrap", font_family="monospace", size="2"
                            ),
                        ),
                        width="100%",
                    ),
                ),
                table(["Created", "To", "Subject", "Template", "Status", "Problem"], state.rows, _row),
                pager(state.page, state.pages, state.total, state.previous_page, state.next_page),
                spacing="4",
                width="100%",
            ),
            rx.text("This installation has no email outbox yet.", color_scheme="gray"),
        ),
    )
