"""Linking a post to the generation it was made from, from either side: a post's page ("Made with
Assetry") picks a generation, a generation's page ("I posted this") picks a post.

Both pages are about the thing named by the last part of their address, and both open a pick
list of the other side's candidates; what they show and how they link is their own.
"""

from __future__ import annotations

import uuid

import reflex as rx

from assetry.errors import AssetryError
from assetry.models import User
from assetry.state.address import id_in_path
from assetry.state.session import LOGIN_ROUTE, signed_in_user


class LinkPicker(rx.State, mixin=True):
    """A page that links its own post or generation to one picked from a list (`choices`, which
    the page declares with the type of its rows)."""

    picking: bool = False

    def _page_id(self) -> uuid.UUID | None:
        return id_in_path(self.router.url.path)

    async def _refresh(self, user_id: uuid.UUID) -> None:
        """Read what the page shows about its post or generation."""
        raise TypeError(f"{type(self).__name__} must define _refresh")

    async def _choices(self, user_id: uuid.UUID, page_id: uuid.UUID) -> list:
        """The pick list's rows, likeliest first (AssetryError: there is no list to offer)."""
        raise TypeError(f"{type(self).__name__} must define _choices")

    @rx.event
    async def load(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        await self._open(user)
        return None

    async def _open(self, user: User) -> None:
        """Show the links for the signed-in user, the pick list closed (alone, or with its page)."""
        self.picking, self.choices = False, []
        await self._refresh(user.id)

    @rx.event
    async def pick(self, open_: bool):
        """Open (loading the candidates) or close the pick list."""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        self.picking = bool(open_)
        if not self.picking:
            return None
        page_id = self._page_id()
        try:
            self.choices = await self._choices(user.id, page_id) if page_id else []
        except AssetryError as problem:
            self.picking = False
            return rx.toast.error(str(problem))
        return None
