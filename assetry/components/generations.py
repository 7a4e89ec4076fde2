"""How a generation is drawn: status badges, media previews, cards for the grid and rows for a phone."""

from __future__ import annotations

import reflex as rx

from assetry.state.generations import GenerationView, OutputView

# A cover fills its box; "contain": a 9:16 cover shows whole, in its own shape, not cropped to the
# box. One below the fold is fetched and decoded only when scrolled near: a library page holds dozens.
COVER_IMAGE = {
    "width": "100%",
    "height": "100%",
    "object_fit": "contain",
    "loading": "lazy",
    "decoding": "async",
}


def clamp(lines: int) -> dict:
    """Cut text after a number of lines with an ellipsis."""
    return {
        "display": "-webkit-box",
        "WebkitLineClamp": str(lines),
        "WebkitBoxOrient": "vertical",
        "overflow": "hidden",
    }


def offline_badge(item: GenerationView) -> rx.Component:
    # High contrast: Radix's soft green and amber text reads at 4.2:1 on its own tint (axe wants 4.5).
    return rx.cond(
        item.offline, rx.badge("Offline preview", color_scheme="amber", variant="soft", high_contrast=True)
    )


def status_badge(item: GenerationView) -> rx.Component:
    return rx.badge(item.status_label, color_scheme=item.status_color, variant="soft", high_contrast=True)


def cover(item: GenerationView, height: str = "12rem") -> rx.Component:
    """The first image or a muted, looping video; captions show their first line."""
    return rx.box(
        rx.match(
            item.cover_kind,
            (
                "image",
                rx.image(src=item.cover_url, alt=item.prompt, **COVER_IMAGE),
            ),
            (
                "video",
                rx.el.video(
                    src=item.cover_url,
                    muted=True,
                    loop=True,
                    plays_inline=True,
                    auto_play=True,
                    width="100%",
                    height="100%",
                    style={"objectFit": "contain"},
                    aria_label=item.prompt,
                ),
            ),
            rx.center(
                rx.cond(
                    item.first_caption != "",
                    rx.text(item.first_caption, size="2", padding="0.75rem", trim="both", style=clamp(5)),
                    # Each icon named outright: an icon named by a var loads every icon's code.
                    rx.match(
                        item.kind,
                        ("video", rx.icon("film", size=28, color=rx.color("gray", 8))),
                        ("image", rx.icon("image", size=28, color=rx.color("gray", 8))),
                        rx.icon("type", size=28, color=rx.color("gray", 8)),
                    ),
                ),
                height="100%",
            ),
        ),
        height=height,
        width="100%",
        overflow="hidden",
        border_radius="var(--radius-3)",
        background=rx.color("gray", 3),
    )


# Memoized React components: a list that grows re-renders only its new cards, since the
# browser keeps the identity of every card whose data did not change.
@rx.memo
def library_card(item: rx.Var[GenerationView]) -> rx.Component:
    """The grid layout: a card with a large cover."""
    return rx.link(
        rx.card(
            rx.vstack(
                cover(item),
                rx.hstack(
                    status_badge(item),
                    rx.badge(item.kind_label, variant="outline"),
                    offline_badge(item),
                    spacing="2",
                    wrap="wrap",
                ),
                rx.text(item.prompt, size="2", weight="medium", style=clamp(2)),
                rx.text(item.created, size="1", color_scheme="gray"),
                spacing="2",
                width="100%",
            ),
            width="100%",
            class_name="generation-card",
        ),
        href="/library/" + item.id,
        underline="none",
        color="inherit",
        width="100%",
    )


@rx.memo
def library_row(item: rx.Var[GenerationView]) -> rx.Component:
    """The phone layout: a compact row with a small cover."""
    return rx.link(
        rx.hstack(
            rx.box(cover(item, height="4.5rem"), width="4.5rem", min_width="4.5rem"),
            rx.vstack(
                rx.text(item.prompt, size="2", weight="medium", style=clamp(2)),
                rx.hstack(
                    status_badge(item),
                    rx.badge(item.kind_label, variant="outline"),
                    offline_badge(item),
                    spacing="1",
                    wrap="wrap",
                ),
                rx.text(item.created, size="1", color_scheme="gray"),
                spacing="1",
                min_width="0",
            ),
            spacing="3",
            width="100%",
            padding_y="0.5rem",
            border_bottom=f"1px solid {rx.color('gray', 4)}",
            class_name="generation-row",
        ),
        href="/library/" + item.id,
        underline="none",
        color="inherit",
        width="100%",
    )


def output_player(output: OutputView, prompt: rx.Var[str]) -> rx.Component:
    """A full-size image or a playable video."""
    return rx.cond(
        output.kind == "video",
        rx.el.video(
            src=output.url,
            controls=True,
            plays_inline=True,
            width="100%",
            style={"maxHeight": "70vh", "background": "black", "borderRadius": "var(--radius-3)"},
            aria_label=prompt,
        ),
        rx.image(
            src=output.url,
            alt=prompt,
            width="100%",
            style={"maxHeight": "70vh", "objectFit": "contain"},
            border_radius="var(--radius-3)",
        ),
    )
