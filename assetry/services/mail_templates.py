"""The emails Assetry sends, each rendered as plain text and as simple, escaped HTML.

A template is a subject plus a few blocks (paragraphs, a link, a quote, a list);
one renderer turns the blocks into both bodies, so the two always say the same
thing and every value from the context is escaped in the HTML.

Every template accepts `name` (the person's display name; "there" when empty)
and gets `app_url` (the public URL) from the settings. Their own keys:

- `welcome` (when a new account's address is confirmed): no other keys.
- `sign_up_confirmation` (finish signing up): `confirm_url`; optional `expires_hours` (default 24).
- `sign_up_attempt` (someone signed up with an address that has an account): no other keys.
- `email_confirmation` (confirm a new address; sent TO the new address):
  `new_email`, `confirm_url`; optional `expires_hours` (default 24).
- `password_reset` (local accounts): `reset_url`; optional `expires_minutes` (default 60).
- `account_deleted` (after a deletion request): `purge_on` (date or text: when
  every row and file is gone). Send it with `user_id=None` so the message is not
  removed by the purge of the account it confirms.
- `policy_changed` (material policy change): `changes`, a list of
  `{"title": str, "effective_on": date | str, "url": str}`.
- `support_reply` (an admin answered): `subject` (of the person's message), `reply` (text);
  optional `original` (their message, quoted below the answer).
- `waitlist_invite` (a place opened up): `signup_url`.
- `privacy_request_received` (a privacy request reached the team): `topic` (what it is
  about), `request` (their text, quoted).
- `export_requested` (a data export started): no other keys.
- `export_ready` (the export's archive can be downloaded): `expires` (text: when the
  link stops working, in the person's time zone).
- `plan_reminder` (an hour on the posting plan came): `what` (the first planned post, in a
  few words), `slots` (a line each: what, and when on the person's clock).

`sign_up_confirmation`, `password_reset` and `email_confirmation` carry one-time links: once delivered,
the outbox keeps their subject but not their bodies.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any


@dataclass(frozen=True)
class Rendered:
    """A message ready for the outbox."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Para:
    text: str


@dataclass(frozen=True)
class Link:
    label: str
    url: str


@dataclass(frozen=True)
class Quote:
    text: str


@dataclass(frozen=True)
class Items:
    lines: tuple[str, ...]


Block = Para | Link | Quote | Items


@dataclass(frozen=True)
class Template:
    name: str
    required: tuple[str, ...]
    build: Callable[[dict[str, Any]], tuple[str, list[Block]]]
    # Holds a one-time link: its bodies are blanked in the outbox once delivered.
    one_time_link: bool = False
    # Confirms an account's deletion: once delivered, removed from the outbox if the account's
    # purge already ran (the purge removes it when it was delivered before).
    outlives_account: bool = False


def _welcome(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Welcome to Assetry", [
        Para(
            "Your account is ready. Make videos, images and captions in the studio, "
            "and connect TikTok or Instagram to see how your posts do."
        ),
        Link("Open Assetry", f"{c['app_url']}/home"),
        Para("You can export or delete everything we hold about you at any time from your account page."),
    ]


def _one_time_link(why: str, link: Link, expires_in: str, unasked: str) -> list[Block]:
    """What an email that carries a one-time link says: why it came, the link, how long it works,
    and what happens if the reader did not ask for it."""
    return [Para(why), link, Para(f"The link works once and expires in {expires_in}. {unasked}")]


def _you_wrote(text: str) -> list[Block]:
    """The person's own message, quoted back to them."""
    return [Para("You wrote:"), Quote(text[:5000])]


def _sign_up_confirmation(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Finish signing up to Assetry", _one_time_link(
        "Someone (hopefully you) created an Assetry account with this email address.",
        Link("Confirm and open Assetry", c["confirm_url"]),
        f"{int(c.get('expires_hours', 24))} hours",
        "If you did not sign up, ignore this email: the account is never opened, and it is deleted within a week.",
    )


def _sign_up_attempt(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Someone tried to sign up with your email", [
        Para(
            "Someone (maybe you) just tried to create an Assetry account with this email address. "
            "You already have one, so nothing changed."
        ),
        Link("Log in", f"{c['app_url']}/login"),
        Para("Forgot your password? Choose a new one:"),
        Link("Reset your password", f"{c['app_url']}/reset"),
        Para("If it wasn't you, you can ignore this email: your account and password stay as they are."),
    ]


