"""After an account is deleted and purged, nothing in the logs identifies its person.

The backend runs for real (its job worker included) with every log record of the process
written to a file at DEBUG, the most any operator could turn on. A creator signs up, opens
the emailed link, logs in, generates, connects the sandbox TikTok, exports, deletes the
account; the purge runs. Then the file is searched for their email, name and id.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
from sqlmodel import select

from assetry import db, logs
from assetry.config import get_settings
from assetry.models import DataExport, Generation, User
from assetry.pages.analytics.connections import ConnectionsState
from assetry.pages.auth import ConfirmSignUpState, LogInState, SignUpState
from assetry.pages.settings import SettingsState
from assetry.pages.studio import StudioState
from assetry.services import retention
from assetry.services.accounts import SESSION_COOKIE
from tests.account_setup import sign_up_link
from tests.raw_socket import RawTab

EMAIL = "quintessa.marrowbone@example.com"
NAME = "Quintessa Marrowbone"
PASSWORD = "Lantern-Orchard-Basalt-58"
SESSION_START = re.compile(r"/session/start\?ticket=[^\"\\]+")


@pytest.fixture
def log_file(tmp_path: Path) -> Iterator[Path]:
    """Every record the process makes from now on, at DEBUG, in a file (the app's own loggers and its libraries')."""
    path = tmp_path / "app.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(logs.FORMAT))
    root = logging.getLogger()
    turned_up = ["", "assetry", "procrastinate", "reflex", "uvicorn"]
    before = {name: logging.getLogger(name).level for name in [*turned_up, "websockets"]}
    root.addHandler(handler)
    for name in turned_up:
        logging.getLogger(name).setLevel(logging.DEBUG)
    # The test's own websocket client would log the frames it reads (the person's page, as
    # shown to them); that is the probe talking, not the app.
    logging.getLogger("websockets").setLevel(logging.WARNING)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        handler.close()
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


async def _until(what: str, check, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout_s} s"
        await asyncio.sleep(0.2)


async def _cookie_from(backend: str, frames: list[str]) -> str:
    """Follow the page load to /session/start a log-in answers with; the session cookie it sets."""
    (path,) = {found.group() for found in SESSION_START.finditer("".join(frames))}
    async with httpx.AsyncClient(base_url=backend) as browser:
        reply = await browser.get(path, headers={"sec-fetch-site": "same-origin"})
    assert reply.status_code in (302, 303, 307), reply.text
    return reply.cookies[SESSION_COOKIE]


async def _connect_sandbox_tiktok(backend: str, tab: RawTab, cookie: str) -> None:
    """Connect, allow on the sandbox consent page, come back to the app's callback, as a browser would."""
    frames = await tab.send(ConnectionsState.connect, {"platform": "tiktok"}, path="/analytics")
    (authorize,) = re.findall(r"window\.location\.assign\((\\?\"[^)]*)\)", "".join(frames))
    authorize = json.loads(json.loads(f'"{authorize}"') if authorize.startswith("\\") else authorize)
    parts = urlsplit(authorize)
    query = dict(parse_qsl(parts.query))
    async with httpx.AsyncClient(base_url=backend, cookies={SESSION_COOKIE: cookie}) as browser:
        consent = await browser.post(
            parts.path,
            data=query
            | {
                "requested": query["scope"],
                "scope": "video.list",
                "account": "maya.makes",
                "decision": "allow",
            },
        )
        assert consent.status_code == 302, consent.text
        back = urlsplit(consent.headers["location"])
        done = await browser.get(f"{back.path}?{back.query}")
    assert done.status_code == 303 and "oauth=connected" in done.headers["location"], done.headers


async def test_after_delete_and_purge_the_logs_hold_no_email_name_or_id(
    backend: str, log_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DELETION_GRACE_DAYS", "0")
    get_settings.cache_clear()

    # Sign up, open the emailed link, log in.
    tab = RawTab(backend)
    await tab.connect(path="/signup")
    form = {
        "email": EMAIL,
        "password": PASSWORD,
        "display_name": NAME,
        "age_confirmed": "on",
        "accept_policies": "on",
    }
    await tab.send(SignUpState.sign_up, {"form": form}, path="/signup")
    confirm = f"/signup/confirm/{await sign_up_link(EMAIL)}"
    assert SESSION_START.search("".join(await tab.send(ConfirmSignUpState.confirm, path=confirm)))
    frames = await tab.send(
        LogInState.log_in, {"form": {"email": EMAIL, "password": PASSWORD}}, path="/login"
    )
    cookie = await _cookie_from(backend, frames)
    async with db.service_session() as session:
        user = (await session.exec(select(User).where(User.email == EMAIL))).one()
    user_id: uuid.UUID = user.id
    assert user.display_name == NAME

    # Generate, connect the sandbox TikTok, export.
    tab = RawTab(backend)
    await tab.connect(cookie=cookie, path="/studio")
    studio_form = {"kind": "image", "prompt": "a lighthouse at dawn", "model_key": "offline:preview-image"}
    await tab.send(StudioState.generate, {"form": studio_form | {"aspect_ratio": "1:1"}}, path="/studio")

    async def generated() -> bool:
        async with db.service_session() as session:
            statuses = await session.exec(select(Generation.status).where(Generation.user_id == user_id))
            return statuses.all() == ["succeeded"]

    await _until("the generation", generated)
    await tab.connect(cookie=cookie, path="/analytics")
    await _connect_sandbox_tiktok(backend, tab, cookie)
    await tab.connect(cookie=cookie, path="/settings")
    await tab.send(SettingsState.start_export, path="/settings")

    async def exported() -> bool:
        async with db.service_session() as session:
            statuses = await session.exec(select(DataExport.status).where(DataExport.user_id == user_id))
            return statuses.all() == ["succeeded"]

    await _until("the export", exported)

    # Delete the account; the backend's worker purges it (no grace period); the operator's purge runs too.
    await tab.send(SettingsState.delete_account, {"form": {"delete_password": PASSWORD}}, path="/settings")
    await tab.close()

    async def purged() -> bool:
        async with db.service_session() as session:
            return await session.get(User, user_id) is None

    await _until("the purge", purged)
    await retention.run_all()

    text = await asyncio.to_thread(log_file.read_text, encoding="utf-8")
    for needle in (EMAIL, EMAIL.split("@")[0], NAME, NAME.split()[1], str(user_id), user_id.hex):
        lines = [line for line in text.splitlines() if needle.lower() in line.lower()]
        assert lines == [], f"{needle!r} is in the logs:\n" + "\n".join(lines[:5])
    # The file did record this person's story: their jobs ran, the purge said whose account it was.
    assert f"purged account {logs.pseudonym(user_id)}" in text
    assert "Starting job studio.generate[" in text
