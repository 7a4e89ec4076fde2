"""Sizes, widths and shared style values in one place."""

CONTENT_WIDTH = "72rem"
FORM_WIDTH = "26rem"
SIDEBAR_WIDTH = "15rem"

card_style = {"width": "100%"}