def _email_confirmation(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Confirm your new email address", _one_time_link(
        f"You asked to use {c['new_email']} for your Assetry account. "
        "Open the link below to confirm it; until then we keep using your old address.",
        Link("Confirm this address", c["confirm_url"]),
        f"{int(c.get('expires_hours', 24))} hours",
        "If you did not ask for this, ignore this email: nothing changes.",
    )


def _password_reset(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Reset your Assetry password", _one_time_link(
        "Someone (hopefully you) asked to reset the password of your Assetry account.",
        Link("Choose a new password", c["reset_url"]),
        f"{int(c.get('expires_minutes', 60))} minutes",
        "Setting a new password logs you out everywhere. If you did not ask for this, ignore this "
        "email: your password stays as it is.",
    )


def _account_deleted(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Your Assetry account is deleted", [
        Para(
            "As you asked, your Assetry account is deleted: you were logged out everywhere "
            "and the account can no longer be used."
        ),
        Para(
            f"Everything we held about you, every record and every file, is erased by {_day(c['purge_on'])}. "
            "Connected TikTok and Instagram access was revoked."
        ),
        Para("If you did not ask for this, reply to this email at once."),
    ]


def _policy_changed(c: dict[str, Any]) -> tuple[str, list[Block]]:
    changes = list(c["changes"])
    if not changes:
        raise ValueError("mail template 'policy_changed' needs at least one entry in 'changes'")
    blocks: list[Block] = [
        Para("We changed how Assetry works in a way that matters to you:"),
        Items(tuple(f"{change['title']}, effective {_day(change['effective_on'])}" for change in changes)),
    ]
    blocks += [Link(f"Read the {change['title'].lower()}", change["url"]) for change in changes]
    blocks.append(
        Para(
            "The next time you open Assetry you can accept the new version. "
            "If you don't agree, you can export your data and delete your account from the account page."
        )
    )
    subject = "We updated our " + " and ".join(change["title"].lower() for change in changes)
    return subject, blocks


def _support_reply(c: dict[str, Any]) -> tuple[str, list[Block]]:
    subject = " ".join(str(c["subject"]).split())[:150]
    blocks: list[Block] = [
        Para("We answered your message to Assetry support:"),
        Quote(str(c["reply"])),
    ]
    if c.get("original"):
        blocks += _you_wrote(str(c["original"]))
    blocks.append(Link("Write to us again", f"{c['app_url']}/support"))
    return f"Re: {subject}", blocks


def _waitlist_invite(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Your place at Assetry is ready", [
        Para("You asked to hear when Assetry opens up: it has. Create your account with the link below."),
        Link("Create your account", c["signup_url"]),
        Para("You get this email once, because you joined the waitlist; we don't keep sending."),
    ]


