"""Settings: each subsystem's mode comes from the environment, in one place."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from assetry.config import Mode, Settings

ENV = ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "REDIS_URL", "PUBLIC_URL", "APP_DB_ROLE")


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path):
    """Build Settings from exactly the environment a test sets (no .env, nothing inherited)."""
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATA_DIR", str(tmp_path))

    def build(**env: str) -> Settings:
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return Settings(_env_file=None)

    return build


def test_no_keys_means_every_subsystem_is_embedded(settings) -> None:
    modes = settings().modes()
    assert set(modes) >= {
        "database",
        "auth",
        "ui state",
        "media storage",
        "mail",
        "fal.ai",
        "gemini",
        "anthropic",
        "tiktok",
        "instagram",
        "apify",
    }
    assert set(modes.values()) == {Mode.EMBEDDED}


def test_configured_modes_follow_the_environment(settings) -> None:
    configured = settings(
        DATABASE_URL="postgresql://owner:pw@db.example.com:5432/assetry",
        SUPABASE_URL="http://127.0.0.1:54321",
        SUPABASE_ANON_KEY="anon",
        REDIS_URL="redis://127.0.0.1:6379",
        MEDIA_S3_ENDPOINT="http://127.0.0.1:9000",
        MEDIA_S3_ACCESS_KEY="key",
        SMTP_URL="smtp://127.0.0.1:2525",
        FAL_KEY="fal",
        GEMINI_API_KEY="gemini",
        ANTHROPIC_API_KEY="anthropic",
        TIKTOK_CLIENT_KEY="key",
        TIKTOK_CLIENT_SECRET="secret",
        INSTAGRAM_CLIENT_ID="id",
        INSTAGRAM_CLIENT_SECRET="secret",
        APIFY_TOKEN="apify",
    )
    assert set(configured.modes().values()) == {Mode.CONFIGURED}


def test_supabase_needs_both_url_and_key_and_blank_is_unset(settings) -> None:
    assert settings(SUPABASE_URL="http://127.0.0.1:54321").auth_mode is Mode.EMBEDDED
    assert settings(DATABASE_URL="").database_mode is Mode.EMBEDDED


def test_app_database_url_logs_in_as_the_app_role_on_postgres(settings) -> None:
    configured = settings(
        DATABASE_URL="postgres://owner:secret@db.example.com:5432/assetry", APP_DB_ROLE="app"
    )
    url = make_url(configured.app_database_url)
    assert url.drivername == "postgresql+psycopg"
    assert (url.username, url.password) == ("app", "assetry-local-only")
    assert (url.host, url.port, url.database) == ("db.example.com", 5432, "assetry")
    assert make_url(configured.owner_database_url).username == "owner"


def test_with_no_database_url_the_app_uses_the_embedded_postgres_in_data_dir(settings, tmp_path) -> None:
    embedded = settings()
    assert embedded.local_postgres().folder == tmp_path / "postgres"
    owner = make_url(embedded.owner_database_url)
    assert (owner.username, owner.database, owner.query["host"]) == (
        "postgres",
        "assetry",
        str(tmp_path / "postgres"),
    )
    app = make_url(embedded.app_database_url)
    assert (app.drivername, app.username, app.database) == ("postgresql+psycopg", "assetry_app", "assetry")
    assert app.query["host"] == str(tmp_path / "postgres")
    assert settings(DATABASE_URL="postgres://owner@db.example.com/assetry").local_postgres() is None


def test_a_data_dir_too_long_for_a_socket_path_puts_the_socket_in_a_short_folder(settings, tmp_path) -> None:
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    local = settings(DATA_DIR=str(deep)).local_postgres()
    assert local.folder == deep / "postgres"
    assert len(str(local.socket_dir / ".s.PGSQL.5432")) <= 100
    assert local.socket_dir != settings(DATA_DIR=str(deep / "other")).local_postgres().socket_dir


def test_https_public_url_turns_on_https(settings) -> None:
    assert settings(PUBLIC_URL="https://assetry.cc").https is True
    assert settings(PUBLIC_URL="http://localhost:3000").https is False
    assert settings(PUBLIC_URL="https://assetry.cc/app").origin == "https://assetry.cc"


@pytest.mark.parametrize("days", ["0", "30"])
def test_deletion_grace_days_up_to_the_policys_30_are_accepted(settings, days: str) -> None:
    assert settings(DELETION_GRACE_DAYS=days).deletion_grace_days == int(days)


@pytest.mark.parametrize("days", ["31", "365", "-1"])
def test_deletion_grace_days_past_the_policys_30_are_refused(settings, days: str) -> None:
    with pytest.raises(ValidationError, match="deletion_grace_days"):
        settings(DELETION_GRACE_DAYS=days)
