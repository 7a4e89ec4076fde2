"""The prompt studio: check a request, start it as a durable job, run it, keep the library.

A generation is a row plus a job. The job's task is idempotent: it records the
provider's request id before waiting, so after a restart it resumes polling
instead of paying twice, and it replaces (never duplicates) outputs when a
crashed attempt already stored some.
"""

from __future__ import annotations

import asyncio
import functools
import random
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from assetry import db
from assetry.config import Settings, get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.integrations import hooks
from assetry.integrations.generation import CaptionRequest, ImageRequest, MediaFile, VideoRequest
from assetry.jobs import queue
from assetry.jobs.task import Context, Fail
from assetry.models import Generation, GenerationOutput, PostLink, User
from assetry.models.base import utcnow
from assetry.models.runs import ACTIVE, CANCELLED, CANCELLING, QUEUED, RUNNING, SUCCEEDED
from assetry.services import best_posts, catalog, changes, covers, media, providers, what_works
from assetry.services.validation import clean_text

TASK = "studio.generate"
POLL_SECONDS = 2.0
# What a generation's change note says besides its owner (`changes.notice`, from the row as
# changed): enough for a page that shows the row to show where it now stands without reading it.
NOTED = {
    "id": Generation.id,
    "status": Generation.status,
    "phase": Generation.phase,
    "position": Generation.queue_position,
    "started_at": Generation.started_at,
}


@dataclass(frozen=True)
class StudioRequest:
    """What the studio form sends."""

    kind: str
    prompt: str
    model_key: str
    aspect_ratio: str = "9:16"
    duration_s: int = 5
    count: int = 1
    tone: str = "friendly"
    length: str = "short"
    hashtags: bool = True
    # Captions only: the style of each caption's first line (integrations.hooks), or "any".
    hook: str = hooks.ANY
    # Captions only: use the creator's best-performing posts as examples ("write like my best posts").
    learn_from_best: bool = False
    seed: int | None = None


@dataclass(frozen=True)
class Quote:
    """What a request will cost and how long it usually takes, before it starts."""

    cost_usd: float
    typical_seconds: int
    choice: catalog.ModelChoice


def check(settings: Settings, request: StudioRequest) -> Quote:
    """Validate a request against the chosen model; BadInput says what to change."""
    if request.kind not in catalog.KINDS:
        raise BadInput("Choose what to make: a video, an image or captions.")
    clean_text(request.prompt, field="prompt", max_length=settings.prompt_max_chars)
    choice = catalog.find(settings, request.model_key, request.kind)
    offered = catalog.form_options(choice)
    if request.kind in (catalog.IMAGE, catalog.VIDEO) and request.aspect_ratio not in offered.aspects:
        raise BadInput(
            f"{choice.label} can't make {request.aspect_ratio}; pick {', '.join(offered.aspects)}."
        )
    if request.kind == catalog.VIDEO and request.duration_s not in choice.durations:
        allowed = ", ".join(f"{d} s" for d in choice.durations)
        raise BadInput(f"{choice.label} makes videos of {allowed}.")
    if request.kind != catalog.VIDEO and not 1 <= request.count <= choice.max_count:
        raise BadInput(f"Ask for between 1 and {choice.max_count} at a time.")
    if request.kind == catalog.CAPTION and (
        request.tone not in catalog.TONES or request.length not in catalog.LENGTHS
    ):
        raise BadInput("Pick a tone and a length from the lists.")
    if request.kind == catalog.CAPTION and request.hook not in hooks.CHOICES:
        raise BadInput(f"Pick a hook from the list: {', '.join(hooks.CHOICES)}.")
    seconds = choice.typical_seconds * (request.duration_s if choice.unit == "second" else 1)
    cost = choice.cost(count=request.count, duration_s=request.duration_s)
    return Quote(cost_usd=cost, typical_seconds=max(1, seconds), choice=choice)


