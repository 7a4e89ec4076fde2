"""Builds the Reflex app: theme, pages, HTTP routes. Nothing else lives here."""

import gc

import reflex as rx

from assetry import logs, web
from assetry.components.page_view import counted
from assetry.config import get_settings
from assetry.jobs import engine
from assetry.pages import (
    account_deleted,
    auth,
    home,
    landing,
    library,
    password_reset,
    plan,
    policies,
    settings,
    studio,
    support,
)
from assetry.pages.admin import audit as admin_audit
from assetry.pages.admin import inbox as admin_inbox
from assetry.pages.admin import jobs as admin_jobs
from assetry.pages.admin import outbox as admin_outbox
from assetry.pages.admin import overview as admin_overview
from assetry.pages.admin import user as admin_user
from assetry.pages.admin import users as admin_users
from assetry.pages.admin import waitlist as admin_waitlist
from assetry.pages.analytics import page, post, what_works
from assetry.services import mail, policy_changes, privacy, sign_up, sync, tracking  # noqa: F401 - registers their background tasks
from assetry.services.admin import invitations  # noqa: F401 - registers the waitlist's bulk-invitation task
from assetry.state.errors import ArgumentCheck, on_backend_error
from assetry.state.frames import limit_event_frames
from assetry.state.session import SessionBoundary, SessionState

logs.configure()
# DEPLOYMENT=multi without the keys, database, Redis and storage every instance must share: refuse.
get_settings().refuse_unsafe_deployment()

app = rx.App(
    api_transformer=[
        web.routes(),
        web.pages_at_their_own_path,
        web.with_security_headers,
        web.at_the_public_origin,
        limit_event_frames,
    ],
    # Top right: on a phone the in-progress rows sit below the form, where a toast at the
    # bottom would cover the Cancel button of the row that was just started.
    toaster=rx.toast.provider(position="top-right"),
    backend_exception_handler=on_backend_error,
    head_components=[
        rx.el.meta(name="description", content="Assetry: generate short-form video, see how it performs.")
    ],
    stylesheets=["/text_links.css", "/generation_cards.css", "/phone_menu.css"],
)
# Before every event of a tab: empty its states when its session changed or ended.
app.add_middleware(SessionBoundary())
# Arguments that don't fit their handler are refused as bad input before it runs.
app.add_middleware(ArgumentCheck())

# A signed-in page's one on_load opens it with `session.open_page`: the session check, the app
# shell's banners and the page's reads in one event and one transaction (What works: its figures
# after it, in their own; the admin area: `admin.open_admin_page`).
# A page wrapped in `counted` records its views (components/page_view.py).

app.add_page(counted(landing.landing), route="/", title="Assetry — make it, measure it")
app.add_page(counted(policies.privacy), route="/privacy", title="Privacy policy · Assetry")
app.add_page(counted(policies.terms), route="/terms", title="Terms · Assetry")
app.add_page(counted(support.support), route="/support", title="Support · Assetry")
app.add_page(
    counted(account_deleted.account_deleted),
    route="/account-deleted",
    title="Account deleted · Assetry",
)
app.add_page(
    counted(auth.sign_up),
    route="/signup",
    title="Sign up · Assetry",
    on_load=SessionState.redirect_if_signed_in,
)
app.add_page(
    counted(auth.log_in),
    route="/login",
    title="Log in · Assetry",
    on_load=SessionState.redirect_if_signed_in,
)
# No page view recorded here: the path holds the sign-up link's token.
app.add_page(
    auth.confirm_sign_up,
    route="/signup/confirm/[token]",
    title="Finish signing up · Assetry",
    on_load=auth.ConfirmSignUpState.confirm,
)
app.add_page(
    counted(password_reset.request_page),
    route="/reset",
    title="Reset your password · Assetry",
)
# No page view recorded here: the path holds the reset token.
app.add_page(
    password_reset.token_page,
    route="/reset/[token]",
    title="Choose a new password · Assetry",
    on_load=password_reset.ResetState.check,
)
app.add_page(counted(home.home_page), route="/home", title="Home · Assetry", on_load=home.HomeState.load)
app.add_page(
    counted(settings.settings_page),
    route="/settings",
    title="Settings · Assetry",
    on_load=settings.SettingsState.load,
)
app.add_page(
    settings.account_moved,
    route="/account",
    title="Settings · Assetry",
    on_load=settings.SettingsState.to_settings,
)
app.add_page(
    counted(studio.studio_page),
    route="/studio",
    title="Studio · Assetry",
    on_load=studio.StudioState.load,  # the shell included (session.open_page)
)
app.add_page(counted(plan.plan_page), route="/plan", title="Plan · Assetry", on_load=plan.PlanState.load)
app.add_page(
    counted(library.library_page),
    route="/library",
    title="Library · Assetry",
    on_load=library.LibraryState.load,  # the shell included (session.open_page)
)
app.add_page(
    counted(library.generation_page),
    route="/library/[generation_id]",
    title="Generation · Assetry",
    on_load=library.GenerationState.load,
)
app.add_page(
    counted(page.analytics_page),
    route="/analytics",
    title="Analytics · Assetry",
    on_load=page.AnalyticsState.load,  # the shell and every section included (session.open_page)
)
app.add_page(
    counted(post.post_page),
    route="/analytics/post/[post_id]",
    title="Post · Assetry",
    on_load=post.PostState.load,
)
app.add_page(
    counted(what_works.what_works_page),
    route="/analytics/what-works",
    title="What works · Assetry",
    on_load=what_works.WhatWorksState.load,  # the shell, then the figures (session.open_page)
)

# The admin area: each page's one load checks the admin role on the server, then opens the page
# (state/admin.py: `open_admin_page`).
for render, route, title, load in [
    (admin_overview.overview_page, "/admin", "Overview", admin_overview.AdminOverviewState.load),
    (admin_users.users_page, "/admin/users", "Users", admin_users.AdminUsersState.load),
    (admin_user.user_page, "/admin/users/[user_id]", "User", admin_user.AdminUserState.load),
    (admin_jobs.jobs_page, "/admin/jobs", "Jobs", admin_jobs.AdminJobsState.load),
    (admin_waitlist.waitlist_page, "/admin/waitlist", "Waitlist", admin_waitlist.AdminWaitlistState.load),
    (admin_inbox.inbox_page, "/admin/inbox", "Inbox", admin_inbox.AdminInboxState.load),
    (admin_outbox.outbox_page, "/admin/outbox", "Outbox", admin_outbox.AdminOutboxState.load),
    (admin_audit.audit_page, "/admin/audit", "Audit log", admin_audit.AdminAuditState.load),
]:
    app.add_page(counted(render), route=route, title=f"{title} · Admin · Assetry", on_load=load)


async def run_jobs() -> None:
    """The embedded job worker (JOB_WORKER_IN_APP): the manifest's tasks run in this process.
    Off, this process only serves pages and queues jobs; `python -m assetry worker` runs them."""
    if get_settings().job_worker_in_app:
        await engine.run_worker()


def freeze_start_up_objects() -> None:
    """What start-up made (modules, the compiled app, the state classes) lives as long as the
    process: `gc.freeze` takes it out of the garbage collector's full passes, which otherwise walk
    all of it again while a burst of tabs allocates (and keeps) their states."""
    gc.freeze()


app.register_lifespan_task(run_jobs)
app.register_lifespan_task(freeze_start_up_objects)
