"""From a generated video to what it did, in the browser, in sandbox mode.

Generate a video, post it on the sandbox TikTok from its library page, sync, confirm the
proposed match, and see the post on What works, on its page, and as the studio's starting
point. Then the new pages on a phone. Recognising posts runs on Postgres only.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import (
    check_fits_the_width,
    connect_sandbox_account,
    keep_screenshot,
    phone_context,
    sign_up,
    toast,
    visit,
    wait_until,
)
from tests.e2e.test_analytics_in_browser import _dashboard_filled, _sync_now
from tests.e2e.test_studio_in_browser import GENERATION_PATH, JOB_TIMEOUT_MS, _generate, _latest

pytestmark = pytest.mark.e2e

PROMPT = "My cat learns to skateboard in the park"
POST_LINK = re.compile(r"/analytics/post/[0-9a-f-]{36}$")


def _proposal_shows_up(page: Page) -> bool:
    """Reload /analytics until the recognised post is offered (the match runs as a job after the sync)."""
    visit(page, "/analytics")
    return page.get_by_role("heading", name="Made with Assetry?").count() > 0


def test_a_sandbox_post_of_a_generated_video_is_recognised_and_measured(new_context) -> None:
    page = new_context().new_page()
    sign_up(page)
    visit(page, "/analytics")
    connect_sandbox_account(page, "tiktok", "Jon Okafor")
    _dashboard_filled(page)

    visit(page, "/studio")
    _generate(page, "video", PROMPT, seconds=3)
    expect(toast(page, "Your video is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    _latest(page, PROMPT).click()
    expect(page).to_have_url(GENERATION_PATH)
    generation_url = page.url
    expect(page.get_by_text("Not linked to a post yet.")).to_be_visible()
    posting = page.get_by_role("button", name=re.compile("Post this in the sandbox"))
    expect(posting).to_contain_text("Sandbox")
    posting.click()
    expect(toast(page, "Posted in the sandbox on TikTok (Jon Okafor).")).to_be_visible()

    visit(page, "/analytics")
    _sync_now(page, "Jon Okafor")
    wait_until(lambda: _proposal_shows_up(page), timeout_s=60, what="the proposed match")
    proposal = page.locator(".rt-Card").filter(has_text="Made from").filter(has_text=PROMPT)
    expect(proposal).to_contain_text("The cover is a frame of this video")
    post_path = proposal.get_by_role("link", name=PROMPT).first.get_attribute("href")
    assert post_path and POST_LINK.search(post_path), post_path
    proposal.get_by_role("button", name="Yes").click()
    expect(toast(page, "Linked.")).to_be_visible()
    expect(page.get_by_role("heading", name="Made with Assetry?")).to_have_count(0)

    visit(page, post_path)
    made = page.locator(".rt-Card").filter(has=page.get_by_role("heading", name="Made with Assetry"))
    expect(made.get_by_role("link", name=PROMPT)).to_be_visible()

    visit(page, "/analytics/what-works")
    linked = page.locator(".rt-Card").filter(has_text="All linked posts")
    expect(linked).to_contain_text("1 post")
    expect(linked).to_contain_text("4 more linked posts needed")
    expect(page.get_by_text("more linked posts needed before any figure")).to_be_visible()
    keep_screenshot(page, "what-works")

    visit(page, urlsplit(generation_url).path)
    expect(page.locator(".rt-Card").filter(has_text="Posted as")).to_contain_text(PROMPT)

    visit(page, "/studio")
    page.get_by_role("button", name="Start from what worked").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(PROMPT)
    expect(page.get_by_text(re.compile(r"From your best linked generation: 1 post"))).to_be_visible()
    page.get_by_role("button", name="Duration", exact=True).click()
    expect(page.get_by_text("Only the duration changed: 3 s → 5 s.")).to_be_visible()

    phone = phone_context(new_context, storage_state=page.context.storage_state()).new_page()
    for path, name in (("/analytics/what-works", "what-works"), (post_path, "post-made-with")):
        visit(phone, path)
        check_fits_the_width(phone)
        keep_screenshot(phone, name)
