"""On the analytics page: new posts we recognised, each with the generation it likely came from."""

from __future__ import annotations

import dataclasses
import uuid

import reflex as rx

from assetry.errors import AssetryError
from assetry.models import User
from assetry.pages.analytics.made_with import KIND_LABELS, reasons_of
from assetry.services import platforms, post_matching
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, signed_in_user


@dataclasses.dataclass
class ProposalView:
    post_id: str = ""
    post_title: str = ""
    post_detail: str = ""
    cover_url: str = ""
    generation_id: str = ""
    kind: str = ""
    prompt: str = ""
    evidence: str = ""


class ProposalsState(PageLocal, rx.State):
    proposals: list[ProposalView] = []

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        return await self._open(user)

    async def _open(self, user: User):
        """Fill the section for the signed-in user (on its own, or with the whole page: `AnalyticsState`)."""
        await self._refresh(user.id)

    async def _refresh(self, user_id: uuid.UUID) -> None:
        self.proposals = [
            ProposalView(
                post_id=str(p.post_id),
                post_title=p.post_title or "(no caption)",
                post_detail=f"{platforms.label(p.platform)} · {p.posted_at:%b %-d, %Y %H:%M} UTC",
                cover_url=p.cover_url,
                generation_id=str(p.generation_id),
                kind=KIND_LABELS.get(p.generation_kind, p.generation_kind),
                prompt=p.prompt,
                evidence=" ".join(reasons_of(p)),
            )
            for p in await post_matching.proposals(user_id)
        ]

    @rx.event
    async def answer(self, post_id: str, confirmed: bool):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await (post_matching.confirm if confirmed else post_matching.reject)(user.id, uuid.UUID(post_id))
        except (AssetryError, ValueError) as problem:
            await self._refresh(user.id)
            return rx.toast.error(str(problem))
        await self._refresh(user.id)
        return rx.toast.success("Linked." if confirmed else "Got it: we won't propose that one again.")


def _proposal(p: ProposalView) -> rx.Component:
    return rx.card(
        rx.flex(
            rx.cond(
                p.cover_url != "",
                rx.image(src=p.cover_url, width="3rem", height="4.25rem", object_fit="cover", alt=""),
            ),
            rx.vstack(
                rx.link(p.post_title, href="/analytics/post/" + p.post_id, weight="medium", size="2"),
                rx.text(p.post_detail, size="1", color_scheme="gray"),
                rx.hstack(
                    rx.text("Made from", size="2"),
                    rx.badge(p.kind, variant="outline"),
                    rx.link(p.prompt, href="/library/" + p.generation_id, size="2", trim="both"),
                    wrap="wrap",
                    align="center",
                    spacing="2",
                ),
                rx.text(p.evidence, size="1", color_scheme="gray"),
                spacing="1",
                flex="1",
                min_width="0",
            ),
            rx.hstack(
                rx.button(
                    rx.icon("check", size=14),
                    "Yes",
                    size="2",
                    on_click=ProposalsState.answer(p.post_id, True),
                ),
                rx.button(
                    "No",
                    size="2",
                    variant="soft",
                    color_scheme="gray",
                    on_click=ProposalsState.answer(p.post_id, False),
                ),
                spacing="2",
            ),
            gap="3",
            align=rx.breakpoints(initial="start", sm="center"),
            direction=rx.breakpoints(initial="column", sm="row"),
            width="100%",
        ),
        width="100%",
    )


def proposals_section() -> rx.Component:
    """Shown only while some recognised posts wait for a yes or no."""
    return rx.cond(
        ProposalsState.proposals.length() > 0,
        rx.vstack(
            rx.heading("Made with Assetry?", size="5", as_="h2"),
            rx.text(
                "New posts that look like something you made here. Confirm to see them on What works.",
                size="2",
                color_scheme="gray",
            ),
            rx.foreach(ProposalsState.proposals, _proposal),
            width="100%",
            spacing="3",
        ),
    )
