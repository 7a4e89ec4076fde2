"""What every admin list page shares: loading, Next / Previous over keyset pages, where the page is.

A list page mixes this in and declares only its query (`_fetch`) and its columns
(`_show_rows`); its own filters call `_list(...)` to start again from the first page.
The cursors of the page on screen stay on the server (backend vars): a browser can
only ask for the next or the previous page, never name a position of its own.
"""

from __future__ import annotations

import uuid
from typing import ClassVar

import reflex as rx

from assetry.errors import AssetryError
from assetry.models import User
from assetry.services.admin.paging import Cursor, Page, Window
from assetry.state.admin import open_admin_page, require_admin
from assetry.state.page_local import PageLocal


class AdminListState(PageLocal, mixin=True):
    """One page of an admin list: its place in the list and the Next / Previous buttons."""

    page_size: ClassVar[int] = 50

    page: int = 1
    position: str = ""
    has_previous: bool = False
    has_next: bool = False
    error: str = ""
    _first: Cursor | None = None
    _last: Cursor | None = None

    @rx.event
    async def load(self):
        """Open the page: the rows shown last time (from the first of them on), or the first page."""
        return await open_admin_page(self, f"{type(self).__name__}.load", self._open)

    async def _open(self, admin: User):
        """The page's reads as it opens, for the admin; may return an event."""
        self.error = ""
        follow = await self._opened(admin.id)
        await self._refresh(admin.id)
        return follow

    @rx.event
    async def previous_page(self):
        return await self._list(
            "previous_page", Window(before=self._first, size=self.page_size), self.page - 1
        )

    @rx.event
    async def next_page(self):
        return await self._list("next_page", Window(after=self._last, size=self.page_size), self.page + 1)

    async def _fetch(self, admin_id: uuid.UUID, window: Window) -> Page:
        """The list's query: one page of it, as the window says."""
        raise TypeError(f"{type(self).__name__} must define _fetch")

    def _show_rows(self, found: Page) -> None:
        """The list's columns: set the page's rows (and any figures that came with them)."""
        raise TypeError(f"{type(self).__name__} must define _show_rows")

    async def _opened(self, admin_id: uuid.UUID):
        """What a page resets or reads each time it is opened (before its rows); may return an event."""

    async def _admin(self, handler: str):
        return await require_admin(self, f"{type(self).__name__}.{handler}")

    async def _list(self, handler: str, window: Window | None = None, page: int = 1):
        """The admin check, then the page the window names (the first page when None)."""
        admin, refusal = await self._admin(handler)
        if refusal:
            return refusal
        self.error = ""
        await self._read(admin.id, window or Window(size=self.page_size), page)
        return None

    async def _refresh(self, admin_id: uuid.UUID) -> None:
        """Read the page on screen again (after a change), from its first row on."""
        start = self._first if self.page > 1 else None
        await self._read(admin_id, Window(start=start, size=self.page_size), self.page if start else 1)

    async def _read(self, admin_id: uuid.UUID, window: Window, page: int) -> None:
        try:
            found = await self._fetch(admin_id, window)
        except AssetryError as problem:
            self.error = str(problem)
            return
        self.page = max(page, 1) if found.has_previous else 1
        self._first, self._last = found.first, found.last
        self.has_previous, self.has_next = found.has_previous, found.has_next
        pages = found.pages
        self.position = f"{found.total_text} in all · page {self.page}" + (
            f" of {max(pages, self.page)}" if pages is not None else ""
        )
        self._show_rows(found)
