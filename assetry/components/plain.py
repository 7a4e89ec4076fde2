"""Radix Themes' text, card, stack and badge as plain elements carrying the classes Radix Themes
would give them: the same look from the same stylesheet, one element each.

For what a page mounts by the dozen when its data arrives (library cards, the dashboard's figure
cards and top posts): each Radix component is a few React components, with its props turned into
classes and its styles hashed, on every card.
"""

from __future__ import annotations

import reflex as rx

Colour = rx.Var[str] | str | None


def _accent(colour: Colour) -> dict:
    return {"data-accent-color": colour} if colour is not None else {}


def _classes(*names: str) -> str:
    return " ".join(name for name in names if name)


def text(*children, size: int, weight: str = "", colour: Colour = None, class_name: str = "") -> rx.Component:
    """A paragraph like `rx.text(size=…, weight=…, color_scheme=…)`."""
    weighted = f"rt-r-weight-{weight}" if weight else ""
    return rx.el.p(
        *children,
        class_name=_classes("rt-Text", f"rt-r-size-{size}", weighted, class_name),
        custom_attrs=_accent(colour),
    )


def card(*children, class_name: str = "") -> rx.Component:
    """A box like `rx.card(size="1")` (the surface variant)."""
    return rx.el.div(
        *children,
        class_name=_classes("rt-reset rt-BaseCard rt-Card rt-r-size-1 rt-variant-surface", class_name),
    )


def stack(*children, direction: str = "column", align: str = "start", gap: int = 1) -> rx.Component:
    """A flex box like `rx.vstack` / `rx.hstack` with `spacing=gap`."""
    return rx.el.div(
        *children,
        class_name=f"rt-Flex rt-r-fd-{direction} rt-r-ai-{align} rt-r-gap-{gap} rx-Stack",
    )


def badge(label: rx.Var[str] | str, variant: str, colour: Colour = None) -> rx.Component:
    """A badge like `rx.badge(size="1", variant=…)`, high contrast when soft."""
    contrast = "rt-high-contrast" if variant == "soft" else ""
    return rx.el.span(
        label,
        class_name=_classes("rt-reset rt-Badge rt-r-size-1", f"rt-variant-{variant}", contrast),
        custom_attrs=_accent(colour),
    )
