"""Settings in the browser: profile and email, the data export, deleting the account, a phone.

The server sends its mail to `mailbox`, a real SMTP server in the test process: the tests
read the links a creator gets by email there; the server's own database (the embedded
Postgres in its DATA_DIR) is read for what only the data can show (secrets that must not be in an export).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import psycopg
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from assetry.local_postgres import LocalPostgres
from tests.e2e.browser import (
    STRONG_PASSWORD,
    check_fits_the_width,
    emailed_link,
    keep_screenshot,
    log_in,
    make_an_image,
    new_email,
    path_is,
    phone_context,
    sign_up,
    toast,
    until_live,
    visit,
    watch_for,
)
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.e2e

WRONG_CREDENTIALS = "That email and password don't match an account."
JOB_TIMEOUT_MS = 45_000


def _server_rows(data_dir: Path, query: str, *params: object) -> list[tuple]:
    """Rows from the server's embedded database, in a read-only transaction."""
    with psycopg.connect(LocalPostgres(data_dir).url()) as connection:
        connection.read_only = True
        return connection.execute(query, params).fetchall()


def _log_out(page: Page) -> None:
    page.get_by_role("button", name="Log out", exact=True).click()
    expect(page).to_have_url(path_is("/"))


def _section(page: Page, name: str):
    return page.locator(f"#{name}")


# ----- profile and email ------------------------------------------------------------------


def test_profile_changes_are_kept_and_a_confirmed_new_email_is_the_one_to_log_in_with(
    page: Page, mailbox: SmtpServer
) -> None:
    old_email = sign_up(page, name="Ayu Lestari")
    expect(page.get_by_role("heading", name="Welcome, Ayu Lestari")).to_be_visible()

    visit(page, "/settings")
    profile = _section(page, "profile")
    profile.get_by_label("Display name").fill("Ayu Makes Videos")
    profile.get_by_label("Time zone").fill("Asia/Jakarta")
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("status")).to_have_text("Saved.")
    keep_screenshot(page, "settings")

    visit(page, "/settings")
    expect(profile.get_by_label("Display name")).to_have_value("Ayu Makes Videos")
    expect(profile.get_by_label("Time zone")).to_have_value("Asia/Jakarta")
    visit(page, "/home")
    expect(page.get_by_role("heading", name="Welcome, Ayu Makes Videos")).to_be_visible()

    new_address = new_email("moved")
    visit(page, "/settings")
    email = _section(page, "email")
    email.get_by_label("New email address").fill(new_address)
    email.get_by_label("Your password").fill(STRONG_PASSWORD)
    email.get_by_role("button", name="Send confirmation link").click()
    expect(email.get_by_role("status")).to_contain_text(f"We sent a confirmation link to {new_address}.")
    expect(email.get_by_text(f"Waiting for confirmation of {new_address}")).to_be_visible()
    expect(email.get_by_label("Your password")).to_have_value("")
    # Until the link is opened, the old address is still the account's.
    expect(page.locator("#current-email")).to_have_text(old_email)

    link = emailed_link(mailbox, new_address, "Confirm your new email address", "/confirm-email/")
    until_live(page, lambda: page.goto(link), what="the confirmation link")
    expect(page).to_have_url(re.compile(r"/settings/?\?email=confirmed$"))
    expect(page.get_by_text("Your new email address is confirmed and now signs you in.")).to_be_visible()
    expect(page.locator("#current-email")).to_have_text(new_address)
    expect(page.get_by_text("Waiting for confirmation")).to_have_count(0)

    # A second visit to the same link does nothing more.
    until_live(page, lambda: page.goto(link), what="the used confirmation link")
    expect(page.get_by_text("That confirmation link was already used")).to_be_visible()

    _log_out(page)
    log_in(page, old_email)
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    log_in(page, new_address)
    expect(page).to_have_url(path_is("/home"))
    expect(page.get_by_role("heading", name="Welcome, Ayu Makes Videos")).to_be_visible()


