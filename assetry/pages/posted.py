"""On a generation's page: the posts it became ("I posted this"), and, in sandbox mode, posting it there."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.components.pick_list import pick_list
from assetry.errors import AssetryError
from assetry.services import platforms, post_links, sandbox_posting, studio
from assetry.state.page_local import PageLocal
from assetry.state.post_linking import LinkPicker
from assetry.state.session import LOGIN_ROUTE, signed_in_user


@dataclasses.dataclass
class PostedView:
    id: str = ""
    title: str = ""
    detail: str = ""
    cover_url: str = ""
    elsewhere: bool = False  # already linked to another generation


def _view(post: post_links.PostChoice, generation_id: uuid.UUID | None = None) -> PostedView:
    return PostedView(
        id=str(post.id),
        title=post.title or "(no caption)",
        detail=f"{platforms.label(post.platform)} · {post.posted_at:%b %-d, %Y %H:%M} UTC",
        cover_url=post.cover_url,
        elsewhere=post.linked_to is not None and post.linked_to != generation_id,
    )


class PostedState(PageLocal, LinkPicker, rx.State):
    """The posts a generation is linked to, and the pick list of the creator's posts."""

    posts: list[PostedView] = []
    choices: list[PostedView] = []
    can_post_in_sandbox: bool = False

    async def _refresh(self, user_id: uuid.UUID) -> None:
        generation_id = self._page_id()
        try:
            generation = await studio.get(user_id, generation_id) if generation_id else None
        except AssetryError:
            generation = None
        if generation is None:
            self.posts, self.can_post_in_sandbox = [], False
            return
        self.posts = [_view(p) for p in await post_links.posts_of(user_id, generation.id)]
        self.can_post_in_sandbox = (
            sandbox_posting.available() and generation.kind == "video" and generation.status == "succeeded"
        )

    async def _choices(self, user_id: uuid.UUID, page_id: uuid.UUID) -> list[PostedView]:
        return [_view(p, page_id) for p in await post_links.post_choices(user_id, page_id)]

    @rx.event
    async def link(self, post_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        generation_id = self._page_id()
        try:
            if generation_id is None:
                raise ValueError("That generation isn't in your library.")
            await post_links.link_post(user.id, uuid.UUID(post_id), generation_id)
        except (AssetryError, ValueError, TypeError) as problem:
            return rx.toast.error(str(problem))
        self.picking = False
        await self._refresh(user.id)
        return rx.toast.success("Linked: its numbers now count for this generation on What works.")

    @rx.event
    async def unlink(self, post_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await post_links.unlink(user.id, uuid.UUID(post_id))
        except ValueError:
            return rx.toast.error("That post isn't linked here.")
        await self._refresh(user.id)
        return rx.toast.success("Unlinked.")

    @rx.event
    async def post_in_sandbox(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        generation_id = self._page_id()
        if generation_id is None:
            return None
        try:
            posted = await sandbox_posting.post_in_sandbox(user.id, generation_id)
        except AssetryError as problem:
            return rx.toast.error(str(problem))
        return rx.toast.success(
            f"Posted in the sandbox on {', '.join(posted)}. Press Sync now on the analytics page to bring it in."
        )


def _post_row(post: PostedView, action: rx.Component) -> rx.Component:
    return rx.hstack(
        rx.cond(
            post.cover_url != "",
            rx.image(src=post.cover_url, width="2.5rem", height="3.5rem", object_fit="cover", alt=""),
        ),
        rx.vstack(
            rx.link(post.title, href="/analytics/post/" + post.id, size="2", weight="medium"),
            rx.text(post.detail, size="1", color_scheme="gray"),
            spacing="0",
            flex="1",
            min_width="0",
        ),
        action,
        align="center",
        width="100%",
    )


def _pick_list() -> rx.Component:
    return pick_list(
        PostedState,
        trigger=rx.button(rx.icon("link", size=14), "I posted this", variant="soft"),
        title="Which post is it?",
        description="Your synced posts, likeliest first: the ones published soon after this was made.",
        row=lambda post: _post_row(
            post,
            rx.button(
                rx.cond(post.elsewhere, "Move here", "This one"),
                size="1",
                on_click=PostedState.link(post.id),
            ),
        ),
        empty="No synced posts yet. Connect TikTok or Instagram on the analytics page, then come back.",
    )


def posted_section() -> rx.Component:
    """Where this generation was posted: linked posts, "I posted this", and the sandbox's post button."""
    return rx.card(
        rx.vstack(
            rx.heading("Posted as", size="4", as_="h2"),
            rx.cond(
                PostedState.posts.length() > 0,
                rx.vstack(
                    rx.foreach(
                        PostedState.posts,
                        lambda post: _post_row(
                            post,
                            rx.button(
                                "Unlink",
                                variant="ghost",
                                size="1",
                                color_scheme="gray",
                                on_click=PostedState.unlink(post.id),
                            ),
                        ),
                    ),
                    width="100%",
                ),
                rx.text(
                    "Not linked to a post yet. Link the post it became to see what it did on What works.",
                    size="2",
                    color_scheme="gray",
                ),
            ),
            rx.hstack(
                _pick_list(),
                rx.cond(
                    PostedState.can_post_in_sandbox,
                    rx.button(
                        rx.badge("Sandbox", color_scheme="amber"),
                        "Post this in the sandbox",
                        variant="outline",
                        on_click=PostedState.post_in_sandbox,
                    ),
                ),
                wrap="wrap",
                spacing="2",
            ),
            width="100%",
        ),
        width="100%",
    )
