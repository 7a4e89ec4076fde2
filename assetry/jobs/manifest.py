"""Every background task, listed once: its queue, priority, attempts, time limit and end hook.

The web process (to enqueue and, embedded, to run a worker) and `python -m assetry worker`
both build their procrastinate app from this list; importing a service registers nothing.

Two queues: `interactive` (what a person waits for: generations, exports, mail, plan reminders, reset
links, tracked posts) and `bulk` (syncs, invitations, purges, retention). Interactive jobs
also carry a higher priority, so a worker that serves both queues takes them first: a
generation never waits behind an hourly burst of syncs. A worker can also serve one queue.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from assetry.jobs.task import Context
from assetry.services import (
    connections,
    growth,
    mail,
    password_reset,
    plan,
    policy_changes,
    post_matching,
    privacy,
    retention,
    sign_up,
    studio,
    sync,
    tracking,
    what_works,
)
from assetry.services.admin import invitations

INTERACTIVE, BULK = "interactive", "bulk"
QUEUES = (INTERACTIVE, BULK)
PRIORITY = {INTERACTIVE: 10, BULK: 0}

TaskFunction = Callable[[Context], Awaitable[Any]]
# Called once a job ends without success, with its payload, its status (failed | cancelled)
# and the message for the user.
EndHook = Callable[[dict, str, str], Awaitable[None]]


@dataclass(frozen=True)
class Spec:
    name: str
    run: TaskFunction
    queue: str
    max_attempts: int = 3
    timeout_seconds: float = 3600
    on_end: EndHook | None = None
    cron: str | None = None  # periodic: deferred by the workers on this schedule, once across them
    forget_args: bool = False  # a job that ends without success keeps no arguments (addresses, hashes)

    @property
    def priority(self) -> int:
        return PRIORITY[self.queue]


HOURS = 3600
TASKS: tuple[Spec, ...] = (
    Spec(studio.TASK, studio.run_generation, INTERACTIVE, 5, 20 * 60, studio.job_ended),
    Spec(privacy.EXPORT_KIND, privacy.run_export, INTERACTIVE, 3, 4 * HOURS, privacy.export_ended),
    Spec(mail.DELIVER, mail.deliver, INTERACTIVE, mail.MAX_ATTEMPTS, 2 * 24 * HOURS, mail.delivery_ended),
    Spec(password_reset.SEND_LINK, password_reset.send_link, INTERACTIVE, 3, HOURS, forget_args=True),
    Spec(sign_up.SEND_LINK, sign_up.run_send_link, INTERACTIVE, 3, HOURS, forget_args=True),
    Spec(sign_up.RESEND_LINK, sign_up.run_resend_link, INTERACTIVE, 3, HOURS, forget_args=True),
    Spec(tracking.FETCH_TASK, tracking.fetch, INTERACTIVE, 5, HOURS),
    # Every minute, so a reminder comes within a minute of its hour.
    Spec(plan.REMIND, plan.remind_due, INTERACTIVE, 2, 120, cron="* * * * *"),
    Spec(connections.SYNC_TASK, sync.sync_account, BULK, 8, 3 * HOURS, sync.sync_ended),
    Spec(growth.CAPTURE_TASK, sync.capture_growth, BULK, 3, HOURS),
    Spec(post_matching.TASK, post_matching.match_new_posts, BULK, 3, HOURS),
    Spec(what_works.KEEP, what_works.keep_current, BULK, 3, HOURS),
    Spec(sync.SCHEDULE, sync.schedule_syncs, BULK, 2, 600, cron="*/5 * * * *"),
    Spec(tracking.REFRESH_DUE, tracking.refresh_due, BULK, 2, 600, cron="*/10 * * * *"),
    Spec(invitations.INVITE_ALL, invitations.send_invitations, BULK, 5, 6 * HOURS, invitations.ended),
    Spec(privacy.PURGE_KIND, privacy.run_purge, BULK, 10, 6 * HOURS),
    Spec(policy_changes.NOTIFY, policy_changes.notify, BULK, 3, HOURS, cron="17 * * * *"),
    *(Spec(p.task, p.as_job, BULK, 3, p.timeout_seconds, cron=p.cron) for p in retention.PURGES),
)
_BY_NAME = {spec.name: spec for spec in TASKS}


def spec(name: str) -> Spec:
    if name not in _BY_NAME:
        raise KeyError(f"no task named {name!r} in the manifest")
    return _BY_NAME[name]


def names() -> list[str]:
    return sorted(_BY_NAME)
