"""The posting plan: slots on the creator's clock, reminders that fire once by email (real SMTP)
and in the app, and slots that become the post a sync recognised."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.models import MatchProposal, OutboxMessage, PlanSlot, PostLink, User
from assetry.services import plan, studio
from tests.integration.test_post_links import a_generation, a_post, a_user
from tests.jobs import run_jobs
from tests.smtp_server import SmtpServer

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
# Monday 7 December 2026, 09:20 UTC = 10:20 in Paris.
NOW = datetime(2026, 12, 7, 9, 20, tzinfo=UTC)
PARIS = "Europe/Paris"
MONDAY = date(2026, 12, 7)


async def a_creator_in_paris() -> uuid.UUID:
    user_id = await a_user()
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == user_id).values(time_zone=PARIS))
    return user_id


async def slots_of(user_id: uuid.UUID) -> list[PlanSlot]:
    async with db.service_session() as session:
        rows = await session.exec(
            sa.select(PlanSlot).where(PlanSlot.user_id == user_id).order_by(PlanSlot.planned_at)
        )
        return list(rows.scalars().all())


async def test_a_slot_is_an_hour_on_the_creators_clock_stored_in_utc(database: str) -> None:
    user = await a_user()
    generation = await a_generation(user, NOW - timedelta(days=1), "latte art at dawn")
    slot = await plan.place(user, generation, MONDAY, 18, PARIS, now=NOW)
    assert slot.planned_at == datetime(2026, 12, 7, 17, tzinfo=UTC)
    assert slot.what == "Video: latte art at dawn"
    week = await plan.week(user, PARIS, now=NOW)
    [shown] = week.slots
    assert (shown.local.hour, shown.status, week.first) == (18, plan.PLANNED, MONDAY)


async def test_bad_hours_are_refused_with_a_clear_message_and_nothing_stored(database: str) -> None:
    user = await a_user()
    generation = await a_generation(user, NOW - timedelta(days=1))
    with pytest.raises(
        BadInput, match=r"Monday, December 7 at 10:00 has already passed on your clock \(Europe/Paris\)"
    ):
        await plan.place(user, generation, MONDAY, 10, PARIS, now=NOW)  # the hour under way
    with pytest.raises(BadInput, match="has already passed"):
        await plan.place(user, generation, date(2026, 12, 6), 23, PARIS, now=NOW)
    # The night the clocks go forward (March 28, 2027 in Paris) has no 02:00.
    with pytest.raises(BadInput, match="02:00 doesn't exist on Sunday, March 28"):
        await plan.place(user, generation, date(2027, 3, 28), 2, PARIS, now=NOW)
    with pytest.raises(BadInput, match="at most a year ahead"):
        await plan.place(user, generation, date(2028, 1, 1), 9, PARIS, now=NOW)
    assert await slots_of(user) == []


async def test_two_slots_at_one_hour_moving_and_removing(database: str) -> None:
    user = await a_user()
    video = await a_generation(user, NOW - timedelta(days=1), "a video")
    captions = await a_generation(user, NOW - timedelta(days=1), "some captions", kind="caption")
    first = await plan.place(user, video, MONDAY, 18, PARIS, now=NOW)
    await plan.place(user, captions, MONDAY, 18, PARIS, now=NOW)  # two things, one hour: both kept
    with pytest.raises(BadInput, match="already planned at that hour"):
        await plan.place(user, video, MONDAY, 18, PARIS, now=NOW)
    assert [s.what for s in (await plan.week(user, PARIS, now=NOW)).slots] == [
        "Video: a video",
        "Captions: some captions",
    ]

    moved = await plan.move(user, first.id, date(2026, 12, 8), 9, PARIS, now=NOW)
    assert moved.planned_at == datetime(2026, 12, 8, 8, tzinfo=UTC)
    with pytest.raises(BadInput, match="has already passed"):
        await plan.move(user, first.id, MONDAY, 9, PARIS, now=NOW)
    await plan.remove(user, first.id)
    assert [s.what for s in await slots_of(user)] == ["Captions: some captions"]
    with pytest.raises(NotAllowed):
        await plan.remove(user, first.id)
    stranger = await a_user()
    [left] = await slots_of(user)
    with pytest.raises(NotAllowed):  # another creator's slot is not theirs to move or remove
        await plan.move(stranger, left.id, date(2026, 12, 9), 9, PARIS, now=NOW)
    with pytest.raises(NotAllowed):
        await plan.remove(stranger, left.id)
    with pytest.raises(NotAllowed):
        await plan.place(stranger, video, MONDAY, 20, PARIS, now=NOW)


async def test_a_reminder_fires_once_by_email_and_in_the_app(database: str, smtp_server: SmtpServer) -> None:
    user = await a_creator_in_paris()
    generation = await a_generation(user, NOW - timedelta(days=1), "latte art at dawn")
    gone = await a_generation(user, NOW - timedelta(days=1), "deleted later")
    later = await a_generation(user, NOW - timedelta(days=1), "for tomorrow")
    slot = await plan.place(user, generation, MONDAY, 18, PARIS, now=NOW)
    await plan.place(user, gone, MONDAY, 18, PARIS, now=NOW)
    await plan.place(user, later, date(2026, 12, 8), 18, PARIS, now=NOW)
    await studio.delete(user, gone)  # deleted after it was planned: the slot stays, without a reminder

    assert await plan.remind_due(now=slot.planned_at - timedelta(seconds=1)) == {
        "reminded": 0,
        "without_reminder": 0,
    }
    hour_came = slot.planned_at + timedelta(seconds=30)
    assert await plan.remind_due(now=hour_came) == {"reminded": 1, "without_reminder": 1}
    assert await plan.remind_due(now=hour_came + timedelta(minutes=1)) == {
        "reminded": 0,
        "without_reminder": 0,
    }
    await run_jobs()
    [received] = smtp_server.inbox
    assert received.subject == "Time to post: Video: latte art at dawn"
    assert "Video: latte art at dawn (planned for 18:00, Europe/Paris)" in received.body("plain")
    assert "/plan" in received.body("plain")

    [reminder] = await plan.reminders(user, PARIS, now=hour_came)
    assert (reminder.slot_id, reminder.what, reminder.when) == (slot.id, "Video: latte art at dawn", "18:00")
    week = await plan.week(user, PARIS, now=hour_came)
    kept = [s for s in week.slots if s.generation_id is None]
    assert [(s.what, s.status) for s in kept] == [("Video: deleted later", plan.WAITING)]
    await plan.dismiss(user, slot.id)
    assert await plan.reminders(user, PARIS, now=hour_came) == []


async def test_a_moved_slot_is_reminded_again_and_a_stale_one_quietly(
    database: str, smtp_server: SmtpServer
) -> None:
    user = await a_user()
    generation = await a_generation(user, NOW - timedelta(days=1))
    slot = await plan.place(user, generation, MONDAY, 12, PARIS, now=NOW)
    assert (await plan.remind_due(now=slot.planned_at))["reminded"] == 1
    moved = await plan.move(user, slot.id, MONDAY, 15, PARIS, now=slot.planned_at + timedelta(minutes=5))
    assert (await plan.remind_due(now=moved.planned_at))["reminded"] == 1
    # Workers were down for a day: the slot is marked, no late email.
    other = await plan.place(user, generation, date(2026, 12, 9), 9, PARIS, now=NOW)
    assert await plan.remind_due(now=other.planned_at + timedelta(days=1)) == {
        "reminded": 0,
        "without_reminder": 1,
    }
    async with db.service_session() as session:
        subjects = (
            (await session.exec(sa.select(OutboxMessage.subject).where(OutboxMessage.user_id == user)))
            .scalars()
            .all()
        )
    assert len(subjects) == 2


async def test_the_slot_becomes_the_post_once_recognised_and_missed_slots_stay(database: str) -> None:
    user = await a_user()
    posted = await a_generation(user, NOW - timedelta(days=1), "posted one")
    skipped = await a_generation(user, NOW - timedelta(days=1), "skipped one")
    slot = await plan.place(user, posted, MONDAY, 18, PARIS, now=NOW)
    await plan.place(user, skipped, MONDAY, 19, PARIS, now=NOW)
    post = await a_post(user, slot.planned_at + timedelta(minutes=7), "latte art #coffee")
    async with db.service_session() as session:
        session.add(MatchProposal(user_id=user, post_id=post, generation_id=posted, score=0.9))
    a_day_later = NOW + timedelta(days=1, hours=12)
    by_what = {s.what: s for s in (await plan.week(user, PARIS, MONDAY, now=a_day_later)).slots}
    assert by_what["Video: posted one"].status == plan.RECOGNISED
    assert by_what["Video: skipped one"].status == plan.MISSED
    async with db.service_session() as session:
        await session.exec(sa.delete(MatchProposal).where(MatchProposal.post_id == post))
        session.add(PostLink(user_id=user, post_id=post, generation_id=posted, how="confirmed"))
    shown = {s.what: s for s in (await plan.week(user, PARIS, MONDAY, now=a_day_later)).slots}[
        "Video: posted one"
    ]
    assert (shown.status, shown.post_id, shown.post_title) == (plan.POSTED, post, "latte art #coffee")
    assert shown.posted_local.strftime("%H:%M") == "18:07"


async def test_an_account_being_deleted_gets_no_reminder(database: str, smtp_server: SmtpServer) -> None:
    user = await a_creator_in_paris()
    generation = await a_generation(user, NOW - timedelta(days=1))
    slot = await plan.place(user, generation, MONDAY, 18, PARIS, now=NOW)
    async with db.service_session() as session:
        await session.exec(sa.update(User).where(User.id == user).values(deleted_at=NOW, is_disabled=True))
    assert await plan.remind_due(now=slot.planned_at) == {"reminded": 0, "without_reminder": 1}
    await run_jobs()
    assert smtp_server.inbox == []


async def test_the_best_hours_come_from_the_creators_own_posts_on_their_clock(database: str) -> None:
    """Hours with at least two posts, ranked by their median views; a single viral post is no
    best hour, and another creator's posts count for nothing."""
    from tests.integration.test_what_works import a_post as a_measured_post

    user, other = await a_creator_in_paris(), await a_user()
    assert (await plan.week(user, PARIS, now=NOW)).best == []  # no posts yet: nothing highlighted
    tuesday_18 = datetime(2026, 11, 3, 17, 10, tzinfo=UTC)  # 18:10 in Paris (UTC+1 in November)
    wednesday_9 = datetime(2026, 11, 4, 8, 30, tzinfo=UTC)  # 09:30 in Paris
    for week_n, views in ((0, 9_000), (1, 11_000)):
        await a_measured_post(user, views, posted=tuesday_18 + timedelta(weeks=week_n))
    for week_n, views in ((0, 100), (1, 300)):
        await a_measured_post(user, views, posted=wednesday_9 + timedelta(weeks=week_n))
    await a_measured_post(user, 5_000_000, posted=datetime(2026, 11, 5, 19, tzinfo=UTC))  # once only
    for week_n in (0, 1):
        await a_measured_post(
            other, 10**8, posted=datetime(2026, 11, 6, 6, tzinfo=UTC) + timedelta(weeks=week_n)
        )

    best = (await plan.week(user, PARIS, now=NOW)).best
    assert [(b.weekday, b.hour, b.median_views, b.posts) for b in best] == [
        (1, 18, 10_000, 2),
        (2, 9, 200, 2),
    ]
    assert best[0].words().startswith("Tuesday")


async def test_a_reminder_while_mail_is_down_shows_in_the_app_and_is_emailed_once_mail_is_back(
    database: str, smtp_server: SmtpServer
) -> None:
    from tests.integration.test_mail import delivery_job, make_due, outbox

    user = await a_creator_in_paris()
    generation = await a_generation(user, NOW - timedelta(days=1), "latte art at dawn")
    slot = await plan.place(user, generation, MONDAY, 18, PARIS, now=NOW)
    smtp_server.stop()
    hour_came = slot.planned_at + timedelta(seconds=30)
    assert (await plan.remind_due(now=hour_came))["reminded"] == 1
    await run_jobs()
    [queued] = await outbox()
    assert (queued.status, queued.attempts) == ("queued", 1) and "unreachable" in queued.last_error
    assert [r.what for r in await plan.reminders(user, PARIS, now=hour_came)] == ["Video: latte art at dawn"]
    assert (await plan.remind_due(now=hour_came + timedelta(minutes=1)))["reminded"] == 0  # not twice

    smtp_server.start()
    await make_due(await delivery_job(queued))
    await run_jobs()
    assert [r.subject for r in smtp_server.inbox] == ["Time to post: Video: latte art at dawn"]
    assert [m.status for m in await outbox()] == ["sent"]
