"""The posting plan: place a generated asset on the hour you mean to post it, get reminded then,
and see the slot become the real post once a sync recognises it.

Slots are hours on the creator's clock, stored as the UTC instant that hour starts. A slot is
never placed in the past, and one generation is planned at most once per hour (two different
generations may share an hour: one for TikTok, one for Instagram).

What a slot shows is read, never stored:
- posted: a post linked to its generation (by the creator, or a match they confirmed) was
  published from `EARLY` before to `LATE` after the slot; each post fills one slot, the nearest;
- recognised: such a post is waiting for the creator's yes or no (a match proposal);
- planned: the hour has not come;
- waiting: the hour came less than `LATE` ago (the post may not have been synced yet);
- missed: `LATE` went by with no post seen. Missed slots stay on the calendar.

Reminders: a periodic job (`REMIND`, every minute) marks each slot whose hour came as reminded,
once (the UPDATE that marks it is what claims it), queues one email per creator through the
outbox and tells their open pages; the app shows a banner until it is dismissed or the post is
seen. A slot whose generation was deleted, or a creator whose account is being deleted, gets no
reminder; a slot that came more than `STALE` ago (workers were down) is marked without one.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.jobs.task import Context
from assetry.models import Generation, MatchProposal, PlanSlot, Post, PostLink, User
from assetry.models.analytics import OWN
from assetry.models.base import utcnow
from assetry.services import changes, mail
from assetry.services import dashboard_figures as figures
from assetry.services.dashboard import BEST_SLOT_MIN_POSTS

REMIND = "plan.remind"
EARLY, LATE = timedelta(hours=12), timedelta(days=1)
STALE = timedelta(hours=6)
MAX_AHEAD_DAYS = 366
BEST_SLOTS = 3
SUCCEEDED = "succeeded"
NOT_YOUR_SLOT = "That slot isn't in your plan any more (it may have been removed in another tab)."
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
KINDS = {"video": "Video", "image": "Image", "caption": "Captions"}
PLANNED, WAITING, MISSED, RECOGNISED, POSTED = "planned", "waiting", "missed", "recognised", "posted"


@dataclass(frozen=True)
class BestHour:
    """A weekday and hour (creator's clock) whose posts did best, with its sample size."""

    weekday: int  # Monday = 0
    hour: int
    median_views: int
    posts: int
    typical_views: int  # the median of all the creator's posts

    def words(self) -> str:
        """ "Thursdays 19:00: median 2,300 views over 4 posts (your typical post: 1,100)"."""
        return (
            f"{WEEKDAYS[self.weekday]}s {self.hour:02d}:00: median {self.median_views:,} views over "
            f"{self.posts} posts (your typical post: {self.typical_views:,})"
        )


@dataclass
class Slot:
    """A planned post as the calendar shows it."""

    id: uuid.UUID
    generation_id: uuid.UUID | None
    what: str
    planned_at: datetime  # UTC
    local: datetime  # on the creator's clock
    status: str
    post_id: uuid.UUID | None = None
    post_title: str = ""
    posted_local: datetime | None = None


@dataclass
class Week:
    """Seven days of the plan from `first` (creator's clock), and what helps fill them."""

    first: date
    zone: str
    today: date
    now_local: datetime
    slots: list[Slot] = field(default_factory=list)
    best: list[BestHour] = field(default_factory=list)


@dataclass(frozen=True)
class Plannable:
    """A finished generation the creator can place on the calendar."""

    id: uuid.UUID
    what: str


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def describe(kind: str, prompt: str) -> str:
    """A generation in a few words: "Video: latte art at dawn"."""
    text = " ".join(prompt.split())
    if len(text) > 80:
        text = text[:79].rstrip() + "…"
    return f"{KINDS.get(kind, kind.capitalize())}: {text}"


def hour_words(local: datetime) -> str:
    """ "Tuesday, December 8 at 18:00"."""
    return f"{WEEKDAYS[local.weekday()]}, {local:%B} {local.day} at {local:%H}:00"


def start_of_hour(day: date, hour: int, zone: ZoneInfo) -> datetime:
    """The UTC instant an hour of a day on the creator's clock starts; BadInput for an hour the
    clock skips (the night clocks go forward). In the hour that happens twice, the first one."""
    if not 0 <= hour <= 23:
        raise BadInput("Pick an hour between 00:00 and 23:00.")
    local = datetime(day.year, day.month, day.day, hour, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise BadInput(
            f"{hour:02d}:00 doesn't exist on {WEEKDAYS[day.weekday()]}, {day:%B} {day.day} in {zone.key}: "
            "the clocks go forward then. Pick another hour."
        )
    return instant


def _check_when(day: date, hour: int, zone: ZoneInfo, now: datetime) -> datetime:
    """The UTC start of a future hour; BadInput, saying when it was, for one that started already."""
    planned_at = start_of_hour(day, hour, zone)
    if planned_at <= now:
        raise BadInput(
            f"{hour_words(planned_at.astimezone(zone))} has already passed on your clock ({zone.key}). "
            "Pick a later hour."
        )
    if planned_at > now + timedelta(days=MAX_AHEAD_DAYS):
        raise BadInput("Plan at most a year ahead.")
    return planned_at


async def _owned_generation(
    session: AsyncSession, user_id: uuid.UUID, generation_id: uuid.UUID
) -> Generation:
    generation = await session.get(Generation, generation_id)
    if generation is None or generation.user_id != user_id:
        raise NotAllowed("That generation isn't in your library (it may have been deleted).")
    if generation.status != SUCCEEDED:
        raise BadInput("Only a finished generation can be planned: wait until it is done.")
    return generation


async def _refuse_twice(
    session: AsyncSession, user_id: uuid.UUID, generation_id: uuid.UUID | None, planned_at: datetime, but=None
) -> None:
    if generation_id is None:
        return
    same = select(PlanSlot.id).where(
        PlanSlot.user_id == user_id,
        PlanSlot.generation_id == generation_id,
        PlanSlot.planned_at == planned_at,
    )
    if but is not None:
        same = same.where(PlanSlot.id != but)
    if (await session.exec(same)).first() is not None:
        raise BadInput("This generation is already planned at that hour.")


async def place(
    user_id: uuid.UUID, generation_id: uuid.UUID, day: date, hour: int, zone_name: str, *, now=None
) -> PlanSlot:
    """Plan a finished generation for an hour of a day on the creator's clock."""
    zone, now = zone_of(zone_name), now or utcnow()
    planned_at = _check_when(day, hour, zone, now)
    async with db.user_session(user_id) as session:
        generation = await _owned_generation(session, user_id, generation_id)
        await _refuse_twice(session, user_id, generation.id, planned_at)
        slot = PlanSlot(
            user_id=user_id,
            generation_id=generation.id,
            what=describe(generation.kind, generation.prompt),
            planned_at=planned_at,
        )
        session.add(slot)
        await changes.notify(session, user_id, changes.PLAN)
    return slot


async def move(
    user_id: uuid.UUID, slot_id: uuid.UUID, day: date, hour: int, zone_name: str, *, now=None
) -> PlanSlot:
    """Move a slot to another hour; its reminder is sent again when the new hour comes."""
    zone, now = zone_of(zone_name), now or utcnow()
    planned_at = _check_when(day, hour, zone, now)
    async with db.user_session(user_id) as session:
        slot = await session.get(PlanSlot, slot_id)
        if slot is None or slot.user_id != user_id:
            raise NotAllowed(NOT_YOUR_SLOT)
        await _refuse_twice(session, user_id, slot.generation_id, planned_at, but=slot.id)
        slot.planned_at, slot.reminded_at, slot.reminder_seen_at = planned_at, None, None
        session.add(slot)
        await changes.notify(session, user_id, changes.PLAN)
    return slot


async def remove(user_id: uuid.UUID, slot_id: uuid.UUID) -> None:
    """Take a slot off the plan (no reminder is sent for it)."""
    async with db.user_session(user_id) as session:
        gone = await session.exec(
            sa.delete(PlanSlot).where(PlanSlot.user_id == user_id, PlanSlot.id == slot_id)
        )
        if not gone.rowcount:
            raise NotAllowed(NOT_YOUR_SLOT)
        await changes.notify(session, user_id, changes.PLAN)


async def plannable(user_id: uuid.UUID, limit: int = 50) -> list[Plannable]:
    """The creator's finished generations, newest first, as a pick list shows them."""
    async with db.user_session(user_id) as session:
        rows = (
            await session.exec(
                select(Generation.id, Generation.kind, Generation.prompt)
                .where(Generation.user_id == user_id, Generation.status == SUCCEEDED)
                .order_by(col(Generation.created_at).desc())
                .limit(limit)
            )
        ).all()
    return [Plannable(row.id, describe(row.kind, row.prompt)) for row in rows]


def _status(slot: PlanSlot, now: datetime, proposed: bool) -> str:
    if proposed:
        return RECOGNISED
    if slot.planned_at > now:
        return PLANNED
    return WAITING if now - slot.planned_at < LATE else MISSED


async def _slots(
    session: AsyncSession, user_id: uuid.UUID, start: datetime, end: datetime, zone, now
) -> list[Slot]:
    """The slots planned in [start, end) with the post each became (or is proposed to have become)."""
    planned = (
        await session.exec(
            select(PlanSlot)
            .where(PlanSlot.user_id == user_id, PlanSlot.planned_at >= start, PlanSlot.planned_at < end)
            .order_by(PlanSlot.planned_at, PlanSlot.created_at)
        )
    ).all()
    generations = {slot.generation_id for slot in planned if slot.generation_id}
    posts: dict[uuid.UUID, list] = defaultdict(list)
    if generations:
        near = (Post.posted_at >= start - EARLY) & (Post.posted_at < end + LATE)
        for how, through in (("linked", PostLink), ("proposed", MatchProposal)):
            rows = (
                await session.exec(
                    select(through.generation_id, Post.id, Post.title, Post.posted_at)
                    .join(Post, Post.id == through.post_id)
                    .where(
                        through.user_id == user_id,
                        Post.user_id == user_id,
                        Post.source == OWN,
                        col(through.generation_id).in_(generations),
                        near,
                    )
                )
            ).all()
            for generation_id, post_id, title, posted_at in rows:
                posts[generation_id].append((how, post_id, title, posted_at))
    # Each post fills one slot: the nearest in time, linked posts before proposals.
    pairs = sorted(
        (
            (how != "linked", abs(posted_at - slot.planned_at), n, post_id, how, title, posted_at)
            for n, slot in enumerate(planned)
            if slot.generation_id
            for how, post_id, title, posted_at in posts.get(slot.generation_id, [])
            if slot.planned_at - EARLY <= posted_at < slot.planned_at + LATE
        ),
        key=lambda pair: pair[:3],
    )
    filled: dict[int, tuple] = {}
    used: set[uuid.UUID] = set()
    for _later, _distance, n, post_id, how, title, posted_at in pairs:
        if n not in filled and post_id not in used:
            filled[n] = (post_id, how, title, posted_at)
            used.add(post_id)
    result = []
    for n, slot in enumerate(planned):
        post = filled.get(n)
        status = POSTED if post and post[1] == "linked" else _status(slot, now, bool(post))
        result.append(
            Slot(
                id=slot.id,
                generation_id=slot.generation_id,
                what=slot.what,
                planned_at=slot.planned_at,
                local=slot.planned_at.astimezone(zone),
                status=status,
                post_id=post[0] if post else None,
                post_title=post[2] if post else "",
                posted_local=post[3].astimezone(zone) if post else None,
            )
        )
    return result


async def best_hours(
    session: AsyncSession, user_id: uuid.UUID, zone: ZoneInfo, now: datetime
) -> list[BestHour]:
    """The weekdays and hours whose posts had the highest median views, among those with at least
    `BEST_SLOT_MIN_POSTS` posts (the dashboard's rule for its best time to post)."""
    own_posts = [Post.user_id == user_id, Post.source == OWN]
    first, last = (await session.exec(figures.post_span(own_posts, now, []))).one()
    if first is None:
        return []
    cells = (await session.exec(figures.heatmap(user_id, own_posts, zone, (first, last), now))).all()
    ranked = sorted(
        (
            BestHour(weekday, hour, int(middle / count), posts, round(typical or 0))
            for weekday, hour, middle, count, posts, typical in cells
            if posts >= BEST_SLOT_MIN_POSTS
        ),
        key=lambda best: (-best.median_views, -best.posts, best.weekday, best.hour),
    )
    return ranked[:BEST_SLOTS]


async def week(user_id: uuid.UUID, zone_name: str, first: date | None = None, *, now=None) -> Week:
    """The plan's seven days from `first` (today on the creator's clock when None)."""
    zone, now = zone_of(zone_name), now or utcnow()
    today = now.astimezone(zone).date()
    first = first or today
    start = datetime(first.year, first.month, first.day, tzinfo=zone).astimezone(UTC)
    after = first + timedelta(days=7)
    end = datetime(after.year, after.month, after.day, tzinfo=zone).astimezone(UTC)
    async with db.user_session(user_id) as session:
        slots = await _slots(session, user_id, start, end, zone, now)
        best = await best_hours(session, user_id, zone, now)
    return Week(first, zone.key, today, now.astimezone(zone), slots, best)


# Reminders ---------------------------------------------------------------------------------------

_CLAIM = sa.text(
    """
UPDATE plan_slots s SET reminded_at = :now
FROM users u
WHERE u.id = s.user_id AND s.reminded_at IS NULL AND s.planned_at <= :now
RETURNING s.id, s.user_id, s.generation_id, s.what, s.planned_at,
    u.email, u.display_name, u.time_zone, u.deleted_at IS NULL AND NOT u.is_disabled AS active
"""
)


async def remind_due(_ctx: Context | None = None, *, now: datetime | None = None) -> dict:
    """Send the reminders whose hour came: one email per creator, and a note to their open pages."""
    now = now or utcnow()
    sent = skipped = 0
    async with db.service_session() as session:
        claimed = (await session.exec(_CLAIM, params={"now": now})).all()
        by_user: dict[uuid.UUID, list] = defaultdict(list)
        for row in claimed:
            if row.active and row.generation_id is not None and now - row.planned_at <= STALE:
                by_user[row.user_id].append(row)
            else:
                skipped += 1
        for user_id, rows in by_user.items():
            zone = zone_of(rows[0].time_zone)
            await mail.send(
                session,
                to=rows[0].email,
                template="plan_reminder",
                context={
                    "name": rows[0].display_name,
                    "what": rows[0].what,
                    "slots": [
                        f"{row.what} (planned for {row.planned_at.astimezone(zone):%H}:00, {zone.key})"
                        for row in rows
                    ],
                },
                user_id=user_id,
            )
            await changes.notify(session, user_id, changes.PLAN)
            sent += len(rows)
    return {"reminded": sent, "without_reminder": skipped}


@dataclass(frozen=True)
class Reminder:
    """A reminder the app shows until it is dismissed or the post is seen."""

    slot_id: uuid.UUID
    what: str
    when: str


async def reminders(user_id: uuid.UUID, zone_name: str | None = None, *, now=None) -> list[Reminder]:
    """The reminders that fired in the last day and are not dismissed, for slots with no post seen
    yet, on the clock of `zone_name` (None: the creator's own)."""
    async with db.user_session(user_id) as session:
        return await reminders_in(session, user_id=user_id, zone_name=zone_name, now=now)


async def reminders_in(
    session: AsyncSession, *, user_id: uuid.UUID, zone_name: str | None = None, now=None
) -> list[Reminder]:
    """`reminders`, read in the caller's transaction."""
    now = now or utcnow()
    if zone_name is None:
        creator = await session.get(User, user_id)
        zone_name = creator.time_zone if creator is not None else "UTC"
    zone = zone_of(zone_name)
    slots = await _slots(session, user_id, now - LATE, now + timedelta(seconds=1), zone, now)
    fired = set(
        (
            await session.exec(
                select(PlanSlot.id).where(
                    PlanSlot.user_id == user_id,
                    col(PlanSlot.reminded_at).is_not(None),
                    col(PlanSlot.reminder_seen_at).is_(None),
                    col(PlanSlot.generation_id).is_not(None),
                )
            )
        ).all()
    )
    return [
        Reminder(slot.id, slot.what, f"{slot.local:%H}:00")
        for slot in slots
        if slot.id in fired and slot.status in (WAITING, RECOGNISED)
    ]


def reminder_may_be_due(user_id: uuid.UUID | sa.BindParameter, now: datetime | sa.BindParameter) -> sa.Exists:
    """Whether a slot of the last `LATE` was reminded, not dismissed, and keeps its generation: a
    column to read beside others in one statement (values, or typed bound parameters of a statement
    built once). False: `reminders_in` finds none (read it only when True)."""
    return sa.exists().where(
        PlanSlot.user_id == user_id,
        PlanSlot.planned_at >= now - LATE,
        PlanSlot.planned_at < now + timedelta(seconds=1),
        col(PlanSlot.reminded_at).is_not(None),
        col(PlanSlot.reminder_seen_at).is_(None),
        col(PlanSlot.generation_id).is_not(None),
    )


async def dismiss(user_id: uuid.UUID, slot_id: uuid.UUID) -> None:
    """The creator saw the in-app reminder."""
    async with db.user_session(user_id) as session:
        await session.exec(
            sa.update(PlanSlot)
            .where(PlanSlot.user_id == user_id, PlanSlot.id == slot_id)
            .values(reminder_seen_at=utcnow())
        )
        # The banner goes in the creator's other tabs too.
        await changes.notify(session, user_id, changes.PLAN)
