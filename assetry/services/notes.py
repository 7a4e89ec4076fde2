"""Notes on a day or a post; they show as annotations on the dashboard's charts."""

from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlmodel import col, select

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.models import Note, Post
from assetry.models.base import utcnow
from assetry.services.validation import clean_text

MAX_BODY = 2000


def _day(raw: str | date) -> date:
    if isinstance(raw, date):
        return raw
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise BadInput("Pick the day the note is about.") from None
    if day > utcnow().date() + timedelta(days=366):
        raise BadInput("That day is more than a year ahead.")
    return day


async def add(user_id: uuid.UUID, *, day: str | date, body: str, post_id: uuid.UUID | None = None) -> Note:
    """Add a note on a day (and a post); an empty note or no day is refused with what to do."""
    if not (body or "").strip():
        raise BadInput("Write what happened before adding the note (for example: new hook, collab).")
    text = clean_text(body, field="note", max_length=MAX_BODY)
    async with db.user_session(user_id) as session:
        if post_id is not None:
            post = await session.get(Post, post_id)
            if post is None or post.user_id != user_id:
                raise NotAllowed(
                    "That post isn't in your analytics any more; add the note to its day instead."
                )
        note = Note(user_id=user_id, day=_day(day), body=text, post_id=post_id)
        session.add(note)
    return note


async def edit(user_id: uuid.UUID, note_id: uuid.UUID, *, body: str, day: str | date | None = None) -> Note:
    text = clean_text(body, field="note", max_length=MAX_BODY)
    async with db.user_session(user_id) as session:
        note = await _owned(session, user_id, note_id)
        note.body, note.updated_at = text, utcnow()
        if day is not None:
            note.day = _day(day)
    return note


async def delete(user_id: uuid.UUID, note_id: uuid.UUID) -> None:
    async with db.user_session(user_id) as session:
        await session.delete(await _owned(session, user_id, note_id))


async def recent(user_id: uuid.UUID, *, limit: int = 50) -> list[tuple[Note, str | None]]:
    """The user's notes, newest day first, each with its post's title (None: no post or deleted)."""
    async with db.user_session(user_id) as session:
        rows = (
            await session.exec(
                select(Note, Post.title)
                .join(Post, Post.id == Note.post_id, isouter=True)
                .where(Note.user_id == user_id)
                .order_by(col(Note.day).desc(), col(Note.created_at).desc())
                .limit(limit)
            )
        ).all()
    return [(note, title) for note, title in rows]


async def _owned(session, user_id: uuid.UUID, note_id: uuid.UUID) -> Note:
    note = await session.get(Note, note_id)
    if note is None or note.user_id != user_id:
        raise NotAllowed("That note isn't yours or was deleted.")
    return note
