"""A library card's cover: a small WebP of an image output, made once when the file is saved and
kept beside it (`<position>.cover.webp`), so a page of 48 cards asks the app for no file at all.

From a local folder the covers come inside the page, over the owner's own websocket, from rows
their session may read (row-level security): no link to them exists that anyone else could open,
and none outlives a log-out. From a bucket each card gets a presigned link to its cover, made
for the owner's page only and expiring as the bucket links of /media do (whoever holds one can
read that cover until then, as with those). A cover goes wherever its file goes: deleted with its
generation and with the account (the owner's whole folder), and in the data export beside the
file. An output without one (a video; from a local folder, a file saved before covers were made)
keeps its signed /media link.

Outputs saved before covers were made get theirs from `make_missing` (`python -m assetry
make-covers`), while the app runs; with a bucket, run it on upgrading (until then those cards
load the whole file: the card's image falls back to the file's link when its cover is not there).
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging
import uuid
from collections import Counter
from collections.abc import AsyncIterator

from PIL import Image, UnidentifiedImageError
from sqlmodel import col, select

from assetry import db
from assetry.config import get_settings
from assetry.integrations.storage import LocalMediaStore, MediaStore
from assetry.models import GenerationOutput

log = logging.getLogger(__name__)

# The card's cover box is 12rem (192 CSS px) tall on a desktop tile, 4.5rem on a phone's row: sharp
# at 1.67 device pixels to the CSS pixel on a desktop, at 4 on a phone. At this size and quality a
# 1024×1024 offline render is 5 kB (a page of 48 sends about 300 kB more), every page a tab holds
# about 1.8 MB: the trade against 48 requests a page (bench/library.py).
SIDE = 320
QUALITY = 60
CONTENT_TYPE = "image/webp"


def key_of(key: str) -> str:
    """Where the cover of the file stored at `key` is kept: beside it."""
    return key.rsplit(".", 1)[0] + ".cover.webp"


def make(content: bytes) -> bytes | None:
    """A WebP no larger than SIDE on either side of an image file; None when it is not one."""
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.draft("RGB", (SIDE, SIDE))  # a JPEG decodes at a fraction of its size
            small = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            small.thumbnail((SIDE, SIDE), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            small.save(out, "WEBP", quality=QUALITY, method=4)
            return out.getvalue()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError):
        log.warning("a generated image could not be read for its cover", exc_info=True)
        return None


async def save(store: MediaStore, key: str, content: bytes, content_type: str) -> None:
    """Store an output's file and, for an image, its cover beside it."""
    await store.put(key, content, content_type)
    if content_type.startswith("image/") and (cover := await asyncio.to_thread(make, content)):
        await store.put(key_of(key), cover, CONTENT_TYPE)


async def sources(store: MediaStore, keys: list[str]) -> dict[str, str]:
    """What each card shows for these image files, by the file's key: from a local folder, the
    covers that exist, as data: URLs; from a bucket, a presigned link to each file's cover.

    From a bucket, reading a page's 48 covers (a boto3 call each) took 0.6 s against a loopback S3
    server, and checking that each exists would cost as much: a link is signed here without a
    call, and the browser fetches the few kB from the bucket. Every image there is taken to have
    its cover (`make_missing` makes those saved before covers were; until then the card's image
    falls back to the file's own link in the browser)."""
    if not isinstance(store, LocalMediaStore):
        ttl = get_settings().media_url_ttl_seconds

        def sign() -> dict[str, str]:  # 48 links: about 9 ms of CPU, off the event loop
            return {
                key: store.link(
                    key_of(key),
                    filename="cover.webp",
                    content_type=CONTENT_TYPE,
                    download=False,
                    ttl_seconds=ttl,
                )
                for key in keys
            }

        return await asyncio.to_thread(sign)

    found = await asyncio.gather(*(asyncio.to_thread(_read, store, key_of(key)) for key in keys))
    return {
        key: f"data:{CONTENT_TYPE};base64,{base64.b64encode(cover).decode()}"
        for key, cover in zip(keys, found, strict=True)
        if cover
    }


def _read(store: MediaStore, key: str) -> bytes | None:
    """The whole file stored at `key`, None when there is none (blocking: run in a thread)."""
    try:
        with store.open_read(key) as file:
            return file.read()
    except FileNotFoundError:
        return None


# What `make_missing` says of each image output it looked at.
MADE, HAD_ONE, FILE_GONE, NOT_AN_IMAGE = "covers made", "had a cover already", "file missing", "not readable"
AT_ONCE = 4  # covers made at once (decoding a big image is CPU work, in a worker thread)


async def make_missing(store: MediaStore, *, batch: int) -> AsyncIterator[Counter[str]]:
    """Make the cover of every image output that has none; yields the counts of each batch.

    Safe to run again (a file with a cover is only looked at) and while the app runs: each batch
    is one read of committed rows, in id order, and no transaction is held while files are read
    and written. A cover written for an output deleted meanwhile is deleted again: the generation's
    rows are gone before its files are, so a row missing after the write means its cover may have
    been deleted before it was written."""
    slots = asyncio.Semaphore(AT_ONCE)

    async def one(key: str) -> str:
        async with slots:
            return await _make_one(store, key)

    after = uuid.UUID(int=0)
    while True:
        async with db.service_read() as session:
            rows = (
                await session.exec(
                    select(GenerationOutput.id, GenerationOutput.storage_key)
                    .where(
                        col(GenerationOutput.id) > after,
                        col(GenerationOutput.storage_key).is_not(None),
                        col(GenerationOutput.content_type).startswith("image/"),
                    )
                    .order_by(GenerationOutput.id)
                    .limit(batch)
                )
            ).all()
        if not rows:
            return
        after = rows[-1][0]
        said = await asyncio.gather(*(one(key) for _, key in rows))
        made = [(row_id, key) for (row_id, key), what in zip(rows, said, strict=True) if what == MADE]
        gone = await _deleted_meanwhile(made)
        await asyncio.gather(*(store.delete(key_of(key)) for row_id, key in made if row_id in gone))
        counts = Counter(said)
        counts[MADE] -= len(gone)
        counts[FILE_GONE] += len(gone)
        yield counts


async def _make_one(store: MediaStore, key: str) -> str:
    if await store.size(key_of(key)) is not None:
        return HAD_ONE
    content = await asyncio.to_thread(_read, store, key)
    if content is None:
        return FILE_GONE
    cover = await asyncio.to_thread(make, content)
    if cover is None:
        return NOT_AN_IMAGE
    await store.put(key_of(key), cover, CONTENT_TYPE)
    return MADE


async def _deleted_meanwhile(made: list[tuple[uuid.UUID, str]]) -> set[uuid.UUID]:
    """Which of these outputs were deleted since their batch was read."""
    if not made:
        return set()
    ids = [row_id for row_id, _ in made]
    async with db.service_read() as session:
        kept = set(
            (await session.exec(select(GenerationOutput.id).where(col(GenerationOutput.id).in_(ids)))).all()
        )
    return set(ids) - kept
