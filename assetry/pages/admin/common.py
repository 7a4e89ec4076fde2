"""What the admin pages share: the section tabs, a pager, tables, and how times read."""

from __future__ import annotations

from datetime import datetime

import reflex as rx

from assetry.components.forms import form_message
from assetry.components.layout import app_page
from assetry.components.tables import stacked_on_a_phone
from assetry.state.session import SessionState

__all__ = ["admin_page", "form_message", "pager", "table", "when"]

SECTIONS = [
    ("Overview", "/admin"),
    ("Users", "/admin/users"),
    ("Jobs", "/admin/jobs"),
    ("Waitlist", "/admin/waitlist"),
    ("Inbox", "/admin/inbox"),
    ("Outbox", "/admin/outbox"),
    ("Audit log", "/admin/audit"),
]


def when(moment: datetime | None) -> str:
    """A stored UTC time as the admin pages show it."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "—"


def _tab(label: str, href: str) -> rx.Component:
    path = SessionState.router.url.path
    # The overview is /admin itself (a full page load arrives as /admin/); the other sections own
    # their sub-paths too (/admin/users/<id>).
    exact = (path == href) | (path == href + "/")
    active = exact if href == "/admin" else exact | path.startswith(href + "/")
    return rx.link(
        label,
        href=href,
        underline="none",
        size="2",
        weight="medium",
        padding="0.35rem 0.7rem",
        border_radius="var(--radius-2)",
        color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        aria_current=rx.cond(active, "page", "false"),
    )


def admin_page(title: str, *children: rx.Component) -> rx.Component:
    """An admin page: the app shell, the admin sections, the page's heading and content.

    The content renders only once the server has said this browser belongs to an admin.
    """
    return app_page(
        rx.vstack(
            rx.hstack(*[_tab(*section) for section in SECTIONS], wrap="wrap", spacing="1"),
            rx.heading(title, size="7"),
            rx.cond(
                SessionState.is_admin,
                rx.vstack(*children, spacing="4", width="100%"),
                rx.center(rx.spinner(size="3"), padding="4rem"),
            ),
            spacing="4",
            width="100%",
        )
    )


def pager(state) -> rx.Component:
    """Previous / next for a list state (`AdminListState`), with where this page is in the whole."""
    return rx.hstack(
        rx.text(state.position, size="2", color_scheme="gray"),
        rx.spacer(),
        rx.button(
            "Previous", variant="soft", size="2", disabled=~state.has_previous, on_click=state.previous_page
        ),
        rx.button("Next", variant="soft", size="2", disabled=~state.has_next, on_click=state.next_page),
        align="center",
        width="100%",
    )


def table(headers: list[str], rows: rx.Var, render_row) -> rx.Component:
    """A table of one page of rows; on a phone each row is a block of labelled lines.

    On a wider screen short values (times, counts, statuses) keep to one line and text
    (links, errors, details) wraps.
    """
    return rx.box(
        rx.table.root(
            rx.table.header(rx.table.row(*[rx.table.column_header_cell(h) for h in headers])),
            rx.table.body(rx.foreach(rows, render_row)),
            variant="surface",
            size="1",
            width="100%",
            white_space="nowrap",
            style={
                "& td .rt-Text": {"white_space": "normal", "min_width": "12rem"},
                **stacked_on_a_phone(headers),
            },
        ),
        overflow_x="auto",
        width="100%",
    )
