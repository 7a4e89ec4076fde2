"""Every event handler of every admin page, called by a signed-out browser and by a non-admin.

Any browser can send any event over the websocket whatever the page shows, so each admin
handler must check the role on the server. The handlers are found by walking the state
classes defined under `assetry.pages.admin`, so a new handler is covered without editing
this file. Each is called with a payload aimed at real rows (a failed job, a waitlist
entry, a support message, another user): a signed-out browser is sent to the log-in page
and nothing changes; a signed-in non-admin is sent home and the only change is the audit
entry recording the refusal.
"""

from __future__ import annotations

import base64
import importlib
import inspect
import pkgutil
import typing
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
import reflex as rx
import sqlalchemy as sa

import assetry.assetry  # (the app: deleting a user empties their open tabs through its state manager)
import assetry.pages.admin
from assetry import db
from assetry.models import AuditEntry, SupportMessage, User, WaitlistEntry, metadata
from assetry.models.base import utcnow
from assetry.services import accounts
from assetry.services.studio import TASK as GENERATE
from assetry.state.session import HOME_ROUTE, LOGIN_ROUTE
from tests.admin_people import PASSWORD, make_user, session_token
from tests.browserless import Tab
from tests.jobs import engine_jobs, queued_job

SETVAR = "setvar"


def admin_states() -> list[type[rx.State]]:
    """Every state class defined in a module of the admin pages package."""
    for module in pkgutil.iter_modules(assetry.pages.admin.__path__):
        importlib.import_module(f"assetry.pages.admin.{module.name}")
    found, pending = set(), list(rx.State.__subclasses__())
    while pending:
        cls = pending.pop()
        pending += cls.__subclasses__()
        if cls.__module__.startswith("assetry.pages.admin.") and not cls._mixin:
            found.add(cls)
    return sorted(found, key=lambda cls: cls.__name__)


def admin_handlers() -> dict[str, rx.EventHandler]:
    return {
        f"{cls.__name__}.{name}": handler
        for cls in admin_states()
        for name, handler in cls.event_handlers.items()
        if name != SETVAR
    }


HANDLERS = sorted(admin_handlers())


@dataclass
class Scene:
    admin: User
    member: User
    target: User
    member_token: str
    admin_token: str
    failed_job: int
    queued_job: int
    entry: WaitlistEntry
    message: SupportMessage


@pytest.fixture
async def scene(database: str) -> Scene:
    admin = await make_user("root@assetry.test", admin=True)
    member = await make_user("maya@example.com")
    target = await make_user("theo@example.com")
    async with db.service_session() as session:
        entry = WaitlistEntry(email="fan@example.com")
        message = SupportMessage(email="theo@example.com", subject="Help", body="Please", user_id=target.id)
        session.add_all([entry, message])
    failed = await queued_job(GENERATE, {"generation_id": str(uuid.uuid4())}, status="failed")
    queued = await queued_job(GENERATE, {"generation_id": str(uuid.uuid4())})
    return Scene(
        admin, member, target, await session_token(member.id), await session_token(admin.id),
        failed, queued, entry, message,
    )  # fmt: skip


def payload(handler: rx.EventHandler, scene: Scene) -> dict:
    """Arguments aimed at real rows, so a missing check would change something."""
    ids = {
        "job_id": str(scene.failed_job),
        "entry_id": str(scene.entry.id),
        "message_id": str(scene.message.id),
    }
    form = {
        "query": "theo",
        "quota": "0",
        "reply": "Here is your answer.",
        "action": "admin",
        "actor": "root",
        "target": str(scene.target.id),
        "to": "theo",
    }
    hints = typing.get_type_hints(handler.fn)
    values = {}
    for name in list(inspect.signature(handler.fn).parameters)[1:]:
        hint = hints.get(name, str)
        if hint is dict:
            values[name] = form
        elif hint is bool:
            values[name] = name == "disabled" or True
        elif name in ids:
            values[name] = ids[name]
        elif name == "status":
            values[name] = "done"
        else:
            values[name] = "7"
    return values


async def snapshot() -> dict[str, set]:
    async with db.service_session() as session:
        return {
            table.name: {repr(tuple(row)) for row in (await session.exec(sa.select(table))).all()}
            for table in metadata.sorted_tables
        }


def changes(before: dict[str, set], after: dict[str, set]) -> dict[str, int]:
    return {name: len(after[name] ^ before[name]) for name in before if after[name] != before[name]}


