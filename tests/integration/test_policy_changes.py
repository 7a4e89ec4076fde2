"""A changed policy: the banner until accepted, and one email per person per material change."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import select

from assetry import db
from assetry.jobs import queue
from assetry.models import OutboxMessage, PolicyAcceptance, User
from assetry.services import accounts, app_shell, policies, policy_changes
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, run_jobs

HERE = accounts.Client(ip="203.0.113.7", user_agent="pytest")


class PolicyFiles:
    """Copies of the policy sources the test may edit (the app reads them instead of the real ones)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def publish(self, kind: str, *, effective: str, extra: str = "") -> None:
        path = self.folder / f"{kind}.md"
        lines = path.read_text(encoding="utf-8").splitlines()
        lines = [f"effective: {effective}" if line.startswith("effective:") else line for line in lines]
        path.write_text("\n".join(lines) + extra + "\n", encoding="utf-8")
        policies.document.cache_clear()


@pytest.fixture
def policy_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[PolicyFiles]:
    folder = tmp_path / "policies"
    shutil.copytree(policies.POLICY_DIR, folder)
    monkeypatch.setattr(policies, "POLICY_DIR", folder)
    policies.document.cache_clear()
    yield PolicyFiles(folder)
    policies.document.cache_clear()


async def sign_up(email: str, name: str = "") -> User:
    user, _ = await create_account(
        SignUp(
            email=email,
            password="Correct-Horse-42",
            display_name=name,
            age_confirmed=True,
            accepted_policies=True,
        ),
        HERE,
    )
    return user


async def banner_for(user: User) -> policy_changes.PolicyBanner | None:
    """The policy banner the app shell shows this user."""
    async with app_shell.page_load(user) as banners:
        return banners.policies


async def policy_emails() -> list[OutboxMessage]:
    async with db.service_session() as session:
        return list(
            (
                await session.exec(select(OutboxMessage).where(OutboxMessage.template == "policy_changed"))
            ).all()
        )


async def test_banner_until_accepted(database: str, policy_files: PolicyFiles) -> None:
    user = await sign_up("maya@example.com")
    assert await banner_for(user) is None

    policy_files.publish("privacy", effective="2026-09-01", extra="\nWe now also keep X.")
    banner = await banner_for(user)
    assert [c.kind for c in banner.changes] == ["privacy"]
    assert banner.text == "We updated our privacy policy. The new version takes effect on September 1, 2026."
    assert banner.changes[0].route == "/privacy"

    assert await policy_changes.accept_current(user.id) == ["privacy"]
    assert await banner_for(user) is None
    assert await policy_changes.accept_current(user.id) == []  # a second click records nothing
    async with db.service_session() as session:
        count = await session.scalar(
            select(sa.func.count()).select_from(PolicyAcceptance).where(PolicyAcceptance.user_id == user.id)
        )
    assert count == 3  # privacy and terms at sign-up, the new privacy text now


async def test_both_policies_changed(database: str, policy_files: PolicyFiles) -> None:
    user = await sign_up("maya@example.com")
    policy_files.publish("privacy", effective="2026-09-01")
    policy_files.publish("terms", effective="2026-10-15")
    banner = await banner_for(user)
    assert banner.text == (
        "We updated our privacy policy and terms of use. The new versions take effect on October 15, 2026."
    )


async def test_notify_emails_each_person_once_per_material_version(
    database: str, policy_files: PolicyFiles
) -> None:
    maya = await sign_up("maya@example.com", "Maya")
    ana = await sign_up("ana@example.com", "Ana")
    gone = await sign_up("gone@example.com")
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == gone.id).values(is_disabled=True))
    assert await policy_changes.notify_changes() == 0  # nothing changed yet

    policy_files.publish("privacy", effective="2026-09-01", extra="\nNew processor: SMTP.")
    await policy_changes.accept_current(ana.id)  # saw the banner before the job ran
    newcomer = await sign_up("new@example.com")  # accepted the new text at sign-up
    assert newcomer.id

    assert await policy_changes.notify_changes(page_size=1) == 1  # paging through users one by one
    [email] = await policy_emails()
    assert (email.to_address, email.user_id, email.status) == ("maya@example.com", maya.id, "kept")
    assert email.subject == "We updated our privacy policy"
    assert "Hi Maya," in email.body_text
    assert "Privacy policy, effective September 1, 2026" in email.body_text
    assert "http://localhost:3000/privacy" in email.body_text

    assert await policy_changes.notify_changes() == 0  # once only
    assert len(await policy_emails()) == 1

    # A correction that keeps the effective date: the banner asks again, nobody is emailed.
    policy_files.publish("privacy", effective="2026-09-01", extra="\nNew processor: SMTP (typo fixed).")
    assert await policy_changes.notify_changes() == 0
    assert await banner_for(ana) is not None

    # The next material change: one more email each, both policies in one message for Maya.
    policy_files.publish("privacy", effective="2027-01-01")
    policy_files.publish("terms", effective="2027-01-01")
    assert await policy_changes.notify_changes() == 3
    emails = await policy_emails()
    latest = [e for e in emails if e.subject == "We updated our privacy policy and terms of use"]
    assert sorted(e.to_address for e in latest) == ["ana@example.com", "maya@example.com", "new@example.com"]
    assert await policy_changes.notify_changes() == 0


async def test_notify_runs_as_a_job(database: str, policy_files: PolicyFiles) -> None:
    await sign_up("maya@example.com")
    policy_files.publish("terms", effective="2026-12-01")
    for _ in (1, 2):
        async with db.service_session() as session:
            await queue.enqueue(session, policy_changes.NOTIFY, {})
        await run_jobs()
    assert [job.status for job in await engine_jobs(policy_changes.NOTIFY)] == ["succeeded", "succeeded"]
    assert [e.to_address for e in await policy_emails()] == ["maya@example.com"]
