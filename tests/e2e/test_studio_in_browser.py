"""The studio and the library in the browser, with the offline provider (the embedded default).

Each test signs up its own creator, so the "Latest" list and the library hold only its work.
Jobs run in the server's worker; on a busy machine a short video can take seconds to render,
so waits for a result are long (`JOB_TIMEOUT_MS`) and always wait for something on screen.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from assetry.services import covers
from tests.e2e.browser import (
    check_fits_the_width,
    choose,
    keep_screenshot,
    path_is,
    phone_context,
    sign_up,
    toast,
    visit,
    watch_for,
)
from tests.e2e.worker import results_held_back

pytestmark = pytest.mark.e2e

JOB_TIMEOUT_MS = 45_000
KINDS = {"video": "Video", "image": "Image", "caption": "Captions"}
GENERATION_PATH = re.compile(r"/library/([0-9a-f-]{36})/?$")


def _fill_form(page: Page, kind: str, prompt: str, *, seconds: int | None = None) -> None:
    """Choose what to make and type the prompt; returns once the server has both."""
    page.get_by_role("radio", name=KINDS[kind]).click()
    expect(page.get_by_role("combobox", name="Model")).to_have_text(re.compile(KINDS[kind][:5], re.I))
    page.get_by_label("Prompt", exact=True).fill(prompt)
    # The prompt reaches the server after a short debounce; the counter is computed there.
    expect(page.get_by_text(f"{len(prompt)} / 2,000")).to_be_visible()
    if seconds is not None:
        choose(page, "Length (seconds)", str(seconds))
        expect(page.locator("#quote")).to_have_text(f"Costs free · usually takes ~{seconds} s")


def _generate(page: Page, kind: str, prompt: str, *, seconds: int | None = None) -> None:
    _fill_form(page, kind, prompt, seconds=seconds)
    page.locator("#generate").click()
    expect(toast(page, "Started. You can keep working")).to_be_visible()


def _latest(page: Page, prompt: str) -> Locator:
    """The card of a finished generation in the studio's "Latest" list."""
    return page.locator(".generation-card").filter(has_text=prompt)


def _running(page: Page, prompt: str) -> Locator:
    return page.locator(".in-progress").filter(has_text=prompt)


def _download(page: Page, data_dir: Path) -> bytes:
    """Press Download on a generation's page: the browser saves the stored file (and stays on the page)."""
    shown = page.url
    generation_id = GENERATION_PATH.search(shown).group(1)
    # The first file (beside it, an image has its library cover: not what Download gives).
    [stored] = [f for f in (data_dir / "media").glob(f"*/{generation_id}/0.*") if ".cover." not in f.name]
    with page.expect_download() as started:
        page.get_by_role("link", name="Download").click()
    download = started.value
    assert download.failure() is None
    saved = Path(download.path()).read_bytes()
    assert saved == stored.read_bytes()
    assert download.suggested_filename.endswith(stored.suffix)
    expect(page).to_have_url(shown)
    expect(page.get_by_text("404")).to_have_count(0)
    return saved


def _layout(card: Locator) -> str:
    """How a library card is drawn: "tile" (its cover above its prompt) or "row" (the cover to the left)."""
    cover = card.locator(".generation-cover").bounding_box()
    prompt = card.locator(".generation-prompt").bounding_box()
    assert cover and prompt
    if cover["y"] + cover["height"] <= prompt["y"]:
        return "tile"
    if cover["x"] + cover["width"] <= prompt["x"] and cover["y"] <= prompt["y"]:
        return "row"
    return f"neither: cover {cover}, prompt {prompt}"


def _open_from_library(page: Page, prompt: str) -> None:
    visit(page, "/library")
    page.locator(".generation-card").filter(has_text=prompt).click()
    expect(page).to_have_url(GENERATION_PATH)
    expect(page.get_by_role("heading", name=prompt, level=1)).to_be_visible()


