"""Every setting is documented: in .env.example and in the README's configuration table."""

from __future__ import annotations

from assetry.config import ROOT, Settings


def test_every_setting_is_in_env_example_and_readme() -> None:
    example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    names = [name.upper() for name in Settings.model_fields]
    assert [n for n in names if f"{n}=" not in example] == []
    assert [n for n in names if f"`{n}`" not in readme] == []