def _privacy_request_received(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "We received your privacy request", [
        Para(
            f'Your privacy request about "{c["topic"]}" reached our team. We answer by email within 30 days.'
        ),
        *_you_wrote(str(c["request"])),
        Para("If you did not send this, reply to this email."),
    ]


def _export_requested(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "We're preparing your Assetry data export", [
        Para(
            "You asked for a copy of everything we hold about you. We're putting it together now; "
            "we email you again as soon as the archive can be downloaded."
        ),
        Link("Follow it on your settings page", f"{c['app_url']}/settings#export"),
        Para("If you did not ask for this, change your password and reply to this email."),
    ]


def _export_ready(c: dict[str, Any]) -> tuple[str, list[Block]]:
    return "Your Assetry data export is ready", [
        Para("The archive with everything we hold about you is ready to download."),
        Link("Download it from your settings page", f"{c['app_url']}/settings#export"),
        Para(f"The download works until {c['expires']}; then the archive is deleted."),
    ]


def _plan_reminder(c: dict[str, Any]) -> tuple[str, list[Block]]:
    slots = list(c["slots"])
    subject = "Time to post: " + (c["what"] if len(slots) == 1 else f"{len(slots)} planned posts")
    return subject[:300], [
        Para("You planned to post this now:" if len(slots) == 1 else "You planned to post these now:"),
        Items(tuple(slots)),
        Para(
            "Post it from your phone as usual: Assetry never posts for you. Once the next sync sees "
            "the post, its slot on your plan shows it."
        ),
        Link("Open your plan", f"{c['app_url']}/plan"),
    ]


TEMPLATES: dict[str, Template] = {
    t.name: t
    for t in (
        Template("welcome", (), _welcome),
        Template("sign_up_confirmation", ("confirm_url",), _sign_up_confirmation, True),
        Template("sign_up_attempt", (), _sign_up_attempt),
        Template("email_confirmation", ("new_email", "confirm_url"), _email_confirmation, True),
        Template("password_reset", ("reset_url",), _password_reset, True),
        Template("account_deleted", ("purge_on",), _account_deleted, outlives_account=True),
        Template("policy_changed", ("changes",), _policy_changed),
        Template("support_reply", ("subject", "reply"), _support_reply),
        Template("waitlist_invite", ("signup_url",), _waitlist_invite),
        Template("privacy_request_received", ("topic", "request"), _privacy_request_received),
        Template("export_requested", (), _export_requested),
        Template("export_ready", ("expires",), _export_ready),
        Template("plan_reminder", ("what", "slots"), _plan_reminder),
    )
}


def render(name: str, context: dict[str, Any], *, app_url: str) -> Rendered:
    """Render a template; ValueError for an unknown template or missing context (a bug, not input)."""
    template = TEMPLATES.get(name)
    if template is None:
        raise ValueError(f"no mail template {name!r}; known: {', '.join(sorted(TEMPLATES))}")
    missing = [key for key in template.required if key not in context]
    if missing:
        raise ValueError(f"mail template {name!r} needs context keys: {', '.join(missing)}")
    full = {"app_url": app_url.rstrip("/"), **context}
    subject, blocks = template.build(full)
    greeting = f"Hi {str(full.get('name') or '').strip() or 'there'},"
    return Rendered(subject=subject, text=_text(greeting, blocks), html=_html(subject, greeting, blocks))


SIGN_OFF = "— The Assetry team"


def _text(greeting: str, blocks: list[Block]) -> str:
    parts = [greeting]
    for block in blocks:
        match block:
            case Para(text):
                parts.append(text)
            case Link(label, url):
                parts.append(f"{label}:\n{_checked_url(url)}")
            case Quote(text):
                parts.append("\n".join(f"> {line}" for line in text.splitlines() or [""]))
            case Items(lines):
                parts.append("\n".join(f"- {line}" for line in lines))
    parts.append(SIGN_OFF)
    return "\n\n".join(parts) + "\n"


def _html(subject: str, greeting: str, blocks: list[Block]) -> str:
    e = html.escape
    body = [f"<p>{e(greeting)}</p>"]
    for block in blocks:
        match block:
            case Para(text):
                body.append(f"<p>{e(text)}</p>")
            case Link(label, url):
                body.append(
                    f'<p><a href="{e(_checked_url(url), quote=True)}" style="display:inline-block;'
                    "padding:10px 16px;background:#5b5bd6;color:#ffffff;border-radius:6px;"
                    f'text-decoration:none">{e(label)}</a></p>'
                )
            case Quote(text):
                lines = "<br>".join(e(line) for line in text.splitlines())
                body.append(
                    f'<blockquote style="margin:0;padding:8px 12px;border-left:3px solid #ccc">{lines}</blockquote>'
                )
            case Items(lines):
                body.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in lines) + "</ul>")
    body.append(f"<p>{e(SIGN_OFF)}</p>")
    return (
        '<!doctype html><html><head><meta charset="utf-8">'
        f"<title>{e(subject)}</title></head>"
        '<body style="font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;'
        'color:#1c1c1c;max-width:36rem;margin:0 auto;padding:16px">' + "\n".join(body) + "</body></html>"
    )


def _checked_url(url: str) -> str:
    if not str(url).startswith(("https://", "http://")):
        raise ValueError(f"links in emails must be absolute http(s) URLs, not {url!r}")
    return str(url)


def _day(value: date | datetime | str) -> str:
    if isinstance(value, date | datetime):
        return f"{value:%B} {value.day}, {value.year}"
    return str(value)
