"""Generated media: where files are stored, and the signed, expiring URLs that serve them.

A URL names one file, its owner and an expiry, signed with the installation's
secret. Serving also checks that the browser's session belongs to that owner and
that the file still belongs to a generation in the library, so a deleted output
opened from an old link is gone, and a copied link doesn't work for anyone else.
Only then is the file sent: streamed from the local folder, or, from a bucket, as a
redirect to a presigned link that expires (the bytes never pass through the app).

The same store keeps the data export archives (`services.privacy`).
"""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import sqlalchemy as sa
from sqlmodel import select

from assetry import db, security
from assetry.config import Mode, get_settings, signing_secret
from assetry.errors import NotAllowed
from assetry.integrations.storage import LocalMediaStore, MediaStore, S3MediaStore
from assetry.models import AuthSession, GenerationOutput, User
from assetry.models.base import utcnow
from assetry.services import accounts

EXTENSIONS = {"image/png": "png", "image/webp": "webp", "image/jpeg": "jpg", "video/mp4": "mp4"}
GONE = "This file was deleted or its link has expired. Open it again from your library."
REFUSED = "Log in to the account this file belongs to."


def store() -> MediaStore:
    """The configured media store: a private S3-compatible bucket, or a private local folder."""
    settings = get_settings()
    if settings.media_mode is Mode.CONFIGURED:
        return _s3_store(
            settings.media_s3_endpoint,
            settings.media_s3_bucket,
            settings.media_s3_access_key,
            settings.media_s3_secret_key.get_secret_value() if settings.media_s3_secret_key else "",
            settings.media_s3_region,
            settings.media_s3_public_endpoint,
        )
    return LocalMediaStore(settings.data_dir / "media")


@functools.cache
def _s3_store(
    endpoint: str, bucket: str, access_key: str, secret_key: str, region: str, public_endpoint: str | None
) -> S3MediaStore:
    """One client per configuration (boto3 clients are thread-safe and costly to build)."""
    return S3MediaStore(
        endpoint_url=endpoint,
        bucket=bucket,
        access_key=access_key,
        secret_key=secret_key,
        region=region,
        public_endpoint=public_endpoint,
    )


def key_for(user_id: uuid.UUID, generation_id: uuid.UUID, position: int, content_type: str) -> str:
    return f"{user_id}/{generation_id}/{position}.{EXTENSIONS[content_type]}"


def url_for(output: GenerationOutput, *, download: bool = False) -> str:
    """A signed, expiring URL for the output's file (only its owner's browser can use it).

    It expires at the end of the period of `media_url_ttl_seconds` after the current one, so it
    lives at least that long, and it reads the same whenever it is signed within one period:
    the browser keeps a cover it fetched for every later page that shows it (`cache_seconds`)."""
    return link_to(output.storage_key or "", output.user_id, download=download)


def link_to(key: str, owner: uuid.UUID, *, download: bool = False) -> str:
    """`url_for` by the file's storage key and owner."""
    settings = get_settings()
    period = settings.media_url_ttl_seconds
    token = security.sign_media(
        signing_secret(settings),
        key=key,
        owner=str(owner),
        expires=(int(time.time()) // period + 2) * period,
        download=download,
    )
    return f"/media/{token}"


def cache_seconds(expires: int) -> int:
    """How long a browser may keep a file served through a link that expires then: until it
    does, at most a day (a deleted file may still show from that cache)."""
    return max(0, min(expires - int(time.time()), 86_400))


@dataclass(frozen=True)
class MediaResponse:
    """What the HTTP route sends back for a valid media URL: a presigned `link` to the bucket,
    or the file's `chunks` to stream."""

    content_type: str
    size: int
    filename: str
    download: bool
    expires: int  # the link's expiry (Unix seconds)
    link: str | None = None
    chunks: AsyncIterator[bytes] | None = None


@functools.cache
def _owned_file() -> sa.Select:
    """The live session's user, if it is `owner`, with the row of their file `key` (all None when
    it is gone): built once, since building it cost as much as running it. Columns, not a model."""
    file = GenerationOutput
    return (
        select(User.id, file.generation_id, file.position, file.content_type)
        .select_from(User)
        .join(AuthSession, sa.and_(*accounts.is_live_at(sa.bindparam("token_hash"), sa.bindparam("now"))))
        .outerjoin(file, sa.and_(file.user_id == User.id, file.storage_key == sa.bindparam("key")))
        .where(User.id == sa.bindparam("owner"))
    )


async def open_signed(token: str, session_token: str) -> MediaResponse:
    """Check a media URL and the browser's session; FileNotFoundError or NotAllowed when refused.

    One statement: the live session's user, if it is the link's owner, and the file's row, if
    it is still theirs (a library page's covers ask 48 times)."""
    fields = security.read_media_token(signing_secret(get_settings()), token)
    if fields is None:
        raise FileNotFoundError(GONE)
    if not session_token or len(session_token) > 128:
        raise NotAllowed(REFUSED)
    async with db.service_read() as session:  # one statement: no BEGIN and COMMIT around it
        found = (
            await session.exec(
                _owned_file(),
                params={
                    "token_hash": security.token_digest(session_token),
                    "now": utcnow(),
                    "owner": uuid.UUID(fields["o"]),
                    "key": fields["k"],
                },
            )
        ).first()
    if found is None:
        raise NotAllowed(REFUSED)
    _, generation_id, position, content_type = found
    if generation_id is None:
        raise FileNotFoundError(GONE)
    media, key = store(), fields["k"]
    filename = f"assetry-{generation_id.hex[:8]}-{position + 1}.{key.rsplit('.', 1)[1]}"
    download = bool(fields.get("d"))
    # A bucket serves the file itself (the row above says it is there); the app streams local files.
    link = media.link(
        key,
        filename=filename,
        content_type=content_type,
        download=download,
        ttl_seconds=get_settings().media_url_ttl_seconds,
    )
    if link is not None:
        return MediaResponse(content_type, 0, filename, download, fields["e"], link=link)
    size = await media.size(key)
    if size is None:
        raise FileNotFoundError(GONE)
    return MediaResponse(content_type, size, filename, download, fields["e"], chunks=media.stream(key))
