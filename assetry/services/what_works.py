"""What works for this creator: how their linked posts did, by what they made and how they posted it.

Over the creator's own posts with numbers, one SQL statement (GROUPING SETS) gives, for the
linked posts per group of each dimension and for all linked and all unlinked posts:
- views: the typical post's views as the geometric mean of (1 + views), minus 1, with a
  95% t-interval computed on log(1 + views) and transformed back (views are heavy-tailed;
  an arithmetic mean would follow the one post that went viral);
- engagement rate: the mean of each post's (likes + comments + shares + saves) / views,
  with a 95% t-interval;
- views at 24 h (velocity): the same as views, over the posts with a snapshot 18 to 30 hours
  after posting (the one nearest 24 h), so its sample size is its own.

Computing them reads every post of the creator, so the result's rows are kept
(`what_works_figures`): database triggers count each change of the creator's links, posts and
snapshots, and while nothing changed a page load reads the rows kept for its time zone back,
one indexed row, instead of computing them again. What changes them (a sync, a link made or
removed) queues `KEEP` in its transaction when the creator has kept figures, and that job
computes them again in the background, so the next page load finds them current; a load that
comes before the job ran computes them itself.

The posts not linked to a generation are the baseline ("your usual"). A group with fewer than
`MIN_POSTS` posts gets no interval and no verdict, only how many more linked posts it needs;
a group is above or below the baseline only when their intervals do not overlap, and it leads
its dimension only when its interval lies above every other eligible group's.
"""

from __future__ import annotations

import functools
import json
import math
import uuid
from dataclasses import dataclass, field
from types import SimpleNamespace
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlalchemy as sa
from scipy import stats
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.integrations import hooks
from assetry.jobs import queue
from assetry.jobs.task import Context

