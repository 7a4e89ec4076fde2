"""The two page frames: the public site (landing, policies, support, auth) and the app shell."""

from __future__ import annotations

import reflex as rx
from reflex_components_core.react_router.dom import ReactRouterLink

from assetry.components.placeholder import drawn_when
from assetry.components.styles import CONTENT_WIDTH, FORM_WIDTH, SIDEBAR_WIDTH
from assetry.state.plan_reminders import PlanReminderState, ReminderView
from assetry.state.policy_banner import PolicyBannerState
from assetry.state.session import SessionState

APP_NAV = [
    ("Home", "/home", "house"),
    ("Studio", "/studio", "sparkles"),
    ("Library", "/library", "images"),
    ("Plan", "/plan", "calendar-days"),
    ("Analytics", "/analytics", "chart-line"),
    ("Settings", "/settings", "settings"),
    ("Support", "/support", "life-buoy"),
]
# Shown only to admins; hiding it is cosmetic, every admin page and handler checks the role.
ADMIN_NAV = ("Admin", "/admin", "shield")


def logo() -> rx.Component:
    return rx.link(
        rx.hstack(
            rx.icon("clapperboard", size=22),
            # Not a heading: each page has its own single top-level heading.
            rx.text("Assetry", size="5", weight="bold"),
            align="center",
            spacing="2",
        ),
        href="/",
        underline="none",
        color=rx.color("gray", 12),
    )


def color_mode_switch() -> rx.Component:
    return rx.color_mode.button(aria_label="Switch light and dark", variant="ghost", size="2")


def footer() -> rx.Component:
    # On a phone the links sit on their own line above the copyright, never split across two.
    return rx.flex(
        rx.text("© 2026 PT. Modulo Digitalisasi Indonesia", size="1", color_scheme="gray"),
        rx.hstack(
            rx.link("Privacy", href="/privacy", size="1"),
            rx.link("Terms", href="/terms", size="1"),
            rx.link("Support", href="/support", size="1"),
            spacing="4",
        ),
        direction=rx.breakpoints(initial="column-reverse", sm="row"),
        justify="between",
        gap="3",
        width="100%",
        padding_y="1.5rem",
        border_top=f"1px solid {rx.color('gray', 5)}",
        role="contentinfo",
    )


def public_page(*children: rx.Component) -> rx.Component:
    """The frame of the public site: header, content column, footer."""
    return rx.box(
        rx.hstack(
            logo(),
            rx.spacer(),
            rx.cond(
                SessionState.signed_in,
                rx.link(rx.button("Open Assetry", size="2"), href="/home"),
                rx.hstack(
                    # Radix ghost buttons carry a negative margin; zero it so both buttons line up.
                    rx.link(rx.button("Log in", variant="ghost", size="2", margin="0"), href="/login"),
                    rx.link(rx.button("Sign up", size="2"), href="/signup"),
                    spacing="2",
                ),
            ),
            color_mode_switch(),
            align="center",
            spacing="3",
            width="100%",
            padding_y="1rem",
            role="banner",
        ),
        rx.el.main(*children, width="100%", padding_y="1rem"),
        footer(),
        max_width=CONTENT_WIDTH,
        margin_x="auto",
        padding_x="1rem",
        min_height="100vh",
    )


def public_form_page(*children: rx.Component) -> rx.Component:
    """A public page that is one narrow column around a form: sign up, log in, a password reset."""
    return public_page(
        rx.vstack(
            *children, spacing="5", max_width=FORM_WIDTH, width="100%", margin_x="auto", padding_y="2rem"
        )
    )


def _is_open(href: str) -> rx.Var[bool]:
    """Whether the page at `href` is the one open (the sidebar's and the phone menu's mark)."""
    path = SessionState.router.url.path
    # A full page load arrives with a trailing slash (/account/), in-app navigation without.
    return (path == href) | (path == href + "/")


def _nav_link(label: str, href: str, icon: str) -> rx.Component:
    active = _is_open(href)
    return rx.link(
        rx.hstack(rx.icon(icon, size=18), rx.text(label, size="3"), align="center", spacing="3"),
        href=href,
        underline="none",
        color=rx.cond(active, rx.color("accent", 11), rx.color("gray", 11)),
        background=rx.cond(active, rx.color("accent", 3), "transparent"),
        aria_current=rx.cond(active, "page", "false"),
        padding="0.5rem 0.75rem",
        border_radius="var(--radius-3)",
        width="100%",
    )


def _account_footer() -> rx.Component:
    return rx.vstack(
        # One line, blank until the address arrives, so the buttons above it stay where they are.
        rx.text(
            rx.cond(SessionState.user_email != "", SessionState.user_email, "\u00a0"),
            size="1",
            color_scheme="gray",
            trim="both",
            title=SessionState.user_email,
            style={
                "overflow": "hidden",
                "textOverflow": "ellipsis",
                "whiteSpace": "nowrap",
                "maxWidth": "100%",
            },
        ),
        rx.button(
            rx.icon("log-out", size=16),
            "Log out",
            variant="soft",
            color_scheme="gray",
            size="2",
            on_click=SessionState.log_out,
            width="100%",
        ),
        width="100%",
        spacing="2",
    )


