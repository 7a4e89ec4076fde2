"""Builds the Reflex app: theme, pages, HTTP routes. Nothing else lives here."""

import reflex as rx

from assetry import web
from assetry.pages import account, auth, home, landing, policies, support
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
app.add_page(account.account, route="/account", title="Account · Assetry", on_load=_signed_in)
