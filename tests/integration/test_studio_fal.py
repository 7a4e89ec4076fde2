"""The studio through fal.ai's real SDK against its TLS imitation: queue, resume after a kill, cancel."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.config import ROOT, get_settings
from assetry.jobs import engine
from assetry.models import Generation, GenerationOutput
from assetry.pages.studio import StudioState
from assetry.sandbox.fal import DEFAULT_KEY, FalImitation
from assetry.services import accounts, catalog, studio
from tests.account_setup import SignUp, create_account
from tests.browserless import Tab
from tests.integration.servers import Served
from tests.integration.test_studio import new_user as new_user_with_session
from tests.integration.test_watching import QueryCounter
from tests.jobs import engine_jobs, make_due, run_jobs


@pytest.fixture
def fal(served: Served, monkeypatch: pytest.MonkeyPatch) -> FalImitation:
    served.imitation.reset()
    monkeypatch.setenv("FAL_KEY", DEFAULT_KEY)
    monkeypatch.setenv("FAL_QUEUE_URL", served.url)
    monkeypatch.setenv("SSL_CERT_FILE", str(served.ca_file))
    monkeypatch.setattr(studio, "POLL_SECONDS", 0.05)
    get_settings.cache_clear()
    return served.imitation


async def new_user() -> object:
    form = SignUp(email="fal@example.com", password="Correct-Horse-42", age_confirmed=True,
                           accepted_policies=True)  # fmt: skip
    user, _ = await create_account(form, accounts.Client())
    return user.id


def image_request(**changes) -> studio.StudioRequest:
    fields = {
        "kind": "image",
        "prompt": "a neon cat",
        "model_key": "fal:fal-ai/flux/schnell",
        "aspect_ratio": "9:16",
    }
    return studio.StudioRequest(**(fields | changes))


async def reload(generation_id) -> Generation:
    async with db.service_session() as session:
        return await session.get(Generation, generation_id)


async def wait_for(condition, seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never became true")


async def test_fal_models_appear_priced_and_images_arrive(database: str, fal: FalImitation) -> None:
    quote = studio.check(get_settings(), image_request(count=2))
    assert quote.cost_usd == pytest.approx(0.006) and quote.choice.label.startswith("fal.ai")
    user_id = await new_user()
    started = await studio.start(user_id, image_request(count=2), client_request_id="1")
    await run_jobs()
    done = await reload(started.id)
    assert (done.status, done.error) == ("succeeded", "")
    assert done.provider_request_id and fal.count("submit") == 1
    # What the admin's spend adds up is the catalog's price, recorded with the generation.
    assert done.cost_usd == catalog.known("fal", "fal-ai/flux/schnell").cost(count=2) == quote.cost_usd
    async with db.service_session() as session:
        files = (
            await session.exec(
                sa.select(GenerationOutput).where(GenerationOutput.generation_id == started.id)
            )
        ).all()
    assert [f[0].content_type for f in files] == ["image/png", "image/png"]


async def test_a_worker_killed_after_submitting_is_resumed_and_never_pays_twice(
    database: str, fal: FalImitation
) -> None:
    fal.polls_in_queue, fal.polls_in_progress = 1000, 3
    user_id = await new_user()
    started = await studio.start(user_id, image_request(), client_request_id="crash")
    one_slot = os.environ | {"JOB_INTERACTIVE_SLOTS": "0"}  # only the generation runs when it is killed
    command = [sys.executable, "-m", "assetry", "worker", "--concurrency", "1"]
    # A real worker process, killed with SIGKILL mid-generation.
    worker = await asyncio.create_subprocess_exec(*command, cwd=ROOT, env=one_slot)
    try:
        await wait_for(lambda: _submitted(started.id), seconds=60)
    finally:
        worker.send_signal(signal.SIGKILL)
        await worker.wait()
    assert [job.status for job in await engine_jobs(studio.TASK)] == ["doing"]  # left behind by the kill
    fal.polls_in_queue = 0
    async with db.service_session() as session:  # the dead worker's last heartbeat is now old
        await session.exec(
            sa.text("UPDATE procrastinate_workers SET last_heartbeat = now() - interval '1 hour'")
        )
    app = engine.build_app()
    async with app.open_async():
        assert await engine.retry_stalled(app) == {"retried": 1, "failed": 0}
    await run_jobs()
    done = await reload(started.id)
    assert (done.status, done.error) == ("succeeded", "")
    assert fal.count("submit") == 1
    assert [(job.status, job.attempts) for job in await engine_jobs(studio.TASK)] == [("succeeded", 2)]


async def _submitted(generation_id) -> bool:
    return bool((await reload(generation_id)).provider_request_id)


async def test_cancel_while_queued_at_the_provider_cancels_there_too(
    database: str, fal: FalImitation
) -> None:
    fal.faults.never_complete = True
    fal.faults.slow_s, fal.faults.only = 1.0, "cancel"  # fal takes its time to confirm
    user_id = await new_user()
    started = await studio.start(user_id, image_request(), client_request_id="cancel")
    worker = asyncio.create_task(engine.run_worker())
    try:
        await wait_for(lambda: _submitted(started.id))
        cancelling = await studio.cancel(user_id, started.id)
        assert cancelling.status == "cancelling"  # the page says "Cancelling…" at once

        async def cancelled() -> bool:
            return (await reload(started.id)).status == "cancelled"

        await wait_for(cancelled)
        # "Cancelled" is said once fal has confirmed, not before.
        assert fal.count("cancel") == 1 and [job.cancelled for job in fal.jobs.values()] == [True]
    finally:
        worker.cancel()
        await asyncio.gather(worker, return_exceptions=True)
    assert [job.status for job in await engine_jobs(studio.TASK)] == ["aborted"]


async def test_a_watching_tab_moves_its_row_through_the_providers_queue_from_the_notes_alone(
    database: str, fal: FalImitation
) -> None:
    """Queued → in the provider's queue → running: each change reaches the open studio tab in its
    note, which the watcher shows without reading the page (only the session is checked); the end
    is read, with its outputs, and toasted."""
    fal.polls_in_queue = fal.polls_in_progress = 10_000  # each step waits for the test
    user_id, token = await new_user_with_session("ana@example.com")
    started = await studio.start(user_id, image_request(), client_request_id="watched")
    async with Tab(cookie=token, path="/studio") as tab:
        await tab.open()
        await tab.call(StudioState.load)
        watcher = tab.start(StudioState.watch)
        worker = asyncio.create_task(engine.run_worker())

        def shows(progress: str):
            async def check() -> bool:
                [row] = (await tab.state(StudioState)).active
                return row.progress.startswith(progress)

            return check

        try:
            # The watcher's first turn reads the page; every change after it comes in a note.
            await wait_for(shows("In the provider's queue (position "))
            with QueryCounter(users_only=True) as page_reads:
                fal.polls_in_queue = 0  # the next poll finds it in progress
                await wait_for(shows("Running ·"))
            assert page_reads.count == 0, f"the page was read {page_reads.count} times on the way"
        finally:
            fal.polls_in_queue = fal.polls_in_progress = 0  # the next poll finds it done
            told = await asyncio.wait_for(watcher, 20)
            worker.cancel()
            await asyncio.gather(worker, return_exceptions=True)
        page = await tab.state(StudioState)
        await tab.close()
    assert page.active == [] and [(r.id, r.status) for r in page.recent] == [(str(started.id), "succeeded")]
    assert page.recent[0].cover_url
    assert "Your image is ready." in str([event.payload for event in told.to_browser])


async def test_a_job_that_fails_at_the_provider_says_so(database: str, fal: FalImitation) -> None:
    fal.faults.fail_jobs = True
    user_id = await new_user()
    started = await studio.start(user_id, image_request(), client_request_id="fail")
    for _ in range(8):
        await run_jobs()
        if not [job for job in await engine_jobs(studio.TASK) if job.status == "todo"]:
            break
        await make_due()
    failed = await reload(started.id)
    assert failed.status == "failed" and failed.error
    assert fal.count("submit") == 1