async def start(
    user_id: uuid.UUID,
    request: StudioRequest,
    *,
    client_request_id: str,
    parent_id: uuid.UUID | None = None,
) -> Generation:
    """Record the generation and queue its job; the same client request id gives the same generation."""
    settings = get_settings()
    quote = check(settings, request)
    client_request_id = client_request_id[:128]
    generation = Generation(
        user_id=user_id,
        kind=request.kind,
        prompt=request.prompt.strip(),
        options=_options(request),
        provider=quote.choice.provider,
        model=quote.choice.model,
        seed=request.seed if request.seed is not None else random.randrange(2**31),
        cost_usd=quote.cost_usd,
        parent_id=parent_id,
        client_request_id=client_request_id,
    )
    try:
        async with db.user_session(user_id) as session:
            # One round trip: the same click's generation if any, else the limits (and the note
            # that the studio changed, sent only if this transaction commits).
            if existing := await _check_limits(session, settings, user_id, client_request_id):
                return existing
            generation.job_id = await queue.enqueue(
                session, TASK, {"generation_id": str(generation.id)}, user_id=user_id
            )
            session.add(generation)
            await session.flush()  # the job goes with its row, or neither stays
    except sa.exc.IntegrityError:  # lost a double-click race: the other click's generation
        async with db.user_session(user_id) as session:
            return await _by_client_request(session, user_id, client_request_id)
    return generation


def request_of(generation: Generation, **changes) -> StudioRequest:
    """The request that made a generation (to re-run it or make variations)."""
    options = generation.options
    fields = {
        "kind": generation.kind,
        "prompt": generation.prompt,
        "model_key": f"{generation.provider}:{generation.model}",
        "aspect_ratio": options.get("aspect_ratio", "9:16"),
        "duration_s": options.get("duration_s", 5),
        "count": options.get("count", 1),
        "tone": options.get("tone", "friendly"),
        "length": options.get("length", "short"),
        "hashtags": options.get("hashtags", True),
        "hook": options.get("hook", hooks.ANY),
        "learn_from_best": options.get("learn_from_best", False),
        "seed": generation.seed,
    }
    return StudioRequest(**(fields | changes))


async def rerun(user_id: uuid.UUID, generation_id: uuid.UUID, *, client_request_id: str) -> Generation:
    """Run the same prompt and options again (same seed)."""
    original = await get(user_id, generation_id)
    return await start(
        user_id, request_of(original), client_request_id=client_request_id, parent_id=original.id
    )


async def variation(user_id: uuid.UUID, generation_id: uuid.UUID, *, client_request_id: str) -> Generation:
    """The same prompt and options with a new seed."""
    original = await get(user_id, generation_id)
    changed = request_of(original, seed=random.randrange(2**31))
    return await start(user_id, changed, client_request_id=client_request_id, parent_id=original.id)


async def cancel(user_id: uuid.UUID, generation_id: uuid.UUID) -> Generation:
    """Stop a queued or running generation: a queued one is cancelled at once, a running one
    is "cancelling" until its worker stops it (and the provider, where it can)."""
    async with db.user_session(user_id) as session:
        generation = await _owned(session, user_id, generation_id)
        if generation.status not in (QUEUED, RUNNING) or generation.job_id is None:
            raise BadInput("This generation has already finished.")
        if await queue.cancel(session, generation.job_id):
            _end(generation, CANCELLED, "Cancelled.")
        else:
            generation.status = CANCELLING
        await changes.notify(session, user_id, changes.GENERATION, _noted_values(generation))
    return generation


async def get(user_id: uuid.UUID, generation_id: uuid.UUID) -> Generation:
    async with db.user_session(user_id) as session:
        return await _owned(session, user_id, generation_id)


async def outputs_of(user_id: uuid.UUID, generation_ids: list[uuid.UUID]) -> list[GenerationOutput]:
    """The outputs of these generations, in order."""
    if not generation_ids:
        return []
    async with db.user_session(user_id) as session:
        return await _outputs_of(session, user_id, generation_ids)


async def _outputs_of(
    session: AsyncSession, user_id: uuid.UUID, generation_ids: list[uuid.UUID]
) -> list[GenerationOutput]:
    if not generation_ids:
        return []
    query = (
        select(GenerationOutput)
        .where(GenerationOutput.user_id == user_id, col(GenerationOutput.generation_id).in_(generation_ids))
        .order_by(GenerationOutput.generation_id, GenerationOutput.position)
    )
    return list((await session.exec(query)).all())


_SIMPLE = sa.literal_column("'simple'::regconfig")  # the text-search configuration of alembic 0019


def _starts_of_words(search: str) -> str:
    """A text-search query in which each word typed must start a word of the prompt, in any order:
    "surf gold" finds "golden hour, a surfer". Each word is quoted whole, so nothing typed is read
    as an operator; Postgres splits it as it split the prompt ("golden-hour", "it's")."""
    quoted = ("'" + word.replace("\\", "\\\\").replace("'", "''") + "':*" for word in search.split())
    return " & ".join(quoted)


