"""Library search: each word typed must start a word of the prompt, and the prompt-words index serves it.

The words are matched as Postgres splits the prompts (full text, 'simple': lower-cased, not
stemmed), in any order; nothing typed is read as an operator. With 10,000 generations the
search's count and page are planned on the GIN index (alembic 0019), and a page deep in an
unfiltered library on a creation-time index: EXPLAIN of the very statements the service sent.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta

import pytest
import sqlalchemy as sa

from assetry import db
from assetry.config import driver_url, get_settings
from assetry.models import Generation
from assetry.models.base import utcnow
from assetry.services import studio
from tests.integration.test_studio import new_user

PROMPTS = [
    "A surfer at sunset, golden-hour light",
    "Golden retriever on the beach",
    "it's a CAFÉ in Paris",
    "concatenate two clips",
    "surfboard wax: 50% off_season",
]


async def _generations(user_id: uuid.UUID, prompts: list[str]) -> None:
    moment = utcnow()
    async with db.service_session() as session:
        session.add_all(
            Generation(
                user_id=user_id,
                kind="image",
                prompt=prompt,
                provider="offline",
                model="preview",
                status="succeeded",
                created_at=moment - timedelta(minutes=n),
            )
            for n, prompt in enumerate(prompts)
        )


async def _found(user_id: uuid.UUID, search: str) -> tuple[list[str], int]:
    found = await studio.library(user_id, search=search)
    return [row.prompt for row in found.generations], found.total


@pytest.mark.parametrize(
    ("search", "found"),
    [
        ("surf", [0, 4]),
        ("SUNSET surf", [0]),  # any case, any order, every word
        ("gold", [0, 1]),
        ("golden-hour", [0]),
        ("it's café", [2]),
        ("CAFÉ", [2]),
        ("cat", []),  # "concatenate": a word's start, not any part of it
        ("50% off_season", [4]),
        ("surf walrus", []),
        ("':* & !(|\\ <->", []),  # operators and quotes are text; no word in it finds nothing
        ("   ", [0, 1, 2, 3, 4]),  # blank: no search
    ],
)
async def test_each_word_typed_must_start_a_word_of_the_prompt(database: str, search, found) -> None:
    user_id, _ = await new_user("ana@example.com")
    await _generations(user_id, PROMPTS)
    other_id, _ = await new_user("theo@example.com")
    await _generations(other_id, ["A surfer at dawn", "golden fields"])

    assert await _found(user_id, search) == ([PROMPTS[n] for n in found], len(found))


class _Sent:
    """The statements this process sends on the app's user engine, with their parameters."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, dict]] = []

    def __call__(self, _conn, _cursor, statement, parameters, _context, _many) -> None:
        self.statements.append((statement, parameters))

    def __enter__(self) -> _Sent:
        sa.event.listen(db.engine().sync_engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc) -> None:
        sa.event.remove(db.engine().sync_engine, "before_cursor_execute", self)

    def of_generations(self) -> list[tuple[str, dict]]:
        return [(sql, params) for sql, params in self.statements if "FROM generations" in sql]


async def _plans(user_id: uuid.UUID, sent: list[tuple[str, dict]]) -> list[str]:
    """EXPLAIN of each statement, as the user (row-level security on), with its parameters."""
    plans = []
    async with db.user_session(user_id) as session:
        connection = await session.connection()
        for sql, params in sent:
            rows = await connection.exec_driver_sql("EXPLAIN " + sql, params)
            plans.append("\n".join(row[0] for row in rows))
    return plans


def _plan_of_the_match(user_id: uuid.UUID, word: str) -> str:
    """EXPLAIN of what `generation_ids_with_words` runs for a search of `word`: its own text from
    the catalog, as its owner (the schema's, as the function runs) on the user's behalf."""
    owner = sa.create_engine(driver_url(get_settings().owner_database_url), poolclass=sa.pool.NullPool)
    try:
        with owner.begin() as connection:
            body = connection.exec_driver_sql(
                "SELECT prosrc FROM pg_proc WHERE proname = 'generation_ids_with_words'"
            ).scalar_one()
            connection.exec_driver_sql(
                "SELECT set_config('request.jwt.claims', %(claims)s, true)",
                {"claims": json.dumps({"sub": str(user_id)})},
            )
            connection.exec_driver_sql(f"PREPARE match(tsquery) AS {body}")
            assert word.isalnum()  # EXECUTE takes no bound parameters: spelled in place
            rows = connection.exec_driver_sql(f"EXPLAIN EXECUTE match(to_tsquery('simple', '{word}:*'))")
            return "\n".join(row[0] for row in rows)
    finally:
        owner.dispose()


def _bulk_insert(prompts: dict[uuid.UUID, list[str]]) -> None:
    """Each user's prompts as generations a minute apart, newest first, in one statement each
    (20,000 models take long to build); then the statistics autovacuum would gather in time."""
    owner = sa.create_engine(driver_url(get_settings().owner_database_url), poolclass=sa.pool.NullPool)
    with owner.begin() as connection:
        for user_id, theirs in prompts.items():
            connection.exec_driver_sql(
                "INSERT INTO generations (id, user_id, kind, prompt, options, provider, model, cost_usd,"
                " status, phase, error, created_at)"
                " SELECT gen_random_uuid(), %(user)s, 'image', prompt, '{}', 'offline', 'preview', 0,"
                " 'succeeded', '', '', now() - n * interval '1 minute'"
                " FROM unnest(%(prompts)s::text[]) WITH ORDINALITY AS p(prompt, n)",
                {"user": user_id, "prompts": theirs},
            )
        connection.exec_driver_sql("ANALYZE generations")
    owner.dispose()


async def test_with_10000_generations_each_search_and_deep_pages_are_planned_on_indexes(
    database: str,
) -> None:
    user_id, _ = await new_user("ana@example.com")
    prompts = [f"Image {n}: a surfer at sunset, golden hour" for n in range(10_000)]
    for n in (17, 4_242, 9_001):
        prompts[n] = f"Image {n}: a walrus on the ice"
    other_id, _ = await new_user("theo@example.com")  # as many, over the same hours
    _bulk_insert({user_id: prompts, other_id: [f"{n}: a walrus at the zoo" for n in range(10_000)]})

    with _Sent() as search:
        found = await studio.library(user_id, search="Walrus")
    async with db.service_session() as session:
        middle = (await session.exec(sa.select(Generation).where(Generation.prompt == prompts[4_999]))).one()
    with _Sent() as deep:
        deeper = (await studio.library(user_id, after=studio.LibraryCursor.below(middle[0]))).generations

    assert ([row.prompt for row in found.generations], found.total) == (
        [prompts[n] for n in (17, 4_242, 9_001)],
        3,
    )
    assert [row.prompt for row in deeper] == prompts[5_000:5_048]
    # The search: the match on the prompt-words index, then its rows by primary key.
    assert "Bitmap Index Scan on ix_generations_prompt_words" in _plan_of_the_match(user_id, "walrus")
    for plan in await _plans(user_id, search.of_generations()):  # the count, the page
        assert "Index Cond: (id = ANY (generation_ids_with_words(" in plan, plan
        assert "Seq Scan" not in plan, plan
    # A page halfway down: read in order from an index on the creation time, from where the last
    # one ended (the planner picks (user, created) or (created) by how many rows are the user's).
    _, deep_page = await _plans(user_id, deep.of_generations())
    assert re.search(r"Index Scan Backward using ix_generations_(user_)?created", deep_page), deep_page
    assert re.search(r"Index Cond: .*created_at <= '", deep_page), deep_page
    assert "Seq Scan" not in deep_page, deep_page
