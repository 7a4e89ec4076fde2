"""How a generation is drawn: status badges, media previews, and the card that lists it (a grid tile, a row on a phone)."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink

from assetry.components import plain
from assetry.state.generations import GenerationCard, GenerationView, OutputView


def offline_badge(item: GenerationView) -> rx.Component:
    # High contrast: Radix's soft green and amber text reads at 4.2:1 on its own tint (axe wants 4.5).
    return rx.cond(
        item.offline, rx.badge("Offline preview", color_scheme="amber", variant="soft", high_contrast=True)
    )


def status_badge(item: GenerationView) -> rx.Component:
    return rx.badge(item.status_label, color_scheme=item.status_color, variant="soft", high_contrast=True)


# In the browser alone, no event to the server: a bucket's cover that fails to load (not made yet)
# gives way to the file itself; a cover link signed anew later (the card drawn again) falls back
# again, and a file that fails too stays as it is.
_SHOW_THE_FILE = rx.vars.FunctionStringVar.create(
    "(event) => { const image = event.target; const file = image.dataset.file;"
    " if (!file) return; const url = new URL(file, window.location.href).href;"
    " if (image.src !== url) image.src = url; }"
)


def _cover(item: rx.Var[GenerationCard]) -> rx.Component:
    """The first image or a muted, looping video; captions show their first line."""
    return rx.el.div(
        rx.match(
            item.cover_kind,
            (
                "image",
                # Below the fold, fetched and decoded only when scrolled near: a page holds dozens.
                rx.el.img(
                    src=item.cover_url,
                    alt=item.prompt,
                    loading="lazy",
                    decoding="async",
                    custom_attrs={"data-file": item.file_url, "onError": _SHOW_THE_FILE},
                ),
            ),
            (
                "video",
                rx.el.video(
                    src=item.cover_url,
                    muted=True,
                    loop=True,
                    plays_inline=True,
                    auto_play=True,
                    aria_label=item.prompt,
                ),
            ),
            rx.cond(
                item.first_caption != "",
                plain.text(item.first_caption, size=2, class_name="rt-r-lt-both"),
                # Each icon named outright: an icon named by a var loads every icon's code.
                rx.match(
                    item.kind,
                    ("video", rx.icon("film", size=28)),
                    ("image", rx.icon("image", size=28)),
                    rx.icon("type", size=28),
                ),
            ),
        ),
        class_name="generation-cover",
    )


# A memoized React component: a list that grows re-renders only its new cards. Plain elements
# with class names (Radix Themes' own, and generation_cards.css), no Radix components and no
# style props: a library page mounts dozens at once, and each Radix component and each style
# object cost the browser time on every card. The card is a tile in a grid; inside
# `.generation-list` on a phone, the same card is a compact row (one layout in the page).
@rx.memo
def library_card(item: rx.Var[GenerationCard]) -> rx.Component:
    """A generation as a card: its cover, status, kind, prompt and date, linking to its page."""
    return ReactRouterLink.create(
        plain.card(
            _cover(item),
            rx.el.div(
                rx.el.div(
                    plain.badge(item.status_label, "soft", item.status_color),
                    plain.badge(item.kind_label, "outline"),
                    rx.cond(item.offline, plain.badge("Offline preview", "soft", "amber")),
                    class_name="generation-badges",
                ),
                plain.text(item.prompt, size=2, weight="medium", class_name="generation-prompt"),
                plain.text(item.created, size=1, colour="gray"),
                class_name="generation-text",
            ),
            class_name="generation-card",
        ),
        to="/library/" + item.id,
        class_name="generation-link",
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
