"""Library search: the words of each prompt in a full-text (GIN) index, and one way in that uses it.

The library's search matched prompts with `ILIKE '%…%'`, which no index serves: every search
and every page of its results read all of the creator's generations. Each word of a search now
has to start a word of the prompt (a `to_tsquery` of prefix terms), which this index answers.

- Full text, not pg_trgm: the embedded server's wheel carries no contrib extension (only plpgsql
  and vector). The 'simple' configuration lower-cases words and neither stems them nor drops
  stop words, so "a" or "the" are found too, in any language.
- Row-level security keeps the index from a creator's own query: the text-search match (`@@`,
  ts_match_vq) is not leakproof, so Postgres checks the policy on every row before it and
  never uses it as an index condition (a sequential scan of the table). Only a superuser can
  mark a function leakproof. So `generation_ids_with_words` runs the match as the schema's
  owner, to whom the policy does not apply, over the caller's own rows only (`auth.uid()`,
  the same claim the policy reads). The library asks for `id = ANY(…)` of it, under RLS, which
  the primary key serves: a search costs what it finds, not what the library holds.

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_generations_prompt_words"
WORDS = "to_tsvector('simple'::regconfig, prompt)"
MATCHING = f"""
CREATE FUNCTION generation_ids_with_words(words tsquery) RETURNS uuid[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS $$
  SELECT coalesce(array_agg(id), '{{}}') FROM generations
  WHERE user_id = (SELECT auth.uid()) AND {WORDS} @@ $1
$$;
REVOKE ALL ON FUNCTION generation_ids_with_words(tsquery) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION generation_ids_with_words(tsquery) TO authenticated;
"""


def upgrade() -> None:
    op.execute(f"CREATE INDEX {INDEX} ON generations USING gin ({WORDS})")
    op.execute(MATCHING)


def downgrade() -> None:
    op.execute("DROP FUNCTION generation_ids_with_words(tsquery)")
    op.drop_index(INDEX, table_name="generations")
