"""Sizes, widths and shared style values in one place."""

import reflex as rx

CONTENT_WIDTH = "72rem"
FORM_WIDTH = "26rem"
SIDEBAR_WIDTH = "15rem"

card_style = {"width": "100%"}

# A native <select> (a long list the browser searches as you type), drawn like the Radix inputs beside it.
NATIVE_SELECT = {
    "width": "100%",
    "height": "var(--space-7)",
    "padding": "0 var(--space-3)",
    "border": "1px solid var(--gray-a7)",
    "border_radius": "var(--radius-2)",
    "background": "var(--color-surface)",
    "color": "var(--gray-12)",
    "font_size": "var(--font-size-3)",
}

# Read by screen readers, not drawn (the usual "visually hidden" pattern).
VISUALLY_HIDDEN = {
    "position": "absolute",
    "width": "1px",
    "height": "1px",
    "overflow": "hidden",
    "clip_path": "inset(50%)",
    "white_space": "nowrap",
}


def skipped_until_near(phone: int, wider: int | None = None) -> dict:
    """Style for a section below a phone's first screen: the browser leaves its style and layout
    undone until it comes near the window (`content-visibility: auto`), standing in at about
    `phone` pixels high (`wider` from the tablet width up) meanwhile, then at the height it last
    had. It stays in the page and its accessibility tree (read out, found by find-in-page), and
    React draws it with the rest of the page, once.

    On /analytics the best-time table's 400 squares were a third of the style and layout work
    after the page's data arrived, for a table a phone shows four screens down."""
    size = f"auto {phone}px"
    if wider is not None:
        size = rx.breakpoints(initial=size, sm=f"auto {wider}px")
    return {"content_visibility": "auto", "contain_intrinsic_size": size}
