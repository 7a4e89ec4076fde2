"""The page right after an account is deleted: it confirms the deletion and says when the data is gone.

Only the browser tab that deleted the account sees the details: they live in its own state,
set by the deletion itself. Opened any other way, the page says only what it is for.
"""

from __future__ import annotations

import reflex as rx

from assetry.components.layout import public_page


class DeletedAccountState(rx.State):
    """What this tab's deletion said: filled by the settings page as it deletes the account."""

    email: str = ""
    erased_by: str = ""  # "by December 6, 2026 (in 30 days)", "right away"

    def _remember(self, *, email: str, erased_by: str) -> None:
        self.email, self.erased_by = email, erased_by


def account_deleted() -> rx.Component:
    return public_page(
        rx.vstack(
            rx.heading("Account deleted", size="7"),
            rx.cond(
                DeletedAccountState.email != "",
                rx.vstack(
                    rx.callout(
                        "Your Assetry account is deleted and you are logged out on every browser.",
                        icon="circle-check",
                        color_scheme="green",
                        width="100%",
                        role="status",
                    ),
                    rx.text(
                        "Everything we held about you, every record and every file, is erased ",
                        rx.text.strong(DeletedAccountState.erased_by, id="erased-by"),
                        ". Your connected TikTok and Instagram access was revoked.",
                    ),
                    rx.text(
                        "We emailed a confirmation to ",
                        rx.text.strong(DeletedAccountState.email),
                        ". If you did not mean to do this, reply to that email at once.",
                    ),
                    spacing="3",
                    width="100%",
                ),
                rx.text(
                    "This page confirms an account deletion to the browser that made it, right after it "
                    "happens. The confirmation email says the same.",
                    color_scheme="gray",
                ),
            ),
            rx.link("Back to the start page", href="/"),
            spacing="4",
            width="100%",
            max_width="40rem",
            padding_y="2rem",
        )
    )
