"""Privacy rights made true: export ("port my data"), account deletion, and the retention purges.

Everything here walks the ownership map (`services.ownership`), so a table added
to the schema is exported and purged as soon as it has its entry there.

- Export: one background job per user at a time; a ZIP (README, JSON and CSV per
  kind of record, the media files stored as they are: they are compressed already)
  streamed into the media store under the user's id (`integrations.storage`: the
  local folder, or the bucket in parts), so memory stays bounded for any library
  size and no half-written archive is ever visible. It is downloaded through a
  signed app link that expires with the archive (7 days): the app checks the owner,
  then streams the local file or redirects to a presigned bucket link that expires
  in minutes. A retention job deletes the archive after its 7 days.
- Deletion: after the password is re-entered the account is closed at once (sessions
  revoked, log-in refused, provider tokens revoked), and a purge job removes every
  row and file of the user after `DELETION_GRACE_DAYS`. Each purge step is
  idempotent, so a purge that crashed half-way finishes when it runs again.
  Rows that name the person without being theirs go too: emails to their address
  (the deletion confirmation once it is no longer waiting to be sent; if it still is,
  delivery removes it), jobs whose payload names them, support messages sent with
  their address, their id in the addresses of pages admins viewed. Audit entries about
  them stay, pointing at "deleted account <random reference>" instead of their id or
  email; the purge job's own row keeps no id either.
- Retention (90 days, the policy's window for logs): usage and technical logs,
  finished jobs and emails in the outbox older than that are deleted; audit entries
  older than that keep only what was done and when (actor, target and detail
  cleared). Expired export archives and accounts past their grace period are purged
  on a schedule too. Purges log counts, never contents.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import secrets
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

import sqlalchemy as sa
from sqlmodel import col, select

from assetry import db, logs
from assetry.config import get_settings, signing_secret
from assetry.errors import BadInput, NotAllowed, ProviderError
from assetry.integrations.storage import COPY_CHUNK, StorageUnavailable, Upload, export_key
from assetry.jobs import queue
from assetry.jobs.task import Context, Fail, Retry
from assetry.models import (
    ActiveDay,
    AuditEntry,
    AuthSession,
    ConnectedAccount,
    DailyActiveCount,
    DataExport,
    FormSubmission,
    Generation,
    GenerationOutput,
    LoginAttempt,
    OAuthState,
    OutboxMessage,
    SupportMessage,
    UsageEvent,
    User,
    metadata,
)
from assetry.models.base import utcnow
from assetry.models.mail import QUEUED as MAIL_QUEUED
from assetry.models.runs import ACTIVE, RUNNING, SUCCEEDED
from assetry.services import (
    accounts,
    audit,
    changes,
    connections,
    covers,
    local_time,
    mail,
    media,
    ownership,
    platforms,
    usage,
)
from assetry.services.credentials import credentials

log = logging.getLogger(__name__)

EXPORT_KIND = "privacy.export"
PURGE_KIND = "privacy.purge"
RETENTION_DAYS = 90
# The IPs of sign-up, waitlist and link-resend forms: only as long as the per-IP throttle looks back.
FORM_SUBMISSIONS_KEPT = timedelta(days=1)
EXPORT_DAYS = 7
BATCH = 2000
COPY_BATCH_BYTES = 1024 * 1024
# A CSV cell starting so is a formula to a spreadsheet app, unless it is a number ("-5").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMBER = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
PROGRESS_EVERY_SECONDS = 0.5
# The records wait beside the archive while its media go in: in memory up to this, beyond in an
# anonymous temporary file (no name on disk, gone with the process).
RECORDS_IN_MEMORY = 16 * 1024 * 1024
WRONG_PASSWORD = "That password is not right. Nothing was deleted."
EXPORT_STORAGE_DOWN = (
    "Your export could not be saved: our file storage did not answer, so nothing was kept. "
    "Start a new export in a few minutes."
)
# How long a presigned bucket link to an export works: it is made afresh at each click.
EXPORT_LINK_SECONDS = 900

Progress = Callable[..., Awaitable[None]]


# ----- export ----------------------------------------------------------------------------


def _legacy_archives(user_id: uuid.UUID) -> Path:
    """Where archives were kept before they moved into the media store (deleted with the account)."""
    return get_settings().data_dir / "exports" / str(user_id)


@dataclass(frozen=True)
class ExportStatus:
    """The user's latest export as the settings page shows it."""

    job_id: uuid.UUID
    status: str  # queued | running | succeeded | failed | cancelled | expired
    percent: int
    phase: str
    error: str
    size_bytes: int
    expires_at: datetime | None
    download_url: str


