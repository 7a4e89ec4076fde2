"""The app served as in production, and a Chromium that fails the test on any console error.

The server is `python -m assetry serve --env prod --single-port` (as `make run`: the
embedded Postgres, migrations, `reflex run`) on a free port, started once per test run from a
copy of the source tree in a temporary folder, with the embedded defaults (their data in a
temporary DATA_DIR) except for email: it sends through a real SMTP server on loopback
that this test process runs (`mailbox`), so tests read mail as a user would get it. The copy keeps the build (`.web`, whose URLs carry the port) and
Reflex's rewrites of `.gitignore` away from the checkout, so a developer's `make run` on
:3000 and any number of test runs never share a port, a build or a database.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, expect

from assetry.config import ROOT, Settings
from tests.conftest import server_folder
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, DESKTOP, read_mail_from, sign_up, until_live, visit
from tests.smtp_server import SmtpServer

BUILD_TIMEOUT_S = 300
# An operator command loads the whole app (every job's task) before it does anything: seconds of
# CPU, which a machine shared with other test runs can stretch to minutes.
COMMAND_TIMEOUT_S = 600
# The app answers in milliseconds; a click that waits longer than this is stuck.
ACTION_TIMEOUT_MS = 10_000
EXPECT_TIMEOUT_MS = 10_000
# A first sync of a sandbox account fills the dashboard within this.
SYNC_TIMEOUT_MS = 60_000
MAIL_FROM = "Assetry <hello@assetry.test>"

# Top-level entries of the checkout the server does not need (or must not see: `.env`).
_NOT_COPIED = {
    ".git", ".venv", ".web", ".states", ".env", "data", "tools", "tests", "bench",
    "test-results", ".pytest_cache", ".ruff_cache", ".ci",
}  # fmt: skip


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Browser tests run last: once started, Playwright's sync API keeps an event loop
    running in the main thread until the session ends, and async tests cannot run beside it.
    `trylast`: after pytest's own reordering by fixture scope, which would move some back."""
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


def _copy_source(target: Path) -> None:
    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = {n for n in names if n == "__pycache__" or n.endswith(".pyc")}
        if Path(directory) == ROOT:
            skipped |= _NOT_COPIED & set(names)
        return skipped

    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _server_env(data_dir: Path, public_url: str, smtp_url: str) -> dict[str, str]:
    """This process's environment minus every app and Reflex setting, plus the e2e ones."""
    ours = {name.upper() for name in Settings.model_fields}
    env = {k: v for k, v in os.environ.items() if k.upper() not in ours and not k.startswith("REFLEX_")}
    env.update(
        DATA_DIR=str(data_dir),
        PUBLIC_URL=public_url,
        SMTP_URL=smtp_url,
        MAIL_FROM=MAIL_FROM,
        # Every test signs up from 127.0.0.1.
        FORM_IP_MAX_PER_HOUR="10000",
        # /health/statements: what the server queried for pages (an idle tab must cost nothing).
        COUNT_STATEMENTS="true",
        PATH=f"{ROOT / 'tools' / 'node_modules' / '.bin'}{os.pathsep}{env.get('PATH', '')}",
        REFLEX_USE_SYSTEM_BUN="1",
        PYTHONDONTWRITEBYTECODE="1",
    )
    return env


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    """Stop the server: `serve` passes SIGTERM on to Reflex's workers, then stops the database."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@dataclass(frozen=True)
class AppServer:
    """The app under test: where it answers, and the settings and folder it runs with."""

    url: str
    env: dict[str, str]
    source: Path

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `python -m assetry ARGS` (an operator command) against this server's database."""
        return subprocess.run(
            [sys.executable, "-m", "assetry", *args],
            cwd=self.source,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )


@pytest.fixture(scope="session")
def server_data_dir() -> Iterator[Path]:
    """The server's DATA_DIR: its embedded Postgres (outbox, jobs, accounts) and files.

    With E2E_APP_URL, the running server's: the checkout's `data/` (its default).
    """
    if os.environ.get("E2E_APP_URL"):
        yield ROOT / "data"
        return
    with server_folder() as folder:
        yield folder


@pytest.fixture(scope="session")
def mailbox() -> Iterator[SmtpServer]:
    """The SMTP server the app under test sends every email to; `last_mail_to` reads it."""
    server = SmtpServer()
    server.start()
    read_mail_from(server)  # `browser.sign_up` opens the emailed link from here
    yield server
    server.stop()


