"""Keyset paging of every admin list.

Rows share timestamps on purpose (ties on the sort key): paging forward with Next and
back with Previous must return each matching row exactly once, in the list's order,
with the list's filter applied; rows added meanwhile must not repeat or hide a row.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from assetry import db
from assetry.models import AuditEntry, OutboxMessage, SupportMessage, User, WaitlistEntry
from assetry.services.admin import audit_log, inbox, outbox, users, waitlist
from assetry.services.admin.paging import COUNT_CAP, Page, Window
from tests.admin_people import make_user

BASE = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
SIZE = 7


def _user(i: int, matching: bool, at: datetime) -> User:
    email = f"fan{i}@match.test" if matching else f"other{i}@x.test"
    return User(email=email, age_confirmed_at=at, created_at=at)


def _waitlist(i: int, matching: bool, at: datetime) -> WaitlistEntry:
    return WaitlistEntry(email=f"fan{i}@match.test" if matching else f"other{i}@x.test", created_at=at)


def _audit(i: int, matching: bool, at: datetime) -> AuditEntry:
    return AuditEntry(action="admin.quota_set" if matching else "account.login", target=str(i), created_at=at)


def _message(i: int, matching: bool, at: datetime) -> SupportMessage:
    # Privacy requests are stored by what they ask for; the inbox's "privacy" filter finds them.
    kind = "access" if matching else "support"
    return SupportMessage(kind=kind, email=f"p{i}@x.test", subject=f"#{i}", body="Hi", created_at=at)


def _mail(i: int, matching: bool, at: datetime) -> OutboxMessage:
    to = f"fan{i}@match.test" if matching else f"other{i}@x.test"
    return OutboxMessage(
        to_address=to, subject="Hi", body_text="Hi", template="welcome", status="kept", created_at=at
    )


@dataclass(frozen=True)
class AdminList:
    make: Callable[[int, bool, datetime], object]
    read: Callable[[uuid.UUID, Window], Awaitable[Page]]
    newest_first: bool


LISTS = {
    "users": AdminList(_user, lambda admin, w: users.search(admin, "fan", window=w), newest_first=True),
    "waitlist": AdminList(
        _waitlist, lambda admin, w: waitlist.listing(admin, "match", window=w), newest_first=False
    ),
    "audit log": AdminList(
        _audit, lambda admin, w: audit_log.entries(admin, action="admin.", window=w), newest_first=True
    ),
    "inbox": AdminList(
        _message,
        lambda admin, w: inbox.listing(admin, status="open", kind="privacy", window=w),
        newest_first=False,
    ),
    "outbox": AdminList(_mail, lambda admin, w: outbox.listing(admin, to="fan", window=w), newest_first=True),
}


async def _seed(spec: AdminList, matching: int, others: int) -> list[uuid.UUID]:
    """Rows on three timestamps only (so most share theirs); the matching ones' ids in list order."""
    made = []
    async with db.service_session() as session:
        for i in range(matching + others):
            row = spec.make(i, i < matching, BASE + timedelta(seconds=i % 3))
            session.add(row)
            made.append(row)
    wanted = sorted(made[:matching], key=lambda row: (row.created_at, row.id), reverse=spec.newest_first)
    return [row.id for row in wanted]


async def _add_one(spec: AdminList, i: int, at: datetime) -> uuid.UUID:
    async with db.service_session() as session:
        row = spec.make(i, True, at)
        session.add(row)
    return row.id


def _ids(page: Page) -> list[uuid.UUID]:
    return [row.id for row in page.rows]


@pytest.fixture
async def admin(database: str) -> User:
    # Created after BASE, with an address no filter matches: it shows in no list below.
    return await make_user("root@assetry.test", admin=True)


@pytest.mark.parametrize("name", list(LISTS))
async def test_next_and_previous_show_every_row_once_in_order(admin: User, name: str) -> None:
    spec = LISTS[name]
    expected = await _seed(spec, matching=30, others=11)

    seen, page = [], await spec.read(admin.id, Window(size=SIZE))
    assert not page.has_previous
    while True:
        assert page.total == 30 and page.pages == 5 and page.total_text == "30"
        seen += _ids(page)
        if not page.has_next:
            break
        page = await spec.read(admin.id, Window(after=page.last, size=SIZE))
    assert seen == expected

    back = _ids(page)
    while page.has_previous:
        page = await spec.read(admin.id, Window(before=page.first, size=SIZE))
        assert len(page.rows) == SIZE
        back = _ids(page) + back
    assert back == expected

    second = await spec.read(admin.id, Window(after=page.last, size=SIZE))
    again = await spec.read(admin.id, Window(start=second.first, size=SIZE))  # the same page, read again
    assert _ids(again) == _ids(second) == expected[SIZE : 2 * SIZE]
    assert again.has_previous and again.has_next


@pytest.mark.parametrize("name", list(LISTS))
async def test_a_row_added_while_paging_is_neither_repeated_nor_hiding_another(
    admin: User, name: str
) -> None:
    spec = LISTS[name]
    expected = await _seed(spec, matching=12, others=3)
    first = await spec.read(admin.id, Window(size=SIZE))
    # A new row that sorts first in a newest-first list, and last in an oldest-first one.
    new = await _add_one(spec, 99, BASE + timedelta(hours=1))

    rest = await spec.read(admin.id, Window(after=first.last, size=SIZE))
    following = expected[SIZE:] + ([] if spec.newest_first else [new])
    assert _ids(first) + _ids(rest) == expected[:SIZE] + following
    assert not rest.has_next

    fresh = await spec.read(admin.id, Window(size=SIZE))
    with_new = [new, *expected] if spec.newest_first else [*expected, new]
    assert _ids(fresh) == with_new[:SIZE] and fresh.total == 13
    # Back from the second page: the rows just before it; then, in a newest-first list, the
    # new row is one more page back, shown as the (full) first page.
    back = await spec.read(admin.id, Window(before=rest.first, size=SIZE))
    assert _ids(back) == expected[:SIZE] and back.has_previous == spec.newest_first
    if spec.newest_first:
        start = await spec.read(admin.id, Window(before=back.first, size=SIZE))
        assert _ids(start) == with_new[:SIZE] and not start.has_previous


async def test_a_long_list_is_counted_only_to_the_cap(admin: User) -> None:
    async with db.service_session() as session:
        session.add_all(AuditEntry(action="account.login", created_at=BASE) for _ in range(COUNT_CAP + 5))
    page = await audit_log.entries(admin.id)
    assert page.total == COUNT_CAP + 1 and page.total_text == "10,000+" and page.pages is None
    assert page.has_next and len(page.rows) == 50
