"""Notes on days and posts."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

import pytest

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.models import Post, User
from assetry.services import notes


async def user_with_post() -> tuple[uuid.UUID, uuid.UUID]:
    user_id = uuid.uuid4()
    async with db.service_session() as session:
        session.add(User(id=user_id, email=f"{user_id}@example.com", age_confirmed_at=datetime.now(UTC)))
        post = Post(
            user_id=user_id,
            platform="tiktok",
            platform_post_id="1",
            title="Launch",
            posted_at=datetime.now(UTC),
        )
        session.add(post)
    return user_id, post.id


async def test_add_edit_delete_and_list(database: str) -> None:
    user_id, post_id = await user_with_post()
    on_day = await notes.add(user_id, day="2026-11-20", body="  Tried a new hook  ")
    on_post = await notes.add(user_id, day=date(2026, 11, 21), body="Collab", post_id=post_id)
    assert on_day.body == "Tried a new hook"
    await notes.edit(user_id, on_day.id, body="Tried a new hook <b>bold</b>")
    listed = await notes.recent(user_id)
    assert [(n.body, title) for n, title in listed] == [
        ("Collab", "Launch"),
        ("Tried a new hook <b>bold</b>", None),
    ]
    await notes.delete(user_id, on_post.id)
    assert [n.id for n, _ in await notes.recent(user_id)] == [on_day.id]


async def test_a_note_outlives_its_deleted_post(database: str) -> None:
    user_id, post_id = await user_with_post()
    note = await notes.add(user_id, day="2026-11-21", body="About that post", post_id=post_id)
    async with db.service_session() as session:
        await session.delete(await session.get(Post, post_id))
    [(kept, title)] = await notes.recent(user_id)
    assert (kept.id, kept.post_id, title) == (note.id, None, None)
    with pytest.raises(NotAllowed, match="isn't in your analytics any more"):
        await notes.add(user_id, day="2026-11-21", body="again", post_id=post_id)


async def test_bad_notes_are_refused(database: str) -> None:
    user_id, _ = await user_with_post()
    other_id, _ = await user_with_post()
    with pytest.raises(BadInput, match="Write what happened before adding the note"):
        await notes.add(user_id, day="2026-11-21", body="   ")
    with pytest.raises(BadInput, match="Write what happened"):  # the empty form: no day, no text
        await notes.add(user_id, day="", body="")
    with pytest.raises(BadInput, match="Pick the day"):
        await notes.add(user_id, day="", body="A new hook")
    with pytest.raises(BadInput, match="limit is 2,000"):
        await notes.add(user_id, day="2026-11-21", body="x" * 2001)
    with pytest.raises(BadInput, match="Pick the day"):
        await notes.add(user_id, day="21/11/2026", body="x")
    note = await notes.add(user_id, day="2026-11-21", body="mine")
    with pytest.raises(NotAllowed):
        await notes.edit(other_id, note.id, body="theirs")
    with pytest.raises(NotAllowed):
        await notes.delete(other_id, note.id)
    assert [n.body for n, _ in await notes.recent(user_id)] == ["mine"]