@pytest.fixture(scope="session")
def app_server(
    tmp_path_factory: pytest.TempPathFactory, server_data_dir: Path, mailbox: SmtpServer
) -> Iterator[AppServer]:
    """Start a fresh embedded database, migrate it, build and serve the production app.

    E2E_APP_URL=http://localhost:PORT uses a server already running from this tree instead
    (a quicker loop while writing tests; a full run always builds its own). Operator commands
    then run with this process's settings, and mail reaches `mailbox` only if that server was
    started with SMTP_URL pointing at it.
    """
    if reuse := os.environ.get("E2E_APP_URL"):
        yield AppServer(reuse.rstrip("/"), dict(os.environ), ROOT)
        return
    bun_dir = ROOT / "tools" / "node_modules" / ".bin"
    if not (bun_dir / "bun").exists():
        pytest.fail(f"No bun in {bun_dir}: run `make install` (or `make test`) first.", pytrace=False)
    work = tmp_path_factory.mktemp("e2e-app")
    source = work / "app"
    _copy_source(source)
    port = _free_port()
    url = f"http://localhost:{port}"
    server = AppServer(url, _server_env(server_data_dir, url, mailbox.url), source)
    log_path = work / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                *(sys.executable, "-m", "assetry", "serve"),
                *("--env", "prod", "--single-port", "--frontend-port", str(port), "--loglevel", "warning"),
            ],
            cwd=source,
            env=server.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + BUILD_TIMEOUT_S
        while not (_answers(f"{url}/health") and _answers(f"{url}/")):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-4000:]
                pytest.fail(f"The production app did not start on {url}. Server output:\n{tail}")
            time.sleep(0.5)
        yield server
    finally:
        _stop(process)
        # The build's node_modules is ~200 MB; pytest keeps the last three runs' folders.
        shutil.rmtree(source / ".web", ignore_errors=True)


@pytest.fixture(scope="session")
def synced_admin(app_server: AppServer, browser: Browser, browser_context_args: dict) -> tuple[str, dict]:
    """An admin who is also a creator with the sandbox's Jon Okafor connected and synced: email, storage."""
    context = browser.new_context(**browser_context_args)
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    try:
        page = context.new_page()
        email = sign_up(page, name="Ayu Lestari")
        visit(page, "/analytics")
        page.get_by_role("button", name="Connect TikTok").click()
        page.get_by_role("radio", name="Jon Okafor").check()
        until_live(page, lambda: page.locator("#allow").click(), what="the way back from the consent page")
        expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
        made = app_server.command("create-admin", email)
        assert made.returncode == 0, made.stdout + made.stderr
        return email, context.storage_state()
    finally:
        context.close()


@pytest.fixture(scope="session", autouse=True)
def _patient_expectations() -> None:
    """expect() waits up to 10 s: a busy CI machine can take seconds to answer a websocket event."""
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def base_url(app_server: AppServer) -> str:
    """Relative `page.goto("/login")` calls go to the app under test."""
    return app_server.url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's Chromium: Playwright cannot download its own browsers here."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict) -> dict:
    return {**browser_context_args, "locale": "en-US"}


@pytest.fixture
def browser_errors() -> list[str]:
    """Every console error and uncaught page error in this test's browser contexts."""
    return []


def _watch(context: BrowserContext, errors: list[str]) -> None:
    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "") if message.location else ""
            errors.append(f"console error: {message.text} ({where})")

    context.on("console", on_console)
    context.on("weberror", lambda web_error: errors.append(f"page error: {web_error.error}"))


@pytest.fixture
def new_context(new_context: Callable[..., BrowserContext], browser_errors: list[str]):
    """pytest-playwright's context factory: desktop-sized unless told, every context watched for errors."""

    def create(**kwargs) -> BrowserContext:
        context = new_context(**{"viewport": DESKTOP, **kwargs})
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        _watch(context, browser_errors)
        return context

    return create


@pytest.fixture(autouse=True)
def fail_on_browser_errors(browser_errors: list[str]) -> Iterator[None]:
    """Any console error (a CSP violation, a 404, a React error) fails the test."""
    yield
    if browser_errors:
        pytest.fail("The browser reported errors:\n" + "\n".join(browser_errors), pytrace=False)