def test_bad_profile_and_email_input_gets_a_message_and_loses_nothing(page: Page) -> None:
    email_address = sign_up(page, name="Dewi")
    visit(page, "/settings")
    profile = _section(page, "profile")
    name_box = profile.get_by_label("Display name")
    # The browser stops typing at 80 characters; the server checks again for any other client.
    name_box.evaluate("input => input.removeAttribute('maxlength')")
    too_long = "D" * 81
    name_box.fill(too_long)
    profile.get_by_label("Time zone").fill("Europe/Berlin")
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("alert")).to_have_text(
        "The display name is 81 characters; the limit is 80. Shorten it and send again."
    )
    # What was typed is still there to shorten.
    expect(name_box).to_have_value(too_long)
    expect(profile.get_by_label("Time zone")).to_have_value("Europe/Berlin")

    email = _section(page, "email")
    # Passes the browser's own type=email check, fails the server's.
    email.get_by_label("New email address").fill("dewi@localhost")
    email.get_by_label("Your password").fill(STRONG_PASSWORD)
    email.get_by_role("button", name="Send confirmation link").click()
    expect(email.get_by_role("alert")).to_contain_text("That email address doesn't look right")
    expect(email.get_by_label("New email address")).to_have_value("dewi@localhost")
    expect(email.get_by_role("status")).to_have_count(0)

    email.get_by_label("New email address").fill(new_email("other"))
    email.get_by_label("Your password").fill("Not-My-Password-1")
    email.get_by_role("button", name="Send confirmation link").click()
    expect(email.get_by_role("alert")).to_have_text("Your current password is not right.")

    # Nothing was saved by the refused forms.
    visit(page, "/settings")
    expect(profile.get_by_label("Display name")).to_have_value("Dewi")
    expect(profile.get_by_label("Time zone")).to_have_value("UTC")
    expect(page.locator("#current-email")).to_have_text(email_address)
    expect(page.get_by_text("Waiting for confirmation")).to_have_count(0)


def test_the_time_zone_picker_offers_the_browsers_zone_and_readable_names(new_context) -> None:
    page = new_context(timezone_id="Europe/Paris").new_page()
    sign_up(page)
    visit(page, "/settings")
    profile = _section(page, "profile")
    zone = profile.get_by_label("Time zone")
    expect(zone).to_have_value("Europe/Paris")  # from the browser, the account still has UTC
    expect(profile.get_by_text("Filled in from your browser (Europe/Paris)")).to_be_visible()
    labels = page.locator("#time-zones option")
    assert labels.count() < 500
    kolkata = page.locator('#time-zones option[value="Asia/Kolkata"]').text_content()
    assert kolkata == "Asia/Kolkata — Kolkata (UTC+05:30)"
    zone.fill("Mars/Olympus")
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("alert")).to_contain_text("“Mars/Olympus” is not a time zone we know")
    zone.fill("Europe/Paris")
    profile.get_by_role("button", name="Save profile").click()
    expect(profile.get_by_role("status")).to_have_text("Saved.")
    visit(page, "/settings")
    expect(zone).to_have_value("Europe/Paris")
    expect(profile.get_by_text("Filled in from your browser")).to_have_count(0)


# ----- export -------------------------------------------------------------------------------


def _make_an_image(page: Page, prompt: str) -> bytes:
    """Generate an image in the studio (offline provider); returns the file the library shows."""
    make_an_image(page, prompt)
    visit(page, "/library")
    page.locator(".generation-card").filter(has_text=prompt).click()
    # The file on the generation's own page (the card's picture is its small cover, inside the page).
    expect(page).to_have_url(re.compile(r".*/library/[0-9a-f-]{36}$"))
    picture = page.get_by_role("img", name=prompt)
    expect(picture).to_have_attribute("src", re.compile(r"^/media/"))
    return page.request.get(picture.get_attribute("src")).body()