async def request_export(user_id: uuid.UUID) -> DataExport:
    """Start an export, or return the one already queued or running (one at a time per user)."""
    async with db.service_session() as session:
        user = await db.locked(session, User, user_id)  # two clicks at once: the second waits here
        if user is None or user.deleted_at is not None:
            raise NotAllowed("Please log in again.")
        active = (
            await session.exec(
                select(DataExport).where(DataExport.user_id == user_id, col(DataExport.status).in_(ACTIVE))
            )
        ).first()
        if active:
            return active
        export = DataExport(user_id=user_id)
        session.add(export)
        await session.flush()
        await queue.enqueue(session, EXPORT_KIND, {"export_id": str(export.id)}, user_id=user_id)
        audit.record(session, actor_id=user_id, action="privacy.export_requested", target=str(export.id))
        await _notify_export(session, user, "export_requested", {})
        await changes.notify(session, user_id, changes.EXPORT)
    return export


async def _notify_export(session, user: User, template: str, context: dict) -> None:
    """Queue an email about the user's export in the caller's transaction."""
    await mail.send(
        session,
        to=user.email,
        template=template,
        context={"name": user.display_name, **context},
        user_id=user.id,
    )


async def latest_export(user_id: uuid.UUID, *, now: datetime | None = None) -> ExportStatus | None:
    """The user's most recent export, with a download link while its archive is there."""
    now = now or utcnow()
    async with db.user_session(user_id) as session:
        export = (
            await session.exec(
                select(DataExport)
                .where(DataExport.user_id == user_id)
                .order_by(col(DataExport.created_at).desc())
                .limit(1)
            )
        ).first()
    if export is None:
        return None
    expires_at = export.expires_at
    status, url = export.status, ""
    if export.status == SUCCEEDED:
        if export.archive_deleted or expires_at is None or expires_at <= now:
            status = "expired"
        else:
            url = export_link(export.id, user_id, expires_at)
    return ExportStatus(
        job_id=export.id,
        status=status,
        percent=100 if export.status == SUCCEEDED else export.percent,
        phase=export.phase,
        error=export.error if export.status not in (*ACTIVE, SUCCEEDED) else "",
        size_bytes=export.size_bytes,
        expires_at=expires_at,
        download_url=url,
    )


def _link_secret() -> bytes:
    # Derived, so a media URL's signature never passes as an export link's (and back).
    return hmac.new(signing_secret(get_settings()), b"assetry export links", hashlib.sha256).digest()


def export_link(job_id: uuid.UUID, owner: uuid.UUID, expires_at: datetime) -> str:
    """A signed link to an export archive, valid until the archive expires, for its owner only."""
    body = json.dumps(
        {"j": str(job_id), "o": str(owner), "e": int(expires_at.timestamp())}, separators=(",", ":")
    ).encode()
    mac = hmac.new(_link_secret(), body, hashlib.sha256).digest()
    return f"/exports/{_b64(body)}.{_b64(mac)}"


def read_export_link(token: str, *, now: datetime | None = None) -> tuple[uuid.UUID, uuid.UUID] | None:
    """(job id, owner) from an export link's token, or None when tampered with or expired."""
    try:
        body_b64, mac_b64 = token.split(".", 1)
        body, mac = _unb64(body_b64), _unb64(mac_b64)
    except (ValueError, TypeError):
        return None
    if not hmac.compare_digest(mac, hmac.new(_link_secret(), body, hashlib.sha256).digest()):
        return None
    fields = json.loads(body)
    if fields["e"] <= (now or utcnow()).timestamp():
        return None
    return uuid.UUID(fields["j"]), uuid.UUID(fields["o"])


@dataclass(frozen=True)
class ExportDownload:
    """A presigned `link` to the archive in the bucket, or its `chunks` to stream from this machine."""

    filename: str
    link: str | None = None
    size: int = 0
    chunks: AsyncIterator[bytes] | None = None


EXPORT_GONE = "This download link has expired or is not valid. Start a new export from Settings."


async def open_export(token: str, session_token: str) -> ExportDownload:
    """Check an export link and the browser's session; FileNotFoundError or NotAllowed when refused."""
    found = read_export_link(token)
    if found is None:
        raise FileNotFoundError(EXPORT_GONE)
    job_id, owner = found
    user = await accounts.user_for_token(session_token)
    if user is None or user.id != owner:
        raise NotAllowed("Log in to the account this export belongs to.")
    async with db.user_session(user.id) as session:
        export = await session.get(DataExport, job_id)
    if (
        export is None
        or export.user_id != user.id
        or export.status != SUCCEEDED
        or export.archive_deleted
        or export.expires_at is None
        or export.expires_at <= utcnow()
    ):
        raise FileNotFoundError(EXPORT_GONE)
    store, key = media.store(), export_key(user.id, export.id)
    stamp = export.finished_at or export.created_at
    filename = f"assetry-export-{stamp:%Y-%m-%d}.zip"
    link = store.link(
        key, filename=filename, content_type="application/zip", download=True, ttl_seconds=EXPORT_LINK_SECONDS
    )
    if link is not None:
        return ExportDownload(filename=filename, link=link)
    size = await store.size(key)
    if size is None:
        raise FileNotFoundError(EXPORT_GONE)
    return ExportDownload(filename=filename, size=size, chunks=store.stream(key))


