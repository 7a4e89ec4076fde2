"""Waitlist and support messages against the real database.

The browser caps what can be typed (maxlength); these check the server refuses the rest.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import SupportMessage, WaitlistEntry
from assetry.services import contact


async def _count(model) -> int:
    async with db.service_session() as session:
        return await session.scalar(select(sa.func.count()).select_from(model))


async def test_waitlist_keeps_one_entry_per_address_and_answers_alike(database: str) -> None:
    first = await contact.join_waitlist(" Dewi@Example.com ", "203.0.113.7")
    again = await contact.join_waitlist("dewi@example.com", "203.0.113.7")
    # Whether the address was on the list already is nobody's business.
    assert first == again == contact.WAITLIST_ANSWER
    async with db.service_session() as session:
        emails = (await session.exec(select(WaitlistEntry.email))).all()
    assert emails == ["dewi@example.com"]


async def test_waitlist_is_throttled_per_ip(database: str, monkeypatch) -> None:
    monkeypatch.setenv("FORM_IP_MAX_PER_HOUR", "3")
    get_settings.cache_clear()
    for n in range(3):
        await contact.join_waitlist(f"fan{n}@example.com", "203.0.113.7")
    with pytest.raises(NotAllowed, match="Too many requests from your network"):
        await contact.join_waitlist("fan3@example.com", "203.0.113.7")
    await contact.join_waitlist("fan3@example.com", "198.51.100.1")
    async with db.service_session() as session:
        emails = (await session.exec(select(WaitlistEntry.email).order_by(WaitlistEntry.email))).all()
    assert emails == ["fan0@example.com", "fan1@example.com", "fan2@example.com", "fan3@example.com"]


async def test_waitlist_refuses_a_malformed_address(database: str) -> None:
    with pytest.raises(BadInput, match="doesn't look right"):
        await contact.join_waitlist("someone@localhost", "")
    assert await _count(WaitlistEntry) == 0


async def test_support_message_is_stored_as_typed(database: str) -> None:
    body = "<script>alert(1)</script>'; DROP TABLE support_messages;--"
    sent = await contact.send_support_message(
        name="Dewi", email="dewi@example.com", subject="Export", body=body
    )
    async with db.service_session() as session:
        stored = await session.get(SupportMessage, sent.id)
    assert (stored.subject, stored.body, stored.status) == ("Export", body, "open")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subject": "s" * 201}, "The subject is 201 characters; the limit is 200."),
        ({"body": "m" * 5001}, "The message is 5,001 characters; the limit is 5,000."),
        ({"name": "n" * 121}, "The name is 121 characters; the limit is 120."),
        ({"body": "   "}, "Please fill in the message."),
        ({"subject": ""}, "Please fill in the subject."),
        ({"email": ""}, "Enter your email address."),
    ],
)
async def test_support_message_refuses_bad_input_and_stores_nothing(
    database: str, fields: dict, message: str
) -> None:
    form = {"name": "", "email": "dewi@example.com", "subject": "Hello", "body": "A question."} | fields
    with pytest.raises(BadInput) as refused:
        await contact.send_support_message(**form)
    assert message in str(refused.value)
    assert await _count(SupportMessage) == 0
