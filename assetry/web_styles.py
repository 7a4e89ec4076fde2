"""Only the Radix Themes CSS the app draws: the colours it names, the components and breakpoints it renders.

Radix Themes' one stylesheet is 812 KB: tokens for 31 colours (177 KB), every component
(432 KB), the layout utilities (252 KB). A phone parses all of it before the first paint and
matches every element against it. This plugin takes Reflex's Radix Themes plugin's place and
ships, in the same order Radix's own stylesheet has them:

- `tokens/colors/NAME.css` of the colours the compiled pages name (the theme's accent and its
  gray, `color_scheme`, `data-accent-color`), then `tokens/base.css`: `tokens.css` in parts and
  in its order (base last: on the theme's root, which is also `.light` or `.dark`, base's mapping
  of `--gray-*` onto the theme's gray must come after the plain gray scale). A colour that comes
  from state must be typed as a `Colour` (`assetry.state.colours`), or the build stops: a colour
  without its tokens draws nothing.
- `components.css` without the rules of components no page renders (`web_styles.js`,
  a PostCSS step of the frontend build: the classes of the Radix modules the pages use and of
  the modules these import, plus the `rt-` classes our own markup names).
- `utilities.css`, and in both sheets only the per-breakpoint classes (`md:rt-r-fd-row`) of the
  props the pages give a value per breakpoint (`rx.breakpoints`), at those breakpoints: each
  responsive prop is 5 copies of its classes, one per breakpoint, most of them never produced.
"""

from __future__ import annotations

import dataclasses
import json
import re
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from reflex_base.components.component import Component
from reflex_base.components.memo import MEMOS, MemoComponentDefinition
from reflex_base.plugins.base import HookOrder
from reflex_base.utils.format import to_camel_case
from reflex_base.vars.base import LiteralVar, Var
from reflex_components_markdown.markdown import Markdown
from reflex_components_radix.plugin import RadixThemesPlugin
from reflex_components_radix.themes.base import RadixThemesComponent

PACKAGE = "@radix-ui/themes"
COLOUR_PROPS = ("color_scheme", "accent_color", "gray_color")
# Radix Themes' colour names (tokens/colors/*.css), and the gray each accent takes when the
# theme's gray is "auto" (Radix's getMatchingGrayColor).
GRAY_OF = {
    **dict.fromkeys(("tomato", "red", "ruby", "crimson", "pink", "plum", "purple", "violet"), "mauve"),
    **dict.fromkeys(("iris", "indigo", "blue", "sky", "cyan"), "slate"),
    **dict.fromkeys(("teal", "jade", "mint", "green"), "sage"),
    **dict.fromkeys(("grass", "lime"), "olive"),
    **dict.fromkeys(("yellow", "amber", "orange", "brown", "gold", "bronze"), "sand"),
    "gray": "gray",
}
COLOURS = frozenset(GRAY_OF) | frozenset(GRAY_OF.values())
STRING = re.compile(r'"([a-z]+)"')
COMPONENT_CLASS = re.compile(r"\brt-[A-Z][A-Za-z0-9]*")
RESPONSIVE_CLASS = re.compile(r"\b(?:xs|sm|md|lg|xl):rt-r-[a-z0-9-]+")
TRIM_SCRIPT = "radix-components.js"
POSTCSS_ANCHOR = '"postcss-import": {},'


