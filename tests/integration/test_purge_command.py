"""`python -m assetry purge`, run as an operator would: a separate process on the same database."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from assetry import db
from assetry.jobs import engine
from assetry.models import OutboxMessage, UsageEvent, User
from assetry.models.base import utcnow
from assetry.services import accounts, privacy, retention, sign_up, usage
from tests.account_setup import SignUp, create_account, run_sign_up_jobs
from tests.commands import counts_printed
from tests.jobs import engine_jobs, queued_job

PASSWORD = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")


def purge_command() -> dict[str, int]:
    return counts_printed("purge")


async def test_purge_removes_what_is_due_then_finds_nothing_the_second_time(database: str) -> None:
    old = utcnow() - timedelta(days=91)
    maya, _ = await create_account(
        SignUp(email="maya@example.com", password=PASSWORD, age_confirmed=True, accepted_policies=True),
        HERE,
    )
    theo, _ = await create_account(
        SignUp(email="theo@example.com", password=PASSWORD, age_confirmed=True, accepted_policies=True),
        HERE,
    )
    await privacy.request_deletion(maya.id, PASSWORD)
    await usage.record(usage.PAGE_VIEW, "/long-ago", user_id=theo.id, now=old)
    # Someone signed up 8 days ago and never opened the link; a job ended 91 days ago.
    await sign_up.sign_up(
        SignUp(email="never@example.com", password=PASSWORD, age_confirmed=True, accepted_policies=True), HERE
    )
    await run_sign_up_jobs()
    ended = await queued_job(privacy.EXPORT_KIND, {"export_id": "old"}, status="succeeded")
    async with db.service_session() as session:
        # Maya's grace period is over; theo has an email from long ago.
        await session.exec(sa.update(User).where(User.id == maya.id).values(deletion_due_at=utcnow()))
        await session.exec(
            sa.update(OutboxMessage)
            .where(OutboxMessage.to_address == "theo@example.com", OutboxMessage.template == "welcome")
            .values(created_at=old)
        )
        await session.exec(
            sa.update(User)
            .where(User.email == "never@example.com")
            .values(email_token_expires_at=utcnow() - timedelta(days=8) + sign_up.LINK_TTL)
        )
        await session.exec(
            sa.text("UPDATE procrastinate_events SET at = :old WHERE job_id = :id"),
            params={"old": old, "id": ended},
        )

    first = purge_command()
    assert first["accounts past their grace period"] == 1
    assert first["usage events"] == 1
    assert first["emails"] == 1
    assert first["sign-ups never confirmed"] == 1
    assert first["finished jobs"] == 1
    assert set(first) >= {
        "finished jobs",
        "expired export archives",
        "audit entries cleared",
        "log-in attempts",
    }
    async with db.service_session() as session:
        assert await session.get(User, maya.id) is None
        assert await session.get(User, theo.id) is not None
        assert (
            await session.exec(sa.select(User.email).where(User.email == "never@example.com"))
        ).all() == []
        assert (await session.scalars(sa.select(UsageEvent.name))).all() == []
    assert ended not in {job.id for job in await engine_jobs()}

    second = purge_command()
    assert second == dict.fromkeys(first, 0)


# Periodic tasks that are not purges: they queue syncs, refresh tracked posts, send policy
# notices, rerun stalled jobs. Any other periodic task must be a purge the command runs.
NOT_PURGES = {
    "analytics.schedule_syncs",
    "tracking.refresh_due",
    "policy.notify",
    "plan.remind",
    engine.RETRY_STALLED,
}


def test_the_command_runs_every_purge_the_workers_schedule(database: str) -> None:
    app = engine.build_app()
    scheduled = {task.task.name: task.cron for task in app.periodic_registry.periodic_tasks.values()}
    purges = {purge.task: purge.cron for purge in retention.PURGES}
    assert {name: cron for name, cron in scheduled.items() if name not in NOT_PURGES} == purges
    assert {"retention.accounts", "retention.logs", "retention.jobs", sign_up.PURGE_UNCONFIRMED} <= set(
        purges
    )
