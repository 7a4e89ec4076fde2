"""Home, the start of the product: the first steps, ticked from what the creator did, and what
happened since last time."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import log_in, make_an_image, path_is, sign_up, visit

pytestmark = pytest.mark.e2e


def _step(page: Page, title: str):
    return page.locator(".first-step").filter(has_text=title)


def test_a_new_creator_is_led_from_the_first_steps_to_a_result(page: Page) -> None:
    prompt = "A sunflower field at golden hour"
    email = sign_up(page)
    # No name given: a greeting, not the address's local part.
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text("Welcome to Assetry")
    expect(page.get_by_text("0 of 2 done")).to_be_visible()
    make = _step(page, "Make your first video")
    expect(make.get_by_label("To do")).to_be_visible()
    expect(
        _step(page, "Connect TikTok or Instagram").get_by_role("link", name="Connect an account")
    ).to_have_attribute("href", "/analytics")
    since = page.locator("#since-last-time")
    expect(since.get_by_role("heading", name="Since you joined")).to_be_visible()
    expect(since).to_contain_text("Nothing new yet.")

    make.get_by_role("link", name="Open the studio").click()
    expect(page).to_have_url(path_is("/studio"))
    make_an_image(page, prompt)

    visit(page, "/home")
    expect(page.get_by_text("1 of 2 done")).to_be_visible()
    expect(make.get_by_label("Done")).to_be_visible()
    expect(make.get_by_role("link", name="Open the studio")).to_have_count(0)
    expect(since).to_contain_text("1 image finished.")
    result = since.locator(".since-result").filter(has_text=prompt)
    expect(result).to_be_visible()
    result.click()
    expect(page.get_by_role("heading", name=prompt, level=1)).to_be_visible()

    # Next time: greeted back, and "since last time" starts at the log-in before this one.
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))
    log_in(page, email)
    expect(page).to_have_url(path_is("/home"))
    expect(heading).to_have_text("Welcome back")
    expect(
        since.get_by_role("heading", name=re.compile(r"^Since your last log-in, \w{3} \d+ at \d\d:\d\d$"))
    ).to_be_visible()
    # The image was made after that log-in.
    expect(since).to_contain_text("1 image finished.")
    expect(page.get_by_text("1 of 2 done")).to_be_visible()
