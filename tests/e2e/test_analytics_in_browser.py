"""Analytics in the browser, in sandbox mode: the sandbox TikTok, Instagram and Apify mounted in the app.

Connecting goes through the sandbox's consent pages exactly as through the real ones. The
sandbox creators are deterministic, with months of posts, so a first sync fills the dashboard.
Tests that only read the dashboard share one creator with TikTok connected (`tiktok_creator`);
those that connect or disconnect sign up their own.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.browser import (
    check_fits_the_width,
    connect_sandbox_account,
    draw_charts,
    keep_screenshot,
    open_sandbox_consent,
    path_is,
    phone_context,
    sign_up,
    toast,
    until_live,
    visit,
    watch_for,
)
from tests.e2e.conftest import ACTION_TIMEOUT_MS

pytestmark = pytest.mark.e2e

SYNC_TIMEOUT_MS = 60_000
POST_PATH = re.compile(r"/analytics/post/[0-9a-f-]{36}/?$")
CHART_HAS_POINTS = """() => {
    const plot = document.querySelector('.js-plotly-plot');
    return Boolean(plot && plot.data && plot.data.length && plot.data[0].x.length > 0);
}"""


def _outcome(platform: str, outcome: str) -> re.Pattern[str]:
    return re.compile(rf"/analytics/?\?oauth={outcome}&platform={platform}(#_)?$")


def _card(page: Page, name: str) -> Locator:
    return page.locator(".connected-account").filter(has_text=name)


def _total(page: Page, label: str) -> Locator:
    return page.locator(".total-card").filter(has=page.get_by_text(label, exact=True))


def _dashboard_filled(page: Page) -> None:
    """The first sync's numbers are on the dashboard: totals and a chart with points."""
    views = _total(page, "Views")
    expect(views).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    expect(views).to_contain_text(re.compile(r"\d"))
    draw_charts(page)
    page.wait_for_function(CHART_HAS_POINTS, timeout=SYNC_TIMEOUT_MS)
    expect(page.get_by_text("No numbers yet.")).to_have_count(0)


def _utc_todays() -> list[date]:
    """Each UTC day that was "today" in the last ten minutes or is within the next one: what the
    server may have called today for a page opened a moment ago, should a test run across midnight."""
    now = datetime.now(UTC)
    return sorted({(now - timedelta(minutes=10)).date(), (now + timedelta(minutes=1)).date()})


def _period_label(days: int) -> re.Pattern[str]:
    """The label of the last `days` days, ending today (UTC)."""
    labels = []
    for today in _utc_todays():
        start = today - timedelta(days=days - 1)
        labels.append(re.escape(f"{start:%b} {start.day} – {today:%b} {today.day}, {today.year} (UTC)"))
    return re.compile(rf"^({'|'.join(labels)})$")


def _sync_now(page: Page, name: str) -> None:
    """Press Sync now on an account's card and see the sync through: while it runs, the card says
    "Syncing" (without "next …") and Sync now can't be pressed again. Watched as it happens: a
    sandbox sync can end within a second. Then the badge goes and Sync now is back."""
    card = _card(page, name)
    # A sync already under way (the first one, or one on schedule) ends first.
    expect(card.get_by_role("button", name="Sync now")).to_be_enabled(timeout=SYNC_TIMEOUT_MS)
    syncing = watch_for(
        page,
        f"""[...document.querySelectorAll(".connected-account")].some(card =>
            card.textContent.includes({json.dumps(name)}) && card.textContent.includes("Syncing")
            && !card.textContent.includes("next")
            && [...card.querySelectorAll("button")].some(b => b.textContent.trim() === "Sync now" && b.disabled))""",
        what=f'the card of {name} saying "Syncing", without "next …", with "Sync now" disabled',
    )
    card.get_by_role("button", name="Sync now").click()
    syncing.expect_seen()
    expect(card.get_by_text("Syncing", exact=True)).to_have_count(0, timeout=SYNC_TIMEOUT_MS)
    expect(card.get_by_role("button", name="Sync now")).to_be_enabled()


