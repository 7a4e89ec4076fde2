"""The studio through fal.ai's real SDK against its TLS imitation: queue, resume after a crash, cancel."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.config import get_settings
from assetry.jobs.worker import Worker
from assetry.models import Generation, GenerationOutput, Job
from assetry.models.base import utcnow
from assetry.sandbox.fal import DEFAULT_KEY, FalImitation
from assetry.services import accounts, studio
from tests.account_setup import SignUp, create_account
from tests.integration.servers import Served


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


async def test_fal_models_appear_priced_and_images_arrive(database: str, fal: FalImitation) -> None:
    quote = studio.check(get_settings(), image_request(count=2))
    assert quote.cost_usd == pytest.approx(0.006) and quote.choice.label.startswith("fal.ai")
    user_id = await new_user()
    started = await studio.start(user_id, image_request(count=2), client_request_id="1")
    worker = Worker()
    while await worker.run_once():
        pass
    done = await reload(started.id)
    assert (done.status, done.error) == ("succeeded", "")
    assert done.provider_request_id and fal.count("submit") == 1
    async with db.service_session() as session:
        files = (
            await session.exec(
                sa.select(GenerationOutput).where(GenerationOutput.generation_id == started.id)
            )
        ).all()
    assert [f[0].content_type for f in files] == ["image/png", "image/png"]


async def test_a_crash_after_submitting_resumes_polling_and_never_pays_twice(
    database: str, fal: FalImitation
) -> None:
    fal.polls_in_queue, fal.polls_in_progress = 3, 3
    user_id = await new_user()
    started = await studio.start(user_id, image_request(), client_request_id="crash")
    crashed = asyncio.create_task(Worker(worker_id="crashed").run())
    for _ in range(200):
        if (await reload(started.id)).provider_request_id:
            break
        await asyncio.sleep(0.02)
    crashed.cancel()  # the server dies mid-job: its lease is left behind
    await asyncio.gather(crashed, return_exceptions=True)
    async with db.service_session() as session:
        await session.exec(
            sa.update(Job)
            .where(Job.kind == studio.TASK)
            .values(status="running", lease_until=utcnow() - timedelta(seconds=1))
        )
    await Worker(worker_id="restarted").run_once()
    done = await reload(started.id)
    assert done.status == "succeeded"
    assert fal.count("submit") == 1


async def test_cancel_while_queued_at_the_provider_cancels_there_too(
    database: str, fal: FalImitation
) -> None:
    fal.faults.never_complete = True
    user_id = await new_user()
    started = await studio.start(user_id, image_request(), client_request_id="cancel")
    loop = asyncio.create_task(Worker(poll_seconds=0.05).run())
    for _ in range(200):
        if (await reload(started.id)).provider_request_id:
            break
        await asyncio.sleep(0.02)
    await studio.cancel(user_id, started.id)
    for _ in range(500):  # the status flips first, then the provider is told: wait for both
        if (await reload(started.id)).status == "cancelled" and fal.count("cancel"):
            break
        await asyncio.sleep(0.02)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    assert (await reload(started.id)).status == "cancelled"
    assert fal.count("cancel") == 1


async def test_a_job_that_fails_at_the_provider_says_so(database: str, fal: FalImitation) -> None:
    fal.faults.fail_jobs = True
    user_id = await new_user()
    started = await studio.start(user_id, image_request(), client_request_id="fail")
    worker = Worker()
    for _ in range(8):
        async with db.service_session() as session:
            await session.exec(sa.update(Job).values(run_after=utcnow()))
        if not await worker.run_once():
            break
    failed = await reload(started.id)
    assert failed.status == "failed" and failed.error
    assert fal.count("submit") == 1
