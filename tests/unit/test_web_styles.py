"""What the trimmed Radix Themes stylesheet is built from: the colours, components and responsive props the pages use."""

from __future__ import annotations

import pytest
import reflex as rx
from reflex_base.vars.base import Var

from assetry.state.colours import Colour
from assetry.web_styles import TrimmedRadixThemes, add_trim_step, colours_of, module_of

REFLEX_POSTCSS = """export default {
  plugins: {
    "postcss-import": {},
    autoprefixer: noVendorPrefix ? false : {},
  },
};"""


def _plugin(*components: rx.Component) -> TrimmedRadixThemes:
    plugin = TrimmedRadixThemes(theme=rx.theme(accent_color="violet"))
    for component in components:
        plugin.note_tree(component)
    return plugin


def test_a_page_ships_the_colours_it_names_the_themes_accent_and_gray_and_radixs_gray() -> None:
    plugin = _plugin(
        rx.box(
            rx.badge("Failed", color_scheme="red"), rx.el.span(custom_attrs={"data-accent-color": "amber"})
        )
    )
    assert plugin.shipped_colours() == ["amber", "gray", "mauve", "red", "violet"]


def test_colour_tokens_come_before_the_base_that_maps_the_themes_gray() -> None:
    sheets = _plugin(rx.text("x")).get_stylesheet_paths()
    assert sheets == (
        "@radix-ui/themes/tokens/colors/gray.css",
        "@radix-ui/themes/tokens/colors/mauve.css",
        "@radix-ui/themes/tokens/colors/violet.css",
        "@radix-ui/themes/tokens/base.css",
        "@radix-ui/themes/components.css",
        "@radix-ui/themes/utilities.css",
    )


def test_a_colour_from_state_ships_every_colour_its_type_allows() -> None:
    typed = Var(_js_expr="state.colour", _var_type=Colour)
    assert colours_of(typed, "Badge.color_scheme") == {
        "gray",
        "violet",
        "blue",
        "green",
        "amber",
        "orange",
        "red",
    }
    chosen = rx.cond(Var(_js_expr="state.on", _var_type=bool), "red", "green")
    assert colours_of(chosen, "Badge.color_scheme") == {"red", "green"}


def test_an_untyped_colour_from_state_or_an_unknown_colour_stops_the_build() -> None:
    with pytest.raises(TypeError, match=r"type it as assetry\.state\.colours\.Colour"):
        colours_of(Var(_js_expr="state.colour", _var_type=str), "Badge.color_scheme")
    with pytest.raises(ValueError, match="not a Radix Themes colour"):
        colours_of("violett", "Badge.color_scheme")


def test_the_components_our_markup_and_the_per_breakpoint_props_are_noted() -> None:
    plugin = _plugin(
        rx.flex(
            rx.dropdown_menu.root(rx.dropdown_menu.trigger(rx.button("Menu"))),
            rx.el.span(class_name="rt-reset rt-Badge md:rt-r-size-2"),
            rx.markdown("Inline `code` is drawn by Radix's Code."),
            direction=rx.breakpoints(initial="column", md="row"),
            spacing=rx.breakpoints(initial="0", sm="4"),
        )
    )
    assert {"flex", "dropdown-menu", "button", "code"} <= plugin.modules
    assert plugin.classes == {"rt-Badge", "md:rt-r-size-2"}
    assert plugin.responsive == {"direction": {"md"}, "gap": {"sm"}}


def test_a_tag_names_its_radix_module() -> None:
    assert module_of("DropdownMenu.Item") == "dropdown-menu"
    assert module_of("Text") == "text"


def test_the_trim_step_follows_postcss_import_once_even_when_the_config_is_kept_between_builds() -> None:
    once = add_trim_step(REFLEX_POSTCSS, {"modules": ["text"]})
    twice = add_trim_step(once, {"modules": ["badge"]})
    assert twice.count("radix-components.js") == 1
    assert twice.index('"postcss-import"') < twice.index('"./radix-components.js": {"modules": ["badge"]}')
    assert twice.index("radix-components.js") < twice.index("autoprefixer")
    with pytest.raises(ValueError, match="Reflex changed it"):
        add_trim_step("export default {plugins: []};", {})
