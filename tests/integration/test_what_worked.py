"""Start from what worked: the studio filled with the best linked generation's settings, one-thing
variations of them; and the link/answer handlers of the library item and post pages."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

import assetry.assetry  # noqa: F401  (registers the pages and their states)
from assetry import db
from assetry.config import get_settings
from assetry.errors import BadInput
from assetry.integrations import hooks
from assetry.models import Generation, GenerationOutput, MatchProposal, MetricSnapshot, Post, PostLink
from assetry.pages.analytics.made_with import MadeWithState
from assetry.pages.analytics.proposals import ProposalsState
from assetry.pages.posted import PostedState
from assetry.pages.studio import StudioState
from assetry.services import post_links, studio, what_worked
from tests.browserless import Tab
from tests.integration.test_tiktok_connection import new_user
from tests.jobs import run_jobs

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
T0 = datetime(2026, 11, 2, 12, tzinfo=UTC)
OFFLINE = {"video": "preview-video", "image": "preview-image", "caption": "preview-captions"}


async def a_generation(user_id: uuid.UUID, kind: str, prompt: str, **options) -> uuid.UUID:
    generation = Generation(user_id=user_id, kind=kind, prompt=prompt, provider="offline", model=OFFLINE[kind],
                            options=options, status="succeeded", seed=7, created_at=T0)  # fmt: skip
    async with db.service_session() as session:
        session.add(generation)
    return generation.id


async def a_linked_post(user_id: uuid.UUID, generation_id: uuid.UUID | None, views: int) -> uuid.UUID:
    post = Post(user_id=user_id, platform="tiktok", platform_post_id=uuid.uuid4().hex, title="t",
                posted_at=T0 + timedelta(hours=2))  # fmt: skip
    async with db.service_session() as session:
        session.add(post)
        await session.flush()
        session.add(
            MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=T0 + timedelta(days=2), views=views)
        )
        if generation_id:
            session.add(PostLink(user_id=user_id, post_id=post.id, generation_id=generation_id))
    return post.id


async def test_the_best_linked_generation_is_the_one_whose_posts_did_best(database: str) -> None:
    user, _ = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    assert await what_worked.best_linked(user) is None
    steady = await a_generation(user, "video", "steady one", aspect_ratio="1:1", duration_s=3)
    viral = await a_generation(user, "video", "viral one", aspect_ratio="16:9", duration_s=8)
    await a_generation(user, "video", "never posted", aspect_ratio="9:16", duration_s=5)
    await a_linked_post(user, steady, 999)
    await a_linked_post(user, steady, 999)
    await a_linked_post(user, viral, 99)
    await a_linked_post(user, viral, 99_999)  # typical: sqrt(100 * 100000) - 1 = 3161.3
    await a_linked_post(user, None, 10_000_000)  # not linked: not a candidate
    best = await what_worked.best_linked(user)
    assert (best.generation_id, best.posts, round(best.typical_views, 1)) == (viral, 2, 3161.3)
    assert (best.request.prompt, best.request.aspect_ratio, best.request.duration_s) == (
        "viral one",
        "16:9",
        8,
    )
    assert best.request.model_key == "offline:preview-video" and best.request.seed is None


async def test_the_studio_starts_from_what_worked_and_varies_one_thing(database: str) -> None:
    user, token = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    async with Tab(cookie=token, path="/studio") as tab:
        outcome = await tab.call(StudioState.start_from_what_worked)
        assert "Link a post" in str(outcome.to_browser)
        generation = await a_generation(user, "video", "latte art", aspect_ratio="16:9", duration_s=3)
        await a_linked_post(user, generation, 1234)
        await tab.call(StudioState.start_from_what_worked)
        page = await tab.state(StudioState)
        assert (page.kind, page.prompt, page.aspect_ratio, page.duration) == (
            "video",
            "latte art",
            "16:9",
            "3",
        )
        assert page.started_from == "From your best linked generation: 1 post(s), typically 1,234 views."
        await tab.call(StudioState.vary, dimension="duration_s")
        page = await tab.state(StudioState)
        assert (page.prompt, page.aspect_ratio, page.duration) == ("latte art", "16:9", "5")
        assert page.started_from == "Only the duration changed: 3 s → 5 s."


async def test_captions_vary_by_their_hook_and_the_offline_writer_follows_it(database: str) -> None:
    settings = get_settings()
    request = studio.StudioRequest(
        kind="caption", prompt="latte art at dawn", model_key="offline:preview-captions"
    )
    first, said = what_worked.vary(settings, request, "hook")
    assert (first.hook, first.tone, first.length) == ("pov", request.tone, request.length)
    assert said == "Only the hook changed: any → pov."
    second, said = what_worked.vary(settings, first, "hook")
    assert (second.hook, said) == ("number", "Only the hook changed: pov → number.")
    user, _ = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    for varied in (first, second):
        started = await studio.start(
            user, dataclasses.replace(varied, count=3), client_request_id=varied.hook
        )
        await run_jobs()
        async with db.service_session() as session:
            texts = (
                (
                    await session.exec(
                        sa.select(GenerationOutput.text).where(GenerationOutput.generation_id == started.id)
                    )
                )
                .scalars()
                .all()
            )
        assert len(texts) == 3 and {hooks.recognise(text) for text in texts} == {varied.hook}


def test_aspect_and_tone_vary_alone_and_a_dimension_that_does_not_fit_is_refused(database: str) -> None:
    settings = get_settings()
    video = studio.StudioRequest(
        kind="video",
        prompt="latte art",
        model_key=f"offline:{OFFLINE['video']}",
        aspect_ratio="9:16",
        duration_s=5,
    )
    wide, said = what_worked.vary(settings, video, "aspect_ratio")
    assert (
        wide.aspect_ratio != "9:16" and said == f"Only the aspect ratio changed: 9:16 → {wide.aspect_ratio}."
    )
    assert dataclasses.replace(wide, aspect_ratio="9:16") == video  # nothing else moved
    captions = studio.StudioRequest(kind="caption", prompt="latte art", model_key="offline:preview-captions")
    bolder, said = what_worked.vary(settings, captions, "tone")
    assert (bolder.tone, said) == ("bold", "Only the tone changed: friendly → bold.")
    assert dataclasses.replace(bolder, tone=captions.tone) == captions
    with pytest.raises(BadInput, match="Pick what to vary"):
        what_worked.vary(settings, captions, "aspect_ratio")


async def test_a_library_item_links_and_unlinks_its_post(database: str) -> None:
    user, token = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    generation = await a_generation(user, "video", "latte art", aspect_ratio="9:16", duration_s=5)
    post = await a_linked_post(user, None, 10)
    async with Tab(cookie=token, path=f"/library/{generation}") as tab:
        await tab.call(PostedState.pick, open_=True)
        page = await tab.state(PostedState)
        assert [c.id for c in page.choices] == [str(post)] and page.picking
        await tab.call(PostedState.link, post_id=str(post))
        page = await tab.state(PostedState)
        assert [p.id for p in page.posts] == [str(post)] and not page.picking
        await tab.call(PostedState.unlink, post_id=str(post))
        assert (await tab.state(PostedState)).posts == []
    assert await post_links.generation_of(user, post) is None


async def test_a_post_page_answers_its_proposal(database: str) -> None:
    user, token = await new_user(f"{uuid.uuid4().hex[:8]}@example.com")
    generation = await a_generation(user, "video", "latte art", aspect_ratio="9:16", duration_s=5)
    yes, no = await a_linked_post(user, None, 10), await a_linked_post(user, None, 20)
    async with db.service_session() as session:
        for post in (yes, no):
            session.add(MatchProposal(user_id=user, post_id=post, generation_id=generation, score=0.9,
                                      reasons={"cover": "The cover is a frame of this video."}))  # fmt: skip
    async with Tab(cookie=token, path="/analytics") as tab:
        await tab.call(ProposalsState.load)
        assert sorted(p.post_id for p in (await tab.state(ProposalsState)).proposals) == sorted(
            [str(yes), str(no)]
        )
    async with Tab(cookie=token, path=f"/analytics/post/{yes}") as tab:
        await tab.call(MadeWithState.load)
        page = await tab.state(MadeWithState)
        assert (page.proposed.prompt, page.evidence) == ("latte art", ["The cover is a frame of this video."])
        await tab.call(MadeWithState.answer, confirmed=True)
        page = await tab.state(MadeWithState)
        assert (page.linked.id, page.proposed.id) == (str(generation), "")
    async with Tab(cookie=token, path=f"/analytics/post/{no}") as tab:
        await tab.call(MadeWithState.answer, confirmed=False)
        page = await tab.state(MadeWithState)
        assert (page.linked.id, page.proposed.id) == ("", "")
    assert (await post_links.generation_of(user, yes)).id == generation
    assert await post_links.generation_of(user, no) is None
