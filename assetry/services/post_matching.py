"""Recognising which generation a new post was made from, on this server only.

Evidence, strongest first:
- cover: the post's cover image against frames of the generation's videos, by perceptual
  hash (dHash, 64 bits, the `imagehash` library over frames decoded with PyAV). Frames are
  sampled `FRAMES_PER_SECOND` times a second and hashed once per video (`VideoFingerprint`).
  A cover within `COVER_DISTANCE` bits of a frame is that frame, re-encoded and resized.
- caption: the post's caption reuses words of the generation's prompt or of its captions
  (at least `SHARED_WORDS` words, `CAPTION_REUSE` of the shorter text).
- timing: only generations finished within `MATCH_WINDOW` before the post are candidates;
  of equal evidence, the one finished closer to the post wins.

The likeliest candidate becomes a proposal the creator confirms or rejects in one click; a
rejected pair is never proposed again. Nothing is sent anywhere: the cover is read from the
platform like the rest of a sync, and every hash is computed here.
"""

from __future__ import annotations

import asyncio
import bisect
import io
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import av
import imagehash
import numpy as np
from PIL import Image, UnidentifiedImageError
from sqlalchemy.dialects import postgresql
from sqlmodel import col, select

from assetry import db
from assetry.errors import NotAllowed, ProviderError
from assetry.jobs import queue
from assetry.jobs.task import Context
from assetry.models import Generation, GenerationOutput, MatchProposal, MatchRejection, Post, PostLink
from assetry.models.analytics import OWN
from assetry.models.base import utcnow
from assetry.models.outcomes import CONFIRMED, VideoFingerprint
from assetry.services import changes, media, platforms, post_links

log = logging.getLogger(__name__)

TASK = "posts.match_new"
MATCH_WINDOW = timedelta(days=14)
FRAMES_PER_SECOND = 8
MAX_FRAMES = 480
COVER_DISTANCE = 8  # of 64 bits
SHARED_WORDS = 3
CAPTION_REUSE = 0.6
COVER_MAX_BYTES = 5_000_000
FETCH_CONCURRENCY = 8
SUCCEEDED = "succeeded"
NO_PROPOSAL = "There is no proposal for this post any more (it was answered, or the post was linked)."
_WORD = re.compile(r"[^\W_]{3,}")


# ----- fingerprints ------------------------------------------------------------------------


def _as_signed(value: imagehash.ImageHash) -> int:
    bits = int(str(value), 16)
    return bits - (1 << 64) if bits >= 1 << 63 else bits


def image_hash(content: bytes) -> int | None:
    """The dHash of an image file, or None when it is not a readable image."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            return _as_signed(imagehash.dhash(image.convert("RGB")))
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        return None


def video_hashes(content: bytes) -> list[int]:
    """The dHashes of a video's frames, `FRAMES_PER_SECOND` a second; [] when nothing decodes."""
    hashes: list[int] = []
    try:
        with av.open(io.BytesIO(content)) as container:
            stream = container.streams.video[0]
            rate = float(stream.average_rate or 30)
            every = max(1, round(rate / FRAMES_PER_SECOND))
            for index, frame in enumerate(container.decode(stream)):
                if index % every == 0:
                    hashes.append(_as_signed(imagehash.dhash(frame.to_image())))
                    if len(hashes) >= MAX_FRAMES:
                        break
    except (av.FFmpegError, IndexError, ValueError):
        log.warning("a generated video could not be decoded for its fingerprint", exc_info=True)
    return hashes


async def fingerprint(user_id: uuid.UUID, generation_ids: list[uuid.UUID]) -> int:
    """Hash the frames of these generations' videos that have no fingerprint yet; returns how many were made."""
    if not generation_ids:
        return 0
    async with db.service_session() as session:
        outputs = (
            await session.exec(
                select(GenerationOutput.id, GenerationOutput.generation_id, GenerationOutput.storage_key)
                .outerjoin(VideoFingerprint, VideoFingerprint.output_id == GenerationOutput.id)
                .where(
                    GenerationOutput.user_id == user_id,
                    col(GenerationOutput.generation_id).in_(generation_ids),
                    col(GenerationOutput.content_type).startswith("video/"),
                    col(GenerationOutput.storage_key).is_not(None),
                    col(VideoFingerprint.id).is_(None),
                )
            )
        ).all()
    store = media.store()
    made = 0
    for output_id, generation_id, key in outputs:
        try:
            content = b"".join([chunk async for chunk in store.stream(key)])
        except (OSError, ProviderError):
            log.warning("the file of output %s could not be read for its fingerprint", output_id)
            continue
        hashes = await asyncio.to_thread(video_hashes, content)
        async with db.service_session() as session:
            await session.exec(
                postgresql.insert(VideoFingerprint.__table__)
                .values(
                    id=uuid.uuid4(),
                    user_id=user_id,
                    generation_id=generation_id,
                    output_id=output_id,
                    hashes=hashes,
                    created_at=utcnow(),
                )
                .on_conflict_do_nothing(index_elements=["output_id"])
            )
        made += 1
    return made


