"""From a generated video to what it did, in the browser, in sandbox mode.

Generate a video, plan it (a past hour refused, moved, planned twice, removed); when its hour
comes, the reminder banner shows on the open library page without a reload; post it on the
sandbox TikTok from its library page, sync, confirm the proposed match (the banner goes), and see
the post on What works, on its page, on its generation's page (unlinked and linked again by hand
with "I posted this"), on the plan (the slot became the post), and as the studio's starting point. Then the new pages on a phone. Recognising posts runs on Postgres only.
"""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
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
from tests.e2e.conftest import AppServer
from tests.e2e.test_analytics_in_browser import _dashboard_filled, _sync_now
from tests.e2e.test_studio_in_browser import GENERATION_PATH, JOB_TIMEOUT_MS, _generate, _latest

pytestmark = pytest.mark.e2e

PROMPT = "My cat learns to skateboard in the park"
POST_LINK = re.compile(r"/analytics/post/[0-9a-f-]{36}$")


def _proposal_shows_up(page: Page) -> bool:
    """Reload /analytics until the recognised post is offered (the match runs as a job after the sync)."""
    visit(page, "/analytics")
    return page.get_by_role("heading", name="Made with Assetry?").count() > 0


def _plan_it(page: Page) -> datetime:
    """On /plan: a past hour is refused, then the video is planned, moved, planned twice and removed;
    it ends planned two hours ahead (UTC, the new account's zone: the server's own reminder job
    leaves it alone until the test says its hour came). Returns that hour."""
    now = datetime.now(UTC)
    next_hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=2)
    later = next_hour + timedelta(hours=2)
    visit(page, "/plan")
    expect(page.get_by_label("What", exact=True)).to_contain_text(PROMPT)

    def plan(when: datetime) -> None:
        page.get_by_label("Day").fill(f"{when:%Y-%m-%d}")
        page.get_by_label("Hour").select_option(f"{when:%H}")
        page.locator("#plan-save").click()

    plan(now - timedelta(days=1))
    expect(page.get_by_role("alert")).to_contain_text(
        "has already passed on your clock (UTC). Pick a later hour."
    )
    plan(later)
    expect(toast(page, "Planned for")).to_be_visible()
    slots = page.locator(".plan-slot").filter(has_text=PROMPT)
    expect(slots).to_have_count(1)
    expect(slots.get_by_text("Planned", exact=True)).to_be_visible()
    plan(later)  # the same video twice in one hour
    expect(page.get_by_role("alert")).to_contain_text("already planned at that hour")
    slots.get_by_role("button", name="Move", exact=True).click()
    expect(page.locator("#plan-save")).to_have_text("Move")
    plan(next_hour)
    expect(toast(page, "Moved to")).to_be_visible()
    expect(page.locator(f"#day-{next_hour:%Y-%m-%d} .plan-slot")).to_contain_text(f"{next_hour:%H}:00")
    plan(later)  # a second slot, then removed
    expect(slots).to_have_count(2)
    slots.filter(has_text=f"{later:%H}:00").get_by_role("button", name="Remove").click()
    expect(toast(page, "Removed from your plan.")).to_be_visible()
    expect(slots).to_have_count(1)
    return next_hour


# Run in the app's own environment: the slot's hour comes (it is moved to the hour under way, as
# if planned earlier), then the reminder job runs as the server's worker would within a minute.
HOUR_COMES = """
import asyncio, sys
import sqlalchemy as sa
from assetry import db
from assetry.services import plan

async def main():
    what = {"what": "%" + sys.argv[1] + "%"}
    async with db.service_session() as session:
        await session.exec(
            sa.text("UPDATE plan_slots SET planned_at = date_trunc('hour', now()) WHERE what LIKE :what"),
            params=what,
        )
    await plan.remind_due()  # or the server's own, if its minute came first
    async with db.service_session() as session:
        reminded = await session.exec(
            sa.text("SELECT count(*) FROM plan_slots WHERE what LIKE :what AND reminded_at IS NOT NULL"),
            params=what,
        )
        print("reminded slots:", reminded.scalar_one())
    await db.dispose_engines()

asyncio.run(main())
"""


