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
    "instagram_client_id": None,
    "instagram_client_secret": None,
    "media_s3_endpoint": None,
    "media_s3_access_key": None,
    "redis_url": None,
    "smtp_url": None,
}


def settings(**overrides) -> Settings:
    return Settings(_env_file=None, **(EMBEDDED | overrides))


def test_embedded_installation_uses_no_processor() -> None:
    assert policies.processors_in_use(settings()) == []


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (
            {"database_url": "postgresql://postgres:pw@db.abcdefgh.supabase.co:5432/postgres"},
            "Supabase (Postgres database)",
        ),
        (
            {"database_url": "postgresql://postgres.abcdefgh:pw@aws-0-eu-west-1.pooler.supabase.com:6543/db"},
            "Supabase (Postgres database)",
        ),
        (
            {"database_url": "postgresql://owner:pw@db.example.com/assetry"},
            "Postgres database at db.example.com",
        ),
        (
            {"media_s3_endpoint": "https://abcdefgh.supabase.co/storage/v1/s3", "media_s3_access_key": "k"},
            "Supabase Storage",
        ),
        (
            {"media_s3_endpoint": "https://s3.eu-central-1.amazonaws.com", "media_s3_access_key": "k"},
            "S3 storage at s3.eu-central-1.amazonaws.com",
        ),
        ({"redis_url": "redis://:secret@cache.example.com:6379/0"}, "Redis at cache.example.com"),
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
        database_url="postgresql://owner@db.abcdefgh.supabase.co/postgres",
        media_s3_endpoint="https://abcdefgh.supabase.co/storage/v1/s3",
        media_s3_access_key="k",
        redis_url="redis://cache.example.com:6379",
        instagram_client_id="i",
        instagram_client_secret="is",
        smtp_url="smtp://mail.example.com:587",
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
        "Supabase Storage",
        "Redis at cache.example.com",
        "fal.ai",
        "Google Gemini",
        "Anthropic",
        "Apify",
        "TikTok",
        "Meta (Instagram)",
        "Email delivery (SMTP)",
    ]


@pytest.mark.parametrize(
    ("field", "named"),
    [
        ({"instagram_client_id": "123", "instagram_client_secret": "s"}, "Meta (Instagram)"),
        ({"smtp_url": "smtp://mail.example.com:587"}, "Email delivery (SMTP)"),
    ],
)
def test_instagram_and_smtp_once_their_settings_exist(field: dict, named: str) -> None:
    in_use = policies.processors_in_use(settings(**field))
    assert [line.split(":")[0] for line in in_use] == [named]


def test_instagram_with_an_app_id_alone_is_still_the_sandbox_and_not_listed() -> None:
    assert policies.processors_in_use(settings(instagram_client_id="123")) == []


def test_no_credentials_of_a_host_are_shown() -> None:
    in_use = " ".join(
        policies.processors_in_use(
            settings(
                database_url="postgresql://owner:db-password@db.example.com/assetry",
                redis_url="redis://:redis-password@cache.example.com:6379/0",
            )
        )
    )
    assert "password" not in in_use and "owner" not in in_use


def test_caption_providers_say_they_receive_the_best_posts_captions() -> None:
    for key in ("gemini_api_key", "anthropic_api_key"):
        (line,) = policies.processors_in_use(settings(**{key: "k"}))
        assert "Write like my best posts" in line and "captions of your top posts" in line
