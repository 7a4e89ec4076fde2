"""The studio end to end below the UI: start, run on the offline provider, library, media URLs."""

from __future__ import annotations

import dataclasses
import io
import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa
from PIL import Image
from sqlmodel import select

from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.models import Generation, GenerationOutput
from assetry.services import accounts, covers, media, studio
from assetry.web import routes
from tests.account_setup import SignUp, create_account
from tests.jobs import engine_jobs, run_jobs

PNG, MP4 = b"\x89PNG\r\n\x1a\n", b"ftyp"


async def new_user(email: str) -> tuple[uuid.UUID, str]:
    form = SignUp(email=email, password="Correct-Horse-42", age_confirmed=True, accepted_policies=True)
    user, token = await create_account(form, accounts.Client())
    return user.id, token


def image(prompt: str = "neon city at night", **changes) -> studio.StudioRequest:
    fields = {"kind": "image", "prompt": prompt, "model_key": "offline:preview-image", "aspect_ratio": "1:1"}
    return studio.StudioRequest(**(fields | changes))


async def run_all() -> None:
    await run_jobs()


async def outputs(generation_id: uuid.UUID) -> list[GenerationOutput]:
    async with db.service_session() as session:
        return list(
            (
                await session.exec(
                    select(GenerationOutput)
                    .where(GenerationOutput.generation_id == generation_id)
                    .order_by(GenerationOutput.position)
                )
            ).all()
        )


