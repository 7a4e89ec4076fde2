"""A database restart while a job runs, for real: the embedded Postgres is stopped and started.

The job worker (procrastinate's, supervised by `jobs.engine.run_worker`) loses its connections
and stops; it starts again once the database answers, and the job that was running runs again
and ends. The change listener reconnects and wakes the pages that watch, and work queued after
the restart runs too.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable

import pytest
from alembic.config import Config

from alembic import command
from assetry import db
from assetry.config import ROOT, get_settings
from assetry.jobs import engine
from assetry.local_postgres import LocalPostgres
from assetry.sandbox.anthropic import SANDBOX_KEY, create_app
from assetry.services import changes, studio
from tests.asgi_server import serve
from tests.integration.test_local_postgres import embedded, folder  # noqa: F401  (fixtures)
from tests.integration.test_studio import new_user
from tests.jobs import engine_jobs

ENDS_WITHIN = 60.0  # a stop and a start of Postgres on a busy 2-core machine, and the reruns


class HeldProvider:
    """The Anthropic imitation, holding each answer until `release` is set; counts calls and answers."""

    def __init__(self) -> None:
        self.app = create_app()
        self.release = threading.Event()
        self.calls = self.answered = 0

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["path"].endswith("/v1/messages"):
            self.calls += 1
            await asyncio.to_thread(self.release.wait)
            await self.app(scope, receive, send)
            self.answered += 1
            return
        await self.app(scope, receive, send)


async def until(check: Callable[[], bool | Awaitable[bool]], what: str) -> None:
    """Wait until `check()` (plain or awaitable) holds."""
    deadline = asyncio.get_running_loop().time() + ENDS_WITHIN
    while not await _value(check()):
        assert asyncio.get_running_loop().time() < deadline, f"waited {ENDS_WITHIN:.0f} s for {what}"
        await asyncio.sleep(0.1)


def captions(prompt: str) -> studio.StudioRequest:
    model = f"anthropic:{get_settings().anthropic_caption_model}"
    return studio.StudioRequest(kind="caption", prompt=prompt, model_key=model, count=3)


async def test_a_job_whose_database_restarted_runs_again_and_pages_are_woken(
    embedded: LocalPostgres,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    provider = HeldProvider()
    with embedded.owned(exclusive=True), serve(provider) as base:
        command.upgrade(Config(str(ROOT / "alembic.ini")), "head")
        monkeypatch.setenv("ANTHROPIC_API_KEY", SANDBOX_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base)
        get_settings.cache_clear()
        user_id, _ = await new_user("ana@example.com")
        worker = asyncio.create_task(engine.run_worker())
        listener = changes.listener()
        try:
            async with listener.subscribe(user_id) as page:
                await asyncio.wait_for(listener.connected.wait(), ENDS_WITHIN)
                first = await studio.start(user_id, captions("a barista at dawn"), client_request_id="one")
                await until(lambda: provider.calls == 1, "the job to call the provider")
                assert (await studio.get(user_id, first.id)).status == "running"

                # The database goes away while the provider works; its answer comes meanwhile, so
                # the job cannot save it (a lost connection: transient, the job runs again).
                await asyncio.to_thread(embedded.stop)
                provider.release.set()
                await until(lambda: provider.answered == 1, "the provider's answer")
                await asyncio.sleep(0.5)  # the job tries to save, the worker's connections fail
                await asyncio.to_thread(embedded.start)

                await until(lambda: listener.reconnects >= 1, "the listener to reconnect")
                assert await page.wait(ENDS_WITHIN), "the page was not woken after the reconnect"
                await until(lambda: ended(user_id, first.id), "the first generation to end")
                assert provider.calls == 2  # asked again on the rerun: its answer was never saved
                assert len(await studio.outputs_of(user_id, [first.id])) == 3

                second = await studio.start(user_id, captions("a baker at noon"), client_request_id="two")
                await until(lambda: ended(user_id, second.id), "work queued after the restart")
            # The generation's row ends before the worker marks its job done (its next statement).
            await until(jobs_done, "the worker to mark both jobs done")
            jobs = await engine_jobs(studio.TASK)
            assert [job.status for job in jobs] == ["succeeded", "succeeded"]
            assert jobs[0].attempts == 2  # the first ran again once
        finally:
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
            await db.dispose_engines()


async def _value(found: bool | Awaitable[bool]) -> bool:
    return await found if isinstance(found, Awaitable) else found


async def jobs_done() -> bool:
    return all(job.status != "doing" for job in await engine_jobs(studio.TASK))


async def ended(user_id: uuid.UUID, generation_id: uuid.UUID) -> bool:
    return (await studio.get(user_id, generation_id)).status == "succeeded"
