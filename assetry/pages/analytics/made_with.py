"""On a post's page: the generation it was made from ("Made with Assetry"), or the one proposed."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.components.pick_list import pick_list
from assetry.errors import AssetryError
from assetry.services import post_links, post_matching
from assetry.state.post_linking import LinkPicker
from assetry.state.session import LOGIN_ROUTE, signed_in_user

KIND_LABELS = {"video": "Video", "image": "Image", "caption": "Captions"}


@dataclasses.dataclass
class MadeView:
    id: str = ""
    kind: str = ""
    prompt: str = ""
    made: str = ""


def _made(choice: post_links.GenerationChoice | post_matching.Proposal) -> MadeView:
    if isinstance(choice, post_matching.Proposal):
        return MadeView(str(choice.generation_id), KIND_LABELS.get(choice.generation_kind, ""), choice.prompt)
    return MadeView(
        str(choice.id),
        KIND_LABELS.get(choice.kind, choice.kind),
        choice.prompt,
        f"{choice.created_at:%b %-d, %Y}",
    )


def reasons_of(proposal: post_matching.Proposal) -> list[str]:
    """The evidence of a proposal, strongest first."""
    return [proposal.reasons[key] for key in ("cover", "caption", "timing") if key in proposal.reasons]


class MadeWithState(LinkPicker, rx.State):
    """The post's link to a generation, a proposal waiting for an answer, and the pick list."""

    linked: MadeView = MadeView()
    proposed: MadeView = MadeView()
    evidence: list[str] = []
    choices: list[MadeView] = []

    async def _refresh(self, user_id: uuid.UUID) -> None:
        post_id = self._page_id()
        linked = await post_links.generation_of(user_id, post_id) if post_id else None
        found = await post_matching.proposals(user_id, post_id=post_id) if post_id and not linked else []
        self.linked = _made(linked) if linked else MadeView()
        self.proposed = _made(found[0]) if found else MadeView()
        self.evidence = reasons_of(found[0]) if found else []

    async def _choices(self, user_id: uuid.UUID, page_id: uuid.UUID) -> list[MadeView]:
        return [_made(choice) for choice in await post_links.generation_choices(user_id, page_id)]

    @rx.event
    async def link(self, generation_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        post_id = self._page_id()
        try:
            if post_id is None:
                raise ValueError("That post isn't in your analytics.")
            await post_links.link_post(user.id, post_id, uuid.UUID(generation_id))
        except (AssetryError, ValueError, TypeError) as problem:
            return rx.toast.error(str(problem))
        self.picking = False
        await self._refresh(user.id)
        return rx.toast.success("Linked to the generation it was made from.")

    @rx.event
    async def unlink(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        post_id = self._page_id()
        if post_id is not None:
            await post_links.unlink(user.id, post_id)
        await self._refresh(user.id)
        return rx.toast.success("Unlinked.")

    @rx.event
    async def answer(self, confirmed: bool):
        """Yes or no to the proposed generation."""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        post_id = self._page_id()
        try:
            if post_id is None:
                raise ValueError("That post isn't in your analytics.")
            await (post_matching.confirm if confirmed else post_matching.reject)(user.id, post_id)
        except (AssetryError, ValueError) as problem:
            await self._refresh(user.id)
            return rx.toast.error(str(problem))
        await self._refresh(user.id)
        return rx.toast.success("Linked." if confirmed else "Got it: we won't propose that one again.")


def _generation_line(made: MadeView) -> rx.Component:
    return rx.hstack(
        rx.badge(made.kind, variant="outline"),
        rx.link(made.prompt, href="/library/" + made.id, size="2", trim="both"),
        align="center",
        spacing="2",
        min_width="0",
    )


def _pick_list() -> rx.Component:
    return pick_list(
        MadeWithState,
        trigger=rx.button(rx.icon("sparkles", size=14), "Made with Assetry", variant="soft"),
        title="Which generation was it made from?",
        description="Your finished generations, the ones made before this post first.",
        row=lambda made: rx.hstack(
            rx.vstack(
                _generation_line(made),
                rx.text(made.made, size="1", color_scheme="gray"),
                spacing="0",
                flex="1",
                min_width="0",
            ),
            rx.button("This one", size="1", on_click=MadeWithState.link(made.id)),
            align="center",
            width="100%",
        ),
        empty="Nothing finished in your library yet.",
    )


def made_with_section() -> rx.Component:
    """Made with Assetry: the linked generation, the proposed one to confirm or reject, or a way to pick."""
    return rx.card(
        rx.vstack(
            rx.heading("Made with Assetry", size="4", as_="h2"),
            rx.cond(
                MadeWithState.linked.id != "",
                rx.hstack(
                    _generation_line(MadeWithState.linked),
                    rx.button(
                        "Unlink",
                        variant="ghost",
                        size="1",
                        color_scheme="gray",
                        on_click=MadeWithState.unlink,
                    ),
                    align="center",
                    justify="between",
                    width="100%",
                ),
                rx.cond(
                    MadeWithState.proposed.id != "",
                    rx.vstack(
                        rx.text("Was this post made from this generation?", size="2", weight="medium"),
                        _generation_line(MadeWithState.proposed),
                        rx.foreach(
                            MadeWithState.evidence, lambda line: rx.text(line, size="1", color_scheme="gray")
                        ),
                        rx.hstack(
                            rx.button(
                                rx.icon("check", size=14), "Yes, link it", on_click=MadeWithState.answer(True)
                            ),
                            rx.button(
                                "No, it wasn't",
                                variant="soft",
                                color_scheme="gray",
                                on_click=MadeWithState.answer(False),
                            ),
                            _pick_list(),
                            wrap="wrap",
                            spacing="2",
                        ),
                        width="100%",
                    ),
                    rx.vstack(
                        rx.text(
                            "Made this with Assetry? Link the generation to learn what works for you.",
                            size="2",
                            color_scheme="gray",
                        ),
                        _pick_list(),
                    ),
                ),
            ),
            width="100%",
        ),
        width="100%",
    )
