"""Keyset ("seek") paging for the admin lists.

Every admin list is sorted by a timestamp and then by the row's id, both in the same
direction, so each row has a unique place in the list: its `Cursor`. A page is "the
next N rows after this cursor" (or "the N rows before it", going back), which the
database answers by seeking in the index: page 2,000 costs what page 1 costs, where
OFFSET would read and throw away every row before it. Rows added while an admin pages
never make a row show twice or not at all.

Totals are counted up to `COUNT_CAP` rows and no further; past it a list says
"10,000+" rather than counting a million audit entries on every click.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

import sqlalchemy as sa
from sqlmodel.ext.asyncio.session import AsyncSession

PAGE_SIZE = 50
MAX_PAGE_SIZE = 200
COUNT_CAP = 10_000
Row = TypeVar("Row")


@dataclass(frozen=True)
class Cursor:
    """A row's place in a list: its sort timestamp and its id."""

    at: datetime
    id: uuid.UUID


@dataclass(frozen=True)
class Window:
    """Which page to read: the first, the one from a row on, or the one just after or before a row."""

    start: Cursor | None = None  # this row and the ones after it (the same page again)
    after: Cursor | None = None  # the rows after this one (Next)
    before: Cursor | None = None  # the rows before this one (Previous)
    size: int = PAGE_SIZE

    @property
    def limit(self) -> int:
        return min(max(int(self.size), 1), MAX_PAGE_SIZE)


@dataclass(frozen=True)
class SortKey:
    """How a list is sorted: a timestamp column, then the id column, both the same way."""

    at: Any
    id: Any
    newest_first: bool


@dataclass
class Page(Generic[Row]):
    """One page of a longer list, where it starts and ends, and whether there is more either side."""

    rows: list[Row]
    total: int  # exact up to COUNT_CAP; COUNT_CAP + 1 means "more than COUNT_CAP"
    size: int
    first: Cursor | None
    last: Cursor | None
    has_previous: bool
    has_next: bool
    extra: dict = field(default_factory=dict)

    @property
    def total_text(self) -> str:
        """The total as a person reads it: "1,234", or "10,000+" when it was not counted to the end."""
        return f"{COUNT_CAP:,}+" if self.total > COUNT_CAP else f"{self.total:,}"

    @property
    def pages(self) -> int | None:
        """How many pages the whole list has, or None when the total is only known to be large."""
        if self.total > COUNT_CAP:
            return None
        return max(1, -(-self.total // self.size))


async def capped_count(session: AsyncSession, query: sa.Select, key: SortKey) -> int:
    """How many rows the query matches, counting no further than COUNT_CAP + 1."""
    matching = query.with_only_columns(key.id).order_by(None).limit(COUNT_CAP + 1).subquery()
    return await session.scalar(sa.select(sa.func.count()).select_from(matching)) or 0


async def read_page(session: AsyncSession, query: sa.Select, key: SortKey, window: Window) -> Page[sa.Row]:
    """One page of `query` sorted by `key`, as the window says; each row without the sort key columns.

    The total is counted (capped) in the same transaction, so rows and total agree.
    """
    size = window.limit
    going_back = window.before is not None
    cursor = window.start or window.after or window.before
    keyed = query.add_columns(key.at, key.id)
    if cursor is not None:
        keyed = keyed.where(_beyond(key, cursor, forward=not going_back, inclusive=window.start is not None))
    # Going back reads the list backwards from the cursor, then turns the rows round.
    descending = key.newest_first != going_back
    order = (key.at.desc(), key.id.desc()) if descending else (key.at.asc(), key.id.asc())
    found = list((await session.exec(keyed.order_by(*order).limit(size + 1))).all())
    more = len(found) > size
    found = found[:size]
    if going_back:
        if len(found) < size:  # back at the start (rows were removed meanwhile): show the first page
            return await read_page(session, query, key, Window(size=size))
        found.reverse()
        has_previous, has_next = more, True
    else:
        has_previous, has_next = cursor is not None, more
    total = await capped_count(session, query, key)
    cursors = [Cursor(row[-2], row[-1]) for row in found]
    return Page(
        rows=[row[:-2] for row in found],
        total=total,
        size=size,
        first=cursors[0] if cursors else None,
        last=cursors[-1] if cursors else None,
        has_previous=has_previous,
        has_next=has_next,
    )


def _beyond(key: SortKey, cursor: Cursor, *, forward: bool, inclusive: bool) -> sa.ColumnElement[bool]:
    """Rows past the cursor in list order (forward) or before it (backward)."""
    greater = forward != key.newest_first
    at = sa.bindparam(None, cursor.at, type_=key.at.type)
    row_id = sa.bindparam(None, cursor.id, type_=key.id.type)
    pair, bound = sa.tuple_(key.at, key.id), sa.tuple_(at, row_id)
    if greater:
        # The plain `at >=` lets a database use an index on the timestamp alone.
        return sa.and_(key.at >= at, pair >= bound if inclusive else pair > bound)
    return sa.and_(key.at <= at, pair <= bound if inclusive else pair < bound)
