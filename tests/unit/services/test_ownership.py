"""The ownership map covers every table, and names its columns and secrets correctly."""

from __future__ import annotations

import pytest

from assetry.models import metadata
from assetry.services import ownership

SECRET_LOOKING = ("_hash", "_enc", "verifier", "password", "secret")


def test_every_table_of_the_schema_is_in_the_map() -> None:
    assert ownership.unmapped_tables() == [], "add the new table to assetry/services/ownership.py"


def test_a_table_missing_from_the_map_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(ownership.MAP, "notes")
    assert ownership.unmapped_tables() == ["notes"]


@pytest.mark.parametrize("entry", ownership.entries(), ids=lambda e: e.table)
def test_entry_names_real_columns(entry: ownership.Ownership) -> None:
    table = metadata.tables[entry.table]
    assert set(entry.secret) <= set(table.c.keys())
    if entry.relation == ownership.NOT_PERSONAL:
        assert entry.reason
        assert "user_id" not in table.c, "a table with a user_id column holds personal data"
        return
    column = table.c[entry.column]
    if entry.relation == ownership.OWNER and entry.table != "users":
        assert {fk.target_fullname for fk in column.foreign_keys} == {"users.id"}
    if entry.relation == ownership.PARENT:
        assert any(fk.column.table.name == entry.parent for fk in column.foreign_keys)
        assert entry.parent in ownership.MAP
    if entry.relation in ownership.PERSONAL:
        assert entry.export_as and entry.describes


@pytest.mark.parametrize("entry", ownership.personal(), ids=lambda e: e.table)
def test_secret_looking_columns_are_never_exported(entry: ownership.Ownership) -> None:
    exported = {column.name for column in ownership.exported_columns(entry)}
    leaking = {name for name in exported if any(part in name for part in SECRET_LOOKING)}
    assert not leaking


def test_export_names_are_unique() -> None:
    names = [entry.export_as for entry in ownership.personal()]
    assert len(names) == len(set(names))
