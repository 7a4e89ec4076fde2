"""The privacy page's "In use on this installation" list follows the settings."""

from __future__ import annotations

import pytest

from assetry.config import Settings
from assetry.services import policies

EMBEDDED = {
    "database_url": None,
    "supabase_url": None,
    "supabase_anon_key": None,
    "fal_key": None,
    "gemini_api_key": None,
    "anthropic_api_key": None,
    "apify_token": None,
    "tiktok_client_key": None,
    "tiktok_client_secret": None,
}


def settings(**overrides) -> Settings:
    return Settings(_env_file=None, **(EMBEDDED | overrides))


def test_embedded_installation_uses_no_processor() -> None:
    assert policies.processors_in_use(settings()) == []


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"database_url": "postgresql://owner@db.example.com/assetry"}, "Supabase (Postgres database)"),
        ({"supabase_url": "http://127.0.0.1:54321", "supabase_anon_key": "anon"}, "Supabase Auth"),
        ({"fal_key": "key-id:secret"}, "fal.ai"),
        ({"gemini_api_key": "AIza-test"}, "Google Gemini"),
        ({"anthropic_api_key": "sk-ant-test"}, "Anthropic"),
        ({"apify_token": "apify_api_test"}, "Apify"),
        ({"tiktok_client_key": "ck", "tiktok_client_secret": "cs"}, "TikTok"),
    ],
)
def test_each_configured_processor_is_listed_alone(overrides: dict, named: str) -> None:
    in_use = policies.processors_in_use(settings(**overrides))
    assert len(in_use) == 1
    assert in_use[0].startswith(named)


def test_blank_keys_and_half_configured_providers_are_not_listed() -> None:
    half = settings(
        fal_key="", gemini_api_key="", apify_token="", tiktok_client_key="ck", supabase_url="http://x"
    )
    assert policies.processors_in_use(half) == []


def test_everything_configured_lists_every_processor() -> None:
    full = settings(
        database_url="postgresql://owner@db.example.com/assetry",
        supabase_url="http://127.0.0.1:54321",
        supabase_anon_key="anon",
        fal_key="k",
        gemini_api_key="g",
        anthropic_api_key="a",
        apify_token="t",
        tiktok_client_key="ck",
        tiktok_client_secret="cs",
    )
    names = [line.split(":")[0] for line in policies.processors_in_use(full)]
    assert names == [
        "Supabase (Postgres database)",
        "Supabase Auth",
        "fal.ai",
        "Google Gemini",
        "Anthropic",
        "Apify",
        "TikTok",
    ]


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("instagram_client_id", "123", "Meta (Instagram)"),
        ("smtp_url", "smtp://mail.example.com:587", "Email delivery (SMTP)"),
    ],
)
def test_instagram_and_smtp_once_their_settings_exist(field: str, value: str, named: str) -> None:
    if field not in Settings.model_fields:
        pytest.skip(f"{field.upper()} is not a setting on this branch yet")
    in_use = policies.processors_in_use(settings(**{field: value}))
    assert [line.split(":")[0] for line in in_use] == [named]