def test_every_admin_page_has_guarded_handlers() -> None:
    expected = {
        "AdminOverviewState.load",
        "AdminUsersState.search",
        "AdminUserState.set_disabled",
        "AdminUserState.set_admin",
        "AdminUserState.save_quota",
        "AdminJobsState.retry",
        "AdminJobsState.cancel",
        "AdminWaitlistState.export",
        "AdminWaitlistState.invite",
        "AdminInboxState.reply",
        "AdminInboxState.mark",
        "AdminOutboxState.read",
        "AdminAuditState.search",
    }
    assert expected <= set(HANDLERS)
    assert len(HANDLERS) >= 40


@pytest.mark.parametrize("name", HANDLERS)
async def test_a_signed_out_browser_is_sent_to_log_in_and_nothing_changes(scene: Scene, name: str) -> None:
    handler = admin_handlers()[name]
    before = await snapshot()
    async with Tab(cookie="", path=f"/admin/users/{scene.target.id}") as tab:
        outcome = await tab.call(handler, **payload(handler, scene))
    assert outcome.redirects == [LOGIN_ROUTE]
    assert outcome.to_browser == [event for event in outcome.to_browser if event.name == "_redirect"]
    assert changes(before, await snapshot()) == {}


@pytest.mark.parametrize("name", HANDLERS)
async def test_a_member_is_sent_home_and_only_the_refusal_is_recorded(scene: Scene, name: str) -> None:
    handler = admin_handlers()[name]
    before = await snapshot()
    async with Tab(cookie=scene.member_token, path=f"/admin/users/{scene.target.id}") as tab:
        outcome = await tab.call(handler, **payload(handler, scene))
    assert outcome.redirects == [HOME_ROUTE]
    assert outcome.to_browser == [event for event in outcome.to_browser if event.name == "_redirect"]
    assert changes(before, await snapshot()) == {"audit_log": 1}
    async with db.service_session() as session:
        refusal = (await session.exec(sa.select(AuditEntry))).scalars().one()
    assert (refusal.actor_id, refusal.action, refusal.target) == (scene.member.id, "admin.refused", name)


async def test_an_admin_who_lost_the_role_is_refused_at_once(scene: Scene) -> None:
    from assetry.pages.admin.jobs import AdminJobsState

    async with db.service_session() as session:
        (await session.get(User, scene.admin.id)).is_admin = False
    async with Tab(cookie=scene.admin_token) as tab:
        outcome = await tab.call(AdminJobsState.retry, job_id=str(scene.failed_job))
    assert outcome.redirects == [HOME_ROUTE]
    assert [job.status for job in await engine_jobs() if job.id == scene.failed_job] == ["failed"]


# ----- the same handlers for an admin: they do what the page says -------------------------------


async def test_an_admin_disables_a_user_who_then_cannot_log_in(scene: Scene) -> None:
    from assetry.pages.admin.user import AdminUserState

    theirs = await session_token(scene.target.id)
    async with Tab(cookie=scene.admin_token, path=f"/admin/users/{scene.target.id}") as tab:
        await tab.call(AdminUserState.load)
        page = await tab.state(AdminUserState)
        assert (page.email, page.is_disabled, page.found) == ("theo@example.com", False, True)
        assert "Support messages" in {fact.label for fact in page.counts}
        outcome = await tab.call(AdminUserState.set_disabled, disabled=True)
        page = await tab.state(AdminUserState)
    assert outcome.redirects == []
    assert (page.is_disabled, page.error) == (True, "")
    assert page.notice.startswith("Account disabled")
    assert await accounts.user_for_token(theirs) is None
    with pytest.raises(accounts.NotAllowed, match="disabled"):
        await accounts.log_in("theo@example.com", PASSWORD, accounts.Client())


async def test_the_last_admin_cannot_remove_their_own_role_from_the_page(scene: Scene) -> None:
    from assetry.pages.admin.user import AdminUserState

    async with Tab(cookie=scene.admin_token, path=f"/admin/users/{scene.admin.id}") as tab:
        await tab.call(AdminUserState.load)
        await tab.call(AdminUserState.set_admin, admin_role=False)
        page = await tab.state(AdminUserState)
    assert "last admin" in page.error and page.is_admin
    async with db.service_session() as session:
        assert (await session.get(User, scene.admin.id)).is_admin