def _secrets_of(data_dir: Path, email: str, context: BrowserContext) -> list[bytes]:
    """What must never be in an export: the password hash, the session token and its digest."""
    [(password_hash,)] = _server_rows(data_dir, "SELECT password_hash FROM users WHERE email = %s", email)
    token = next(c["value"] for c in context.cookies() if c["name"] == "assetry_session")
    token_hashes = [h for (h,) in _server_rows(data_dir, "SELECT token_hash FROM auth_sessions")]
    assert password_hash and token and token_hashes
    return [password_hash.encode(), token.encode(), *(h.encode() for h in token_hashes)]


def test_the_export_holds_the_creators_data_and_only_they_can_download_it(
    page: Page, context: BrowserContext, new_context, server_data_dir: Path
) -> None:
    prompt = "A lighthouse in a storm, painted"
    email = sign_up(page, name="Sari Export")
    image = _make_an_image(page, prompt)

    visit(page, "/settings")
    request = _section(page, "privacy-request")
    request.get_by_label("What is it about?").select_option("correction")
    request.get_by_label("Your request").fill("My old channel name is still on an invoice.")
    request.get_by_role("button", name="Send request").click()
    expect(request.get_by_role("status")).to_contain_text("Your request reached our team")

    export = _section(page, "export")
    expect(export.locator("#export-download")).to_have_count(0)
    # While the archive is made: its progress, and no second export to start. Watched as it
    # happens: a small account's export can be ready within a second.
    preparing = watch_for(
        page,
        """(() => {
            const section = document.querySelector("#export");
            const progress = section && section.querySelector("#export-progress");
            return Boolean(progress && /\\(\\d+%\\)$/.test(progress.textContent.trim())
                && [...section.querySelectorAll("button")].some(
                    (b) => b.textContent.includes("Start a new export") && b.disabled));
        })()""",
        what='the export\'s progress "(N%)" with "Start a new export" disabled',
    )
    export.get_by_role("button", name="Start a new export").click()
    preparing.expect_seen()
    expect(toast(page, "Your export is ready to download.")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(export.locator("#export-progress")).to_have_count(0)
    expect(export.get_by_text("The link works until")).to_contain_text("(UTC), then the archive is deleted")

    with page.expect_download() as started:
        export.locator("#export-download").click()
    download = started.value
    assert re.fullmatch(r"assetry-export-\d{4}-\d{2}-\d{2}\.zip", download.suggested_filename)
    archive = Path(download.path()).read_bytes()

    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = zf.namelist()
        contents = {name: zf.read(name) for name in names}
    assert "README.txt" in names
    assert f"for {email}" in contents["README.txt"].decode()
    [account] = json.loads(contents["account.json"])
    assert account["email"] == email
    assert account["display_name"] == "Sari Export"
    assert "password_hash" not in account
    [generation] = json.loads(contents["generations.json"])
    assert generation["prompt"] == prompt
    files = sorted(name for name in names if name.startswith(f"media/{generation['id']}/"))
    # The image and, beside it, its library cover (a small WebP).
    [cover_name, picture_name] = files
    assert contents[picture_name] == image, "the image in the export is not the one in the library"
    assert cover_name.endswith(".cover.webp") and contents[cover_name].startswith(b"RIFF")
    [support] = json.loads(contents["support_messages.json"])
    assert support["body"] == "My old channel name is still on an invoice."

    everything = archive + b"".join(contents.values())
    for secret in _secrets_of(server_data_dir, email, context):
        assert secret not in everything, "a password hash or session secret is in the export"

    link = export.locator("#export-download").get_attribute("href")
    # Fetched with each browser's own cookies (as a navigation would be, without its console noise):
    # the owner's again, then a browser nobody signed in to, then another creator's.
    assert page.request.get(link).body() == archive
    for signed_in in (False, True):
        other = new_context().new_page()
        if signed_in:
            sign_up(other)
        refused = other.request.get(link)
        assert refused.status == 403
        assert refused.text() == "Log in to the account this export belongs to."


# ----- deleting the account -----------------------------------------------------------------


def test_deleting_the_account_needs_the_password_and_ends_every_session(
    page: Page, context: BrowserContext, new_context
) -> None:
    email = sign_up(page, name="Budi Leaving")
    other_browser = new_context().new_page()
    log_in(other_browser, email)
    expect(other_browser).to_have_url(path_is("/home"))

    visit(page, "/settings")
    delete = _section(page, "delete")
    delete.get_by_role("button", name="Delete account…").click()
    steps = delete.locator("#delete-steps li")
    expect(steps.first).to_have_text(
        "You are logged out at once on every browser signed in to your account (2)."
    )
    expect(steps.last).to_have_text(f"We send a confirmation to {email}.")
    keep_screenshot(page, "settings-delete")

    delete.get_by_label("Enter your password to confirm").fill("Not-My-Password-1")
    delete.get_by_role("button", name="Delete my account").click()
    expect(delete.get_by_role("alert")).to_have_text("That password is not right. Nothing was deleted.")
    # Still signed in; coming back, the page starts afresh with the confirmation closed.
    visit(page, "/settings")
    expect(page).to_have_url(path_is("/settings"))
    expect(page.locator("#current-email")).to_have_text(email)
    expect(delete.get_by_role("alert")).to_have_count(0)
    expect(delete.get_by_label("Enter your password to confirm")).to_have_count(0)

    session_cookie = next(c for c in context.cookies() if c["name"] == "assetry_session")
    delete.get_by_role("button", name="Delete account…").click()
    delete.get_by_label("Enter your password to confirm").fill(STRONG_PASSWORD)
    delete.get_by_role("button", name="Delete my account").click()
    # The page right after says it is done and when the data is gone, to this browser only.
    expect(page).to_have_url(path_is("/account-deleted"))
    expect(page.get_by_role("status")).to_have_text(
        "Your Assetry account is deleted and you are logged out on every browser."
    )
    expect(page.locator("#erased-by")).to_have_text(
        re.compile(r"^by \w+ \d+, \d{4} at \d\d:\d\d \(UTC\) \(in 30 days\)$")
    )
    expect(page.get_by_text("We emailed a confirmation to the account's address.")).to_be_visible()
    assert email not in page.content()  # the tab's state outlives the account: it keeps no address
    keep_screenshot(page, "account-deleted")
    expect(page.get_by_role("link", name="Log in")).to_be_visible()
    visit(other_browser, "/account-deleted")  # anyone else learns nothing
    expect(other_browser.get_by_text("This page confirms an account deletion to the browser")).to_be_visible()
    expect(other_browser.locator("#erased-by")).to_have_count(0)

    # The session this browser had, put back, opens nothing; nor does the other browser's.
    context.add_cookies([session_cookie])
    page.goto("/settings")
    expect(page).to_have_url(path_is("/login"))
    other_browser.goto("/settings")
    expect(other_browser).to_have_url(path_is("/login"))

    log_in(page, email)
    expect(page.get_by_role("alert")).to_have_text(WRONG_CREDENTIALS)
    expect(page).to_have_url(path_is("/login"))


# ----- phone --------------------------------------------------------------------------------


def test_on_a_phone_the_settings_fit_the_width(new_context) -> None:
    page = phone_context(new_context).new_page()
    sign_up(page, name="Phone Creator")
    visit(page, "/settings")
    expect(page.get_by_role("heading", name="Settings", level=1)).to_be_visible()
    check_fits_the_width(page)
    keep_screenshot(page, "settings")

    delete = _section(page, "delete")
    delete.get_by_role("button", name="Delete account…").click()
    expect(delete.locator("#delete-steps li").first).to_be_visible()
    check_fits_the_width(page)
    keep_screenshot(page, "settings-delete")
