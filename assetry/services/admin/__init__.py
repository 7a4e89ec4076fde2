"""What the admin area does: overview aggregates, users, jobs, waitlist, inbox, outbox, audit log.

Every function that changes something takes the acting admin's id and checks, inside its
own transaction, that this account is still an enabled admin (`acting_admin`), then
records what it did in the audit log. The pages check the role too; this is the check
that holds even if a page forgets. Work runs in `db.service_session()`: the admin acts
across users, deliberately.
"""