@dataclass(frozen=True)
class LibraryEntry:
    """A generation as a library page lists it: what its card shows, its cover (the first file,
    else the first caption) and its place in the order."""

    id: uuid.UUID
    user_id: uuid.UUID
    kind: str
    prompt: str
    provider: str
    status: str
    created_at: datetime
    cover_key: str | None  # the first file's storage key (None: no file)
    cover_type: str | None  # its content type
    first_caption: str | None  # the first caption's text, if any
    # The file's small cover (`covers.sources`): a data: URL from a local folder, if it has one;
    # a presigned link from a bucket.
    cover_src: str | None = None


@dataclass(frozen=True)
class LibraryCursor:
    """Where a library page ended: its last generation's creation time and id (the sort key)."""

    created_at: datetime
    id: uuid.UUID

    @classmethod
    def below(cls, generation: Generation | LibraryEntry) -> LibraryCursor:
        """The cursor of the next page after this generation."""
        return cls(created_at=generation.created_at, id=generation.id)


@dataclass(frozen=True)
class LibraryPage:
    """A page of the library, newest first; and the counts."""

    generations: list[LibraryEntry]
    total: int | None  # the generations that match the filters (None: not asked for)
    everything: int | None  # all of them, whatever the filters (None: not asked for)


async def library(
    user_id: uuid.UUID,
    *,
    kind: str = "",
    status: str = "",
    search: str = "",
    since: date | None = None,
    until: date | None = None,
    limit: int = 48,
    after: LibraryCursor | None = None,
    before: LibraryCursor | None = None,
    count: bool = True,
    everything: bool = False,
) -> LibraryPage:
    """A page of the user's generations, each with its cover, newest first, and (with `count`) how
    many match: the first page, the one after `after` (older), or the one just before `before`
    (newer); with `everything`, also how many there are whatever the filters.

    Pages by keyset, not offset: the next page starts below the last one shown, so rows
    that share a creation time are neither repeated nor skipped, and a deep page costs
    what the first does. One transaction: a statement for each count, the page and its covers,
    in columns (a model per row cost more than the query).
    A page further down needs no count: what it can reach was counted with the first page.
    The image covers (`covers`) are read from the media store after it, beside each file."""
    mine = Generation.user_id == user_id
    filters = []
    if kind:
        filters.append(Generation.kind == kind)
    if status:
        filters.append(Generation.status == status)
    if search.strip():
        # Matched on the prompt-words index by a function of alembic 0019: under row-level
        # security the match itself could use no index.
        words = sa.func.to_tsquery(_SIMPLE, _starts_of_words(search[:200]))
        filters.append(col(Generation.id) == sa.any_(sa.func.generation_ids_with_words(words)))
    if since:
        filters.append(Generation.created_at >= datetime.combine(since, time.min, UTC))
    if until:
        filters.append(Generation.created_at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    key = sa.tuple_(col(Generation.created_at), col(Generation.id))
    newest_first = (col(Generation.created_at).desc(), col(Generation.id).desc())
    async with db.user_session(user_id) as session:
        total = await _count(session, mine, *filters) if count or everything else None
        all_of_them = (await _count(session, mine) if filters else total) if everything else None
        if after is not None:
            filters.append(key < sa.tuple_(after.created_at, after.id))
        if before is not None:
            filters.append(key > sa.tuple_(before.created_at, before.id))
        order = [c.asc() for c in (Generation.created_at, Generation.id)] if before else newest_first
        query = (
            select(
                Generation.id,
                Generation.user_id,
                Generation.kind,
                Generation.prompt,
                Generation.provider,
                Generation.status,
                Generation.created_at,
            )
            .where(mine, *filters)
            .order_by(*order)
            .limit(min(limit, 200))
        )
        rows = (await session.exec(query)).all()
        firsts = await _covers(session, user_id, [row[0] for row in rows])
    # Covers are made of images only (a video card plays the video itself).
    images = [key for key, kind, _ in firsts.values() if key and kind and kind.startswith("image/")]
    shown = await covers.sources(media.store(), images)
    entries = []
    for row in rows:
        key, kind, caption = firsts.get(row[0], (None, None, None))
        entries.append(LibraryEntry(*row, key, kind, caption, shown.get(key or "")))
    if before:
        entries.reverse()
    return LibraryPage(generations=entries, total=total, everything=all_of_them)


async def _covers(
    session: AsyncSession, user_id: uuid.UUID, generation_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[str | None, str | None, str | None]]:
    """Each generation's first file (storage key, content type) and first caption, by position.

    A statement of its own with the page's ids written out: joined to the page in one statement
    (by lateral or by a semi-join), row-level security left the planner no estimates, and it read
    all the owner's outputs once per card."""
    if not generation_ids:
        return {}
    query = (
        select(
            GenerationOutput.generation_id,
            GenerationOutput.storage_key,
            GenerationOutput.content_type,
            GenerationOutput.text,
        )
        .where(GenerationOutput.user_id == user_id, col(GenerationOutput.generation_id).in_(generation_ids))
        .order_by(GenerationOutput.generation_id, GenerationOutput.position)
    )
    files: dict[uuid.UUID, tuple[str, str]] = {}
    captions: dict[uuid.UUID, str] = {}
    for generation_id, key, content_type, text in (await session.exec(query)).all():
        if key:
            files.setdefault(generation_id, (key, content_type))
        else:
            captions.setdefault(generation_id, text or "")
    return {
        generation_id: (*files.get(generation_id, (None, None)), captions.get(generation_id))
        for generation_id in generation_ids
    }


async def save_caption(user_id: uuid.UUID, output_id: uuid.UUID, text: str) -> GenerationOutput:
    """Replace a caption's text with the creator's edit."""
    cleaned = clean_text(text, field="caption", max_length=2200)
    async with db.user_session(user_id) as session:
        output = await session.get(GenerationOutput, output_id)
        if output is None or output.user_id != user_id or output.text is None:
            raise NotAllowed("That caption isn't in your library.")
        output.text, output.edited_at = cleaned, utcnow()
    return output


async def delete(user_id: uuid.UUID, generation_id: uuid.UUID) -> None:
    """Delete a generation, its outputs and their files; a running one is cancelled first."""
    async with db.user_session(user_id) as session:
        generation = await _owned(session, user_id, generation_id)
        if generation.status in ACTIVE and generation.job_id:
            await queue.cancel(session, generation.job_id)
        outputs = (
            await session.exec(
                select(GenerationOutput).where(GenerationOutput.generation_id == generation_id)
            )
        ).all()
        keys = [o.storage_key for o in outputs if o.storage_key]
        linked = (
            await session.exec(select(PostLink.id).where(PostLink.generation_id == generation_id))
        ).first()
        await session.delete(generation)
        if linked is not None:  # its posts go back to the baseline: What works is computed again
            await what_works.queue_keeping(session, user_id)
    store = media.store()
    # Each file and its cover beside it (an output without one deletes nothing there).
    await asyncio.gather(*(store.delete(each) for key in keys for each in (key, covers.key_of(key))))


async def active_count(user_id: uuid.UUID) -> int:
    async with db.user_session(user_id) as session:
        return await _count(session, Generation.user_id == user_id, col(Generation.status).in_(ACTIVE))


# ----- the job -------------------------------------------------------------------------------


async def job_ended(payload: dict, status: str, message: str) -> None:
    """A generation's job failed or was cancelled: stop the provider (a cancelled one it runs at),
    then say so on the generation, so "Cancelled" means the provider heard it."""
    generation_id = uuid.UUID(payload["generation_id"])
    async with db.service_session() as session:
        generation = await session.get(Generation, generation_id)
    if generation is None or generation.status not in ACTIVE:
        return
    if status == CANCELLED and generation.provider_request_id:
        try:
            await providers.cancel_remote(
                generation.provider, generation.model, generation.provider_request_id
            )
        finally:  # a provider that cannot be told still leaves the generation cancelled here
            await _mark_ended(generation_id, status, message)
        return
    await _mark_ended(generation_id, status, message)


async def _mark_ended(generation_id: uuid.UUID, status: str, message: str) -> None:
    """Ended, and the owner's pages told, in one statement (not if it ended meanwhile)."""
    async with db.service_session() as session:
        await session.exec(
            sa.update(Generation)
            .where(Generation.id == generation_id, col(Generation.status).in_(ACTIVE))
            .values(_ended_values(status, message))
            .returning(changes.notice(Generation.user_id, changes.GENERATION))
        )


async def run_generation(ctx: Context) -> dict:
    generation_id = uuid.UUID(ctx.payload["generation_id"])
    async with db.service_session() as session:
        # One round trip: marked running (a cancelling one stays so), read, and the page told.
        generation = (
            await session.exec(
                sa.update(Generation)
                .where(Generation.id == generation_id, col(Generation.status).not_in((SUCCEEDED, CANCELLED)))
                .values(
                    status=sa.case((Generation.status == CANCELLING, Generation.status), else_=RUNNING),
                    phase="running",
                    started_at=sa.func.coalesce(Generation.started_at, utcnow()),
                )
                .returning(Generation, changes.notice(Generation.user_id, changes.GENERATION, NOTED))
            )
        ).first()
        if generation is None:
            if await session.get(Generation, generation_id) is None:  # deleted while queued
                return {"skipped": "deleted"}
            return {"outputs": "kept"}  # a rerun after the work was saved or stopped
        generation = generation[0]
    await ctx.checkpoint()
    produced = await _produce(ctx, generation)
    await ctx.checkpoint()
    await _save_outputs(generation, produced)
    return {"outputs": len(produced)}


async def _produce(ctx: Context, generation: Generation) -> list[MediaFile | str]:
    provider = providers.for_generation(generation.provider)
    try:
        return await _produce_with(ctx, provider, generation)
    finally:
        if hasattr(provider, "aclose"):
            await provider.aclose()


async def _produce_with(ctx: Context, provider, generation: Generation) -> list[MediaFile | str]:
    options = generation.options
    if generation.kind == catalog.CAPTION:
        examples = (
            (await best_posts.examples(generation.user_id)).captions if options.get("learn_from_best") else []
        )
        return list(
            await provider.captions(
                CaptionRequest(
                    prompt=generation.prompt,
                    model=generation.model,
                    tone=options.get("tone", "friendly"),
                    length=options.get("length", "short"),
                    hashtags=options.get("hashtags", True),
                    hook=options.get("hook", hooks.ANY),
                    count=options.get("count", 3),
                    examples=examples,
                )
            )
        )
    if generation.kind == catalog.IMAGE:
        request: ImageRequest | VideoRequest = ImageRequest(
            prompt=generation.prompt,
            model=generation.model,
            aspect_ratio=options.get("aspect_ratio", "1:1"),
            count=options.get("count", 1),
            seed=generation.seed,
        )
    else:
        request = VideoRequest(
            prompt=generation.prompt,
            model=generation.model,
            aspect_ratio=options.get("aspect_ratio", "9:16"),
            duration_s=options.get("duration_s", 5),
            seed=generation.seed,
            audio=_audio(generation),
        )
    if generation.provider in providers.QUEUED_PROVIDERS:
        return await _through_queue(ctx, provider, generation, request)
    if isinstance(request, ImageRequest):
        return list(await provider.images(request))
    return [await provider.video(request)]


async def _through_queue(ctx: Context, provider, generation: Generation, request) -> list[MediaFile]:
    """Submit once (the request id is saved before waiting), poll until done, download the files."""
    request_id = generation.provider_request_id
    if not request_id:
        submit = provider.submit_image if isinstance(request, ImageRequest) else provider.submit_video
        request_id = await submit(request)
        async with db.service_session() as session:
            await session.exec(
                sa.update(Generation)
                .where(Generation.id == generation.id)
                .values(provider_request_id=request_id)
            )
    while True:
        status = await provider.status(generation.model, request_id)
        if status.state == "COMPLETED":
            break
        phase = "in_queue" if status.state == "IN_QUEUE" else "running"
        await _progress(generation, phase, status.position)
        await ctx.checkpoint()
        await asyncio.sleep(POLL_SECONDS)
    output = await provider.result(generation.model, request_id)
    limit = get_settings().max_media_bytes
    return [await provider.download(url, limit) for url in output.urls]


async def _save_outputs(generation: Generation, produced: list[MediaFile | str]) -> None:
    settings = get_settings()
    store = media.store()
    rows = []
    for position, item in enumerate(produced):
        if isinstance(item, str):
            rows.append(GenerationOutput(user_id=generation.user_id, generation_id=generation.id,
                                         position=position, text=item))  # fmt: skip
            continue
        if len(item.content) > settings.max_media_bytes:
            raise Fail(
                f"The provider sent a file of {len(item.content) / 1e6:.0f} MB; the limit is "
                f"{settings.max_media_bytes / 1e6:.0f} MB. Try a shorter video or a smaller size."
            )
        key = media.key_for(generation.user_id, generation.id, position, item.content_type)
        await covers.save(store, key, item.content, item.content_type)
        rows.append(
            GenerationOutput(
                user_id=generation.user_id,
                generation_id=generation.id,
                position=position,
                storage_key=key,
                content_type=item.content_type,
                size_bytes=len(item.content),
                width=item.width,
                height=item.height,
                duration_s=item.duration_s,
            )
        )
    async with db.service_session() as session:
        await session.exec(sa.delete(GenerationOutput).where(GenerationOutput.generation_id == generation.id))
        session.add_all(rows)
        await session.flush()
        # Ended and the page told, in one statement (nothing is told if the row is gone).
        await session.exec(
            sa.update(Generation)
            .where(Generation.id == generation.id)
            .values(_ended_values(SUCCEEDED, ""))
            .returning(changes.notice(Generation.user_id, changes.GENERATION))
        )


async def _progress(generation: Generation, phase: str, position: int | None) -> None:
    async with db.service_session() as session:
        await session.exec(
            sa.update(Generation)
            .where(Generation.id == generation.id)
            .values(phase=phase, queue_position=position)
            .returning(changes.notice(Generation.user_id, changes.GENERATION, NOTED))
        )


def _end(generation: Generation, status: str, message: str) -> None:
    for name, value in _ended_values(status, message).items():
        setattr(generation, name, value)


def _ended_values(status: str, message: str) -> dict:
    return {
        "status": status,
        "error": message[:2000],
        "finished_at": utcnow(),
        "phase": "",
        "queue_position": None,
    }


def _audio(generation: Generation) -> bool | None:
    """Whether to ask the video model for sound: the catalog's choice (priced so), None if it has no switch."""
    entry = catalog.known(generation.provider, generation.model)
    return entry.audio if entry is not None else None


def _options(request: StudioRequest) -> dict:
    if request.kind == catalog.VIDEO:
        return {"aspect_ratio": request.aspect_ratio, "duration_s": request.duration_s}
    if request.kind == catalog.IMAGE:
        return {"aspect_ratio": request.aspect_ratio, "count": request.count}
    return {
        "tone": request.tone,
        "length": request.length,
        "hashtags": request.hashtags,
        "hook": request.hook,
        "count": request.count,
        "learn_from_best": request.learn_from_best,
    }


async def _owned(session: AsyncSession, user_id: uuid.UUID, generation_id: uuid.UUID) -> Generation:
    generation = await session.get(Generation, generation_id)
    if generation is None or generation.user_id != user_id:
        raise NotAllowed("That generation isn't in your library (it may have been deleted).")
    return generation


async def _by_client_request(
    session: AsyncSession, user_id: uuid.UUID, client_request_id: str
) -> Generation | None:
    query = select(Generation).where(
        Generation.user_id == user_id, Generation.client_request_id == client_request_id
    )
    return (await session.exec(query)).first()


async def _check_limits(
    session: AsyncSession, settings: Settings, user_id: uuid.UUID, client_request_id: str
) -> Generation | None:
    """The generation this click already started, if any; else BadInput when a limit is reached."""
    today = datetime.combine(utcnow().date(), time.min, UTC)
    mine = Generation.user_id == user_id

    def counted(*filters) -> sa.ScalarSelect:
        return select(sa.func.count()).select_from(Generation).where(mine, *filters).scalar_subquery()

    # One round trip: the same click's generation, today's count, the running count, the user's
    # own quota (an admin may set one; otherwise the site-wide one applies), and the note.
    same_click = select(Generation.id).where(mine, Generation.client_request_id == client_request_id)
    existing_id, used, running, own_quota, _noted = (
        await session.exec(
            select(
                same_click.scalar_subquery(),
                counted(Generation.created_at >= today),
                counted(col(Generation.status).in_(ACTIVE)),
                select(User.daily_quota).where(User.id == user_id).scalar_subquery(),
                changes.notice(user_id, changes.GENERATION),
            )
        )
    ).one()
    if existing_id is not None:
        return await session.get(Generation, existing_id)
    quota = settings.daily_generation_quota if own_quota is None else own_quota
    if used >= quota:
        raise BadInput(f"You've used all {quota} generations for today. Your quota resets at midnight UTC.")
    if running >= settings.max_concurrent_generations:
        raise BadInput(
            f"You already have {running} generations in progress, the most at once. "
            "Wait for one to finish or cancel one."
        )
    return None


async def _count(session: AsyncSession, *filters) -> int:
    return await session.scalar(select(sa.func.count()).select_from(Generation).where(*filters)) or 0


@dataclass(frozen=True)
class InProgress:
    """A generation still queued, running or cancelling, with its live progress."""

    generation: Generation
    phase: str  # queued | in_queue | running | cancelling
    position: int | None


async def in_progress(user_id: uuid.UUID) -> list[InProgress]:
    """The user's queued and running generations, oldest first, with live progress."""
    async with db.user_session(user_id) as session:
        return await _in_progress(session, user_id)


async def _in_progress(session: AsyncSession, user_id: uuid.UUID) -> list[InProgress]:
    rows = (
        await session.exec(
            select(Generation)
            .where(Generation.user_id == user_id, col(Generation.status).in_(ACTIVE))
            .order_by(Generation.created_at)
        )
    ).all()
    return [_in_progress_of(generation) for generation in rows]


def _in_progress_of(generation: Generation) -> InProgress:
    return InProgress(
        generation=generation,
        phase=_phase_of(generation.status, generation.phase),
        position=generation.queue_position,
    )


def _noted_values(generation: Generation) -> dict:
    """The note's row (`NOTED`) of a generation changed in Python rather than by an UPDATE."""
    return {name: getattr(generation, column.key) for name, column in NOTED.items()}


def _phase_of(status: str, phase: str) -> str:
    return status if status != RUNNING else phase or RUNNING


@dataclass(frozen=True)
class Noted:
    """Where a generation in progress stands, as its change note says (see `NOTED`)."""

    id: str
    status: str
    phase: str  # as `InProgress.phase`
    position: int | None
    started_at: datetime | None


def noted(note: dict) -> Noted | None:
    """What a change note says of a generation in progress; None when it names none, or one that
    ended (a page reads an ended one, with its outputs)."""
    if note.get("what") != changes.GENERATION or note.get("status") not in ACTIVE:
        return None
    try:
        started = note.get("started_at")
        return Noted(
            id=str(uuid.UUID(note["id"])),
            status=note["status"],
            phase=_phase_of(note["status"], note.get("phase") or ""),
            position=None if note.get("position") is None else int(note["position"]),
            started_at=None if started is None else datetime.fromisoformat(started),
        )
    except (KeyError, TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Overview:
    """What the studio shows: the generations in progress, and the latest ended ones with their outputs."""

    running: list[InProgress]
    ended: list[tuple[Generation, list[GenerationOutput]]]


@functools.cache
def _running_and_latest() -> sa.Select:
    """The generations of `user_id` in progress and their latest `ended` ended ones, oldest first:
    built once, as every studio load and pushed change asks (building it cost about as much as running it)."""
    mine = Generation.user_id == sa.bindparam("user_id")
    active = col(Generation.status).in_(ACTIVE)
    latest_ended = (
        select(Generation.id)
        .where(mine, sa.not_(active))
        .order_by(col(Generation.created_at).desc(), col(Generation.id).desc())
        .limit(sa.bindparam("ended", type_=sa.Integer()))
    )
    return (
        select(Generation)
        .where(mine, sa.or_(active, col(Generation.id).in_(latest_ended)))
        .order_by(Generation.created_at, Generation.id)
    )


async def overview(user_id: uuid.UUID, *, ended: int) -> Overview:
    """The studio's view of this user's work, read in one transaction (a pushed change re-reads it):
    one query for the generations in progress and the latest ended ones, one for their outputs."""
    async with db.user_session(user_id) as session:
        rows = (await session.exec(_running_and_latest(), params={"user_id": user_id, "ended": ended})).all()
        latest = [g for g in reversed(rows) if g.status not in ACTIVE]
        outputs = await _outputs_of(session, user_id, [g.id for g in latest])
    running = [_in_progress_of(g) for g in rows if g.status in ACTIVE]
    return Overview(running, _paired(latest, outputs))


def _paired(
    generations: Iterable[Generation], outputs: list[GenerationOutput]
) -> list[tuple[Generation, list[GenerationOutput]]]:
    """Each generation with its outputs, in the generations' order."""
    by_generation: dict[uuid.UUID, list[GenerationOutput]] = {}
    for output in outputs:
        by_generation.setdefault(output.generation_id, []).append(output)
    return [(g, by_generation.get(g.id, [])) for g in generations]
