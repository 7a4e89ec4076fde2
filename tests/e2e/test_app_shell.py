"""The signed-in shell on a phone and a desktop, in light and dark, and how the pages fit.

Set E2E_SCREENSHOTS=/some/folder to keep a full-page screenshot of every page looked at.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    DESKTOP,
    PHONE,
    check_fits_the_width,
    new_email,
    path_is,
    phone_context,
    sign_up,
    visit,
)

pytestmark = pytest.mark.e2e

DARK = re.compile(r"(^|\s)dark(\s|$)")


def test_phone_menu_navigates_and_logs_out(new_context) -> None:
    page = phone_context(new_context).new_page()
    sign_up(page, email=new_email("phone"), name="Ayu")
    expect(page.get_by_role("heading", name="Welcome, Ayu")).to_be_visible()
    # The desktop sidebar is hidden on a phone; the menu button replaces it.
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    check_fits_the_width(page)

    menu = page.get_by_role("navigation", name="Menu")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Open menu").click()
    expect(menu).to_be_visible()
    expect(menu.get_by_role("link", name="Home")).to_have_attribute("aria-current", "page")
    check_fits_the_width(page)
    # Escape closes it and leaves the page as it was; so does a tap outside it.
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    page.get_by_role("button", name="Open menu").click()
    expect(menu).to_be_visible()
    page.get_by_role("heading", name="Welcome, Ayu").click()
    expect(menu).to_be_hidden()
    expect(page).to_have_url(path_is("/home"))

    page.get_by_role("button", name="Open menu").click()
    menu.get_by_role("link", name="Settings").click()
    expect(page).to_have_url(path_is("/settings"))
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    expect(menu).to_be_hidden()
    check_fits_the_width(page)

    page.get_by_role("button", name="Open menu").click()
    expect(menu.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
    # The page the menu is on: the menu closes and the page stays.
    menu.get_by_role("link", name="Settings").click()
    expect(menu).to_be_hidden()
    expect(page).to_have_url(path_is("/settings"))

    page.get_by_role("button", name="Open menu").click()
    menu.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(path_is("/"))
    expect(page.get_by_role("link", name="Sign up")).to_be_visible()
    page.goto("/home")
    expect(page).to_have_url(path_is("/login"))


@pytest.mark.parametrize("path", ["/", "/signup", "/login", "/support", "/privacy", "/terms"])
def test_public_pages_fit_a_phone(new_context, path: str) -> None:
    page = phone_context(new_context).new_page()
    visit(page, path)
    check_fits_the_width(page)


def test_the_colour_mode_button_switches_to_dark_and_back(page: Page) -> None:
    visit(page, "/")
    html = page.locator("html")
    expect(html).not_to_have_class(DARK)
    page.get_by_role("button", name="Switch light and dark").click()
    expect(html).to_have_class(DARK)
    # The choice survives a reload.
    visit(page, "/support")
    expect(html).to_have_class(DARK)
    page.get_by_role("button", name="Switch light and dark").click()
    expect(html).not_to_have_class(DARK)


def test_a_dark_system_preference_is_followed(new_context) -> None:
    page = new_context(color_scheme="dark").new_page()
    visit(page, "/")
    expect(page.locator("html")).to_have_class(DARK)
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    red, green, blue = (int(v) for v in re.findall(r"\d+", background)[:3])
    assert max(red, green, blue) < 64, f"the page background is {background} in dark mode"


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_fits_and_renders(new_context, size: str, scheme: str) -> None:
    """Landing, sign-up, home and account at both sizes in both schemes, without errors."""
    viewport = PHONE if size == "phone" else DESKTOP
    context = new_context(viewport=viewport, color_scheme=scheme, is_mobile=size == "phone")
    page = context.new_page()
    shots = os.environ.get("E2E_SCREENSHOTS")

    def look(name: str) -> None:
        check_fits_the_width(page)
        expect(page.get_by_role("heading", level=1)).to_have_count(1)
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/{name}-{size}-{scheme}.png", full_page=True)

    visit(page, "/")
    look("landing")
    visit(page, "/signup")
    expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
    look("signup")
    sign_up(page, email=new_email(f"{size}-{scheme}"), name="Made Wira")
    expect(page.get_by_role("heading", name="Welcome, Made Wira")).to_be_visible()
    look("home")
    visit(page, "/settings")
    expect(page.get_by_role("heading", name="Change password")).to_be_visible()
    if size == "desktop":
        nav = page.get_by_role("navigation", name="Main")
        expect(nav.get_by_role("link", name="Settings")).to_have_attribute("aria-current", "page")
        expect(nav.get_by_role("link", name="Home")).to_have_attribute("aria-current", "false")
    look("settings")
