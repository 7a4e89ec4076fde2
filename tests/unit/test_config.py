"""Settings: each subsystem's mode comes from the environment, in one place."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import make_url

from assetry.config import DeploymentRefused, Mode, Settings, signing_secret

ENV = ("DATABASE_URL", "SUPABASE_URL", "SUPABASE_ANON_KEY", "REDIS_URL", "PUBLIC_URL", "APP_DB_ROLE", "DEPLOYMENT",
       "ENCRYPTION_KEYS", "SECRET_KEY", "APP_DB_PASSWORD", "MEDIA_S3_ENDPOINT", "MEDIA_S3_ACCESS_KEY",
       "MEDIA_S3_SECRET_KEY")  # fmt: skip


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


MULTI = {
    "DEPLOYMENT": "multi",
    "ENCRYPTION_KEYS": "k1:" + "A" * 43,
    "SECRET_KEY": "a-long-random-signing-key",
    "DATABASE_URL": "postgresql://owner:pw@db.example.com:5432/assetry",
    "APP_DB_PASSWORD": "not-the-built-in-one",
    "REDIS_URL": "redis://redis.example.com:6379/0",
    "MEDIA_S3_ENDPOINT": "https://s3.example.com",
    "MEDIA_S3_ACCESS_KEY": "key",
    "MEDIA_S3_SECRET_KEY": "secret",
}


@pytest.fixture
def multi(settings, monkeypatch: pytest.MonkeyPatch):
    """Settings in multi-instance mode: everything set except the names given."""

    def build(*unset: str, **env: str) -> Settings:
        for name in MULTI:
            monkeypatch.delenv(name, raising=False)
        return settings(**({k: v for k, v in MULTI.items() if k not in unset} | env))

    return build


def test_multi_instance_mode_with_everything_set_starts(multi) -> None:
    configured = multi()
    configured.refuse_unsafe_deployment()
    assert configured.encryption_keyring()[0][0] == "k1"


@pytest.mark.parametrize(
    ("unset", "named"),
    [
        (("ENCRYPTION_KEYS",), "ENCRYPTION_KEYS"),
        (("SECRET_KEY",), "SECRET_KEY"),
        (("DATABASE_URL",), "DATABASE_URL"),
        (("APP_DB_PASSWORD",), "APP_DB_PASSWORD"),
        (("REDIS_URL",), "REDIS_URL"),
        (("MEDIA_S3_SECRET_KEY",), "MEDIA_S3_SECRET_KEY (object storage"),
        (
            ("MEDIA_S3_ENDPOINT", "MEDIA_S3_ACCESS_KEY"),
            "MEDIA_S3_ENDPOINT, MEDIA_S3_ACCESS_KEY (object storage",
        ),
    ],
)
def test_multi_instance_mode_refuses_and_names_exactly_what_is_missing(multi, unset, named) -> None:
    configured = multi(*unset)
    with pytest.raises(DeploymentRefused) as refused:
        configured.refuse_unsafe_deployment()
    message = str(refused.value)
    [listed] = [line for line in message.splitlines() if line.startswith("  - ")]
    assert listed.startswith(f"  - {named}")
    assert "unset DEPLOYMENT to run on one machine" in message


def test_malformed_keys_are_named_and_blank_ones_are_missing(multi) -> None:
    assert (
        multi(ENCRYPTION_KEYS="k1:tooshort")
        .missing_for_multi_instance()[0]
        .startswith("ENCRYPTION_KEYS in the right shape")
    )
    assert multi(SECRET_KEY="", REDIS_URL="").missing_for_multi_instance() == [
        "SECRET_KEY (signs media and download links; the same on every instance)",
        "REDIS_URL (UI state shared by the web backends)",
    ]


def test_keys_are_made_locally_on_one_machine_and_never_in_multi_instance_mode(
    multi, settings, tmp_path
) -> None:
    refusing = multi("ENCRYPTION_KEYS", "SECRET_KEY")
    with pytest.raises(DeploymentRefused, match="ENCRYPTION_KEYS"):
        refusing.encryption_keyring()
    with pytest.raises(DeploymentRefused, match="SECRET_KEY"):
        signing_secret(refusing)
    assert sorted(tmp_path.iterdir()) == []
    one_machine = settings(DEPLOYMENT="single")
    assert one_machine.encryption_keyring()[0][0] == "local"
    assert signing_secret(one_machine) == signing_secret(settings(DEPLOYMENT="single"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["encryption.key", "secret.key"]


def test_the_local_signing_key_is_read_from_its_file_once_and_again_when_the_file_is_new(
    settings, tmp_path, monkeypatch
) -> None:
    one_machine = settings(DEPLOYMENT="single")
    first = signing_secret(one_machine)
    reads = []
    read_text = Path.read_text
    monkeypatch.setattr(
        Path, "read_text", lambda path, *a, **k: reads.append(path) or read_text(path, *a, **k)
    )
    assert [signing_secret(one_machine) for _ in range(48)] == [first] * 48  # a library page's covers
    assert reads == []
    key = tmp_path / "secret.key"
    replaced = tmp_path / "secret.key.new"
    replaced.write_text(base64.urlsafe_b64encode(b"k" * 48).decode())
    replaced.replace(key)  # another file (a restored backup, a key set by hand): read again
    assert signing_secret(one_machine) == b"k" * 48
    assert reads == [key]


def test_an_unknown_deployment_is_refused(settings) -> None:
    with pytest.raises(ValidationError, match="single"):
        settings(DEPLOYMENT="several")
