"""The purges the privacy policy promises, listed once.

The job workers run each on its schedule (`jobs.manifest` makes a periodic task of every
one); `python -m assetry purge` runs them all now, in this order, and prints what each
removed. A purge added here is both scheduled and run by the command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from assetry.jobs.task import Context
from assetry.services import privacy, sign_up

HOURS = 3600


@dataclass(frozen=True)
class Purge:
    task: str  # the periodic job's name
    cron: str
    # What it removed, counted by kind, in the words the command prints.
    run: Callable[[], Awaitable[dict[str, int]]]
    timeout_seconds: float = HOURS

    async def as_job(self, _ctx: Context) -> dict[str, int]:
        return await self.run()


# How the command names what `privacy.purge_old_logs` counted (other kinds: their name, spaced).
LOG_KINDS = {
    "last_seen_at": "last-seen times cleared",
    "login_attempts": "log-in attempts",
    "auth_sessions": "ended sessions",
    "oauth_states": "OAuth states",
    "outbox": "emails",
    "audit_log": "audit entries cleared",
}


async def _accounts_past_their_grace_period() -> dict[str, int]:
    return {"accounts past their grace period": await privacy.purge_due_accounts()}


async def _sign_ups_never_confirmed() -> dict[str, int]:
    return {"sign-ups never confirmed": await sign_up.purge_unconfirmed()}


async def _logs_and_usage() -> dict[str, int]:
    counts = await privacy.purge_old_logs()
    return {LOG_KINDS.get(name, name.replace("_", " ")): n for name, n in counts.items()}


async def _finished_jobs() -> dict[str, int]:
    return {"finished jobs": await privacy.purge_finished_jobs()}


async def _expired_exports() -> dict[str, int]:
    return {"expired export archives": await privacy.delete_expired_exports()}


PURGES: tuple[Purge, ...] = (
    Purge("retention.accounts", "45 * * * *", _accounts_past_their_grace_period, 6 * HOURS),
    Purge(sign_up.PURGE_UNCONFIRMED, "55 * * * *", _sign_ups_never_confirmed),
    Purge("retention.logs", "5 */6 * * *", _logs_and_usage),
    Purge("retention.jobs", "25 */6 * * *", _finished_jobs),
    Purge("retention.exports", "35 * * * *", _expired_exports),
)


async def run_all() -> dict[str, int]:
    """Every purge, now; what each removed, by kind."""
    counts: dict[str, int] = {}
    for purge in PURGES:
        counts |= await purge.run()
    return counts