@pytest.fixture(scope="module")
def tiktok_creator(browser: Browser, browser_context_args: dict) -> dict:
    """A creator with the sandbox's Jon Okafor connected and synced; their browser storage."""
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    errors: list[str] = []
    context.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    try:
        page = context.new_page()
        sign_up(page)
        visit(page, "/analytics")
        connect_sandbox_account(page, "tiktok", "Jon Okafor")
        _dashboard_filled(page)
        assert not errors, f"The browser reported errors while connecting: {errors}"
        return context.storage_state()
    finally:
        context.close()


@pytest.fixture
def creator_page(new_context, tiktok_creator: dict) -> Page:
    page = new_context(storage_state=tiktok_creator).new_page()
    visit(page, "/analytics")
    _dashboard_filled(page)
    return page


def _no_account_yet(page: Page) -> None:
    """One panel that says what to do, instead of a dashboard of dashes."""
    panel = page.locator("#connect-panel")
    expect(panel).to_contain_text("Connect an account to see your numbers")
    expect(panel.get_by_role("button", name="Try the sandbox demo")).to_be_visible()
    expect(page.locator(".total-card")).to_have_count(0)
    expect(page.get_by_text("—", exact=True)).to_have_count(0)
    expect(page.locator(".connected-account")).to_have_count(0)


def test_connect_tiktok_and_instagram_and_see_the_dashboard_fill_in(page: Page) -> None:
    sign_up(page)
    visit(page, "/analytics")
    _no_account_yet(page)

    connect_sandbox_account(page, "tiktok", "Maya Fernandes")
    card = _card(page, "Maya Fernandes")
    expect(card).to_contain_text("TikTok")
    expect(card.get_by_text("Sandbox", exact=True)).to_be_visible()
    expect(page.locator("#connect-panel")).to_have_count(0)
    _dashboard_filled(page)
    # The banner follows the sync ("running" while it runs, if the page is back before it ends):
    # once it ends, it says so, without a reload.
    expect(page.get_by_text("Your first sync is running")).to_have_count(0, timeout=SYNC_TIMEOUT_MS)
    expect(page.get_by_text("Connected, and the first sync is done: your numbers are below.")).to_be_visible()
    expect(card).to_contain_text(re.compile(r"Last sync (just now|\d+ min ago) · next in \d+ min"))
    expect(page.locator("table").first.locator("tbody tr")).not_to_have_count(0)
    keep_screenshot(page, "analytics")

    # A sync on demand shows its badge while it runs.
    _sync_now(page, "Maya Fernandes")

    connect_sandbox_account(page, "instagram", "sandbox_creator")
    # A sync that already ended by the time the page is back says so at once.
    expect(
        page.get_by_text(
            re.compile(r"^Connected(\. Your first sync is running|, and the first sync is done)")
        )
    ).to_be_visible()
    expect(page.locator(".connected-account")).to_have_count(2)
    instagram = page.locator(".connected-account").filter(has_text="Instagram")
    expect(instagram).to_contain_text("sandbox_creator")
    expect(instagram.get_by_text("Sandbox", exact=True)).to_be_visible()
    expect(instagram).to_contain_text("152,000 followers", timeout=SYNC_TIMEOUT_MS)
    # Instagram's own metrics join the totals once its posts are in.
    expect(_total(page, "Reach")).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)


def test_denying_consent_connects_nothing(page: Page) -> None:
    sign_up(page)
    visit(page, "/analytics")
    open_sandbox_consent(page, "tiktok")
    until_live(page, lambda: page.locator("#deny").click(), what="the way back from the consent page")
    expect(page).to_have_url(_outcome("tiktok", "denied"))
    expect(
        page.get_by_text("You didn't allow access on the consent screen, so nothing was connected.")
    ).to_be_visible()
    _no_account_yet(page)


