"""Durable background jobs.

A job is a row (`models.jobs.Job`). Any backend worker claims due jobs under a
lease (`FOR UPDATE SKIP LOCKED`), keeps
extending the lease while it works, and a crashed worker's job is claimed again
when its lease runs out. Tasks are registered by name and must be idempotent: a
task may run again after a crash, so it records what it has done (e.g. the
provider's request id) before waiting on anything.

`queue` is the storage of jobs, `registry` maps kinds to task functions,
`worker` is the loop a Reflex lifespan task runs. A distributed engine
(procrastinate on Postgres) can replace `worker` while `queue.enqueue` stays the
single entry point.
"""