async def test_an_image_set_is_rendered_stored_and_recorded(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    started = await studio.start(user_id, image(count=2), client_request_id="a")
    assert started.status == "queued" and started.seed is not None and started.job_id is not None
    await run_all()
    done = await studio.get(user_id, started.id)
    assert (done.status, done.provider, done.model, done.error) == (
        "succeeded",
        "offline",
        "preview-image",
        "",
    )
    assert done.started_at <= done.finished_at
    files = await outputs(started.id)
    assert [f.position for f in files] == [0, 1]
    store = media.store()
    for output in files:
        assert (output.width, output.height) == (1024, 1024)
        content = b"".join([chunk async for chunk in store.stream(output.storage_key)])
        assert content.startswith(PNG) and len(content) == output.size_bytes
        # Its library cover beside it: a small WebP of the same picture.
        cover = b"".join([chunk async for chunk in store.stream(covers.key_of(output.storage_key))])
        with Image.open(io.BytesIO(cover)) as small:
            assert (small.format, small.size) == ("WEBP", (covers.SIDE, covers.SIDE))
        assert len(cover) < len(content) / 10


async def test_a_video_is_a_real_mp4_of_the_asked_length(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    request = studio.StudioRequest(
        kind="video", prompt="waves", model_key="offline:preview-video", aspect_ratio="9:16", duration_s=3
    )
    started = await studio.start(user_id, request, client_request_id="v")
    await run_all()
    [video] = await outputs(started.id)
    assert video.content_type == "video/mp4"
    assert video.duration_s == pytest.approx(3, abs=0.2)
    head = b"".join([chunk async for chunk in media.store().stream(video.storage_key)])[:16]
    assert MP4 in head
    assert await media.store().size(covers.key_of(video.storage_key)) is None  # its card plays it


async def test_captions_are_saved_as_text_and_can_be_edited(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    request = studio.StudioRequest(
        kind="caption",
        prompt="my morning routine",
        model_key="offline:preview-captions",
        count=3,
        tone="funny",
    )
    started = await studio.start(user_id, request, client_request_id="c")
    await run_all()
    captions = await outputs(started.id)
    assert len(captions) == 3 and all(c.text and c.storage_key is None for c in captions)
    edited = await studio.save_caption(user_id, captions[0].id, "  My edit #morning  ")
    assert edited.text == "My edit #morning" and edited.edited_at is not None
    other_id, _ = await new_user("ben@example.com")
    with pytest.raises(NotAllowed):
        await studio.save_caption(other_id, captions[1].id, "hijack")
    assert (await outputs(started.id))[1].text == captions[1].text


async def test_two_clicks_with_the_same_request_id_make_one_generation(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    first = await studio.start(user_id, image(), client_request_id="click")
    second = await studio.start(user_id, image(), client_request_id="click")
    assert first.id == second.id
    async with db.service_session() as session:
        assert await session.scalar(select(sa.func.count()).select_from(Generation)) == 1
    assert len(await engine_jobs(studio.TASK)) == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"prompt": "   "}, "fill in the prompt"),
        ({"prompt": "x" * 2001}, "limit is 2,000"),
        ({"aspect_ratio": "4:3"}, "can't make 4:3"),
        ({"count": 9}, "between 1 and 4"),
        ({"model_key": "fal:unknown"}, "isn't available"),
        ({"kind": "gif"}, "Choose what to make"),
        (
            {"kind": "video", "model_key": "offline:preview-video", "duration_s": 7},
            "makes videos of 3 s, 5 s, 8 s",
        ),
    ],
)
async def test_bad_requests_are_refused_and_store_nothing(database: str, changes: dict, message: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    with pytest.raises(BadInput, match=message):
        await studio.start(user_id, image(**changes), client_request_id="bad")
    async with db.service_session() as session:
        assert await session.scalar(select(sa.func.count()).select_from(Generation)) == 0


async def test_quota_and_concurrency_limits(database: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_CONCURRENT_GENERATIONS", "2")
    monkeypatch.setenv("DAILY_GENERATION_QUOTA", "3")
    get_settings.cache_clear()
    user_id, _ = await new_user("ana@example.com")
    await studio.start(user_id, image(), client_request_id="1")
    await studio.start(user_id, image(), client_request_id="2")
    with pytest.raises(BadInput, match="2 generations in progress"):
        await studio.start(user_id, image(), client_request_id="3")
    await run_all()
    await studio.start(user_id, image(), client_request_id="3")
    with pytest.raises(BadInput, match="all 3 generations for today"):
        await studio.start(user_id, image(), client_request_id="4")


async def test_cancel_a_queued_generation(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    started = await studio.start(user_id, image(), client_request_id="x")
    await studio.cancel(user_id, started.id)
    await run_all()
    cancelled = await studio.get(user_id, started.id)
    assert (cancelled.status, await outputs(started.id)) == ("cancelled", [])
    with pytest.raises(BadInput, match="already finished"):
        await studio.cancel(user_id, started.id)


async def test_another_user_cannot_see_cancel_or_delete_a_generation(database: str) -> None:
    owner, _ = await new_user("ana@example.com")
    other, _ = await new_user("ben@example.com")
    started = await studio.start(owner, image(), client_request_id="x")
    for action in (studio.get, studio.cancel, studio.delete):
        with pytest.raises(NotAllowed):
            await action(other, started.id)
    assert (await studio.library(other)).total == 0
    assert (await studio.get(owner, started.id)).status == "queued"


async def test_library_filters_and_search(database: str) -> None:
    user_id, _ = await new_user("ana@example.com")
    await studio.start(user_id, image("100% organic_coffee"), client_request_id="1")
    await studio.start(user_id, image("sunset"), client_request_id="2")
    caption = studio.StudioRequest(
        kind="caption", prompt="sunset captions", model_key="offline:preview-captions"
    )
    await studio.start(user_id, caption, client_request_id="3")
    await run_all()
    assert (await studio.library(user_id)).total == 3
    assert [g.prompt for g in (await studio.library(user_id, search="sunset")).generations] == [
        "sunset captions",
        "sunset",
    ]
    assert [g.prompt for g in (await studio.library(user_id, search="100%")).generations] == [
        "100% organic_coffee"
    ]
    # Words, not wildcards: "_" and "%" match nothing; "coffee" starts a word of organic_coffee.
    assert (await studio.library(user_id, search="_")).total == 0
    assert (await studio.library(user_id, search="%")).total == 0
    assert (await studio.library(user_id, search="coffee")).total == 1
    assert (await studio.library(user_id, kind="caption")).total == 1
    assert (await studio.library(user_id, status="failed")).total == 0
    today = (await studio.library(user_id)).generations[0].created_at.date()
    assert (await studio.library(user_id, since=today, until=today)).total == 3
    assert (await studio.library(user_id, since=today + timedelta(days=1))).total == 0


async def media_get(url: str, session_token: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=routes())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(url, cookies={accounts.SESSION_COOKIE: session_token})


async def test_media_is_served_only_to_its_owner_through_signed_urls(database: str) -> None:
    owner, owner_token = await new_user("ana@example.com")
    _, other_token = await new_user("ben@example.com")
    started = await studio.start(owner, image(), client_request_id="m")
    await run_all()
    [output] = await outputs(started.id)
    url = media.url_for(output)
    ok = await media_get(url, owner_token)
    assert ok.status_code == 200 and ok.headers["content-type"] == "image/png" and ok.content.startswith(PNG)
    download = await media_get(media.url_for(output, download=True), owner_token)
    assert download.headers["content-disposition"].startswith("attachment;")
    assert (await media_get(url, other_token)).status_code == 403
    assert (await media_get(url, "")).status_code == 403
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    assert (await media_get(tampered, owner_token)).status_code == 404
    assert (await media_get("/media/" + output.storage_key, owner_token)).status_code == 404


async def test_deleting_removes_rows_and_files_and_old_links_say_so(database: str) -> None:
    owner, token = await new_user("ana@example.com")
    started = await studio.start(owner, image(count=2), client_request_id="d")
    await run_all()
    files = await outputs(started.id)
    url = media.url_for(files[0])
    stored = [key for output in files for key in (output.storage_key, covers.key_of(output.storage_key))]
    assert None not in [await media.store().size(key) for key in stored]  # each file and its cover
    await studio.delete(owner, started.id)
    assert await outputs(started.id) == []
    assert [await media.store().size(key) for key in stored] == [None] * 4
    gone = await media_get(url, token)
    assert gone.status_code == 404 and "deleted" in gone.text


async def test_write_like_my_best_posts_uses_the_top_posts_as_examples(database: str) -> None:
    from datetime import UTC, datetime

    from assetry.models import MetricSnapshot, Post

    user_id, _ = await new_user("ana@example.com")
    async with db.service_session() as session:
        for n, (title, views) in enumerate([("morning coffee ritual #fyp #coffeetok", 90_000), ("meh", 10)]):
            post = Post(user_id=user_id, platform="tiktok", platform_post_id=str(n), title=title,
                        posted_at=datetime(2026, 11, 1, tzinfo=UTC))  # fmt: skip
            session.add(post)
            await session.flush()
            session.add(MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=datetime(2026, 11, 2, tzinfo=UTC),
                                       views=views))  # fmt: skip
    request = studio.StudioRequest(kind="caption", prompt="latte art tutorial", model_key="offline:preview-captions",
                                   count=3, learn_from_best=True)  # fmt: skip
    started = await studio.start(user_id, request, client_request_id="best")
    await run_all()
    captions = [o.text for o in await outputs(started.id)]
    assert len(captions) == 3
    assert any("#fyp" in caption for caption in captions)
    plain = await studio.start(
        user_id, dataclasses.replace(request, learn_from_best=False), client_request_id="p"
    )
    await run_all()
    assert not any("#fyp" in (o.text or "") for o in await outputs(plain.id))
