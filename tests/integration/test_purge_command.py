"""`python -m assetry purge`, run as an operator would: a separate process on the same database."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import sqlalchemy as sa

from assetry import db
from assetry.config import ROOT
from assetry.models import OutboxMessage, UsageEvent, User
from assetry.models.base import utcnow
from assetry.services import accounts, privacy, usage
from tests.account_setup import SignUp, create_account

PASSWORD = "Correct-Horse-42"
HERE = accounts.Client(ip="203.0.113.7", user_agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0")


def purge_command() -> dict[str, int]:
    """Run the command in its own process; the counts it printed, by kind."""
    done = subprocess.run(
        [sys.executable, "-m", "assetry", "purge"],
        cwd=ROOT,
        env=os.environ.copy(),  # the `database` fixture points DATA_DIR and DATABASE_URL at the test database
        capture_output=True,
        text=True,
        # The command loads the whole app first: seconds of CPU, minutes on a machine shared with other runs.
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    counts = {}
    for line in done.stdout.splitlines():
        kind, _, number = line.rpartition("  ")
        counts[kind.strip()] = int(number)
    return counts


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
    async with db.service_session() as session:
        # Maya's grace period is over; theo has an email from long ago.
        await session.exec(sa.update(User).where(User.id == maya.id).values(deletion_due_at=utcnow()))
        await session.exec(
            sa.update(OutboxMessage)
            .where(OutboxMessage.to_address == "theo@example.com", OutboxMessage.template == "welcome")
            .values(created_at=old)
        )

    first = purge_command()
    assert first["accounts past their grace period"] == 1
    assert first["usage events"] == 1
    assert first["emails"] == 1
    assert set(first) >= {
        "finished jobs",
        "expired export archives",
        "audit entries cleared",
        "log-in attempts",
    }
    async with db.service_session() as session:
        assert await session.get(User, maya.id) is None
        assert await session.get(User, theo.id) is not None
        assert (await session.scalars(sa.select(UsageEvent.name))).all() == []

    second = purge_command()
    assert second == dict.fromkeys(first, 0)
