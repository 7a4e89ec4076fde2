"""Reading Instagram's callback and its rate-limit headers (no network: the replies are built here)."""

from __future__ import annotations

import json

import httpx
import pytest

from assetry.errors import BadInput
from assetry.integrations.instagram import (
    APP_LIMIT_BACKOFF,
    DEFAULT_BACKOFF,
    code_from_callback,
    retry_after_seconds,
)


def reply(**headers: str) -> httpx.Response:
    return httpx.Response(400, headers=headers, json={"error": {"code": 4, "message": "(#4) limit"}})


def test_business_usage_gives_the_longest_wait_in_seconds() -> None:
    usage = {
        "1784140": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 3}],
        "1784141": [{"type": "instagram", "call_count": 96, "estimated_time_to_regain_access": 12}],
    }
    assert retry_after_seconds(reply(**{"X-Business-Use-Case-Usage": json.dumps(usage)})) == 720


def test_retry_after_header_when_usage_names_no_time() -> None:
    usage = {"1784140": [{"type": "instagram", "call_count": 100, "estimated_time_to_regain_access": 0}]}
    response = reply(**{"X-Business-Use-Case-Usage": json.dumps(usage), "Retry-After": "90"})
    assert retry_after_seconds(response) == 90


def test_a_full_app_usage_waits_longer_than_no_information() -> None:
    full = reply(**{"X-App-Usage": json.dumps({"call_count": 100, "total_time": 20, "total_cputime": 9})})
    assert retry_after_seconds(full) == APP_LIMIT_BACKOFF
    low = reply(**{"X-App-Usage": json.dumps({"call_count": 12, "total_time": 20, "total_cputime": 9})})
    assert retry_after_seconds(low) == DEFAULT_BACKOFF


@pytest.mark.parametrize(
    "garbage",
    ["", "not json", "[1, 2]", '{"x": "y"}', '{"1": [{"estimated_time_to_regain_access": "soon"}]}'],
)
def test_unreadable_usage_headers_fall_back_to_the_default(garbage: str) -> None:
    response = reply(**{"X-Business-Use-Case-Usage": garbage, "X-App-Usage": garbage})
    assert retry_after_seconds(response) == DEFAULT_BACKOFF


def test_callback_code_loses_instagrams_fragment_tail() -> None:
    assert code_from_callback({"code": "AQBx-abc#_", "state": "s"}) == "AQBx-abc"
    assert code_from_callback({"code": "AQBx-abc", "state": "s"}) == "AQBx-abc"


def test_callback_errors_other_than_denial_carry_instagrams_description() -> None:
    with pytest.raises(BadInput, match="did not connect the account: Scope not allowed"):
        code_from_callback({"error": "invalid_scope", "error_description": "Scope not allowed"})
