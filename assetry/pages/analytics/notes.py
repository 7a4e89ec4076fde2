"""Notes on the analytics page: add one for a day or a post, edit, delete."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.errors import AssetryError
from assetry.models import User
from assetry.services import notes
from assetry.state.session import LOGIN_ROUTE, signed_in_user


@dataclasses.dataclass
class NoteView:
    id: str = ""
    day: str = ""
    body: str = ""
    post: str = ""


class NotesState(rx.State):
    """The creator's notes and the note form."""

    items: list[NoteView] = []
    editing: str = ""
    error: str = ""

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        return await self._open(user)

    async def _open(self, user: User):
        """Fill the section for the signed-in user (on its own, or with the whole page: `AnalyticsState`)."""
        await self._refresh(user.id)

    @rx.event
    async def add(self, form: dict):
        """Add a note; on a problem the form keeps what was typed and the message says what to fix."""
        added = await self._change(
            lambda user_id: notes.add(
                user_id,
                day=str(form.get("day", "")),
                body=str(form.get("body", "")),
                post_id=uuid.UUID(form["post_id"]) if form.get("post_id") else None,
            ),
            "Note added.",
        )
        if self.error:
            return added
        return [rx.set_value("note-body", ""), *added] if isinstance(added, list) else added

    @rx.event
    def edit(self, note_id: str):
        self.editing = note_id

    @rx.event
    async def save(self, form: dict):
        note_id = self.editing
        result = await self._change(
            lambda user_id: notes.edit(user_id, uuid.UUID(note_id), body=str(form.get("body", ""))),
            "Note saved.",
        )
        if not self.error:
            self.editing = ""
        return result

    @rx.event
    async def delete(self, note_id: str):
        return await self._change(lambda user_id: notes.delete(user_id, uuid.UUID(note_id)), "Note deleted.")

    async def _change(self, action, done: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        self.error = ""
        try:
            await action(user.id)
        except (AssetryError, ValueError, KeyError) as problem:
            self.error = str(problem)
            return None
        await self._refresh(user.id)
        from assetry.pages.analytics.dashboard import DashboardState

        return [rx.toast.success(done), DashboardState.load]

    async def _refresh(self, user_id: uuid.UUID) -> None:
        self.items = [
            NoteView(id=str(n.id), day=f"{n.day:%b %-d, %Y}", body=n.body, post=title or "")
            for n, title in await notes.recent(user_id)
        ]


def _note_row(note: NoteView) -> rx.Component:
    return rx.box(
        rx.cond(
            NotesState.editing == note.id,
            rx.form(
                rx.hstack(
                    rx.input(
                        name="body",
                        default_value=note.body,
                        max_length=2000,
                        width="100%",
                        aria_label="Note text",
                    ),
                    rx.button("Save", type="submit", size="2"),
                    rx.button(
                        "Cancel", type="button", variant="ghost", size="2", on_click=NotesState.edit("")
                    ),
                    width="100%",
                ),
                on_submit=NotesState.save,
            ),
            rx.hstack(
                rx.text(note.day, size="1", color_scheme="gray", min_width="6rem"),
                rx.vstack(
                    rx.text(note.body, size="2", class_name="note-body"),
                    rx.cond(note.post != "", rx.text("on ", note.post, size="1", color_scheme="gray")),
                    spacing="0",
                    flex="1",
                ),
                rx.icon_button(
                    rx.icon("pencil", size=14),
                    variant="ghost",
                    size="1",
                    aria_label="Edit note",
                    on_click=NotesState.edit(note.id),
                ),
                rx.icon_button(
                    rx.icon("trash-2", size=14),
                    variant="ghost",
                    color_scheme="red",
                    size="1",
                    aria_label="Delete note",
                    on_click=NotesState.delete(note.id),
                ),
                width="100%",
                align="center",
            ),
        ),
        width="100%",
        padding_y="0.4rem",
        border_bottom=f"1px solid {rx.color('gray', 4)}",
    )


def notes_section(post_id: rx.Var[str] | str = "") -> rx.Component:
    return rx.card(
        rx.vstack(
            rx.heading("Notes", size="4", as_="h2"),
            rx.text("Notes appear on the chart on their day.", size="1", color_scheme="gray"),
            rx.form(
                rx.flex(
                    # No `required`: the browser's own bubble is easy to miss; the service says what's missing.
                    rx.input(type="date", name="day", id="note-day", aria_label="Day"),
                    rx.input(
                        name="body",
                        id="note-body",
                        placeholder="What happened? (new hook, collab, trend…)",
                        max_length=2000,
                        aria_label="Note",
                        flex="1",
                        min_width="12rem",
                    ),
                    rx.el.input(type="hidden", name="post_id", value=post_id),
                    rx.button("Add note", type="submit"),
                    spacing="2",
                    wrap="wrap",
                    width="100%",
                ),
                on_submit=NotesState.add,
                width="100%",
            ),
            rx.cond(NotesState.error != "", rx.callout(NotesState.error, color_scheme="red", role="alert")),
            rx.foreach(NotesState.items, _note_row),
            width="100%",
        ),
        width="100%",
    )