async def run_export(ctx: Context) -> dict:
    export_id, user_id = uuid.UUID(ctx.payload["export_id"]), uuid.UUID(ctx.payload["user_id"])
    await _set_export(export_id, status=RUNNING)

    async def progress(percent: int, phase: str) -> None:
        await _set_export(export_id, percent=percent, phase=phase)

    try:
        result = await build_export(user_id, export_id, progress=progress)
    except StorageUnavailable:
        log.warning("export %s: the file storage did not answer (attempt %d)", export_id, ctx.attempt)
        await _set_export(export_id, phase="The file storage did not answer; trying again")
        raise ProviderError(EXPORT_STORAGE_DOWN) from None  # retried; its last failure is shown
    expires_at = datetime.fromisoformat(result["expires_at"])
    async with db.service_session() as session:
        user = await session.get(User, user_id)
        if user is not None and user.deleted_at is None:
            expires = local_time.moment_in(expires_at, user.time_zone)
            await _notify_export(session, user, "export_ready", {"expires": expires})
    await _set_export(export_id, status=SUCCEEDED, size_bytes=result["size"], expires_at=expires_at,
                      finished_at=utcnow())  # fmt: skip
    return result


async def export_ended(payload: dict, status: str, message: str) -> None:
    """The export's job failed or was stopped: the settings page says so."""
    await _set_export(
        uuid.UUID(payload["export_id"]), status=status, error=message[:2000], finished_at=utcnow()
    )


async def _set_export(export_id: uuid.UUID, **values) -> None:
    async with db.service_session() as session:
        changed = await session.exec(
            sa.update(DataExport)
            .where(DataExport.id == export_id)
            .values(**values)
            .returning(DataExport.user_id)
        )
        for user_id in changed.scalars().all():
            await changes.notify(session, user_id, changes.EXPORT)


async def build_export(user_id: uuid.UUID, export_id: uuid.UUID, *, progress: Progress | None = None) -> dict:
    """Write the user's export ZIP into the media store (idempotent: a rerun rewrites it); returns
    what it wrote. Nothing is visible under the archive's key until the whole archive is there."""
    async with db.service_session() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise Fail("This account no longer exists.")
    upload = await asyncio.to_thread(
        media.store().open_upload, export_key(user_id, export_id), "application/zip"
    )
    writer = _ExportWriter(user, upload, progress)
    try:
        await writer.write()
        size = await asyncio.to_thread(upload.commit)
    except BaseException:
        await asyncio.to_thread(upload.discard)
        raise
    expires_at = utcnow() + timedelta(days=EXPORT_DAYS)
    log.info(
        "export %s written: %d records, %d files, %d bytes", export_id, writer.records, writer.files, size
    )
    return {
        "size": size,
        "records": writer.records,
        "files": writer.files,
        "expires_at": expires_at.isoformat(),
    }


