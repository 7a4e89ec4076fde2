"""Tables that fit a phone: below the tablet width each row becomes a block of labelled lines."""

from __future__ import annotations

import json

PHONE_WIDTH = "(max-width: 767px)"  # where the app shell drops its sidebar


def stacked_on_a_phone(headers: list[str]) -> dict:
    """Style for `rx.table.root`: on a phone, no sideways scrolling; each cell on its own line,
    after its column's name (cells under an empty header, such as buttons, have none)."""
    labels = {
        f"& td:nth-of-type({number})::before": {
            "content": json.dumps(f"{header}: "),
            "font_weight": "500",
            "color": "var(--gray-11)",
        }
        for number, header in enumerate(headers, start=1)
        if header
    }
    return {
        f"@media {PHONE_WIDTH}": {
            "& table, & tbody, & tr, & td": {"display": "block", "width": "100%"},
            # Radix gives the table `height: 0` (right for a table box, it grows to its rows); a block would stay 0.
            "& table": {"height": "auto"},
            "& thead": {"display": "none"},
            "& tr": {"padding": "var(--space-2) 0", "border_bottom": "1px solid var(--gray-a5)"},
            "& td": {
                # Radix sets a cell's height (a minimum for a table cell, a fixed height for a block).
                "height": "auto",
                "box_shadow": "none",
                "padding": "var(--space-1) var(--space-3)",
                "min_width": "0",
                "text_align": "left",
                "white_space": "normal",
                "overflow_wrap": "anywhere",
            },
            "& td .rt-Text": {"min_width": "0"},
            **labels,
        }
    }