def _sidebar() -> rx.Component:
    return rx.vstack(
        logo(),
        rx.el.nav(
            rx.vstack(
                *[_nav_link(*item) for item in APP_NAV],
                rx.cond(SessionState.is_admin, _nav_link(*ADMIN_NAV)),
                spacing="1",
                width="100%",
            ),
            aria_label="Main",
            width="100%",
            padding_top="1rem",
        ),
        rx.spacer(),
        rx.hstack(color_mode_switch(), width="100%"),
        _account_footer(),
        height="100vh",
        position="sticky",
        top="0",
        width=SIDEBAR_WIDTH,
        min_width=SIDEBAR_WIDTH,
        padding="1.25rem 1rem",
        border_right=f"1px solid {rx.color('gray', 5)}",
        display=["none", "none", "flex"],
        role="banner",
    )


PHONE_MENU = "phone-menu"
# A tap on one of the menu's links or its Log out button closes it (the page may stay the same).
_CLOSE_AFTER_CHOICE = rx.vars.FunctionStringVar.create(
    "(event) => { if (event.target.closest('a, button')) event.currentTarget.hidePopover(); }"
)


def _menu_link(label: str, href: str, icon: str) -> rx.Component:
    return ReactRouterLink.create(
        rx.icon(icon, size=16),
        label,
        to=href,
        class_name="phone-menu-item",
        aria_current=rx.cond(_is_open(href), "page", "false"),
    )


def _phone_menu() -> rx.Component:
    """The app's pages behind a button: a panel the browser itself opens, draws on top, and
    closes on a tap outside or Escape (the `popover` attribute), so no menu code loads with the
    page. Links, not menu items: each is a page, as in the sidebar."""
    return rx.fragment(
        rx.el.button(
            rx.icon("menu", size=18),
            aria_label="Open menu",
            type="button",
            class_name="rt-reset rt-BaseButton rt-r-size-2 rt-variant-soft rt-IconButton",
            custom_attrs={"popoverTarget": PHONE_MENU},
        ),
        rx.el.nav(
            *[_menu_link(*item) for item in APP_NAV],
            rx.cond(SessionState.is_admin, _menu_link(*ADMIN_NAV)),
            rx.el.hr(),
            rx.el.button(
                rx.icon("log-out", size=16),
                "Log out",
                type="button",
                on_click=SessionState.log_out,
                class_name="phone-menu-item phone-menu-log-out",
            ),
            id=PHONE_MENU,
            aria_label="Menu",
            class_name="phone-menu",
            custom_attrs={"popover": "auto", "onClick": _CLOSE_AFTER_CHOICE},
        ),
    )


def _phone_bar() -> rx.Component:
    return rx.hstack(
        logo(),
        rx.spacer(),
        color_mode_switch(),
        _phone_menu(),
        align="center",
        width="100%",
        padding="0.75rem 1rem",
        border_bottom=f"1px solid {rx.color('gray', 5)}",
        position="sticky",
        top="0",
        background=rx.color("gray", 1),
        z_index="10",
        display=["flex", "flex", "none"],
        role="banner",
    )


def policy_banner() -> rx.Component:
    """Shown while the signed-in user has not accepted a changed privacy policy or terms."""
    return rx.cond(
        PolicyBannerState.message != "",
        rx.callout.root(
            rx.callout.icon(rx.icon("scroll-text")),
            rx.vstack(
                rx.callout.text(PolicyBannerState.message),
                rx.hstack(
                    rx.foreach(
                        PolicyBannerState.links,
                        lambda link: rx.link(link["label"], href=link["href"], is_external=True, size="2"),
                    ),
                    rx.button("Accept", size="1", on_click=PolicyBannerState.accept),
                    align="center",
                    spacing="4",
                    wrap="wrap",
                ),
                spacing="2",
            ),
            color_scheme="blue",
            role="status",
            id="policy-banner",
            width="100%",
            margin_bottom="1rem",
        ),
    )


def _reminder(reminder: ReminderView) -> rx.Component:
    return rx.callout.root(
        rx.callout.icon(rx.icon("alarm-clock")),
        rx.flex(
            rx.callout.text(
                "Time to post: ",
                rx.text(reminder.what, as_="span", weight="bold"),
                " (planned for ",
                reminder.when,
                ").",
            ),
            rx.hstack(
                rx.link("Open your plan", href="/plan", size="2"),
                rx.button(
                    "Dismiss",
                    size="1",
                    variant="soft",
                    on_click=PlanReminderState.dismiss(reminder.slot_id),
                ),
                align="center",
                spacing="3",
            ),
            direction="column",
            gap="2",
        ),
        color_scheme="amber",
        role="status",
        class_name="plan-reminder",
        width="100%",
        margin_bottom="1rem",
    )


def plan_reminders() -> rx.Component:
    """Shown when an hour on the posting plan came and its post was not seen yet."""
    return rx.foreach(PlanReminderState.reminders, _reminder)


def app_page(*children: rx.Component) -> rx.Component:
    """The signed-in shell: sidebar on desktop, top bar with a menu on a phone."""
    return rx.hstack(
        _sidebar(),
        rx.box(
            _phone_bar(),
            rx.el.main(
                drawn_when(
                    SessionState.signed_in,
                    rx.box(
                        policy_banner(),
                        plan_reminders(),
                        *children,
                        padding=["1rem", "1.5rem", "2rem"],
                        max_width=CONTENT_WIDTH,
                        width="100%",
                    ),
                    rx.center(rx.spinner(size="3"), padding="4rem"),
                ),
            ),
            width="100%",
            min_width="0",
        ),
        spacing="0",
        width="100%",
        align="start",
    )
