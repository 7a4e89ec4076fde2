"""Every promise of the privacy policy, and the tests that hold the product to it.

The policy the app serves (assetry/policies/privacy.md) is the product's contract. Each
entry below quotes a promise word for word and names the tests that fail when the code
breaks it (a comment says which break, where it was not obvious). This module
fails when the policy's wording changes under a quote (re-read the promise, re-check its
tests) or when a named test is renamed or removed (the promise would silently lose its
proof). What is left out on purpose: the legal-disclosure and jurisdiction paragraphs,
which promise nothing the software does.
"""

from __future__ import annotations

import ast
import re
from functools import cache
from pathlib import Path

import pytest

from assetry.config import ROOT

TESTS = ROOT / "tests"

PROMISES: dict[str, list[str]] = {
    "a hash of your password (never the password itself)": [
        "integration/test_accounts.py::test_sign_up_stores_hash_session_and_policy_acceptance",
        "integration/test_supabase_auth.py::test_sign_up_waits_for_supabases_link_and_keeps_no_hash",
        "unit/test_security.py::test_hash_is_argon2id_salted_and_verifies",
    ],
    "TikTok (Login Kit, scopes `user.info.basic` and `video.list`)": [
        "integration/test_tiktok.py::test_consent_page_is_labelled_and_lists_the_scopes",
        "integration/test_tiktok.py::test_connect_gives_tokens_named_by_open_id",
    ],
    "We never read your private messages, and we never post, edit or delete anything on a connected platform.": [
        "integration/test_connected_platforms_are_read_only.py::test_tiktok_is_only_read",
        "integration/test_connected_platforms_are_read_only.py::test_instagram_is_only_read",
    ],
    "Technical data: IP address, browser, device type, operating system and the page that referred you.": [
        "integration/test_usage.py::test_record_stores_a_page_view_with_its_technical_data",
        "integration/test_usage.py::test_track_page_view_records_route_ip_and_agent_of_the_browser",
    ],
    "Cookies: one session cookie to keep you signed in, and your preferences. No third-party advertising cookies.": [
        "e2e/test_sign_up_and_log_in.py::test_only_our_own_session_cookie_and_no_third_party_requests",
        "integration/test_session_cookie.py::test_the_cookie_is_http_only_lax_and_not_secure_over_http",
        # Fails when the CSP lets any foreign host (an ad network's) load anything.
        "unit/test_web.py::test_csp_lets_the_page_reach_no_origin_but_our_own",
    ],
    "product updates you opted into": [
        "integration/test_privacy.py::test_profile_sessions_preferences_and_privacy_requests",
    ],
    "to improve the service through aggregated counts that identify nobody": [
        "integration/test_admin_services.py::test_overview_counts_per_day_and_never_names_anyone",
        "integration/test_active_users.py::test_users_who_opted_out_are_not_counted",
    ],
    "and we share it with nobody beyond the processors below": [
        # Fails when matching a synced post (its cover, caption, time) to the generation it came from
        # sends anything anywhere but a GET of the post's own cover from its platform, and the database.
        "integration/test_matching_sends_nothing_to_a_third_party.py::test_matching_never_sends_anything_to_a_third_party",
    ],
    "A processor this installation is not configured to use receives nothing": [
        "unit/services/test_policies.py::test_no_processor_on_embedded_defaults_and_supabase_when_configured",
        "unit/services/test_processors.py::test_embedded_installation_uses_no_processor",
        "unit/services/test_processors.py::test_each_configured_processor_is_listed_alone",
        "unit/services/test_processors.py::test_everything_configured_lists_every_processor",
        "unit/services/test_processors.py::test_instagram_with_an_app_id_alone_is_still_the_sandbox_and_not_listed",
        "unit/services/test_processors.py::test_caption_providers_say_they_receive_the_best_posts_captions",
    ],
    "deleted within 30 days after you delete your account": [
        "integration/test_privacy.py::test_deletion_removes_every_row_and_file_of_the_user_and_nothing_else",
        "integration/test_privacy.py::test_grace_period_keeps_data_until_due_then_purges",
        "integration/test_privacy.py::test_a_purge_that_crashes_half_way_finishes_when_run_again",
        # Fails when any table or the outbox still holds the person's email, name or id after the purge.
        "integration/test_privacy.py::test_after_the_purge_no_table_names_the_person",
        "integration/test_supabase_auth.py::test_deleting_the_account_deletes_the_supabase_user",
        # Fails when the purge forgets the Supabase Auth user.
        "integration/test_supabase_auth.py::test_the_purge_after_a_deletion_deletes_the_supabase_user",
        # Fails when a log line of the whole journey (sign-up to purge) holds their email, name or id.
        "integration/test_logs_name_nobody.py::test_after_delete_and_purge_the_logs_hold_no_email_name_or_id",
        "integration/test_purge_command.py::test_purge_removes_what_is_due_then_finds_nothing_the_second_time",
        # Fails when a purge the workers schedule is missing from `python -m assetry purge`.
        "integration/test_purge_command.py::test_the_command_runs_every_purge_the_workers_schedule",
        # Fails when DELETION_GRACE_DAYS accepts more than 30.
        "unit/test_config.py::test_deletion_grace_days_past_the_policys_30_are_refused",
    ],
    "until you disconnect the platform; then we delete them and revoke them with the provider where the provider allows it": [
        "integration/test_tiktok_connection.py::test_disconnect_deletes_and_revokes_tokens_and_respects_the_history_choice",
        "integration/test_instagram_connection.py::test_disconnect_instagram_deletes_tokens_and_says_it_cannot_revoke",
    ],
    "Logs and usage data: at most 90 days, then purged automatically.": [
        "integration/test_privacy.py::test_retention_purges_91_days_and_keeps_89",
        # Fails when the retention.logs schedule is gone.
        "integration/test_privacy.py::test_the_retention_schedule_purges_through_the_job_runner",
        "integration/test_active_users.py::test_retention_and_account_deletion_keep_the_counts_true",
        "integration/test_purge_command.py::test_purge_removes_what_is_due_then_finds_nothing_the_second_time",
    ],
    "HTTPS everywhere": [
        "unit/test_web.py::test_hsts_only_when_served_over_https",
        "integration/test_session_cookie.py::test_the_cookie_is_secure_under_https",
    ],
    "tokens encrypted at rest": [
        "unit/test_token_vault.py::test_sealed_tokens_are_not_readable_and_open_again",
        # Fails when tokens are sealed with any key but the configured one (a key in the source).
        "integration/test_tiktok_connection.py::test_tokens_at_rest_open_with_the_configured_key_and_no_other",
        "integration/test_tiktok_connection.py::test_connect_then_full_first_sync",
        "integration/test_tiktok_connection.py::test_rotate_keys_reseals_every_token",
    ],
    "row-level security in the database so each account can only read its own rows": [
        "integration/test_row_level_security.py::test_user_session_selects_only_own_rows",
        "integration/test_row_level_security.py::test_user_session_cannot_update_or_delete_others_rows",
        "integration/test_row_level_security.py::test_user_session_cannot_insert_rows_owned_by_someone_else",
        "integration/test_row_level_security.py::test_rls_is_on_with_one_policy_per_operation",
        "integration/test_row_level_security.py::test_no_table_in_the_database_has_a_user_id_without_being_covered",
    ],
    "scoped service credentials and least privilege in the backend": [
        "integration/test_row_level_security.py::test_app_login_role_is_not_a_superuser_and_reads_nothing_without_set_role",
        "integration/test_handler_guards.py::test_log_out_revokes_only_the_callers_session",
    ],
    "see the data we hold about you": [
        "integration/test_privacy.py::test_export_contains_every_kind_of_record_and_no_secret",
        "e2e/test_settings_in_browser.py::test_the_export_holds_the_creators_data_and_only_they_can_download_it",
    ],
    "correct it": [
        "e2e/test_settings_in_browser.py::test_profile_changes_are_kept_and_a_confirmed_new_email_is_the_one_to_log_in_with",
    ],
    "have it deleted": [
        "e2e/test_settings_in_browser.py::test_deleting_the_account_needs_the_password_and_ends_every_session",
    ],
    "take it to another service": [
        "integration/test_privacy.py::test_media_output_rows_are_exported_with_their_files",
    ],
    "withdraw consent for connected platforms at any time": [
        "integration/test_tiktok_connection.py::test_disconnect_deletes_and_revokes_tokens_and_respects_the_history_choice",
    ],
    "object to or restrict some processing": [
        "integration/test_privacy.py::test_profile_sessions_preferences_and_privacy_requests",
        "integration/test_active_users.py::test_users_who_opted_out_are_not_counted",
    ],
    "complain to a supervisory authority": [
        "integration/test_privacy.py::test_profile_sessions_preferences_and_privacy_requests",
    ],
    "if you think a child has given us data, tell us and we will delete it": [
        "integration/test_privacy.py::test_profile_sessions_preferences_and_privacy_requests",
        "integration/test_privacy.py::test_an_admin_deletes_an_account_with_their_own_password",
    ],
    "show a notice when you next sign in and, where appropriate, email you": [
        "integration/test_policy_changes.py::test_banner_until_accepted",
        "integration/test_policy_changes.py::test_notify_emails_each_person_once_per_material_version",
    ],
}


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@cache
def _test_names(path: Path) -> frozenset[str]:
    tree = ast.parse(path.read_text())
    return frozenset(
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test_")
    )


@pytest.mark.parametrize("promise", PROMISES)
def test_the_promise_is_in_the_policy_word_for_word(promise: str) -> None:
    policy = _flat((ROOT / "assetry" / "policies" / "privacy.md").read_text())
    assert _flat(promise) in policy


@pytest.mark.parametrize("promise", PROMISES)
def test_every_test_named_for_the_promise_exists(promise: str) -> None:
    assert PROMISES[promise], "a promise needs at least one test"
    for node in PROMISES[promise]:
        file, name = node.split("::")
        assert name in _test_names(TESTS / file), f"{node} (for {promise!r}) is gone"
