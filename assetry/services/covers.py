"""A library card's cover: a small WebP of an image output, made once when the file is saved and
kept beside it (`<position>.cover.webp`), sent inside the library page itself.

A page of 48 cards then asks the server for no file at all: the covers come with the cards, over
the owner's own websocket, from rows their session may read (row-level security), so no link to
them exists that anyone else could open, and none outlives a log-out. A cover goes wherever its
file goes: deleted with its generation and with the account (the owner's whole folder), and in
the data export beside the file. An output without one (saved before covers were made, or a
video), and every file in a bucket (see `inline`), keeps its signed /media link.
"""

from __future__ import annotations

import asyncio
import base64
import io
import logging

from PIL import Image, UnidentifiedImageError

from assetry.integrations.storage import LocalMediaStore, MediaStore

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


async def inline(store: MediaStore, keys: list[str]) -> dict[str, str]:
    """The covers of these files that exist, as data: URLs, by the file's key; from a local folder
    only. From a bucket, a page's 48 reads (a boto3 call each) took 0.6 s against a loopback S3
    server, more than the links they would replace: there the cards keep their links, whose
    request the bucket answers through a presigned redirect."""
    if not isinstance(store, LocalMediaStore):
        return {}

    def read(key: str) -> tuple[str, bytes | None]:
        try:
            with store.open_read(key_of(key)) as cover:
                return key, cover.read()
        except FileNotFoundError:
            return key, None

    found = await asyncio.gather(*(asyncio.to_thread(read, key) for key in keys))
    return {
        key: f"data:{CONTENT_TYPE};base64,{base64.b64encode(cover).decode()}" for key, cover in found if cover
    }