async def test_an_admin_retries_a_failed_job_and_sees_bad_input_explained(scene: Scene) -> None:
    from assetry.pages.admin.jobs import AdminJobsState

    async with Tab(cookie=scene.admin_token) as tab:
        await tab.call(AdminJobsState.load)
        page = await tab.state(AdminJobsState)
        assert {(row.status, row.can_retry, row.can_cancel) for row in page.rows} == {
            ("failed", True, False),
            ("todo", False, True),
        }
        await tab.call(AdminJobsState.retry, job_id=str(scene.failed_job))
        page = await tab.state(AdminJobsState)
        assert (page.notice, page.error) == ("Job queued again.", "")
        await tab.call(AdminJobsState.retry, job_id="not-an-id")
        assert (await tab.state(AdminJobsState)).error == "That job doesn't exist."
    assert [job.status for job in await engine_jobs() if job.id == scene.failed_job] == ["todo"]


async def test_an_admin_exports_the_waitlist_as_a_download(scene: Scene) -> None:
    from assetry.pages.admin.waitlist import AdminWaitlistState

    async with Tab(cookie=scene.admin_token) as tab:
        await tab.call(AdminWaitlistState.load)
        assert [row.email for row in (await tab.state(AdminWaitlistState)).rows] == ["fan@example.com"]
        outcome = await tab.call(AdminWaitlistState.export)
    downloads = [event for event in outcome.to_browser if event.name == "_download"]
    assert len(downloads) == 1
    url = downloads[0].payload["url"]
    assert url.startswith("data:text/plain;base64,")
    rows = base64.b64decode(url.split(",", 1)[1]).decode().splitlines()
    assert rows[0] == "email,joined_at,invited_at" and rows[1].startswith("fan@example.com,")


async def test_an_admin_page_shows_overview_figures(scene: Scene) -> None:
    from assetry.pages.admin.overview import AdminOverviewState

    async with Tab(cookie=scene.admin_token) as tab:
        await tab.call(AdminOverviewState.load)
        await tab.call(AdminOverviewState.set_period, value="7")
        page = await tab.state(AdminOverviewState)
    figures = {figure.label: figure.value for figure in page.figures}
    assert (figures["Users"], figures["Waitlist"], page.period) == ("3", "1", "7")
    assert len(page.signups_chart.data[0].x) == 7


async def test_an_admin_deletes_a_user_through_the_self_deletion_path(scene: Scene) -> None:
    from assetry.pages.admin.user import AdminUserState

    theirs = await session_token(scene.target.id)
    async with Tab(cookie=scene.admin_token, path=f"/admin/users/{scene.target.id}") as tab:
        await tab.call(AdminUserState.load)
        await tab.call(AdminUserState.delete_account, form={"admin_password": "not-my-password"})
        refused = await tab.state(AdminUserState)
        assert refused.error and not refused.is_disabled
        assert await accounts.user_for_token(theirs) is not None
        await tab.call(AdminUserState.delete_account, form={"admin_password": PASSWORD})
        page = await tab.state(AdminUserState)
    assert page.error == "" and page.notice.startswith("Account closed")
    assert await accounts.user_for_token(theirs) is None
    with pytest.raises(accounts.NotAllowed):
        await accounts.log_in("theo@example.com", PASSWORD, accounts.Client())
    async with db.service_session() as session:
        target = await session.get(User, scene.target.id)
    assert target.deleted_at is not None


async def test_an_admin_pages_through_users_with_next_and_previous(scene: Scene) -> None:
    from assetry.pages.admin.users import AdminUsersState

    async def shown(tab: Tab, handler, **payload) -> tuple[str, bool, bool, list[str]]:
        await tab.call(handler, **payload)
        page = await tab.state(AdminUsersState)
        return page.position, page.has_previous, page.has_next, [row.email for row in page.rows]

    for i in range(52):
        await make_user(f"fan{i:02}@example.com", created_at=utcnow() - timedelta(days=1))
    async with Tab(cookie=scene.admin_token) as tab:
        *first, first_rows = await shown(tab, AdminUsersState.load)
        *second, second_rows = await shown(tab, AdminUsersState.next_page)
        again = await shown(tab, AdminUsersState.load)  # coming back to the page shows the same page
        back = await shown(tab, AdminUsersState.previous_page)
        found = await shown(tab, AdminUsersState.search, form={"query": "fan5"})
    assert first == ["55 in all · page 1 of 2", False, True] and len(first_rows) == 50
    assert second == ["55 in all · page 2 of 2", True, False]
    assert len({*first_rows, *second_rows}) == 55
    assert again == ("55 in all · page 2 of 2", True, False, second_rows)
    assert back == ("55 in all · page 1 of 2", False, True, first_rows)
    assert found == ("2 in all · page 1 of 1", False, False, ["fan51@example.com", "fan50@example.com"])
