"""Sizes, widths and shared style values in one place."""

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
