"""Admin: background jobs by status and kind; retry a failed one, cancel a live one."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable

import reflex as rx

from assetry.errors import AssetryError
from assetry.pages.admin.common import admin_page, form_message, pager, table, when
from assetry.services.admin import jobs
from assetry.services.admin.paging import Page, Window
from assetry.state.admin_list import AdminListState

ALL = "all"


@dataclasses.dataclass
class JobView:
    id: str = ""
    kind: str = ""
    status: str = ""
    attempts: str = ""
    user: str = ""
    queue: str = ""
    created: str = ""
    can_retry: bool = False
    can_cancel: bool = False


class AdminJobsState(AdminListState, rx.State):
    """The job filters and the page of jobs they show."""

    status: str = ALL
    kind: str = ALL
    kinds: list[str] = [ALL]
    rows: list[JobView] = []
    notice: str = ""

    @rx.event
    async def set_status(self, value: str):
        self.status = value if value in (ALL, *jobs.STATUSES) else ALL
        return await self._list("set_status")

    @rx.event
    async def set_kind(self, value: str):
        self.kind = value if value in self.kinds else ALL
        return await self._list("set_kind")

    @rx.event
    async def retry(self, job_id: str):
        return await self._act("retry", jobs.retry, job_id, "Job queued again.")

    @rx.event
    async def cancel(self, job_id: str):
        return await self._act("cancel", jobs.cancel, job_id, "Cancel requested.")

    async def _act(self, handler: str, change: Callable[[uuid.UUID, int], Awaitable[None]], job_id: str,
                   notice: str):  # fmt: skip
        admin, refusal = await self._admin(handler)
        if refusal:
            return refusal
        self.error = self.notice = ""
        try:
            await change(admin.id, jobs.job_id_of(job_id))
        except AssetryError as problem:
            self.error = str(problem)
        else:
            self.notice = notice
        await self._refresh(admin.id)
        return None

    async def _opened(self, admin_id: uuid.UUID) -> None:
        self.notice = ""
        self.kinds = [ALL, *await jobs.kinds(admin_id)]

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        return await jobs.listing(
            admin_id,
            status="" if self.status == ALL else self.status,
            kind="" if self.kind == ALL else self.kind,
            window=window,
        )

    def _show_rows(self, found: Page) -> None:
        self.rows = [
            JobView(
                str(row.id),
                row.kind,
                row.status
                + (" (cancel requested)" if row.abort_requested and row.status == jobs.DOING else ""),
                str(row.attempts),
                row.user_email or "service",
                row.queue,
                when(row.created_at) if row.created_at else "",
                row.status == jobs.FAILED,
                row.status in jobs.LIVE,
            )
            for row in found.rows
        ]


def _row(job: JobView) -> rx.Component:
    return rx.table.row(
        rx.table.cell(rx.text(job.kind, size="2", weight="medium")),
        rx.table.cell(job.status),
        rx.table.cell(job.attempts),
        rx.table.cell(job.user),
        rx.table.cell(job.queue),
        rx.table.cell(job.created),
        rx.table.cell(
            rx.hstack(
                rx.cond(job.can_retry, rx.button("Retry", size="1", on_click=AdminJobsState.retry(job.id))),
                rx.cond(
                    job.can_cancel,
                    rx.button(
                        "Cancel",
                        size="1",
                        color_scheme="red",
                        variant="soft",
                        on_click=AdminJobsState.cancel(job.id),
                    ),
                ),
            )
        ),
    )


def _filter(label: str, id: str, items: list, value, on_change) -> rx.Component:
    """A drop-down filter with its visible label; "all" reads "Any status" / "Any kind"."""
    return rx.hstack(
        rx.el.label(label, html_for=id, style={"fontSize": "var(--font-size-2)"}),
        rx.select.root(
            rx.select.trigger(id=id, aria_label=label),
            rx.select.content(*items),
            value=value,
            on_change=on_change,
        ),
        spacing="2",
        align="center",
    )


def jobs_page() -> rx.Component:
    state = AdminJobsState
    return admin_page(
        "Jobs",
        rx.hstack(
            _filter(
                "Status",
                "job-status",
                [
                    rx.select.item("Any status", value=ALL),
                    *[rx.select.item(s, value=s) for s in jobs.STATUSES],
                ],
                state.status,
                state.set_status,
            ),
            _filter(
                "Kind",
                "job-kind",
                [
                    rx.foreach(
                        state.kinds, lambda k: rx.select.item(rx.cond(k == ALL, "Any kind", k), value=k)
                    )
                ],
                state.kind,
                state.set_kind,
            ),
            spacing="4",
            wrap="wrap",
            align="center",
        ),
        form_message(state.error, state.notice),
        table(["Kind", "Status", "Attempts", "User", "Queue", "Queued", ""], state.rows, _row),
        pager(state),
    )
