"""Log records name nobody: addresses, ids and job arguments are gone before any handler sees them."""

from __future__ import annotations

import logging
import uuid

import pytest

from assetry import logs
from assetry.config import get_settings

USER = uuid.UUID("6f1c2b8e-4d3a-4b7e-9c1d-2a3b4c5d6e7f")


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    logs.install()
    caplog.set_level(logging.DEBUG)
    return caplog


def test_an_address_and_an_id_become_a_mask_and_a_pseudonym(records: pytest.LogCaptureFixture) -> None:
    logging.getLogger("assetry.test").warning(
        "mail to %s for user %s (%s)", "Maya.Q@example.com", USER, USER.hex
    )
    (line,) = [record.getMessage() for record in records.records]
    assert line == f"mail to [email] for user {logs.pseudonym(USER)} ({logs.pseudonym(USER)})"
    assert "example.com" not in line and USER.hex not in line


def test_a_url_encoded_address_is_masked_too() -> None:
    assert logs.scrub("GET /waitlist?email=maya%40example.com") == "GET /waitlist?email=[email]"


@pytest.mark.parametrize(
    "line",
    [
        "Starting job sign_up.send_link[5](email='m@x.io', display_name='Maya (the maker) Q', password_hash='$a$')",
        "Job studio.generate[6](user_id='{u}', prompt='a dawn (then dusk) sky') ended with status: Error, lasted 1 s",
        "Waiting for job to finish: worker: privacy.purge[7](user_id='{u}') (started 2.000 s ago)",
        "Periodic job retention.logs[None](timestamp=1796562900) deferred for timestamp 1796562900 with id 3",
    ],
)
def test_a_job_keeps_its_task_and_id_and_loses_its_arguments(line: str) -> None:
    scrubbed = logs.scrub(line.format(u=USER))
    assert "(…)" in scrubbed
    for secret in ("m@x.io", "Maya", "$a$", str(USER), "dawn", "dusk", "timestamp="):
        assert secret not in scrubbed
    assert scrubbed.split("[")[0].split()[-1] in line  # the task's name is still there


def test_a_traceback_is_scrubbed_like_the_message(records: pytest.LogCaptureFixture) -> None:
    try:
        raise ValueError(f"no room for maya@example.com ({USER})")
    except ValueError:
        logging.getLogger("assetry.test").exception("sending failed")
    (record,) = records.records
    assert "maya@example.com" not in record.exc_text and str(USER) not in record.exc_text
    assert "ValueError: no room for [email]" in logging.Formatter().format(record)


def test_the_pseudonym_is_stable_and_depends_on_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "one key")
    get_settings.cache_clear()
    first = logs.pseudonym(USER)
    assert logs.pseudonym(str(USER)) == logs.pseudonym(USER.hex) == first
    assert logs.pseudonym(uuid.uuid4()) != first
    monkeypatch.setenv("SECRET_KEY", "another key")
    get_settings.cache_clear()
    assert logs.pseudonym(USER) != first
    get_settings.cache_clear()


def test_the_libraries_that_log_data_are_held_at_warning() -> None:
    logs.configure()
    for name in ("sqlalchemy.engine", "httpx", "httpcore"):
        assert not logging.getLogger(name).isEnabledFor(logging.INFO)


def test_the_operator_command_tells_what_to_search_the_logs_for(capsys: pytest.CaptureFixture[str]) -> None:
    from assetry import cli

    assert cli.main(["pseudonym", str(USER)]) == 0
    assert capsys.readouterr().out.strip() == logs.pseudonym(USER)