# ----- matching ----------------------------------------------------------------------------


@dataclass
class _Candidate:
    id: uuid.UUID
    finished_at: datetime
    texts: list[set[str]] = field(default_factory=list)


@dataclass
class _Candidates:
    """Finished generations in time order, their words, and every frame hash in one array."""

    items: list[_Candidate]
    finished: list[datetime]
    hashes: np.ndarray  # uint64, grouped by candidate in `items` order
    starts: np.ndarray  # where each candidate's hashes start in `hashes` (len(items) + 1 entries)
    by_word: dict[str, list[int]]  # word -> the candidates whose prompt or captions hold it

    def window(self, posted_at: datetime) -> tuple[int, int]:
        """The candidates finished within the match window before a post: [low, high) of `items`."""
        return (
            bisect.bisect_left(self.finished, posted_at - MATCH_WINDOW),
            bisect.bisect_right(self.finished, posted_at),
        )

    def any_for(self, posted_at: datetime) -> bool:
        low, high = self.window(posted_at)
        return high > low


def words(text: str) -> set[str]:
    """The words of a text that say something (3 letters or more, hashtags included without '#')."""
    return {w.lower() for w in _WORD.findall(text)}


def caption_reuse(post_words: set[str], texts: list[set[str]]) -> tuple[int, float]:
    """How many words the post shares with the closest text, and what share of the shorter one that is."""
    best = (0, 0.0)
    for text in texts:
        shared = len(post_words & text)
        if shared:
            best = max(best, (shared, shared / min(len(post_words), len(text))))
    return best


def _ago(delta: timedelta) -> str:
    hours = delta.total_seconds() / 3600
    if hours < 1:
        return f"{max(1, round(hours * 60))} min"
    if hours < 48:
        return f"{round(hours)} h"
    return f"{round(hours / 24)} days"


def _near_covers(candidates: _Candidates, cover: int, low: int, high: int) -> dict[int, int]:
    """The candidates in [low, high) with a frame within COVER_DISTANCE bits of the cover: index -> bits."""
    first, last = int(candidates.starts[low]), int(candidates.starts[high])
    if last <= first:
        return {}
    distances = np.bitwise_count(candidates.hashes[first:last] ^ np.uint64(cover & (2**64 - 1)))
    close = np.flatnonzero(distances <= COVER_DISTANCE)
    if not close.size:
        return {}
    # Which candidate each close frame belongs to (its hashes start at or before the frame).
    owners = np.searchsorted(candidates.starts[low : high + 1], close + first, side="right") - 1 + low
    near: dict[int, int] = {}
    for owner, bits in zip(owners.tolist(), distances[close].tolist(), strict=True):
        near[owner] = min(bits, near.get(owner, 64))
    return near


def _sharing_words(candidates: _Candidates, post_words: set[str], low: int, high: int) -> set[int]:
    """The candidates in [low, high) whose texts hold at least SHARED_WORDS of the post's words."""
    counts: dict[int, int] = {}
    for word in post_words:
        for index in candidates.by_word.get(word, ()):
            if low <= index < high:
                counts[index] = counts.get(index, 0) + 1
    return {index for index, count in counts.items() if count >= SHARED_WORDS}


def best_match(
    post_words: set[str], cover: int | None, posted_at: datetime, candidates: _Candidates, rejected: set
) -> tuple[uuid.UUID, float, dict[str, str]] | None:
    """The likeliest candidate for one post with its score and reasons, or None when nothing is evidence."""
    low, high = candidates.window(posted_at)
    if low >= high:
        return None
    near = _near_covers(candidates, cover, low, high) if cover is not None else {}
    best = None
    for index in sorted(near.keys() | _sharing_words(candidates, post_words, low, high)):
        candidate = candidates.items[index]
        if candidate.id in rejected:
            continue
        reasons: dict[str, str] = {}
        cover_score = 0.0
        if index in near:
            cover_score = 1 - near[index] / 64
            reasons["cover"] = f"The cover is a frame of this video ({near[index]} of 64 bits differ)."
        shared, reuse = caption_reuse(post_words, candidate.texts)
        text_score = 0.0
        if shared >= SHARED_WORDS and reuse >= CAPTION_REUSE:
            text_score = 0.8 * reuse
            reasons["caption"] = (
                f"The caption shares {shared} words with it ({reuse:.0%} of the shorter text)."
            )
        if not reasons:
            continue
        gap = posted_at - candidate.finished_at
        reasons["timing"] = f"Posted {_ago(gap)} after it was made."
        score = max(cover_score, text_score) + (0.1 if cover_score and text_score else 0.0)
        score -= 0.05 * gap / MATCH_WINDOW
        if best is None or score > best[1]:
            best = (candidate.id, round(score, 4), reasons)
    return best


