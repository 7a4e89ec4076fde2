"""Admin: the audit log — who did what to whom, when. Read-only: nothing here edits it."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import audit_log
from assetry.services.admin.paging import Page, Window
from assetry.state.admin_list import AdminListState


@dataclasses.dataclass
class EntryView:
    at: str = ""
    actor: str = ""
    action: str = ""
    target: str = ""
    detail: str = ""


class AdminAuditState(AdminListState, rx.State):
    """The audit log's filters and page."""

    action: str = ""
    actor: str = ""
    target: str = ""
    rows: list[EntryView] = []

    @rx.event
    async def search(self, form: dict):
        self.action = str(form.get("action", ""))[:64]
        self.actor = str(form.get("actor", ""))[:254]
        self.target = str(form.get("target", ""))[:200]
        return await self._list("search")

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        return await audit_log.entries(
            admin_id, action=self.action, actor_email=self.actor, target=self.target, window=window
        )

    def _show_rows(self, found: Page) -> None:
        self.rows = [
            EntryView(
                when(row.created_at),
                row.actor_email or "the service",
                row.action,
                row.target_email or row.target,
                row.detail,
            )
            for row in found.rows
        ]


def _row(entry: EntryView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(entry.at),
        rx.table.cell(entry.actor),
        rx.table.cell(entry.action),
        rx.table.cell(entry.target),
        rx.table.cell(rx.text(entry.detail, size="1")),
    )


def audit_page() -> rx.Component:
    state = AdminAuditState
    return admin_page(
        "Audit log",
        rx.form(
            rx.hstack(
                rx.input(
                    name="action",
                    placeholder="Action starts with…",
                    default_value=state.action,
                    max_length=64,
                    aria_label="Action",
                ),
                rx.input(
                    name="actor",
                    placeholder="Who (email starts with)…",
                    default_value=state.actor,
                    max_length=254,
                    aria_label="Who",
                ),
                rx.input(
                    name="target",
                    placeholder="Target (exact id)",
                    default_value=state.target,
                    max_length=200,
                    aria_label="Target",
                ),
                rx.button("Filter", type="submit"),
                wrap="wrap",
                spacing="2",
            ),
            on_submit=state.search,
        ),
        rx.text(
            "The audit log is written by the service and can't be changed here.",
            size="1",
            color_scheme="gray",
        ),
        form_message(state.error),
        table(["When", "Who", "What", "Target", "Detail"], state.rows, _row),
        pager(state),
    )
