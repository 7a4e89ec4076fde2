"""The banner the app shell shows while the signed-in user has not accepted a changed policy."""

from __future__ import annotations

import reflex as rx

from assetry.services import app_shell, policy_changes
from assetry.state.session import LOGIN_ROUTE, ShellPart, signed_in_user


class PolicyBannerState(ShellPart, rx.State):
    """What changed (text and links); empty when there is nothing to accept."""

    message: str = ""
    links: list[dict[str, str]] = []

    async def _fill(self, banners: app_shell.Banners) -> None:
        """Unaccepted policy versions of this user."""
        self._show(banners.policies)

    @rx.event
    async def accept(self):
        """Record the user's acceptance of every current policy version."""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        await policy_changes.accept_current(user.id)
        self._show(None)
        return None

    def _show(self, banner: policy_changes.PolicyBanner | None) -> None:
        self.message = banner.text if banner else ""
        self.links = (
            [{"label": f"Read the {c.title.lower()}", "href": c.route} for c in banner.changes]
            if banner
            else []
        )
