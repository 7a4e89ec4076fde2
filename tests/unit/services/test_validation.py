"""What people type: emails normalised, text within limits, weak passwords named."""

from __future__ import annotations

import pytest

from assetry.errors import BadInput
from assetry.services.validation import clean_email, clean_text, password_problem


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Maya@Example.COM ", "maya@example.com"),
        ("theo+clips@studio.example.org", "theo+clips@studio.example.org"),
    ],
)
def test_clean_email_trims_and_lowercases(typed: str, stored: str) -> None:
    assert clean_email(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Enter your email address."),
        ("   ", "Enter your email address."),
        ("not-an-email", "doesn't look right"),
        ("maya@", "doesn't look right"),
        ("a" * 250 + "@example.com", "longer than 254 characters"),
    ],
)
def test_clean_email_refuses_with_a_message(typed: str, message: str) -> None:
    with pytest.raises(BadInput, match=message):
        clean_email(typed)


def test_clean_text_trims_and_keeps_what_was_typed() -> None:
    assert clean_text("  <b>Hi</b>  ", field="subject", max_length=20) == "<b>Hi</b>"


def test_clean_text_limit_is_inclusive_and_the_message_counts() -> None:
    assert clean_text("x" * 200, field="subject", max_length=200) == "x" * 200
    with pytest.raises(BadInput, match=r"The subject is 5,001 characters; the limit is 5,000"):
        clean_text("x" * 5001, field="subject", max_length=5000)


def test_clean_text_required_and_optional() -> None:
    with pytest.raises(BadInput, match="Please fill in the message"):
        clean_text("  ", field="message", max_length=10)
    assert clean_text("", field="name", max_length=10, required=False) == ""


@pytest.mark.parametrize(
    ("password", "email", "problem"),
    [
        ("Short-1a", "", "at least 10"),
        ("Aa1!" * 33, "", "at most 128"),
        ("Password123", "", "too common"),
        ("aaaaAAAA11!!", "", "too repetitive"),  # case does not make new characters
        ("ababababab", "", "too common or too repetitive"),
        ("Mayadelrio-2026", "mayadelrio@example.com", "email address"),
        ("alllowercaseword", "", None),  # 16+ characters need no mix
        ("lowercase12", "", "Mix at least three"),  # two kinds, under 16 characters
        ("onlylowercase", "", "Mix at least three"),
        ("Correct-Horse-42", "maya@example.com", None),
    ],
)
def test_password_problem(password: str, email: str, problem: str | None) -> None:
    found = password_problem(password, email)
    if problem is None:
        assert found is None
    else:
        assert found is not None
        assert problem in found


def test_time_zones_are_offered_with_readable_names_and_their_offset() -> None:
    from datetime import UTC, datetime

    from assetry.services.profile import time_zone_choices

    choices = dict(time_zone_choices(datetime(2026, 1, 15, tzinfo=UTC)))
    assert choices["Europe/Paris"] == "Europe/Paris — Paris (UTC+01:00)"
    assert (
        choices["America/Argentina/Buenos_Aires"]
        == "America/Argentina/Buenos_Aires — Buenos Aires (UTC-03:00)"
    )
    assert choices["Asia/Kolkata"] == "Asia/Kolkata — Kolkata (UTC+05:30)"
    assert next(iter(choices)) == "UTC"
    # Old aliases and fixed offsets are not offered (they stay accepted when already saved).
    assert "US/Eastern" not in choices and "Etc/GMT+5" not in choices and "EST5EDT" not in choices
    assert len(choices) < 500
