"""The trimmed Radix Themes stylesheet (assetry/web_styles.py) draws every page exactly as Radix's whole one.

Each page is photographed as served, then the served stylesheet is switched for the same
stylesheet built from Radix's untrimmed `styles.css` (every colour, every component), and
photographed again: the two must be the same pixel for pixel (to a rounding of 2/255).
Public and signed-in pages with real data, an open drop-down and dialog, light and dark,
desktop and phone. With E2E_SCREENSHOTS=/some/folder, both photographs of each page are kept.
"""

from __future__ import annotations

import io
import os
import re
from pathlib import Path

import pytest
from PIL import Image, ImageChops
from playwright.sync_api import Page, expect

from tests.e2e.browser import DESKTOP, PHONE, draw_charts, visit
from tests.e2e.conftest import SYNC_TIMEOUT_MS, AppServer

pytestmark = pytest.mark.e2e

PUBLIC = ("/", "/login", "/signup", "/support", "/privacy")
SIGNED_IN = ("/home", "/studio", "/library", "/plan", "/settings", "/admin", "/admin/users")
# Pages with charts, each drawn first: a chart's code loads once its box comes near the window,
# and a full-page photograph (the window made as tall as the page) brings every box near.
CHARTED = ("/admin",)
ROUNDING = 2
IMPORT = re.compile(r"@import url\('([^']+)'\);")
# The served stylesheet is switched off, not removed, so that it can be switched back on at once.
SWAP = """css => {
  const link = [...document.querySelectorAll('link[rel="stylesheet"]')]
    .find(l => l.href.includes('__reflex_global_styles'));
  const style = document.createElement('style');
  style.id = 'radix-whole';
  style.textContent = css;
  link.after(style);
  link.disabled = true;
  return new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)));
}"""
# A section below the fold is drawn only once it comes near the window (content-visibility: auto,
# components/styles.py), and a full-page photograph does not bring it near: both photographs
# are taken with every section drawn.
DRAW_ALL = "* { content-visibility: visible !important; }"
RESTORE = """() => {
  document.getElementById('radix-whole').remove();
  [...document.querySelectorAll('link[rel="stylesheet"]')]
    .find(l => l.href.includes('__reflex_global_styles')).disabled = false;
}"""


def untrimmed_stylesheet(source: Path) -> str:
    """The app's root stylesheet with its imports inlined, Radix's whole `styles.css` in place of its parts."""
    web = source / ".web"
    root = (web / "styles" / "__reflex_global_styles.css").read_text(encoding="utf-8")
    parts, radix_done = [], False
    for line in root.splitlines():
        found = IMPORT.fullmatch(line.strip())
        if not found:
            parts.append(line)
        elif found[1].startswith("@radix-ui/themes/"):
            if not radix_done:
                parts.append((web / "node_modules/@radix-ui/themes/styles.css").read_text(encoding="utf-8"))
                radix_done = True
        else:
            parts.append((web / "styles" / found[1]).read_text(encoding="utf-8"))
    return "\n".join(parts)


def _shot(page: Page, *, whole_page: bool) -> Image.Image:
    if whole_page:
        # From the top: a full-page photograph draws the sticky header where the window was scrolled to.
        page.evaluate("window.scrollTo(0, 0)")
    png = page.screenshot(full_page=whole_page, animations="disabled", caret="hide")
    return Image.open(io.BytesIO(png)).convert("RGB")


def _compare(page: Page, css: str, name: str, differ: dict[str, str], *, whole_page: bool = True) -> None:
    """`whole_page=False` photographs the window only: a full-page photograph resizes the window,
    which closes an open drop-down (Radix's Select closes on resize)."""
    if whole_page:
        page.add_style_tag(content=DRAW_ALL)
    served = _shot(page, whole_page=whole_page)
    page.evaluate(SWAP, css)
    whole = _shot(page, whole_page=whole_page)
    page.evaluate(RESTORE)
    if folder := os.environ.get("E2E_SCREENSHOTS"):
        Path(folder).mkdir(parents=True, exist_ok=True)
        stem = f"{folder}/{name.strip('/').replace('/', '-').replace(',', '').replace(' ', '-') or 'landing'}"
        served.save(f"{stem}-trimmed.png")
        whole.save(f"{stem}-whole.png")
    if served.size != whole.size:
        differ[name] = (
            f"page size {served.size} with the trimmed stylesheet, {whole.size} with Radix's whole one"
        )
    # A channel off by 1 or 2 of 255 at the edge of a focus ring is the rasteriser's rounding, not a style.
    elif box := ImageChops.difference(served, whole).point(lambda v: 255 if v > ROUNDING else 0).getbbox():
        differ[name] = f"pixels differ within {box}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_looks_the_same_with_radixs_whole_stylesheet(
    new_context, app_server: AppServer, synced_admin: tuple[str, dict], size: str, scheme: str
) -> None:
    css = untrimmed_stylesheet(app_server.source)
    window = (
        {"viewport": PHONE, "is_mobile": True, "has_touch": True}
        if size == "phone"
        else {"viewport": DESKTOP}
    )
    differ: dict[str, str] = {}
    visitor = new_context(**window, color_scheme=scheme).new_page()
    for path in PUBLIC:
        visit(visitor, path)
        _compare(visitor, css, path, differ)
    page = new_context(**window, color_scheme=scheme, storage_state=synced_admin[1]).new_page()
    for path in SIGNED_IN:
        visit(page, path)
        if path in CHARTED:
            draw_charts(page)
        _compare(page, css, path, differ)
    visit(page, "/studio")
    page.get_by_role("combobox").first.click()
    expect(page.get_by_role("listbox")).to_be_visible()
    _compare(page, css, "/studio, a drop-down open", differ, whole_page=False)
    expect(page.get_by_role("listbox")).to_be_visible()  # photographed open, both times
    page.keyboard.press("Escape")
    visit(page, "/analytics")
    expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    draw_charts(page)
    _compare(page, css, "/analytics", differ)
    page.get_by_role("button", name="Disconnect").first.click()
    expect(page.get_by_role("alertdialog")).to_be_visible()
    _compare(page, css, "/analytics, a dialog open", differ)
    assert differ == {}, "\n".join(f"{path}: {what}" for path, what in differ.items())
