"""The app shell's banners on a signed-in page load: one statement when nothing is due, the plan
reminders read in full only when one may be (real Postgres, the real reminder job)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from assetry.models import User
from assetry.services import accounts, app_shell, plan, post_links
from tests.integration.test_post_links import a_generation, a_post
from tests.integration.test_studio import new_user
from tests.integration.test_watching import QueryCounter

# A user transaction begins with its role switch (`db.user_session`).
ROLE_SWITCH = "set_config('role', 'authenticated', true)"


async def shell_banners(user: User) -> app_shell.Banners:
    """The banners a page load would show this user (`app_shell.page_load` with nothing inside)."""
    async with app_shell.page_load(user) as banners:
        return banners


async def test_the_banners_are_one_statement_until_a_reminder_comes_and_go_once_the_post_is_seen(
    database: str,
) -> None:
    user_id, token = await new_user("ana@example.com")
    user = await accounts.user_for_token(token)
    now = datetime.now(UTC)
    hour = now.replace(minute=0, second=0, microsecond=0)
    made = await a_generation(user_id, hour - timedelta(days=1), "latte art at dawn")
    slot = await plan.place(user_id, made, hour.date(), hour.hour, "UTC", now=hour - timedelta(hours=1))

    with QueryCounter() as planned:
        shown = await shell_banners(user)
    assert shown == app_shell.Banners(reminders=[], policies=None)  # the hour came, not yet reminded
    assert [ROLE_SWITCH in statement for statement in planned.sent] == [True, False], planned.sent

    assert (await plan.remind_due(now=now))["reminded"] == 1
    [reminder] = (await shell_banners(user)).reminders
    assert (reminder.slot_id, reminder.what) == (slot.id, "Video: latte art at dawn")

    # Reminded, but the post is out and linked: the reminders' full read finds nothing to show.
    await post_links.link_post(user_id, await a_post(user_id, hour + timedelta(seconds=1), "latte art"), made)
    assert (await shell_banners(user)).reminders == []