def test_an_image_appears_in_latest_and_in_the_library_grid_and_downloads(
    page: Page, server_data_dir: Path
) -> None:
    sign_up(page)
    visit(page, "/studio")
    expect(page.get_by_text("Your results will appear here.")).to_be_visible()
    _generate(page, "image", "A red fox asleep in fresh snow")
    expect(toast(page, "Your image is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    card = _latest(page, "A red fox asleep in fresh snow")
    expect(card).to_contain_text("Done")
    expect(card).to_contain_text("Offline preview")
    # The picture itself arrived (a signed media URL the browser could load and decode).
    picture = card.get_by_role("img", name="A red fox asleep in fresh snow")
    expect(picture).to_have_js_property("complete", True)
    assert picture.evaluate("img => img.naturalWidth") > 0
    expect(page.locator(".in-progress")).to_have_count(0)
    keep_screenshot(page, "studio")

    visit(page, "/library")
    expect(page.get_by_text("Showing 1 of 1")).to_be_visible()
    grid_card = page.locator(".generation-card").filter(has_text="A red fox asleep in fresh snow")
    expect(grid_card).to_be_visible()
    expect(grid_card.get_by_text("Offline preview")).to_be_visible()
    expect(grid_card.get_by_text("Image", exact=True)).to_be_visible()
    # Each generation is drawn once: on a desktop, as a tile in the grid.
    expect(page.locator(".generation-card")).to_have_count(1)
    assert _layout(grid_card) == "tile"
    # The cover shows whole, in its own shape, not cropped to the card's box.
    cover = grid_card.get_by_role("img", name="A red fox asleep in fresh snow")
    expect(cover).to_have_css("object-fit", "contain")
    # Its small cover came inside the page (no request for the file) and is drawn.
    assert (cover.get_attribute("src") or "").startswith("data:image/webp;base64,")
    expect(cover).to_have_js_property("complete", True)
    # The picture made smaller: its long side is the cover's.
    assert cover.evaluate("img => Math.max(img.naturalWidth, img.naturalHeight)") == covers.SIDE
    keep_screenshot(page, "library")

    # A search that finds nothing says so, keeps the count, and offers the way back.
    page.get_by_label("Search prompts").fill("walrus")
    expect(page.get_by_text("No results for “walrus”.")).to_be_visible()
    expect(page.get_by_text("1 in your library")).to_be_visible()
    expect(page.get_by_text("Nothing here yet.")).to_have_count(0)
    page.get_by_role("button", name="Clear search and filters").click()
    expect(page.get_by_text("Showing 1 of 1")).to_be_visible()
    expect(grid_card).to_be_visible()

    _open_from_library(page, "A red fox asleep in fresh snow")
    assert _download(page, server_data_dir)[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"


def test_a_video_plays_for_the_chosen_length_and_downloads(page: Page, server_data_dir: Path) -> None:
    prompt = "Slow waves at sunset over a quiet beach"
    sign_up(page)
    visit(page, "/studio")
    _generate(page, "video", prompt, seconds=3)
    expect(toast(page, "Your video is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(_latest(page, prompt)).to_contain_text("Offline preview")

    _latest(page, prompt).click()
    expect(page).to_have_url(GENERATION_PATH)
    expect(page.get_by_text("preview-video · 9:16 · 3 s")).to_be_visible()
    video = page.locator("video")
    expect(video).to_have_count(1)
    # Decoded enough to show a frame, and as long as asked for.
    page.wait_for_function("() => document.querySelector('video').readyState >= 2")
    duration = video.evaluate("v => v.duration")
    assert duration == pytest.approx(3, abs=0.3), f"the video lasts {duration} s"
    video.evaluate("v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.5")
    assert video.evaluate("v => !v.paused && !v.error")
    keep_screenshot(page, "generation-video")

    saved = _download(page, server_data_dir)
    assert saved[4:8] == b"ftyp", "not an MP4 file"


def test_captions_copy_and_an_edited_caption_is_kept(page: Page, context) -> None:
    prompt = "Launching my latte art course next week"
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    sign_up(page)
    visit(page, "/studio")
    _fill_form(page, "caption", prompt)
    expect(page.get_by_role("combobox", name="How many")).to_have_text("3")
    page.locator("#generate").click()
    expect(toast(page, "Your captions are ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(_latest(page, prompt)).to_contain_text("Offline preview")

    _open_from_library(page, prompt)
    captions = page.locator(".caption-text")
    expect(captions).to_have_count(3)
    first = captions.first.inner_text()
    assert "latte" in first.lower()

    page.get_by_role("button", name="Copy").first.click()
    expect(toast(page, "Copied.")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == first

    edited = "Latte art, one pour at a time. Course opens Monday ☕ #latteart"
    page.get_by_role("button", name="Edit").first.click()
    box = page.get_by_role("textbox", name="Caption")
    expect(box).to_have_value(first)
    box.fill(edited)
    page.get_by_role("button", name="Save caption").click()
    expect(toast(page, "Caption saved.")).to_be_visible()
    expect(captions.first).to_have_text(edited)
    keep_screenshot(page, "generation-captions")

    visit(page, page.url)
    expect(page.locator(".caption-text").first).to_have_text(edited)
    expect(page.locator(".caption-text")).to_have_count(3)


def test_a_job_carries_on_through_a_reload(page: Page, server_data_dir: Path) -> None:
    prompt = "Rain on a tram window at night"
    sign_up(page)
    visit(page, "/studio")
    _generate(page, "video", prompt, seconds=8)
    with results_held_back(server_data_dir):
        expect(_running(page, prompt)).to_be_visible()
        visit(page, "/studio")
        # Live status after the reload: the job is still listed as running, with its elapsed time.
        row = _running(page, prompt)
        expect(row).to_be_visible()
        expect(row).to_contain_text(re.compile(r"(Running · \d+ s|Waiting for a worker)"))
    expect(toast(page, "Your video is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(row).to_have_count(0)
    expect(_latest(page, prompt)).to_contain_text("Done")


def test_a_running_job_can_be_cancelled_on_a_phone(new_context) -> None:
    page = phone_context(new_context).new_page()
    prompt = "A long drone shot over rice terraces"
    sign_up(page)
    visit(page, "/studio")
    _generate(page, "video", prompt, seconds=8)
    row = _running(page, prompt)
    cancel = row.get_by_role("button", name="Cancel")
    # The "Started" toast is up now: it must not lie over the new row's Cancel button.
    started = toast(page, "Started. You can keep working").bounding_box()
    button = cancel.bounding_box()
    assert started and button
    assert (
        started["y"] + started["height"] <= button["y"] or button["y"] + button["height"] <= started["y"]
    ), f"the toast {started} covers the Cancel button {button}"
    # Running, not merely queued: the worker has to stop it.
    expect(row).to_contain_text(re.compile(r"Running · \d+ s"), timeout=JOB_TIMEOUT_MS)
    # At once, on the row itself: "Cancelling…" and no Cancel button until the worker stops the
    # render, or, when the worker stops it before the page has asked again, the row is gone.
    # Watched as it happens: the worker hears of the cancel through Postgres within milliseconds.
    answered = watch_for(
        page,
        f"""[...document.querySelectorAll(".in-progress")]
            .filter(row => row.textContent.includes({prompt!r}))
            .every(row => row.textContent.includes("Cancelling…")
                && ![...row.querySelectorAll("button")].some(b => b.textContent.trim() === "Cancel"))""",
        what="the row saying it is cancelling, or gone",
    )
    cancel.click()
    answered.expect_seen(timeout_ms=3_000)
    expect(toast(page, "Cancelled.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(row).to_have_count(0)
    expect(_latest(page, prompt)).to_contain_text("Cancelled")

    visit(page, "/library")
    card = page.locator(".generation-card").filter(has_text=prompt)
    expect(card).to_contain_text("Cancelled")
    assert _layout(card) == "row"
    card.click()
    expect(page).to_have_url(GENERATION_PATH)
    expect(page.get_by_role("heading", name=prompt, level=1)).to_be_visible()
    expect(page.locator("video")).to_have_count(0)
    expect(page.get_by_text("Cancelled", exact=True)).to_be_visible()


def test_a_deleted_generation_is_gone_with_its_file(page: Page) -> None:
    prompt = "A paper boat on a puddle"
    sign_up(page)
    visit(page, "/studio")
    _generate(page, "image", prompt)
    expect(toast(page, "Your image is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)

    _open_from_library(page, prompt)
    picture = page.get_by_role("img", name=prompt)
    file_url = picture.get_attribute("src")
    assert page.request.get(file_url).status == 200

    page.get_by_role("button", name="Delete").click()
    dialog = page.get_by_role("alertdialog", name="Delete this generation?")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(path_is("/library"))
    expect(toast(page, "Deleted, files too.")).to_be_visible()
    expect(page.get_by_text("Nothing here yet.")).to_be_visible()
    expect(page.locator(".generation-card")).to_have_count(0)

    # The old link (still signed and unexpired) now finds nothing.
    gone = page.request.get(file_url)
    assert gone.status == 404
    assert "deleted" in gone.text()


def test_keeping_the_dialog_closed_keeps_the_generation(page: Page) -> None:
    prompt = "Steam rising from a bowl of noodles"
    sign_up(page)
    visit(page, "/studio")
    _generate(page, "image", prompt)
    expect(toast(page, "Your image is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    _open_from_library(page, prompt)
    page.get_by_role("button", name="Delete").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Keep it").click()
    expect(page.get_by_role("alertdialog")).to_have_count(0)
    visit(page, "/library")
    expect(page.locator(".generation-card").filter(has_text=prompt)).to_have_count(1)


def test_two_quick_clicks_on_generate_make_one_generation(page: Page) -> None:
    prompt = "A hummingbird at a red flower"
    sign_up(page)
    visit(page, "/studio")
    _fill_form(page, "image", prompt)
    page.locator("#generate").dblclick()
    expect(toast(page, "Your image is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(_latest(page, prompt)).to_have_count(1)
    visit(page, "/library")
    expect(page.get_by_text("Showing 1 of 1")).to_be_visible()
    expect(page.locator(".generation-card")).to_have_count(1)


def test_an_empty_prompt_is_refused_with_a_message(page: Page) -> None:
    sign_up(page)
    visit(page, "/studio")
    page.get_by_role("radio", name="Image").click()
    page.locator("#generate").click()
    expect(page.get_by_role("alert")).to_have_text("Please fill in the prompt.")
    expect(page.get_by_text("Nothing running. What you start appears here.")).to_be_visible()
    # Typing clears the message; nothing was started.
    page.locator("#prompt").fill("x")
    expect(page.get_by_role("alert")).to_have_count(0)
    visit(page, "/library")
    expect(page.get_by_text("Nothing here yet.")).to_be_visible()


def test_on_a_phone_the_studio_works_and_the_library_is_a_list(new_context) -> None:
    page = phone_context(new_context).new_page()
    prompt = "A cat on a sunny windowsill"
    sign_up(page)
    visit(page, "/studio")
    check_fits_the_width(page)
    _generate(page, "image", prompt)
    expect(toast(page, "Your image is ready.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(_latest(page, prompt)).to_contain_text("Offline preview")
    check_fits_the_width(page)
    keep_screenshot(page, "studio")

    visit(page, "/library")
    row = page.locator(".generation-card").filter(has_text=prompt)
    expect(row).to_be_visible()
    expect(row.get_by_text("Offline preview")).to_be_visible()
    # Each generation is drawn once: on a phone, as a row with a small cover on its left.
    expect(page.locator(".generation-card")).to_have_count(1)
    assert _layout(row) == "row"
    assert (row.locator(".generation-cover").bounding_box() or {}).get("width", 0) < 100
    check_fits_the_width(page)
    keep_screenshot(page, "library")

    row.click()
    expect(page).to_have_url(GENERATION_PATH)
    expect(page.get_by_role("img", name=prompt)).to_be_visible()
    check_fits_the_width(page)
    keep_screenshot(page, "generation-image")


def _type_and_generate(page: Page, prompt: str) -> None:
    """Type a prompt and press Generate at once, as fast as a person who pastes and clicks."""
    page.get_by_label("Prompt", exact=True).fill(prompt)
    page.locator("#generate").click()


def _card_prompts(page: Page) -> list[str]:
    """The prompt on each library card, each card scrolled into view first.

    A card out of sight is not rendered (`content-visibility: auto`), and a page in a tab the
    browser is not drawing has every card out of sight: its text is empty to `innerText`.
    """
    cards = page.locator(".generation-card .generation-prompt")
    shown = []
    for index in range(cards.count()):
        card = cards.nth(index)
        card.scroll_into_view_if_needed()
        expect(card).not_to_have_text("", use_inner_text=True)
        shown.append(card.inner_text())
    return shown


def test_generate_starts_exactly_the_prompt_in_the_box(page: Page) -> None:
    first, second = "Pause 0ms test prompt about coffee", "A second prompt, typed right after: tea"
    sign_up(page)
    visit(page, "/studio")
    page.get_by_role("radio", name="Image").click()
    expect(page.get_by_role("combobox", name="Model")).to_have_text(re.compile("Image", re.I))
    _type_and_generate(page, first)
    expect(page.locator(".in-progress, .generation-card").filter(has_text=first).first).to_be_visible()
    _type_and_generate(page, second)
    expect(toast(page, "Your image is ready.").first).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(page.locator(".generation-card").filter(has_text=second)).to_have_count(1, timeout=JOB_TIMEOUT_MS)

    visit(page, "/library")
    expect(page.get_by_text("Showing 2 of 2")).to_be_visible()
    assert sorted(_card_prompts(page)) == sorted([first, second])


def test_two_tabs_each_start_their_own_prompt(context) -> None:
    prompts = ["Tab one: a kite over the dunes", "Tab two: a canoe on a glassy lake"]
    first, second = context.new_page(), context.new_page()
    sign_up(first)
    tabs = [first, second]
    for tab in tabs:
        visit(tab, "/studio")
        tab.get_by_role("radio", name="Image").click()
        expect(tab.get_by_role("combobox", name="Model")).to_have_text(re.compile("Image", re.I))
    for tab, prompt in zip(tabs, prompts, strict=True):
        tab.get_by_label("Prompt", exact=True).fill(prompt)
    for tab in tabs:
        tab.locator("#generate").click()
    for tab, prompt in zip(tabs, prompts, strict=True):
        expect(tab.locator(".in-progress, .generation-card").filter(has_text=prompt).first).to_be_visible()
    first.bring_to_front()
    visit(first, "/library")
    expect(first.get_by_text("Showing 2 of 2")).to_be_visible()
    assert sorted(_card_prompts(first)) == sorted(prompts)