class _ExportWriter:
    """Fills one ZIP: the media files, each copied in chunks in one worker-thread call, while
    Postgres writes the records' JSON and CSV beside it; then the records, then the README."""

    def __init__(self, user: User, target: Upload, progress: Progress | None) -> None:
        self.user = user
        self.target = target
        self.progress = progress
        self.records = 0
        self.files = 0
        self.missing: list[str] = []
        self.written: list[tuple[str, str, int]] = []  # (file, description, rows)
        self._last_report = 0.0
        self._records_done = self._media_done = 0.0  # fractions of each

    async def _report(self, phase: str, *, force: bool = False) -> None:
        if self.progress is None:
            return
        if force or time.monotonic() - self._last_report >= PROGRESS_EVERY_SECONDS:
            self._last_report = time.monotonic()
            percent = 30 * self._records_done + 70 * self._media_done
            await self.progress(percent=int(percent), phase=phase)

    async def write(self) -> None:
        # The target is written once, front to back (no seeking back): each entry's sizes
        # follow its data, as the ZIP format allows. Postgres writes the records while the
        # storage serves and takes the media, so the records wait beside the archive, stored,
        # and join it after the media, deflated at level 1 on the way: text shrinks about as well
        # as at the default level, at a third of the work.
        zf = await asyncio.to_thread(zipfile.ZipFile, self.target, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        try:
            with tempfile.SpooledTemporaryFile(RECORDS_IN_MEMORY) as waiting:
                records = zipfile.ZipFile(waiting, "w", zipfile.ZIP_STORED)
                try:
                    # Both run to their end (a failed one is raised then): neither leaves a worker
                    # thread writing into a ZIP that is being closed.
                    ended = await asyncio.gather(
                        self._write_records(records), self._write_media(zf), return_exceptions=True
                    )
                finally:
                    await asyncio.to_thread(records.close)
                for failure in (outcome for outcome in ended if isinstance(outcome, BaseException)):
                    raise failure
                await asyncio.to_thread(_join, waiting, zf)
            await asyncio.to_thread(zf.writestr, "README.txt", self._readme())
        finally:
            await asyncio.to_thread(zf.close)
        await self._report("Done", force=True)

    async def _write_records(self, zf: zipfile.ZipFile) -> None:
        """Every kind of record, all read from one snapshot of the database (a consistent copy)."""
        kinds = [entry for entry in ownership.personal() if entry.export_as]
        async with db.service_session() as session:
            await session.exec(sa.text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY"))
            await session.exec(sa.text("SET LOCAL TIME ZONE 'UTC'"))  # times in the files end in +00:00
            # Every row is read: plan for all of them, not for a cursor's first few (which may walk
            # the whole table's id index instead of sorting this person's rows).
            await session.exec(sa.text("SET LOCAL cursor_tuple_fraction = 1"))
            for done, entry in enumerate(kinds):
                self._records_done = done / len(kinds)
                await self._report(f"Collecting {entry.export_as.replace('_', ' ')}")
                query = sa.select(*ownership.exported_columns(entry)).where(
                    ownership.rows_of(entry, self.user.id, self.user.email)
                )
                rows = await self._write_rows(session, zf, entry.export_as, query)
                self.written.append((entry.export_as, entry.describes, rows))
                self.records += rows
            rows = await self._write_rows(session, zf, "captions", self._captions())
            self.written.append(("captions", "the captions you generated, with their prompts", rows))
        self._records_done = 1.0

    async def _write_rows(self, session, zf: zipfile.ZipFile, name: str, query: sa.Select) -> int:
        """`name`.json (an array of objects) and `name`.csv, in the order of the rows' ids.

        Postgres writes both: each record's JSON (`row_to_json`), and the CSV (`COPY`, its
        cells made by `_csv_cell`). The text reaches the ZIP in batches, off the event loop,
        so memory stays flat however many records there are.
        """
        rows = query.subquery("record")
        as_json = sa.select(sa.cast(sa.func.row_to_json(rows.table_valued()), sa.Text)).order_by(rows.c.id)
        count = 0
        handle = await asyncio.to_thread(zf.open, f"{name}.json", "w", force_zip64=True)
        try:
            found = await session.stream(as_json.execution_options(yield_per=BATCH))
            async for batch in found.partitions(BATCH):
                text = ("[\n  " if count == 0 else ",\n  ") + ",\n  ".join(record for (record,) in batch)
                await asyncio.to_thread(handle.write, text.encode())
                count += len(batch)
            await asyncio.to_thread(handle.write, b"\n]\n" if count else b"[]\n")
        finally:
            await asyncio.to_thread(handle.close)

        as_csv = sa.select(*(_csv_cell(column).label(column.name) for column in rows.c)).order_by(rows.c.id)
        connection = await session.connection()
        compiled = as_csv.compile(dialect=connection.dialect, compile_kwargs={"render_postcompile": True})
        driver = (await connection.get_raw_connection()).driver_connection
        handle = await asyncio.to_thread(zf.open, f"{name}.csv", "w", force_zip64=True)
        try:
            async with (
                driver.cursor() as cursor,
                cursor.copy(
                    f"COPY ({compiled}) TO STDOUT WITH (FORMAT csv, HEADER)", compiled.params
                ) as copy,
            ):
                pending, size = [], 0  # COPY hands over one line at a time: written a batch at once
                async for line in copy:
                    pending.append(line)
                    size += len(line)
                    if size >= COPY_BATCH_BYTES:
                        await asyncio.to_thread(handle.write, b"".join(pending))
                        pending, size = [], 0
                await asyncio.to_thread(handle.write, b"".join(pending))
        finally:
            await asyncio.to_thread(handle.close)
        return count

    def _captions(self) -> sa.Select:
        return (
            sa.select(
                GenerationOutput.id,
                GenerationOutput.generation_id,
                Generation.prompt,
                Generation.model,
                GenerationOutput.position,
                GenerationOutput.text,
                GenerationOutput.edited_at,
                GenerationOutput.created_at,
            )
            .join(Generation, Generation.id == GenerationOutput.generation_id)
            .where(GenerationOutput.user_id == self.user.id, GenerationOutput.text.is_not(None))
        )

    async def _write_media(self, zf: zipfile.ZipFile) -> None:
        query = sa.select(
            GenerationOutput.id, GenerationOutput.storage_key, GenerationOutput.size_bytes
        ).where(GenerationOutput.user_id == self.user.id, GenerationOutput.storage_key.is_not(None))
        async with db.service_session() as session:
            total = (
                await session.scalar(
                    sa.select(sa.func.coalesce(sa.func.sum(GenerationOutput.size_bytes), 0)).where(
                        GenerationOutput.user_id == self.user.id, GenerationOutput.storage_key.is_not(None)
                    )
                )
            ) or 0
        store, done = media.store(), 0

        def copy(key: str) -> bool:
            """One stored file into the ZIP, as it is (images and videos are compressed already);
            False when it is gone from the store."""
            try:
                source = store.open_read(key)
            except FileNotFoundError:
                return False
            info = zipfile.ZipInfo("media/" + key.split("/", 1)[1], date_time=utcnow().timetuple()[:6])
            info.compress_type = zipfile.ZIP_STORED
            with source, zf.open(info, "w", force_zip64=True) as handle:
                shutil.copyfileobj(source, handle, COPY_CHUNK)
            return True

        def add(key: str) -> bool:
            """The file and, beside it, its library cover if it has one; False when the file is gone."""
            if not copy(key):
                return False
            copy(covers.key_of(key))
            return True

        async with db.service_session() as session:
            found = await session.stream(
                query.order_by(GenerationOutput.id).execution_options(yield_per=BATCH)
            )
            async for rows in found.partitions(BATCH):
                for _, key, size in rows:
                    self._media_done = min(1.0, done / float(total)) if total else 1.0
                    await self._report("Adding your files")
                    if await asyncio.to_thread(add, key):
                        self.files += 1
                    else:
                        self.missing.append(key)
                    done += size

    def _readme(self) -> str:
        lines = [
            "Your Assetry data",
            "=================",
            "",
            f"Exported {utcnow():%Y-%m-%d %H:%M} UTC for {self.user.email}.",
            "",
            "Every kind of record we hold about you is here twice: as JSON (complete, nested values kept)",
            "and as CSV (one row per record, for spreadsheets). Times are UTC in ISO 8601.",
            "",
            "Files:",
        ]
        for name, describes, rows in self.written:
            lines.append(f"  {name}.json / {name}.csv  ({rows} records): {describes}")
        lines += [
            f"  media/  ({self.files} files): the images and videos you generated,"
            " named <generation id>/<number>.<type>; beside each image, the small copy of it the library"
            " shows as its cover (<number>.cover.webp)",
            "",
            "Not included, on purpose: passwords (we only keep a hash of yours, and not even that with",
            "Supabase sign-in), session and sign-in secrets, and the access tokens of your connected",
            "accounts. They are secrets, not information about you, and would endanger your accounts.",
            "Nothing about any other person is included.",
        ]
        if self.missing:
            lines += ["", f"{len(self.missing)} generated files were already deleted and could not be added."]
        lines += [
            "",
            "Questions, corrections or objections: use the privacy request form in Settings,",
            "or read the privacy policy at /privacy.",
            "",
        ]
        return "\n".join(lines)


def _join(records: BinaryIO, zf: zipfile.ZipFile) -> None:
    """Every file of the records' ZIP into the archive, deflated on the way."""
    records.seek(0)
    with zipfile.ZipFile(records) as waiting:
        for info in waiting.infolist():
            with waiting.open(info) as source, zf.open(info.filename, "w", force_zip64=True) as target:
                shutil.copyfileobj(source, target, COPY_CHUNK)


def _csv_cell(column: sa.ColumnElement) -> sa.ColumnElement:
    """A column's CSV cell, as Postgres writes it: text as it is, but with a ' in front when a
    spreadsheet app would run it as a formula (and it is no plain number); JSON as JSON text;
    numbers and ids as they are; anything else (times, dates, true/false) as in the JSON file."""
    kind = column.type.impl_instance if isinstance(column.type, sa.TypeDecorator) else column.type
    if isinstance(kind, sa.String):
        formula = sa.and_(sa.func.left(column, 1).in_(FORMULA_STARTS), ~column.regexp_match(NUMBER))
        return sa.case((formula, sa.literal("'") + column), else_=column)
    if isinstance(kind, sa.JSON):
        return sa.cast(column, sa.Text)
    if isinstance(kind, sa.Integer | sa.Numeric | sa.Uuid):
        return column
    return sa.func.to_json(column).op("#>>")(sa.literal_column("'{}'"))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ----- deletion ---------------------------------------------------------------------------


async def deletion_preview(user_id: uuid.UUID) -> list[str]:
    """What deleting the account will do, step by step, with this user's own numbers."""
    grace = get_settings().deletion_grace_days
    async with db.service_session() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotAllowed("Please log in again.")

        async def count(model, *where) -> int:
            return await session.scalar(sa.select(sa.func.count()).select_from(model).where(*where)) or 0

        browsers = await count(
            AuthSession,
            AuthSession.user_id == user_id,
            AuthSession.revoked_at.is_(None),
            AuthSession.expires_at > utcnow(),
        )
        connected = (
            await session.exec(select(ConnectedAccount).where(ConnectedAccount.user_id == user_id))
        ).all()
        generations = await count(Generation, Generation.user_id == user_id)
        files = await count(
            GenerationOutput, GenerationOutput.user_id == user_id, GenerationOutput.storage_key.is_not(None)
        )
    when = "right away" if grace == 0 else f"in {grace} days"
    steps = [
        f"You are logged out at once on every browser signed in to your account ({browsers}).",
        "You can no longer log in with this account.",
    ]
    if connected:
        names = ", ".join(
            f"{platforms.label(a.platform)} " + (f"@{a.username}" if a.username else a.display_name)
            for a in connected
        )
        steps.append(f"Your connected accounts are disconnected and their access revoked: {names}.")
    steps += [
        f"{when.capitalize()}, everything else is erased for good: {generations} generations and {files} files, "
        "posts and their metric history, tracked links, notes, your posting plan, support messages, exports, "
        "usage and log-in records, the emails we sent you, and your account itself.",
        "We keep no copy. The confirmation email below leaves our outbox then too, or as soon as it is "
        "delivered if it is still on its way. Our audit log keeps its entries about your account (such as "
        "that it was deleted), but they no longer name you: no name, email or account id.",
    ]
    if user.auth_backend == "supabase":
        steps.append("Your sign-in at Supabase Auth is deleted too.")
    steps.append(f"We send a confirmation to {user.email}.")
    return steps


def erased_by(due: datetime, zone: str) -> str:
    """When a deleted account's data is gone, in words on the person's clock: "by December 6, 2026
    (in 30 days)", or "right away" with no grace period (the purge job is queued at once)."""
    days = get_settings().deletion_grace_days
    if days == 0 or due <= utcnow():
        return "right away"
    return f"by {local_time.moment_in(due, zone)} (in {days} day{'s' if days != 1 else ''})"


async def request_deletion(
    user_id: uuid.UUID, password: str, *, actor_id: uuid.UUID | None = None
) -> datetime:
    """Close the account now and schedule the purge of its data; returns when the purge is due.

    `password` is that of whoever acts: the user, or the admin named by `actor_id`.
    A wrong password raises `BadInput` and changes nothing.
    """
    actor_id = actor_id or user_id
    grace = get_settings().deletion_grace_days
    async with db.service_session() as session:
        user = await session.get(User, user_id)
        actor = user if actor_id == user_id else await session.get(User, actor_id)
        if user is None or actor is None or (actor is not user and not actor.is_admin):
            raise NotAllowed("Please log in again.")
        if user.deleted_at is not None:
            raise BadInput("This account is already being deleted.")
        if not password or len(password) > 1024 or not await credentials().verify(actor, password):
            raise BadInput(WRONG_PASSWORD)
        now = utcnow()
        user.deleted_at, user.deletion_due_at, user.is_disabled = now, now + timedelta(days=grace), True
        user.pending_email = user.email_token_hash = user.email_token_expires_at = None
        await session.exec(
            sa.update(AuthSession)
            .where(AuthSession.user_id == user_id, AuthSession.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        await queue.enqueue(
            session,
            PURGE_KIND,
            {"user_id": str(user_id)},
            dedupe_key=f"{PURGE_KIND}:{user_id}",
            delay_seconds=grace * 86400,
        )
        audit.record(
            session,
            actor_id=None if actor_id == user_id else actor_id,
            action="account.deletion_requested",
            target=str(user_id),
            detail=f"purge due {user.deletion_due_at:%Y-%m-%d}",
        )
        try:
            async with session.begin_nested():
                await _notify_deleted(session, user)
        except Exception:  # the account is closed either way; a missing email is logged, not fatal
            log.exception(
                "the deletion confirmation for user %s could not be queued", logs.pseudonym(user_id)
            )
        due = user.deletion_due_at
        accounts_to_revoke = (
            await session.exec(select(ConnectedAccount.id).where(ConnectedAccount.user_id == user_id))
        ).all()
    await _disconnect_all(user_id, accounts_to_revoke)
    return due


async def _notify_deleted(session, user: User) -> None:
    """Queue the account-deletion confirmation email in the caller's transaction."""
    await mail.send(
        session,
        to=user.email,
        template="account_deleted",
        context={
            "name": user.display_name,
            "purge_on": user.deletion_due_at.date(),
            "grace_days": get_settings().deletion_grace_days,
        },
        user_id=None,  # the message must outlive the account it confirms the deletion of
    )


async def _disconnect_all(user_id: uuid.UUID, account_ids: list[uuid.UUID]) -> None:
    """Revoke each connected account's tokens at its platform and delete them (and its posts)."""
    for account_id in account_ids:
        try:
            await connections.disconnect(user_id, account_id, keep_history=False)
        except NotAllowed:
            pass  # already gone
        except Exception:  # the purge tries again; one platform's outage must not block the rest
            log.exception(
                "revoking connected account %s of user %s failed", account_id, logs.pseudonym(user_id)
            )


async def run_purge(ctx: Context) -> dict:
    if "user_id" not in ctx.payload:  # the purge ended and scrubbed its own job's arguments; a rerun
        return {"purged": False, "reason": "already purged"}
    user_id = uuid.UUID(ctx.payload["user_id"])
    async with db.service_session() as session:
        user = await session.get(User, user_id)
    if user is None:
        return {"purged": False, "reason": "already purged"}
    if user.deletion_due_at is None:
        raise Fail("This account is not being deleted.")
    wait = (user.deletion_due_at - utcnow()).total_seconds()
    if wait > 0:
        raise Retry("not due yet", delay=wait)

    async def step(table: str, count: int) -> None:
        log.info("purge of %s: %d rows of %s deleted", logs.pseudonym(user_id), count, table)

    return {"purged": True, "rows": await purge_account(user_id, on_step=step)}


async def purge_account(
    user_id: uuid.UUID, *, on_step: Callable[[str, int], Awaitable[None]] | None = None
) -> dict[str, int]:
    """Remove every row and file of a closed account (idempotent; a rerun finishes a crashed one).

    Returns the number of rows removed per table. Refuses accounts not marked deleted.
    """
    async with db.service_session() as session:
        user = await session.get(User, user_id)
        remaining = (
            (await session.exec(select(ConnectedAccount.id).where(ConnectedAccount.user_id == user_id))).all()
            if user
            else []
        )
    if user is None:
        await _delete_files(user_id)
        return {}
    if user.deleted_at is None:
        raise NotAllowed("Only accounts whose deletion was requested are purged.")
    await _disconnect_all(user_id, remaining)
    await _delete_files(user_id)
    if on_step:
        await on_step("files", 0)
    await credentials().delete(user)  # Supabase Auth's user; an unknown id counts as done
    counts: dict[str, int] = {}
    for entry in reversed(ownership.entries()):
        if entry.relation not in (*ownership.PERSONAL, ownership.ACTOR):
            continue
        table = metadata.tables[entry.table]
        where = ownership.rows_of(entry, user_id, user.email)
        async with db.service_session() as session:
            if entry.relation == ownership.ACTOR:
                removed = (
                    await session.exec(sa.update(table).where(where).values({entry.column: None}))
                ).rowcount
            elif entry.table == ActiveDay.__tablename__:  # the daily counts drop the user too
                removed = await usage.forget_active_days(session, user_id)
            else:
                removed = (await session.exec(sa.delete(table).where(where))).rowcount
        counts[entry.table] = removed
        if on_step:
            await on_step(entry.table, removed)
    pseudonym = f"deleted account {secrets.token_hex(4)}"
    for table, removed in (await _forget_mentions(user_id, user.email, pseudonym)).items():
        counts[table] = counts.get(table, 0) + removed
    async with db.service_session() as session:
        audit.record(
            session,
            actor_id=None,
            action="account.purged",
            target=pseudonym,
            detail=f"{sum(counts.values())} rows in {sum(1 for n in counts.values() if n)} tables",
        )
    log.info("purged account %s: %d rows", logs.pseudonym(user_id), sum(counts.values()))
    return counts


async def _forget_mentions(user_id: uuid.UUID, email: str, pseudonym: str) -> dict[str, int]:
    """Rows that name the person without being theirs: removed, or pointed at `pseudonym`.

    An email still waiting to be sent (the deletion confirmation) stays for its delivery,
    which removes it (`services.mail`). Jobs naming the person are deleted with their
    events; the running purge job itself keeps its row, with its arguments and key emptied.
    """
    email = email.lower()

    def names(column: sa.ColumnElement) -> sa.ColumnElement[bool]:
        # In JSON the address is a whole quoted string: "maya@x.com" must not match "amaya@x.com".
        text = sa.func.lower(sa.cast(column, sa.Text))
        address = f'"{email}"' if isinstance(column.type, sa.JSON) else email
        return sa.or_(text.contains(str(user_id), autoescape=True), text.contains(address, autoescape=True))

    viewed = (UsageEvent.name, UsageEvent.referrer, UsageEvent.detail)
    statements = [
        (
            "audit_log",
            sa.update(AuditEntry)
            .where(sa.or_(AuditEntry.target == str(user_id), sa.func.lower(AuditEntry.target) == email))
            .values(target=pseudonym),
        ),
        ("audit_log", sa.update(AuditEntry).where(names(AuditEntry.detail)).values(detail="")),
        (
            "outbox",
            sa.delete(OutboxMessage).where(
                sa.func.lower(OutboxMessage.to_address) == email, OutboxMessage.status != MAIL_QUEUED
            ),
        ),
        ("support_messages", sa.delete(SupportMessage).where(sa.func.lower(SupportMessage.email) == email)),
        # An admin's views of this user's page (/admin/users/<id>) keep the page, not the id.
        (
            "usage_events",
            sa.update(UsageEvent)
            .where(sa.or_(*(column.contains(str(user_id)) for column in viewed)))
            .values({column: sa.func.replace(column, str(user_id), "deleted-account") for column in viewed}),
        ),
    ]
    counts: dict[str, int] = {}
    async with db.service_session() as session:
        for table, statement in statements:
            counts[table] = counts.get(table, 0) + (await session.exec(statement)).rowcount
        counts["procrastinate_jobs"] = await queue.forget_person(session, user_id, email)
    return counts


async def _delete_files(user_id: uuid.UUID) -> None:
    """The user's media and export archives (every key starts with their id)."""
    await media.store().delete_owner(user_id)
    await asyncio.to_thread(shutil.rmtree, _legacy_archives(user_id), ignore_errors=True)


async def purge_due_accounts(*, now: datetime | None = None) -> int:
    """Purge every account whose deletion grace period is over; returns how many."""
    now = now or utcnow()
    async with db.service_session() as session:
        due = (
            await session.exec(
                select(User.id).where(User.deleted_at.is_not(None), User.deletion_due_at <= now)
            )
        ).all()
    for user_id in due:
        await purge_account(user_id)
    if due:
        log.info("retention: purged %d accounts past their grace period", len(due))
    return len(due)


# ----- retention ---------------------------------------------------------------------------


async def purge_old_logs(*, now: datetime | None = None) -> dict[str, int]:
    """Delete usage, log-in, session, OAuth-state and email records older than 90 days; clear old audit entries.

    An audit entry older than 90 days keeps what was done and when; who did it, to whom and
    the detail are cleared. Form submissions (the IPs that throttle public forms) go after a day.

    The activity rollups go by whole UTC days: a day's rows, and a `last_seen_at` on it, are
    deleted as soon as any part of that day is older than 90 days.
    """
    cutoff = (now or utcnow()) - timedelta(days=RETENTION_DAYS)
    kept_from = datetime.combine(cutoff.date(), datetime.min.time(), UTC) + timedelta(days=1)
    statements = {
        "usage_events": sa.delete(UsageEvent).where(UsageEvent.created_at < cutoff),
        "active_days": sa.delete(ActiveDay).where(ActiveDay.day < kept_from.date()),
        "daily_active_users": sa.delete(DailyActiveCount).where(DailyActiveCount.day < kept_from.date()),
        "last_seen_at": sa.update(User).where(User.last_seen_at < kept_from).values(last_seen_at=None),
        "login_attempts": sa.delete(LoginAttempt).where(LoginAttempt.created_at < cutoff),
        "form_submissions": sa.delete(FormSubmission).where(
            FormSubmission.created_at < (now or utcnow()) - FORM_SUBMISSIONS_KEPT
        ),
        "auth_sessions": sa.delete(AuthSession).where(
            sa.or_(AuthSession.expires_at < cutoff, AuthSession.revoked_at < cutoff)
        ),
        "oauth_states": sa.delete(OAuthState).where(OAuthState.expires_at < cutoff),
    }
    counts = {}
    async with db.service_session() as session:
        for name, statement in statements.items():
            counts[name] = (await session.exec(statement)).rowcount
        counts["outbox"] = await mail.purge_delivered(session, before=cutoff)
        counts["audit_log"] = (
            await session.exec(
                sa.update(AuditEntry)
                .where(
                    AuditEntry.created_at < cutoff,
                    sa.or_(
                        AuditEntry.actor_id.is_not(None), AuditEntry.target != "", AuditEntry.detail != ""
                    ),
                )
                .values(actor_id=None, target="", detail="")
            )
        ).rowcount
    log.info("retention: deleted or cleared %s", ", ".join(f"{n} {name}" for name, n in counts.items()))
    return counts


async def delete_expired_exports(*, now: datetime | None = None) -> int:
    """Delete export archives whose 7 days are over; returns how many."""
    now = now or utcnow()
    async with db.service_session() as session:
        exports = (
            await session.exec(
                select(DataExport).where(
                    DataExport.status == SUCCEEDED,
                    col(DataExport.archive_deleted).is_(False),
                    col(DataExport.expires_at) <= now,
                )
            )
        ).all()
        store = media.store()
        for export in exports:
            await store.delete(export_key(export.user_id, export.id))
            legacy = _legacy_archives(export.user_id) / f"{export.id}.zip"
            await asyncio.to_thread(legacy.unlink, missing_ok=True)
            export.archive_deleted = True
    log.info("retention: deleted %d expired export archives", len(exports))
    return len(exports)


async def purge_finished_jobs(*, now: datetime | None = None) -> int:
    """Delete jobs that ended more than 90 days ago (with their events); returns how many."""
    async with db.service_session() as session:
        deleted = await queue.delete_ended(session, before=(now or utcnow()) - timedelta(days=RETENTION_DAYS))
    log.info("retention: deleted %d ended jobs", deleted)
    return deleted