def test_the_range_changes_the_period(creator_page: Page) -> None:
    page = creator_page
    label = page.get_by_text(re.compile(r"\(UTC\)$"))
    expect(label).to_have_text(_period_label(30))
    views = _total(page, "Views").inner_text()
    for days in (7, 90):
        page.get_by_role("radio", name=f"{days} days").click()
        expect(label).to_have_text(_period_label(days))
    # 90 days hold at least as many views as 30.
    ninety = _total(page, "Views").inner_text()
    assert _first_number(ninety) >= _first_number(views)
    page.get_by_role("radio", name="7 days").click()
    expect(label).to_have_text(_period_label(7))
    page.wait_for_function(CHART_HAS_POINTS)
    # Six whole days as a line; today, still under way, as a dashed segment from yesterday.
    whole, today = page.evaluate(
        "(() => { const d = document.querySelector('.js-plotly-plot').data; return [d[0], d[1]]; })()"
    )
    assert len(whole["x"]) == 6
    assert today["line"]["dash"] == "dash"
    assert today["x"][-1][:10] in {day.isoformat() for day in _utc_todays()}


def test_best_time_to_post_names_the_slot(creator_page: Page) -> None:
    best = creator_page.locator("#best-slot")
    days = "Mondays|Tuesdays|Wednesdays|Thursdays|Fridays|Saturdays|Sundays"
    expect(best).to_have_text(
        re.compile(rf"^({days}) \d\d:00–\d\d:00, [+-]\d+ % views vs your typical post$")
    )
    expect(
        creator_page.get_by_text(re.compile(r"^Median [\d,]+ views over the \d+ posts published then"))
    ).to_be_visible()


def _first_number(text: str) -> int:
    return int(re.search(r"\d[\d,]*", text).group().replace(",", ""))


def test_a_top_post_opens_its_page(creator_page: Page) -> None:
    page = creator_page
    first = page.locator("table").first.locator("tbody tr").first
    title = first.locator("a p").first.inner_text()
    first.get_by_role("link").click()
    expect(page).to_have_url(POST_PATH)
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.get_by_role("heading", name="Views after posting", level=2)).to_be_visible()
    expect(page.get_by_text("TikTok · published")).to_be_visible()
    # The first trace marks publication; the second holds the snapshots.
    page.wait_for_function(
        "() => { const p = document.querySelector('.js-plotly-plot');"
        " return Boolean(p && p.data && p.data.length > 1 && p.data[1].x.length > 0); }"
    )
    # Only the past: the axis runs from publication to now, never into the future.
    end = page.evaluate("document.querySelector('.js-plotly-plot').layout.xaxis.range[1]")
    shown = datetime.fromisoformat(end[:19].replace(" ", "T")).replace(tzinfo=UTC)  # Plotly drops the zone
    assert abs(shown - datetime.now(UTC)) < timedelta(minutes=5)
    keep_screenshot(page, "post")
    page.get_by_role("link", name="← Analytics").click()
    expect(page).to_have_url(path_is("/analytics"))


def test_a_note_for_today_shows_on_the_chart(creator_page: Page) -> None:
    page = creator_page
    note = "Tried a question hook"
    page.get_by_role("button", name="Add note").click()  # nothing typed: say so
    expect(page.get_by_role("alert")).to_contain_text("Write what happened before adding the note")
    page.get_by_label("Day").fill(datetime.now(UTC).date().isoformat())
    page.get_by_label("Note", exact=True).fill(note)
    page.get_by_role("button", name="Add note").click()
    expect(toast(page, "Note added.")).to_be_visible()
    expect(page.locator(".note-body").filter(has_text=note)).to_be_visible()
    page.wait_for_function(
        """(note) => {
            const plot = document.querySelector('.js-plotly-plot');
            return (plot.layout.annotations || []).some((a) => a.text.includes(note));
        }""",
        arg=note,
    )
    expect(page.locator(".js-plotly-plot .annotation-text").filter(has_text=note).first).to_be_visible()
    # Every label on the chart (today's note, today's "so far") is whole: none runs off its edge.
    labels = page.evaluate(
        """() => {
            const chart = document.querySelector('.js-plotly-plot .main-svg').getBoundingClientRect();
            return [...document.querySelectorAll('.js-plotly-plot .annotation-text')].map((label) => {
                const box = label.getBoundingClientRect();
                return [label.textContent, box.left >= chart.left - 1 && box.right <= chart.right + 1];
            });
        }"""
    )
    assert len(labels) >= 2, labels
    assert all(whole for _, whole in labels), labels