KEEP = "what_works.keep"
MIN_POSTS = 5
CONFIDENCE = 0.95
WEEKDAYS = ("", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FORMATS = {"video": "Video", "image": "Image", "caption": "Captions"}
# (key, title) in the order the page shows them; keys are the statement's column names.
DIMENSIONS = (
    ("format", "Format"),
    ("model", "Model"),
    ("aspect", "Aspect ratio"),
    ("duration", "Duration"),
    ("tone", "Caption tone"),
    ("caption_length", "Caption length"),
    ("hook", "Hook (first line)"),
    ("hashtags", "Hashtags"),
    ("weekday", "Weekday posted"),
    ("hours", "Time posted"),
)
_KEYS = [key for key, _ in DIMENSIONS]
DURATIONS = ((8, "up to 8 s"), (15, "9–15 s"), (30, "16–30 s"), (60, "31–60 s"))

_FIRST_LINE = "split_part(btrim(own.title, E' \\t\\r\\n'), E'\\n', 1)"
# The hook style of the caption's first line: the patterns are bound as :hook_0, :hook_1, …
_HOOK = (
    f"CASE WHEN {_FIRST_LINE} = '' THEN NULL "
    + " ".join(
        f"WHEN {_FIRST_LINE} ~* :hook_{n} THEN '{style.key}'"
        for n, style in enumerate(hooks.STYLES)
        if style.pattern
    )
    + " ELSE 'statement' END"
)
_HOOK_PATTERNS = {f"hook_{n}": style.pattern for n, style in enumerate(hooks.STYLES) if style.pattern}

_FIGURES = sa.text(
    f"""
WITH latest AS (
    -- Newest first on the covering index (user_id, post_id, captured_at): no sort.
    SELECT DISTINCT ON (s.post_id) s.post_id, s.views, s.likes, s.comments, s.shares, s.saves
    FROM metric_snapshots s
    WHERE s.user_id = :user_id AND s.views IS NOT NULL
    ORDER BY s.post_id DESC, s.captured_at DESC
), own AS (
    SELECT p.id, p.title, p.posted_at, p.duration_s, l.generation_id, latest.views, latest.likes,
        latest.comments, latest.shares, latest.saves
    FROM posts p
    JOIN latest ON latest.post_id = p.id
    LEFT JOIN post_links l ON l.post_id = p.id
    WHERE p.user_id = :user_id AND p.source = 'own'
), day_one AS (
    SELECT DISTINCT ON (s.post_id) s.post_id, s.views
    FROM metric_snapshots s JOIN posts p ON p.id = s.post_id
    WHERE s.user_id = :user_id AND p.user_id = :user_id AND s.views IS NOT NULL
      AND s.captured_at BETWEEN p.posted_at + interval '18 hours' AND p.posted_at + interval '30 hours'
    ORDER BY s.post_id, abs(extract(epoch FROM s.captured_at - p.posted_at) - 86400)
), facts AS (
    SELECT
        own.generation_id IS NOT NULL AS linked,
        ln(1 + own.views) AS log_views,
        CASE WHEN own.views > 0 THEN (coalesce(own.likes, 0) + coalesce(own.comments, 0)
            + coalesce(own.shares, 0) + coalesce(own.saves, 0))::float8 / own.views END AS engagement,
        ln(1 + day_one.views) AS log_day_one,
        g.kind AS format,
        g.provider || ' · ' || g.model AS model,
        g.options ->> 'aspect_ratio' AS aspect,
        CASE WHEN g.id IS NULL THEN NULL ELSE {{duration}} END AS duration,
        g.options ->> 'tone' AS tone,
        CASE WHEN length(own.title) = 0 THEN 'none'
             WHEN length(own.title) < 60 THEN 'short (under 60 characters)'
             WHEN length(own.title) <= 150 THEN 'medium (60–150 characters)'
             ELSE 'long (over 150 characters)' END AS caption_length,
        {_HOOK} AS hook,
        CASE regexp_count(own.title, '#[[:alnum:]_]')
             WHEN 0 THEN 'no hashtags' WHEN 1 THEN '1 hashtag' WHEN 2 THEN '2 hashtags'
             WHEN 3 THEN '3 hashtags' ELSE '4 or more hashtags' END AS hashtags,
        extract(isodow FROM own.posted_at AT TIME ZONE :zone)::int AS weekday,
        (extract(hour FROM own.posted_at AT TIME ZONE :zone)::int / 3) AS hours
    FROM own
    LEFT JOIN day_one ON day_one.post_id = own.id
    LEFT JOIN generations g ON g.id = own.generation_id
)
SELECT linked, GROUPING({", ".join(_KEYS)}) AS grouped, {", ".join(_KEYS)},
    count(*) AS n, avg(log_views) AS views_mean, stddev_samp(log_views) AS views_sd,
    count(engagement) AS engagement_n, avg(engagement) AS engagement_mean,
    stddev_samp(engagement) AS engagement_sd,
    count(log_day_one) AS day_one_n, avg(log_day_one) AS day_one_mean, stddev_samp(log_day_one) AS day_one_sd
FROM facts
GROUP BY GROUPING SETS ((linked), {", ".join(f"(linked, {key})" for key in _KEYS)})
""".replace(
        "{duration}",
        "CASE "
        + " ".join(
            f"WHEN coalesce(own.duration_s, (g.options ->> 'duration_s')::float8) <= {limit} THEN '{label}'"
            for limit, label in DURATIONS
        )
        + " WHEN coalesce(own.duration_s, (g.options ->> 'duration_s')::float8) IS NOT NULL THEN 'over 60 s' END",
    )
)


@dataclass(frozen=True)
class Estimate:
    """A typical value with its sample size and 95% interval (None when the sample is too small)."""

    n: int
    value: float | None
    low: float | None = None
    high: float | None = None

    @property
    def has_interval(self) -> bool:
        return self.low is not None and self.high is not None


@functools.lru_cache(maxsize=4096)
def _t_quantile(degrees_of_freedom: int) -> float:
    """t(0.975, df): scipy takes ~1 ms a call, and a page asks for the same few hundred times."""
    return float(stats.t.ppf((1 + CONFIDENCE) / 2, degrees_of_freedom))


def _t_interval(n: int, mean: float | None, sd: float | None) -> tuple[float, float] | None:
    if n < 2 or mean is None or sd is None:
        return None
    half = _t_quantile(n - 1) * sd / math.sqrt(n)
    return mean - half, mean + half


def log_estimate(n: int, mean: float | None, sd: float | None) -> Estimate:
    """Views from the mean and spread of log(1 + views): geometric mean and t-interval, back-transformed."""
    if not n or mean is None:
        return Estimate(n, None)
    interval = _t_interval(n, mean, sd) if n >= MIN_POSTS else None
    back = math.expm1
    if interval is None:
        return Estimate(n, back(mean))
    return Estimate(n, back(mean), max(0.0, back(interval[0])), back(interval[1]))


def mean_estimate(n: int, mean: float | None, sd: float | None) -> Estimate:
    """A rate's mean with a t-interval (clipped at 0)."""
    if not n or mean is None:
        return Estimate(n, None)
    interval = _t_interval(n, mean, sd) if n >= MIN_POSTS else None
    if interval is None:
        return Estimate(n, mean)
    return Estimate(n, mean, max(0.0, interval[0]), interval[1])


@dataclass
class Figures:
    """A group of posts' numbers."""

    label: str
    posts: int
    views: Estimate
    engagement: Estimate
    day_one: Estimate
    verdict: str = ""  # above | below | usual | "" (too few posts, or no baseline)
    needed: int = 0  # more linked posts before this group says anything
    leads: bool = False


@dataclass
class Dimension:
    key: str
    title: str
    groups: list[Figures] = field(default_factory=list)

    @property
    def leader(self) -> Figures | None:
        return next((g for g in self.groups if g.leads), None)


@dataclass
class WhatWorks:
    linked: Figures
    baseline: Figures
    dimensions: list[Dimension]

    @property
    def needed(self) -> int:
        """How many more linked posts before any group can say something."""
        return max(0, MIN_POSTS - self.linked.posts)


def _label(key: str, value) -> str:
    if key == "format":
        return FORMATS.get(value, str(value))
    if key == "hook":
        return hooks.BY_KEY[value].label if value in hooks.BY_KEY else str(value)
    if key == "weekday":
        return WEEKDAYS[int(value)]
    if key == "hours":
        start = int(value) * 3
        return f"{start:02d}:00–{start + 2:02d}:59"
    return str(value)


def _figures(label: str, row) -> Figures:
    return Figures(
        label=label,
        posts=row.n,
        views=log_estimate(row.n, row.views_mean, row.views_sd),
        engagement=mean_estimate(row.engagement_n, row.engagement_mean, row.engagement_sd),
        day_one=log_estimate(row.day_one_n, row.day_one_mean, row.day_one_sd),
        needed=max(0, MIN_POSTS - row.n),
    )


def _verdict(group: Figures, baseline: Figures) -> str:
    ours, usual = group.views, baseline.views
    if not ours.has_interval or not usual.has_interval:
        return ""
    if ours.low > usual.high:
        return "above"
    if ours.high < usual.low:
        return "below"
    return "usual"


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return "UTC"
    return name


# The statement's version (bumped when it changes) and the zone: rows kept for another are recomputed.
VERSION = "2"
_KEPT = sa.text(
    "SELECT rows, changes, rows_changes FROM what_works_figures WHERE user_id = :user_id AND stamp = :stamp"
)
_START = sa.text(
    """
INSERT INTO what_works_figures (id, user_id, stamp, rows, changes, rows_changes, computed_at)
VALUES (gen_random_uuid(), :user_id, :stamp, CAST('[]' AS json), 0, -1, now())
ON CONFLICT (user_id, stamp) DO NOTHING
"""
)
_KEEP = sa.text(
    """
UPDATE what_works_figures SET rows = CAST(:rows AS json), rows_changes = :changes, computed_at = now()
WHERE user_id = :user_id AND stamp = :stamp
"""
)
_COLUMNS = ("linked", "grouped", *_KEYS, "n", "views_mean", "views_sd", "engagement_n", "engagement_mean",
            "engagement_sd", "day_one_n", "day_one_mean", "day_one_sd")  # fmt: skip


async def figure_rows(user_id: uuid.UUID, zone: str) -> list[SimpleNamespace]:
    """The statement's rows: the kept ones while no input changed since, else computed and kept.

    The count of changes is read before the posts are (in its own transaction, so a change
    committed from then on counts against these rows): rows computed from older posts than a
    change can never be taken as current.
    """
    stamp = f"{VERSION}:{_zone(zone)}"
    async with db.user_session(user_id) as session:
        kept = (await session.exec(_KEPT, params={"user_id": user_id, "stamp": stamp})).first()
        if kept is not None and kept.changes == kept.rows_changes:
            return [SimpleNamespace(**row) for row in kept.rows]
        if kept is None:
            await session.exec(_START, params={"user_id": user_id, "stamp": stamp})
    changes = kept.changes if kept is not None else 0
    async with db.user_session(user_id) as session:
        # Sorting and hashing 10,000s of rows: in memory, not in temporary files.
        await session.exec(sa.text("SET LOCAL work_mem = '32MB'"))
        params = {"user_id": user_id, "zone": _zone(zone), **_HOOK_PATTERNS}
        found = await session.exec(_FIGURES, params=params)
        rows = [{key: row._mapping[key] for key in _COLUMNS} for row in found]
        values = {
            "user_id": user_id,
            "stamp": stamp,
            "rows": json.dumps(rows, default=float),
            "changes": changes,
        }
        await session.exec(_KEEP, params=values)
    return [SimpleNamespace(**row) for row in rows]


_KEEPS_ANY = sa.text("SELECT EXISTS (SELECT FROM what_works_figures WHERE user_id = :user_id)")
_STALE = sa.text(
    "SELECT stamp FROM what_works_figures WHERE user_id = :user_id AND changes <> rows_changes "
    "AND starts_with(stamp, :version)"
)


async def queue_keeping(session: AsyncSession, user_id: uuid.UUID) -> None:
    """In the caller's transaction, which changes the creator's figures: when they keep some,
    compute them again in the background once it commits (one waiting job per creator)."""
    if (await session.exec(_KEEPS_ANY, params={"user_id": user_id})).scalar_one():
        await queue.enqueue(session, KEEP, {}, user_id=user_id, dedupe_key=f"what-works:{user_id}")


async def keep_current(ctx: Context) -> dict:
    """The job: the creator's kept figures that an input changed since, computed again."""
    user_id = uuid.UUID(ctx.payload["user_id"])
    async with db.user_session(user_id) as session:
        stamps = (await session.exec(_STALE, params={"user_id": user_id, "version": f"{VERSION}:"})).scalars()
        zones = [stamp.split(":", 1)[1] for stamp in stamps]
    for zone in zones:
        await figure_rows(user_id, zone)
    return {"computed": len(zones)}


async def what_works(user_id: uuid.UUID, zone: str = "UTC") -> WhatWorks:
    """The creator's linked posts' figures by dimension, with all linked and all unlinked posts."""
    rows = await figure_rows(user_id, zone)
    empty = Figures("", 0, Estimate(0, None), Estimate(0, None), Estimate(0, None), needed=MIN_POSTS)
    overall = {row.linked: row for row in rows if row.grouped == (1 << len(_KEYS)) - 1}
    linked = _figures("All linked posts", overall[True]) if True in overall else empty
    baseline = _figures("Your other posts", overall[False]) if False in overall else empty
    linked.label, baseline.label = "All linked posts", "Your other posts"
    linked.verdict = _verdict(linked, baseline)
    dimensions = []
    for index, (key, title) in enumerate(DIMENSIONS):
        bit = 1 << (len(_KEYS) - 1 - index)
        groups = [
            _figures(_label(key, getattr(row, key)), row)
            for row in rows
            if row.linked and row.grouped == (1 << len(_KEYS)) - 1 - bit and getattr(row, key) is not None
        ]
        for group in groups:
            group.verdict = _verdict(group, baseline)
        eligible = [g for g in groups if g.views.has_interval]
        for group in eligible:
            group.leads = len(eligible) > 1 and all(
                group.views.low > o.views.high for o in eligible if o is not group
            )
        groups.sort(key=lambda g: (g.views.has_interval, g.views.value or 0), reverse=True)
        dimensions.append(Dimension(key, title, groups))
    return WhatWorks(linked=linked, baseline=baseline, dimensions=dimensions)
