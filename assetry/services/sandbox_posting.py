"""Sandbox mode only: "post" a generated video on the sandbox TikTok and Instagram, as a creator would.

Each sandbox account the creator connected gets a new video now: its cover is a frame of the
generated video (one second in, as a creator picks a cover), its caption the prompt. The next
sync brings it in like any post, so recognising it can be seen end to end without a real
platform. Nothing here touches a platform configured for real.
"""

from __future__ import annotations

import asyncio
import io
import uuid

import av
from PIL import Image
from sqlmodel import select

from assetry import db
from assetry.errors import BadInput, NotAllowed
from assetry.models import ConnectedAccount, Generation, GenerationOutput
from assetry.models.analytics import ACTIVE
from assetry.services import media, platforms

COVER_AT_SECONDS = 1.0
COVER_SIZE = (540, 960)
NOT_SANDBOX = "Posting in the sandbox only works while TikTok or Instagram runs as the sandbox."
NO_ACCOUNT = "Connect a sandbox TikTok or Instagram account on the analytics page first."
NOT_A_VIDEO = "Only a finished video can be posted in the sandbox."


def available() -> bool:
    """Whether this installation's TikTok or Instagram is the sandbox imitation."""
    return any(platforms.is_sandbox(platform) for platform in platforms.PLATFORMS)


def cover_from(content: bytes, at_seconds: float = COVER_AT_SECONDS) -> bytes:
    """A JPEG of the video's frame `at_seconds` in (its last frame if shorter), as a platform would keep it."""
    chosen = None
    with av.open(io.BytesIO(content)) as container:
        stream = container.streams.video[0]
        for frame in container.decode(stream):
            chosen = frame
            if frame.time is not None and frame.time >= at_seconds:
                break
        if chosen is None:
            raise BadInput("This video has no frame to use as a cover.")
        image = chosen.to_image()
    image.thumbnail(COVER_SIZE, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


async def post_in_sandbox(user_id: uuid.UUID, generation_id: uuid.UUID) -> list[str]:
    """Publish the generation's video now on each sandbox account the creator connected; returns their names."""
    if not available():
        raise BadInput(NOT_SANDBOX)
    async with db.user_session(user_id) as session:
        generation = await session.get(Generation, generation_id)
        if generation is None or generation.user_id != user_id:
            raise NotAllowed("That generation isn't in your library (it may have been deleted).")
        video = (
            await session.exec(
                select(GenerationOutput).where(
                    GenerationOutput.generation_id == generation_id,
                    GenerationOutput.content_type.startswith("video/"),
                )
            )
        ).first()
        accounts = (
            await session.exec(
                select(ConnectedAccount)
                .where(
                    ConnectedAccount.user_id == user_id,
                    ConnectedAccount.sandbox,
                    ConnectedAccount.status == ACTIVE,
                )
                .order_by(ConnectedAccount.platform.desc(), ConnectedAccount.created_at)
            )
        ).all()
    if (
        generation.kind != "video"
        or generation.status != "succeeded"
        or video is None
        or not video.storage_key
    ):
        raise BadInput(NOT_A_VIDEO)
    accounts = [a for a in accounts if platforms.is_sandbox(a.platform)]
    if not accounts:
        raise BadInput(NO_ACCOUNT)
    content = b"".join([chunk async for chunk in media.store().stream(video.storage_key)])
    cover = await asyncio.to_thread(cover_from, content)
    posted = []
    for account in accounts:
        imitation = platforms.sandbox(account.platform)
        if account.platform == "tiktok":
            handle = imitation.handle_of(account.platform_account_id)
            if handle is None:
                continue
            await imitation.publish(
                handle,
                description=generation.prompt[:2000],
                cover_jpeg=cover,
                duration_s=round(video.duration_s or 1),
                width=video.width or 1080,
                height=video.height or 1920,
            )
        else:
            username = imitation.username_of(account.platform_account_id)
            if username is None:
                continue
            await imitation.publish(username, caption=generation.prompt[:2200], cover_jpeg=cover)
        posted.append(f"{platforms.label(account.platform)} ({account.display_name or account.username})")
    if not posted:
        raise BadInput(NO_ACCOUNT)
    return posted
