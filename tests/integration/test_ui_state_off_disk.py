"""The UI state of a tab (emails, notes, prompts) is never written to disk, and goes with the session.

One backend worker keeps it in memory; with REDIS_URL it lives in Redis (a database of the test's own),
every key expiring. A log-out or an account deletion empties the tab's state at once (in Redis
when the backend's lease on the tab ends), even when the tab never comes back. The backend runs for real (`tests.raw_socket`).
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from reflex_base.config import get_config, reload_config

import assetry.assetry
from assetry.config import ROOT, get_settings
from assetry.pages.settings import SettingsState
from assetry.state.session import SessionState
from tests.raw_socket import Creator, creator, filled_by_a, filled_tab, leaked, record_policies, serve_backend
from tests.redis_lease import own_redis_database

SKIPPED = {".git", ".venv", "tools", "node_modules", "__pycache__", ".ruff_cache", ".pytest_cache"}


def files_written_since(started: float, *folders: Path) -> Iterator[Path]:
    for folder in folders:
        for directory, names, files in os.walk(folder):
            names[:] = [name for name in names if name not in SKIPPED]
            for name in files:
                path = Path(directory, name)
                # The SQLite database is where the data lives (SQLite is being retired); not UI state.
                if (
                    path.is_file()
                    and path.stat().st_mtime >= started
                    and not path.name.startswith("assetry.db")
                ):
                    yield path


def files_holding(traces: list[str], started: float, *folders: Path) -> list[str]:
    return [
        f"{path}: {trace}"
        for path in files_written_since(started, *folders)
        for trace in traces
        if trace.encode() in path.read_bytes()
    ]


async def memory_state_of(tab_token: str) -> str:
    """Everything the in-memory state manager holds for a tab, as text."""
    manager = assetry.assetry.app.state_manager
    return "\n".join(repr(state.dict()) for key, state in manager.states.items() if key.startswith(tab_token))


async def test_one_worker_keeps_ui_state_in_memory_only(
    database: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    assert get_config().state_manager_mode == "memory"
    started = time.time() - 1
    await record_policies()
    async with serve_backend(monkeypatch, str(tmp_path)) as url:
        tab, a = await filled_by_a(url)
        await tab.close()  # no log-out: the tab is simply left
        assert a.note in await memory_state_of(tab.token)  # it is held, in memory
    # The backend has stopped (a disk-backed manager writes everything out then): no file has it.
    assert files_holding(a.traces, started, ROOT, Path(get_settings().data_dir), tmp_path) == []


async def test_log_out_empties_the_tab_at_once(backend: str) -> None:
    tab, a = await filled_by_a(backend)
    await tab.send(SessionState.log_out, path="/settings")
    await tab.close()  # the tab never comes back
    assert leaked([await memory_state_of(tab.token)], a) == []


async def test_deleting_the_account_empties_every_tab_of_it_at_once(backend: str) -> None:
    tab, a = await filled_by_a(backend)
    other_tab = await filled_tab(backend, a)  # another browser of A's, left open
    b = await creator("Basil", "Basalt-Orchard-93")
    b_tab = await filled_tab(backend, b)

    frames = await tab.send(SettingsState.delete_account, {"form": {"delete_password": "Amber-Lantern-71"}})
    for each in (tab, other_tab, b_tab):
        await each.close()
    assert '"path":"/account-deleted"' in "".join(frames)  # deleted: this tab goes to the confirmation
    assert leaked([await memory_state_of(tab.token)], a) == []
    assert leaked([await memory_state_of(other_tab.token)], a) == []  # without it sending anything
    assert b.note in await memory_state_of(b_tab.token)  # nobody else's tab is touched


@pytest.fixture
def redis_url() -> Iterator[str]:
    with own_redis_database() as url:
        yield url


@pytest.fixture
async def redis_backend(
    database: str, redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[str]:
    """The backend as configured with REDIS_URL (a Redis database of the test's own, empty)."""
    await record_policies()
    monkeypatch.setenv("REDIS_URL", redis_url)
    get_settings.cache_clear()
    reload_config()
    try:
        async with serve_backend(monkeypatch, str(tmp_path)) as url:
            yield url
    finally:
        monkeypatch.delenv("REDIS_URL")
        get_settings.cache_clear()
        reload_config()


async def _redis_values(redis_url: str, tab_token: str) -> dict[str, tuple[bytes, int]]:
    """The tab's keys in Redis once no backend holds the tab: a backend leasing it (rxconfig.py)
    writes its state back when the lease ends, within the lock's 10 s."""
    client = aioredis.from_url(redis_url)
    try:
        deadline = time.monotonic() + 20
        while await client.exists(f"{tab_token}_lock"):
            assert time.monotonic() < deadline, "the tab's lock was never released"
            await asyncio.sleep(0.1)
        keys = [key async for key in client.scan_iter(f"{tab_token}*")]
        return {key.decode(): (await client.get(key) or b"", await client.ttl(key)) for key in keys}
    finally:
        await client.aclose()


def _redis_leaks(values: dict[str, tuple[bytes, int]], a: Creator) -> list[str]:
    return [
        f"{key}: {trace}"
        for key, (value, _) in values.items()
        for trace in a.traces
        if trace.encode() in value
    ]


async def test_with_redis_ui_state_expires_and_log_out_empties_it(redis_backend: str, redis_url: str) -> None:
    assert get_config().state_manager_mode == "redis"
    tab, a = await filled_by_a(redis_backend)
    held = await _redis_values(redis_url, tab.token)
    assert _redis_leaks(held, a)  # it is held, in Redis
    assert all(0 < ttl <= 3600 for _, ttl in held.values()), held  # and every key expires

    await tab.send(SessionState.log_out, path="/settings")
    await tab.close()
    assert _redis_leaks(await _redis_values(redis_url, tab.token), a) == []


async def test_with_redis_deleting_the_account_empties_every_tab_of_it(
    redis_backend: str, redis_url: str
) -> None:
    b = await creator("Basil", "Basalt-Orchard-93")
    b_tab = await filled_tab(redis_backend, b)
    tab, a = await filled_by_a(redis_backend)
    # Filled just now: its state may be only in the backend's memory yet, under its lease.
    other_tab = await filled_tab(redis_backend, a)

    await tab.send(SettingsState.delete_account, {"form": {"delete_password": "Amber-Lantern-71"}})
    for each in (tab, other_tab, b_tab):
        await each.close()
    assert _redis_leaks(await _redis_values(redis_url, tab.token), a) == []
    assert _redis_leaks(await _redis_values(redis_url, other_tab.token), a) == []
    assert _redis_leaks(await _redis_values(redis_url, b_tab.token), b)  # B's tab still holds B's
