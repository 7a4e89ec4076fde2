"""Builds the Reflex app: theme, pages, HTTP routes. Nothing else lives here."""

import reflex as rx

from assetry import web
from assetry.config import get_settings
from assetry.jobs.worker import Worker
from assetry.pages import auth, home, landing, library, policies, settings, studio, support
from assetry.pages.analytics import connections, notes, page, post
from assetry.pages.analytics.dashboard import DashboardState
from assetry.services import privacy, sync  # noqa: F401 - registers the sync, export, purge, retention tasks
from assetry.state.session import SessionState

app = rx.App(
    api_transformer=[web.routes(), web.with_security_headers],
    head_components=[
        rx.el.meta(name="description", content="Assetry: generate short-form video, see how it performs.")
    ],
)

_public = [SessionState.page_opened]
_signed_in = [SessionState.require_login, SessionState.page_opened]

app.add_page(landing.landing, route="/", title="Assetry — make it, measure it", on_load=_public)
app.add_page(policies.privacy, route="/privacy", title="Privacy policy · Assetry", on_load=_public)
app.add_page(policies.terms, route="/terms", title="Terms · Assetry", on_load=_public)
app.add_page(support.support, route="/support", title="Support · Assetry", on_load=_public)
app.add_page(
    auth.sign_up,
    route="/signup",
    title="Sign up · Assetry",
    on_load=[SessionState.redirect_if_signed_in, SessionState.page_opened],
)
app.add_page(
    auth.log_in,
    route="/login",
    title="Log in · Assetry",
    on_load=[SessionState.redirect_if_signed_in, SessionState.page_opened],
)
app.add_page(home.home, route="/home", title="Home · Assetry", on_load=_signed_in)
app.add_page(
    settings.settings_page,
    route="/settings",
    title="Settings · Assetry",
    on_load=[*_signed_in, settings.SettingsState.load],
)
app.add_page(
    settings.account_moved,
    route="/account",
    title="Settings · Assetry",
    on_load=settings.SettingsState.to_settings,
)
app.add_page(
    studio.studio_page,
    route="/studio",
    title="Studio · Assetry",
    on_load=[*_signed_in, studio.StudioState.load],
)
app.add_page(
    library.library_page,
    route="/library",
    title="Library · Assetry",
    on_load=[*_signed_in, library.LibraryState.load],
)
app.add_page(
    library.generation_page,
    route="/library/[generation_id]",
    title="Generation · Assetry",
    on_load=[*_signed_in, library.GenerationState.load],
)
app.add_page(
    page.analytics_page,
    route="/analytics",
    title="Analytics · Assetry",
    on_load=[*_signed_in, connections.ConnectionsState.load, DashboardState.load, notes.NotesState.load],
)
app.add_page(
    post.post_page,
    route="/analytics/post/[post_id]",
    title="Post · Assetry",
    on_load=[*_signed_in, post.PostState.load],
)


async def run_jobs() -> None:
    """This process's job worker; the tasks registered by the imported services run here."""
    await Worker(concurrency=get_settings().job_concurrency).run()


app.register_lifespan_task(run_jobs)
