"""Background jobs on procrastinate (Postgres-native queues, priorities, locks, periodic tasks).

- `manifest`: every task, its queue, attempts and end hook, listed once; web and worker
  both build the procrastinate app from it (importing a service registers nothing).
- `queue`: `enqueue` (in the caller's transaction) and `cancel`.
- `task`: what a task function sees (`Context`) and the errors that steer retries.
- `engine`: the procrastinate app, the wrapper that runs a task and records how it ended,
  and the worker (`python -m assetry worker`, or inside the web process).

Tasks are idempotent: one may run again after a crash, so it records what it has done
(a provider's request id) on its domain row before waiting on anything. Domain rows
(a generation, an export, a sync run) own status and progress; nothing reads the
engine's tables but the admin jobs page.
"""
