"""How the production build cuts the app's JavaScript into files: few shared chunks, and the
signed-out pages fetch only the part of the UI library they draw.

Reflex's root module imports every Radix Themes component (for components it evaluates at
run time), so each page already needs all of them; but Vite cut them into some twenty small
files, one per component shared by several pages, plus one per Lucide icon. A phone on a slow
network fetches each with its own round trip before the page can paint: the landing page
made 40 requests where a blank Reflex app makes 12. This plugin puts them in two files:

- `ui`: the Radix parts and icons the public pages (`PUBLIC_PAGES`) and the app's root use,
  found by `web_bundle.js` from the pages' own imports (29 KB brotli on the landing page);
- `ui-app`: the rest (dialogs, menus, selects, tabs of the signed-in pages), which only the
  pages that use them fetch.

Reflex also hands all of Radix Themes to `window.__reflex`, for components built at run time
(`rx.dynamic`, a component in a state var): its root imports the whole library as one
namespace, which would put every component in `ui`. The app builds no component at run time,
so this plugin takes Radix Themes off that list; an app that bundles Radix Themes itself
(`rx.dynamic.bundle_library`) keeps it.
"""

from __future__ import annotations

import json
from pathlib import Path

from reflex_base.constants import ReactRouter
from reflex_base.plugins import Plugin
from reflex_base.registry import RegistrationContext
from reflex_base.utils.format import format_library_name
from reflex_components_radix.plugin import RADIX_THEMES_PACKAGE

# The pages a signed-out visitor opens first.
PUBLIC_PAGES = ("/", "/login", "/signup")
SPLIT_SCRIPT = "ui-chunks.js"
# Vite's (Rolldown's) code-splitting groups: the higher priority takes a module first.
GROUPS = """
            {
              name: publicUi.name,
              test: publicUi.test,
              priority: 2,
            },
            {
              name: "ui-app",
              test: UI,
              priority: 1,
            },"""
# Where Reflex's own vite.config.js lists its groups (it keeps env.json apart), and imports Vite.
ANCHOR = "groups: ["
IMPORT_ANCHOR = 'import { defineConfig } from "vite";\n'


def route_module(path: str) -> str:
    """The file Reflex compiles a page's route to, under .web/app (`/login` -> `routes/[login]._index.jsx`)."""
    parts = [f"[{part}]" for part in path.strip("/").split("/") if part]
    return "routes/" + ".".join([*parts, "_index"]) + ".jsx"


class FewerChunks(Plugin):
    """Adds `GROUPS` to the code-splitting groups of the vite.config.js Reflex writes, and
    leaves Radix Themes out of the libraries handed to components built at run time."""

    def pre_compile(self, **context) -> None:
        # Reflex calls this after the pages are compiled and before it writes the app's root.
        script = Path(__file__).with_suffix(".js").read_text(encoding="utf-8")
        context["add_save_task"](lambda: (SPLIT_SCRIPT, script))
        context["add_modify_task"](ReactRouter.VITE_CONFIG_FILE, group_chunks)
        unbundle(format_library_name(RADIX_THEMES_PACKAGE))


def group_chunks(config: str) -> str:
    """vite.config.js with the groups added; a config without Reflex's groups list is an error, not skipped."""
    for anchor in (ANCHOR, IMPORT_ANCHOR):
        if anchor not in config:
            raise ValueError(
                f"vite.config.js has no {anchor.strip()!r} to add the chunk groups to (Reflex changed it)"
            )
    modules = json.dumps(["root.jsx", *(route_module(path) for path in PUBLIC_PAGES)])
    setup = f'import {{ publicUi as splitUi, UI }} from "./{SPLIT_SCRIPT}";\nconst publicUi = splitUi({modules});\n'
    return config.replace(ANCHOR, ANCHOR + GROUPS, 1).replace(IMPORT_ANCHOR, IMPORT_ANCHOR + setup, 1)


def unbundle(library: str) -> None:
    """Take `library` off the libraries the root hands to run-time components, unless the app bundled it itself."""
    registry = RegistrationContext.ensure_context()
    if library in registry._explicit_bundled_libraries:
        return
    registry.bundled_libraries[:] = [name for name in registry.bundled_libraries if name != library]
