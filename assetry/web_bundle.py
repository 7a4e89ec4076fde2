"""How the production build cuts the app's JavaScript into files: fewer, larger shared chunks.

Reflex's root module imports every Radix Themes component (for components it evaluates at
run time), so each page already needs all of them; but Vite cut them into some twenty small
files, one per component shared by several pages, plus one per Lucide icon. A phone on a slow
network fetches each with its own round trip before the page can paint: the landing page
made 40 requests where a blank Reflex app makes 12. This plugin puts them in one file: Radix
(Themes and its primitives) and the icons the app uses (12 KB of them).
"""

from __future__ import annotations

from reflex_base.constants import ReactRouter
from reflex_base.plugins import Plugin

# Vite's (Rolldown's) code-splitting groups, tried in order: a module goes to the first that matches.
GROUPS = """
            {
              test: /node_modules[\\\\/](@radix-ui|radix-ui|lucide-react)[\\\\/]/,
              name: "ui",
            },"""
# Where Reflex's own vite.config.js lists its groups (it keeps env.json apart).
ANCHOR = "groups: ["


class FewerChunks(Plugin):
    """Adds `GROUPS` to the code-splitting groups of the vite.config.js Reflex writes."""

    def pre_compile(self, **context) -> None:
        context["add_modify_task"](ReactRouter.VITE_CONFIG_FILE, group_chunks)


def group_chunks(config: str) -> str:
    """vite.config.js with the groups added; a config without Reflex's groups list is an error, not skipped."""
    if ANCHOR not in config:
        raise ValueError(f"vite.config.js has no {ANCHOR!r} to add the chunk groups to (Reflex changed it)")
    return config.replace(ANCHOR, ANCHOR + GROUPS, 1)