async def _candidates(user_id: uuid.UUID, earliest: datetime, latest: datetime) -> _Candidates:
    """The user's finished generations in [earliest - window, latest], fingerprinted, with their words."""
    async with db.service_session() as session:
        found = (
            await session.exec(
                select(Generation.id, Generation.kind, Generation.prompt, Generation.finished_at)
                .where(
                    Generation.user_id == user_id,
                    Generation.status == SUCCEEDED,
                    col(Generation.finished_at) >= earliest - MATCH_WINDOW,
                    col(Generation.finished_at) <= latest,
                )
                .order_by(Generation.finished_at, Generation.id)
            )
        ).all()
    ids = [row.id for row in found]
    await fingerprint(user_id, [row.id for row in found if row.kind == "video"])
    hashes: dict[uuid.UUID, list[int]] = {}
    captions: dict[uuid.UUID, list[str]] = {}
    async with db.service_session() as session:
        for chunk in range(0, len(ids), 5000):
            part = ids[chunk : chunk + 5000]
            rows = await session.exec(
                select(VideoFingerprint.generation_id, VideoFingerprint.hashes).where(
                    col(VideoFingerprint.generation_id).in_(part)
                )
            )
            for generation_id, values in rows.all():
                hashes.setdefault(generation_id, []).extend(values)
            rows = await session.exec(
                select(GenerationOutput.generation_id, GenerationOutput.text).where(
                    col(GenerationOutput.generation_id).in_(part), col(GenerationOutput.text).is_not(None)
                )
            )
            for generation_id, text in rows.all():
                captions.setdefault(generation_id, []).append(text)
    items, flat, starts, by_word = [], [], [0], {}
    for index, row in enumerate(found):
        texts = [words(t) for t in (row.prompt, *captions.get(row.id, []))]
        items.append(_Candidate(row.id, row.finished_at, [t for t in texts if t]))
        for word in set().union(*texts):
            by_word.setdefault(word, []).append(index)
        flat.extend(hashes.get(row.id, []))
        starts.append(len(flat))
    return _Candidates(
        items=items,
        finished=[item.finished_at for item in items],
        hashes=np.array(flat, dtype=np.int64).view(np.uint64),
        starts=np.array(starts, dtype=np.int64),
        by_word=by_word,
    )


async def _cover_hash(platform: str, url: str, limit: asyncio.Semaphore) -> int | None:
    async with limit:
        try:
            content = await platforms.cover_image(platform, url, COVER_MAX_BYTES)
        except ProviderError as problem:
            log.info("a cover image could not be fetched: %s", problem)
            return None
    return await asyncio.to_thread(image_hash, content)


@dataclass
class MatchReport:
    """What one matching run did."""

    examined: int = 0
    proposed: int = 0
    covers_missing: int = 0


async def match_posts(user_id: uuid.UUID, post_ids: list[uuid.UUID]) -> MatchReport:
    """Propose a generation for each of these posts that has no link and no proposal yet."""
    report = MatchReport()
    async with db.service_session() as session:
        posts = (
            await session.exec(
                select(Post.id, Post.platform, Post.title, Post.cover_url, Post.posted_at)
                .outerjoin(PostLink, PostLink.post_id == Post.id)
                .outerjoin(MatchProposal, MatchProposal.post_id == Post.id)
                .where(
                    Post.user_id == user_id,
                    Post.source == OWN,
                    col(Post.id).in_(post_ids),
                    col(PostLink.id).is_(None),
                    col(MatchProposal.id).is_(None),
                )
            )
        ).all()
        rejections = (
            await session.exec(
                select(MatchRejection.post_id, MatchRejection.generation_id).where(
                    MatchRejection.user_id == user_id, col(MatchRejection.post_id).in_(post_ids)
                )
            )
        ).all()
    report.examined = len(posts)
    if not posts:
        return report
    candidates = await _candidates(user_id, min(p.posted_at for p in posts), max(p.posted_at for p in posts))
    # Only posts with a candidate in their window are worth fetching a cover for.
    posts = [p for p in posts if candidates.any_for(p.posted_at)]
    limit = asyncio.Semaphore(FETCH_CONCURRENCY)
    covers = await asyncio.gather(*(_cover_hash(p.platform, p.cover_url, limit) for p in posts))
    rejected: dict[uuid.UUID, set[uuid.UUID]] = {}
    for post_id, generation_id in rejections:
        rejected.setdefault(post_id, set()).add(generation_id)
    proposals = []
    for post, cover in zip(posts, covers, strict=True):
        report.covers_missing += cover is None
        found = best_match(words(post.title), cover, post.posted_at, candidates, rejected.get(post.id, set()))
        if found is not None:
            generation_id, score, reasons = found
            proposals.append({"id": uuid.uuid4(), "user_id": user_id, "post_id": post.id, "created_at": utcnow(),
                              "generation_id": generation_id, "score": score, "reasons": reasons})  # fmt: skip
    if proposals:
        async with db.service_session() as session:
            await session.exec(
                postgresql.insert(MatchProposal.__table__).on_conflict_do_nothing(index_elements=["post_id"]),
                params=proposals,
            )
            await changes.notify(session, user_id, changes.LINKS)
    report.proposed = len(proposals)
    return report