def test_tracking_links_answers_per_link_and_fills_in(creator_page: Page) -> None:
    page = creator_page
    good = "https://www.tiktok.com/@jon.cooks/video/7441234567890123456"
    bad = "https://example.com/watch?v=1"
    page.get_by_label("Post links").fill(f"{good}\n{bad}")
    page.get_by_role("button", name="Track").click()
    answers = page.locator(".link-result")
    expect(answers).to_have_count(2)
    expect(answers.nth(0)).to_contain_text("Tracking — numbers arrive in a minute.")
    expect(answers.nth(1)).to_contain_text("Only TikTok and Instagram posts can be tracked.")
    row = page.locator(".tracked-row").filter(has_text="TikTok")
    expect(row).to_have_count(1)
    # No reload, no refresh button: the row fills in by itself once the numbers arrive.
    expect(row).not_to_contain_text("Fetching…", timeout=SYNC_TIMEOUT_MS)
    expect(row).to_contain_text("@jon.cooks")
    expect(row.locator("td").nth(1)).to_have_text(re.compile(r"^\d[\d,]*$"))


def test_export_csv_downloads_the_dashboard(creator_page: Page) -> None:
    page = creator_page
    with page.expect_download() as started:
        page.get_by_role("button", name="Export CSV").click()
    download = started.value
    assert download.suggested_filename.endswith(".csv")
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0] == "date,views,likes,comments,shares,saves,reach,interactions,why empty"
    days = [line for line in lines if re.match(r"\d{4}-\d{2}-\d{2},", line)]
    assert len(days) == 30
    # TikTok reports no saves: an empty cell and the reason, never a 0.
    assert all(line.split(",")[5] == "" and "TikTok's API doesn't report saves" in line for line in days)
    posts = lines[lines.index("") + 1 :]
    assert posts[0].startswith("post,platform,published,url,views in period,views now")
    assert len(posts) > 11  # every post, not only the top ten


def test_disconnect_deleting_history(page: Page) -> None:
    sign_up(page)
    visit(page, "/analytics")
    connect_sandbox_account(page, "tiktok", "Jon Okafor")
    _dashboard_filled(page)
    card = _card(page, "Jon Okafor")
    card.get_by_role("button", name="Disconnect").click()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_contain_text("Disconnect Jon Okafor?")
    dialog.get_by_role("button", name="Disconnect and delete history").click()
    expect(
        toast(page, "Disconnected: tokens deleted and access was revoked with the platform.")
    ).to_be_visible()
    expect(toast(page, "Its synced history was deleted.")).to_be_visible()
    _no_account_yet(page)
    visit(page, "/analytics")
    _no_account_yet(page)


def test_analytics_on_a_phone(new_context, tiktok_creator: dict) -> None:
    page = phone_context(new_context, storage_state=tiktok_creator).new_page()
    visit(page, "/analytics")
    _dashboard_filled(page)
    expect(_card(page, "Jon Okafor")).to_be_visible()
    check_fits_the_width(page)
    keep_screenshot(page, "analytics")

    page.locator("table").first.locator("tbody tr").first.get_by_role("link").click()
    expect(page).to_have_url(POST_PATH)
    expect(page.get_by_role("heading", name="Views after posting")).to_be_visible()
    check_fits_the_width(page)
    keep_screenshot(page, "post")

    page.get_by_role("button", name="Open menu").click()
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Studio").click()
    expect(page).to_have_url(path_is("/studio"))
    expect(page.get_by_role("heading", name="Studio", level=1)).to_be_visible()
