"""Write like my best posts: what the studio sends the provider (the Anthropic imitation, over HTTP)
as examples, from the creator's linked outcomes when there are enough, else from their best posts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette

from assetry import db
from assetry.config import get_settings
from assetry.models import Generation, MetricSnapshot, Post, PostLink
from assetry.sandbox.anthropic import SANDBOX_KEY, create_app
from assetry.services import best_posts, studio
from tests.asgi_server import serve
from tests.integration.test_studio import new_user, run_all

pytestmark = pytest.mark.parametrize("database", ["postgres"], indirect=True)
T0 = datetime(2026, 11, 1, 12, tzinfo=UTC)
VIRAL = "the unlinked post that went viral #fyp"


@pytest.fixture
def imitation(monkeypatch: pytest.MonkeyPatch) -> Iterator[Starlette]:
    app = create_app()
    with serve(app) as base_url:
        monkeypatch.setenv("ANTHROPIC_API_KEY", SANDBOX_KEY)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", base_url)
        monkeypatch.setenv("LLM_MAX_RETRIES", "0")
        get_settings.cache_clear()
        yield app
    get_settings.cache_clear()


async def posts(user_id: uuid.UUID, linked: list[tuple[str, int]], unlinked: list[tuple[str, int]]) -> None:
    """Posts with their views; the `linked` ones made from a generation each."""
    async with db.service_session() as session:
        for n, (title, views) in enumerate(linked + unlinked):
            post = Post(user_id=user_id, platform="tiktok", platform_post_id=f"p{n}", title=title,
                        posted_at=T0 + timedelta(hours=n))  # fmt: skip
            session.add(post)
            await session.flush()
            session.add(MetricSnapshot(user_id=user_id, post_id=post.id, captured_at=T0 + timedelta(days=3),
                                       views=views))  # fmt: skip
            if n < len(linked):
                made = Generation(user_id=user_id, kind="video", prompt=title, provider="offline", model="m",
                                  status="succeeded")  # fmt: skip
                session.add(made)
                await session.flush()
                session.add(PostLink(user_id=user_id, post_id=post.id, generation_id=made.id))


async def examples_sent(user_id: uuid.UUID, imitation: Starlette) -> str:
    request = studio.StudioRequest(kind="caption", prompt="latte art tutorial", count=2, learn_from_best=True,
                                   model_key="anthropic:claude-haiku-4-5")  # fmt: skip
    imitation.state.requests.entries.clear()
    await studio.start(user_id, request, client_request_id=uuid.uuid4().hex)
    await run_all()
    [sent] = imitation.state.requests.entries
    [message] = sent.body["messages"]
    return message["content"]


async def test_enough_linked_posts_the_best_of_them_are_the_examples(
    database: str, imitation: Starlette
) -> None:
    user_id, _ = await new_user("ana@example.com")
    linked = [(f"linked caption {n} ☕", 1_000 * (n + 1)) for n in range(7)]
    await posts(user_id, linked, [(VIRAL, 5_000_000)])
    found = await best_posts.examples(user_id)
    assert (found.from_linked, found.linked, found.needed) == (True, 7, 0)
    content = await examples_sent(user_id, imitation)
    for n in (6, 5, 4, 3, 2):  # the five linked posts with the most views
        assert f"<example>\nlinked caption {n} ☕\n</example>" in content
    assert "linked caption 1 ☕" not in content and "linked caption 0 ☕" not in content
    assert VIRAL not in content


async def test_too_few_linked_posts_the_best_posts_are_the_examples(
    database: str, imitation: Starlette
) -> None:
    user_id, _ = await new_user("ben@example.com")
    await posts(user_id, [("linked caption", 10), ("another linked one", 20)], [(VIRAL, 5_000_000)])
    found = await best_posts.examples(user_id)
    assert (found.from_linked, found.linked, found.needed) == (False, 2, 3)
    assert "3 more needed" in found.words()
    content = await examples_sent(user_id, imitation)
    assert f"<example>\n{VIRAL}\n</example>" in content