async def queue_after_sync(account_id: uuid.UUID, user_id: uuid.UUID, since: datetime) -> None:
    """After a sync stored new posts: look for the generations they came from, as a job."""
    async with db.service_session() as session:
        await queue.enqueue(
            session,
            TASK,
            {"account_id": str(account_id), "since": since.isoformat()},
            user_id=user_id,
            dedupe_key=f"match:{account_id}:{since.isoformat()}",
        )


async def match_new_posts(ctx: Context) -> dict:
    """The posts a sync brought in since `since`, matched against the creator's generations."""
    account_id = uuid.UUID(ctx.payload["account_id"])
    since = datetime.fromisoformat(ctx.payload["since"])
    async with db.service_session() as session:
        found = (
            await session.exec(
                select(Post.user_id, Post.id).where(Post.account_id == account_id, Post.created_at >= since)
            )
        ).all()
    if not found:
        return {"examined": 0}
    report = await match_posts(found[0].user_id, [row.id for row in found])
    return {"examined": report.examined, "proposed": report.proposed, "covers_missing": report.covers_missing}


# ----- the creator's answer ------------------------------------------------------------------


@dataclass(frozen=True)
class Proposal:
    """A proposed match as the pages show it."""

    post_id: uuid.UUID
    post_title: str
    platform: str
    cover_url: str
    posted_at: datetime
    generation_id: uuid.UUID
    generation_kind: str
    prompt: str
    reasons: dict


def _proposal_rows(user_id: uuid.UUID):
    return (
        select(
            Post.id,
            Post.title,
            Post.platform,
            Post.cover_url,
            Post.posted_at,
            Generation.id,
            Generation.kind,
            Generation.prompt,
            MatchProposal.reasons,
        )
        .join(Post, Post.id == MatchProposal.post_id)
        .join(Generation, Generation.id == MatchProposal.generation_id)
        .where(MatchProposal.user_id == user_id)
    )


async def proposals(
    user_id: uuid.UUID, *, post_id: uuid.UUID | None = None, limit: int = 20
) -> list[Proposal]:
    """Proposals waiting for the creator's answer, newest posts first (or the one of a post)."""
    query = _proposal_rows(user_id).order_by(col(Post.posted_at).desc()).limit(limit)
    if post_id is not None:
        query = query.where(MatchProposal.post_id == post_id)
    async with db.user_session(user_id) as session:
        return [Proposal(*row) for row in (await session.exec(query)).all()]


async def confirm(user_id: uuid.UUID, post_id: uuid.UUID) -> None:
    """Yes: the post was made from the proposed generation (it becomes a link)."""
    async with db.user_session(user_id) as session:
        proposal = await _proposal(session, user_id, post_id)
        await post_links.link(session, user_id, post_id, proposal.generation_id, how=CONFIRMED)


async def reject(user_id: uuid.UUID, post_id: uuid.UUID) -> None:
    """No: remember that the post was not made from that generation; never propose the pair again."""
    async with db.user_session(user_id) as session:
        proposal = await _proposal(session, user_id, post_id)
        await session.exec(
            postgresql.insert(MatchRejection.__table__)
            .values(
                id=uuid.uuid4(),
                user_id=user_id,
                post_id=post_id,
                generation_id=proposal.generation_id,
                created_at=utcnow(),
            )
            .on_conflict_do_nothing(index_elements=["post_id", "generation_id"])
        )
        await session.delete(proposal)
        await changes.notify(session, user_id, changes.LINKS)


async def _proposal(session, user_id: uuid.UUID, post_id: uuid.UUID) -> MatchProposal:
    proposal = (
        await session.exec(
            select(MatchProposal).where(MatchProposal.user_id == user_id, MatchProposal.post_id == post_id)
        )
    ).first()
    if proposal is None:
        raise NotAllowed(NO_PROPOSAL)
    return proposal
