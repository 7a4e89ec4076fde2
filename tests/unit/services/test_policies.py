"""The policy texts: effective date, digest, and the processors this installation uses."""

from __future__ import annotations

import shutil
from datetime import date

import pytest

from assetry.config import Settings
from assetry.services import policies


@pytest.fixture
def policy_copy(tmp_path, monkeypatch: pytest.MonkeyPatch):
    """The policy sources copied to a temp folder that `document()` reads instead."""
    for kind in policies.KINDS:
        shutil.copy(policies.POLICY_DIR / f"{kind}.md", tmp_path / f"{kind}.md")
    monkeypatch.setattr(policies, "POLICY_DIR", tmp_path)
    policies.document.cache_clear()
    yield tmp_path
    policies.document.cache_clear()


@pytest.mark.parametrize(("kind", "title"), [("privacy", "Privacy policy"), ("terms", "Terms of use")])
def test_document_reads_title_effective_date_and_body(kind: str, title: str) -> None:
    doc = policies.document(kind)
    assert (doc.kind, doc.title, doc.effective_on) == (kind, title, date(2026, 4, 22))
    assert "---" not in doc.body[:10]
    assert "Assetry" in doc.body
    assert len(doc.digest) == 64


def test_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown policy"):
        policies.document("cookies")


def test_digest_changes_when_the_text_changes_even_if_the_date_does_not(policy_copy) -> None:
    before = policies.document("privacy")
    source = policy_copy / "privacy.md"
    source.write_text(source.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    policies.document.cache_clear()
    after = policies.document("privacy")
    assert after.effective_on == before.effective_on
    assert after.digest != before.digest
    assert policies.document("terms").digest == policies.document("terms").digest


def test_no_processor_on_embedded_defaults_and_supabase_when_configured() -> None:
    assert policies.processors_in_use(Settings(_env_file=None, database_url=None, supabase_url=None)) == []
    configured = Settings(
        _env_file=None,
        database_url="postgresql://owner@db.abcdefgh.supabase.co/postgres",
        supabase_url="http://127.0.0.1:54321",
        supabase_anon_key="anon",
    )
    in_use = policies.processors_in_use(configured)
    assert len(in_use) == 2
    assert any(item.startswith("Supabase Auth") for item in in_use)
    assert any("Supabase" in item and "database" in item.lower() for item in in_use)