def _the_hour_comes(app_server: AppServer) -> datetime:
    ran = subprocess.run(
        [sys.executable, "-c", HOUR_COMES, PROMPT],
        cwd=app_server.source,
        env=app_server.env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "reminded slots: 1" in ran.stdout, ran.stdout
    return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)


def test_a_sandbox_post_of_a_generated_video_is_recognised_and_measured(
    new_context, app_server: AppServer
) -> None:
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
    _plan_it(page)
    visit(page, urlsplit(generation_url).path)
    reminder = page.locator(".plan-reminder")
    expect(reminder).to_have_count(0)
    slot = _the_hour_comes(app_server)  # while the library page is open: pushed, no reload
    expect(reminder).to_contain_text(f"Time to post: Video: {PROMPT}")
    expect(reminder).to_contain_text(f"(planned for {slot:%H}:00)")
    keep_screenshot(page, "plan-reminder")
    phone = phone_context(new_context, storage_state=page.context.storage_state()).new_page()
    visit(phone, "/analytics/what-works")  # a second tab, phone-sized: the banner too
    expect(phone.locator(".plan-reminder")).to_contain_text(PROMPT)
    check_fits_the_width(phone)
    keep_screenshot(phone, "plan-reminder")
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
    expect(reminder).to_be_visible()  # still waiting for the post: on every page
    proposal.get_by_role("button", name="Yes").click()
    expect(toast(page, "Linked.")).to_be_visible()
    expect(reminder).to_have_count(0)  # the post is seen: the reminder goes
    expect(phone.locator(".plan-reminder")).to_have_count(0)  # in the other tab too, without a reload
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
    posted_as = page.locator(".rt-Card").filter(has_text="Posted as")
    expect(posted_as).to_contain_text(PROMPT)
    posted_as.get_by_role("button", name="Unlink").click()  # unlinked, then linked again by hand
    expect(toast(page, "Unlinked.")).to_be_visible()
    expect(page.get_by_text("Not linked to a post yet.")).to_be_visible()
    page.get_by_role("button", name="I posted this").click()
    picker = page.get_by_role("dialog", name="Which post is it?")
    picker.locator("div").filter(has_text=PROMPT).get_by_role("button", name="This one").first.click()
    expect(toast(page, "Linked: its numbers now count for this generation on What works.")).to_be_visible()
    expect(page.get_by_text("Not linked to a post yet.")).to_have_count(0)
    expect(posted_as.get_by_role("link", name=PROMPT)).to_be_visible()

    visit(page, "/plan")  # the sync recognised the post: its slot shows it
    planned = page.locator(f"#day-{slot:%Y-%m-%d} .plan-slot").filter(has_text=f"{slot:%H}:00")
    expect(planned.get_by_text("Posted", exact=True)).to_be_visible()
    expect(planned.get_by_role("link")).to_have_attribute("href", re.compile(POST_LINK.pattern))
    keep_screenshot(page, "plan")

    visit(page, "/studio")
    page.get_by_role("button", name="Start from what worked").click()
    expect(page.get_by_label("Prompt", exact=True)).to_have_value(PROMPT)
    expect(page.get_by_text(re.compile(r"From your best linked generation: 1 post"))).to_be_visible()
    page.get_by_role("button", name="Duration", exact=True).click()
    expect(page.get_by_text("Only the duration changed: 3 s → 5 s.")).to_be_visible()

    for path, name in (
        ("/analytics/what-works", "what-works"),
        (post_path, "post-made-with"),
        ("/plan", "plan"),
    ):
        visit(phone, path)
        check_fits_the_width(phone)
        keep_screenshot(phone, name)