@dataclasses.dataclass
class TrimmedRadixThemes(RadixThemesPlugin):
    """Reflex's Radix Themes plugin, shipping only the colours, components and breakpoints the pages use."""

    colours: set[str] = dataclasses.field(default_factory=set, init=False, repr=False)
    modules: set[str] = dataclasses.field(default_factory=set, init=False, repr=False)
    classes: set[str] = dataclasses.field(default_factory=set, init=False, repr=False)
    # React prop name -> the breakpoints it is given a value at (None: any, from state).
    responsive: dict[str, set[str] | None] = dataclasses.field(default_factory=dict, init=False, repr=False)
    _page: Any = dataclasses.field(default=None, init=False, repr=False)

    # Before Reflex's memoization, which hands the walker a placeholder for each stateful subtree
    # (a foreach, a cond) and compiles the subtree on its own, out of the plugins' sight.
    _compiler_enter_component_order = HookOrder.PRE

    def enter_component(self, comp: Any, /, **context: Any) -> None:
        """At each page's root, note what every component of the page draws."""
        super().enter_component(comp, **context)
        if context["page_context"] is self._page:
            return
        self._page = context["page_context"]
        self.note_tree(comp)

    def note_tree(self, comp: Any) -> None:
        """Note every component of a tree: children, and components given as props."""
        stack = [comp]
        while stack:
            current = stack.pop()
            self.note(current)
            stack.extend(current.children)
            if isinstance(current, Component):
                stack.extend(current._get_components_in_props())
            if isinstance(current, Markdown):
                # What react-markdown draws each element with (headings, links, code: Radix components).
                stack.extend(current.get_component(tag) for tag in current.component_map)

    def note(self, comp: Any) -> None:
        """The Radix module, the colours and the `rt-` classes of one component."""
        if isinstance(comp, RadixThemesComponent) and comp.library and comp.library.startswith(PACKAGE):
            self.modules.add(module_of(comp.tag))
            self.note_responsive(comp)
        for prop in COLOUR_PROPS:
            if (value := getattr(comp, prop, None)) is not None:
                self.colours |= colours_of(value, f"{type(comp).__name__}.{prop}")
        if (value := (getattr(comp, "custom_attrs", None) or {}).get("data-accent-color")) is not None:
            self.colours |= colours_of(value, f"{type(comp).__name__} data-accent-color")
        if (class_name := getattr(comp, "class_name", None)) is not None:
            self.classes |= set(COMPONENT_CLASS.findall(str(class_name)))
            self.classes |= set(RESPONSIVE_CLASS.findall(str(class_name)))

    def note_responsive(self, comp: RadixThemesComponent) -> None:
        """The props given a value per breakpoint: only their `md:rt-r-...` classes are kept."""
        for name in comp.get_props():
            value = getattr(comp, name, None)
            if not isinstance(value, Var) or not _is_mapping(value._var_type):
                continue
            prop = comp._rename_props.get(name, to_camel_case(name))
            if isinstance(value, LiteralVar) and prop in self.responsive and self.responsive[prop] is None:
                continue
            if isinstance(value, LiteralVar):
                self.responsive.setdefault(prop, set()).update(set(value._var_value) - {"initial"})
            else:
                self.responsive[prop] = None

    def shipped_colours(self) -> list[str]:
        """The colours whose tokens ship: the theme's accent and gray, and every one the pages name."""
        colours = set(self.colours)
        if self.theme is not None:
            accent = literal_or(getattr(self.theme, "accent_color", None), "indigo")
            gray = literal_or(getattr(self.theme, "gray_color", None), "auto")
            colours |= {accent, GRAY_OF[accent] if gray == "auto" else gray}
        # Radix's own gray scale: what an unset accent ("gray") and the default gray fall back to.
        colours.add("gray")
        return sorted(colours)

    def get_stylesheet_paths(self, **context: Any) -> tuple[str, ...]:
        """The used colours' tokens, the base tokens, the components (trimmed at build), the utilities."""
        if not self.enabled:
            return ()
        colours = tuple(f"{PACKAGE}/tokens/colors/{name}.css" for name in self.shipped_colours())
        return (
            *colours,
            f"{PACKAGE}/tokens/base.css",
            f"{PACKAGE}/components.css",
            f"{PACKAGE}/utilities.css",
        )

    def pre_compile(self, **context: Any) -> None:
        """Write the PostCSS step that trims components.css and put it in Reflex's PostCSS config."""
        if not self.enabled:
            return
        # rx.memo bodies compile apart from the pages; they are compiled already when this runs.
        for memo in MEMOS.values():
            if isinstance(memo, MemoComponentDefinition):
                self.note_tree(memo.component)
        script = Path(__file__).with_suffix(".js").read_text(encoding="utf-8")
        context["add_save_task"](lambda: (TRIM_SCRIPT, script))
        responsive = {
            prop: None if at is None else sorted(at) for prop, at in sorted(self.responsive.items())
        }
        options = {
            "modules": sorted(self.modules | {"theme"}),
            "classes": sorted(self.classes),
            "responsive": responsive,
        }
        context["add_modify_task"]("postcss.config.js", lambda config: add_trim_step(config, options))


def _is_mapping(var_type: Any) -> bool:
    origin = typing.get_origin(var_type) or var_type
    return isinstance(origin, type) and issubclass(origin, Mapping)


def module_of(tag: str) -> str:
    """The Radix Themes module file a component tag comes from: `DropdownMenu.Item` -> `dropdown-menu`."""
    name = tag.split(".", 1)[0]
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def literal_or(value: Any, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, LiteralVar):
        return str(value._var_value)
    return str(value)


def colours_of(value: Any, where: str) -> set[str]:
    """The Radix colours a prop may take; an unknown colour, or one from untyped state, stops the build."""
    if isinstance(value, (str, LiteralVar)):
        names = {str(value._var_value if isinstance(value, LiteralVar) else value)}
    elif isinstance(value, Var):
        names = set(STRING.findall(str(value))) & COLOURS
        if typing.get_origin(value._var_type) is typing.Literal:
            names |= set(typing.get_args(value._var_type))
        elif not names:
            raise TypeError(
                f"{where} comes from state ({value}) typed {value._var_type!r}: type it as "
                "assetry.state.colours.Colour, so the build knows which colours' tokens to ship"
            )
    else:
        raise TypeError(f"{where} is {value!r}, not a colour name")
    if unknown := names - COLOURS - {"auto"}:
        raise ValueError(f"{where}: {sorted(unknown)} is not a Radix Themes colour")
    return names - {"auto"}


def add_trim_step(config: str, options: dict) -> str:
    """Reflex's postcss.config.js with the components.css trim after postcss-import; anything else is an error."""
    if POSTCSS_ANCHOR not in config:
        raise ValueError(f"postcss.config.js has no {POSTCSS_ANCHOR!r} (Reflex changed it)")
    step = f'\n    "./{TRIM_SCRIPT}": {json.dumps(options)},'
    # The file stays in .web between builds: an earlier build's step is replaced, not repeated.
    earlier = [line for line in config.splitlines(keepends=True) if f'"./{TRIM_SCRIPT}"' in line]
    for line in earlier:
        config = config.replace(line, "")
    return config.replace(POSTCSS_ANCHOR, POSTCSS_ANCHOR + step, 1)
