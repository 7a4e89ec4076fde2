"""A phone on a slow network pays a round trip for each file a page needs before it can paint:
the public pages ask for a handful of scripts and stylesheets, as a blank Reflex app does
(12 files), not one per Radix component and icon (the landing page asked for 38)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Request

from tests.e2e.browser import visit

pytestmark = pytest.mark.e2e

# The landing page needs about a dozen: the stylesheet, the route manifest, React Router's and
# Reflex's runtime, one chunk for Radix and the icons, and the page's own.
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
