"""A phone on a slow network pays a round trip for each file a page needs before it can paint:
the public pages ask for a handful of scripts and stylesheets, as a blank Reflex app does
(12 files), not one per Radix component and icon (the landing page asked for 38)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request, Response

from tests.e2e.browser import visit

pytestmark = pytest.mark.e2e

# The landing page needs about a dozen: the stylesheet, the route manifest, React Router's and
# Reflex's runtime, one chunk for the Radix parts and icons the public pages draw, the page's own.
MOST_FILES = 16


@pytest.mark.parametrize("path", ["/", "/login"])
def test_a_public_page_asks_for_a_handful_of_files(page: Page, path: str) -> None:
    files: list[str] = []

    def count(request: Request) -> None:
        if request.resource_type in ("script", "stylesheet"):
            files.append(request.url.rsplit("/", 1)[-1])

    page.on("request", count)
    visit(page, path)
    assert 0 < len(files) <= MOST_FILES, f"{len(files)} files: {files}"


@pytest.mark.parametrize("path", ["/", "/login", "/signup"])
def test_a_public_page_fetches_no_code_for_what_only_signed_in_pages_draw(page: Page, path: str) -> None:
    """The drop-down menu of /studio stands for the parts only signed-in pages draw (they come
    in `ui-app`), Radix Themes' theme panel (a developer's colour picker) for those no page
    draws (Reflex's root used to import all of Radix Themes for components built at run time)."""
    scripts: dict[str, str] = {}

    def keep(response: Response) -> None:
        if response.request.resource_type == "script":
            scripts[response.url.rsplit("/", 1)[-1]] = response.text()

    page.on("response", keep)
    visit(page, path)
    page.wait_for_load_state("load")
    assert any(name.startswith("ui-") for name in scripts), f"no ui chunk among {sorted(scripts)}"
    for drawn_elsewhere in ("rt-SelectContent", "rt-ThemePanel"):
        assert [name for name, code in scripts.items() if drawn_elsewhere in code] == []
