"""The prompt studio: write a prompt, pick what to make, see the price, start it, watch it run."""

from __future__ import annotations

import dataclasses
import hashlib
import uuid

import reflex as rx

from assetry.components.forms import label_for
from assetry.components.generations import library_card, offline_badge, status_badge
from assetry.components.layout import app_page
from assetry.config import get_settings
from assetry.errors import BadInput, NotAllowed
from assetry.integrations import hooks
from assetry.models import Generation, User
from assetry.models.runs import ACTIVE
from assetry.services import best_posts, catalog, changes, studio, what_worked
from assetry.state.generations import GenerationView, moved, view
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, open_page, signed_in_user
from assetry.state.watching import Progress, Watching

RECENT = 6
# What "Vary one thing" offers, by kind: (setting, button label, kind).
VARIATIONS = (
    ("aspect_ratio", "Aspect", "video"),
    ("duration_s", "Duration", "video"),
    ("aspect_ratio", "Aspect", "image"),
    ("tone", "Tone", "caption"),
    ("length", "Length", "caption"),
    ("hook", "Hook", "caption"),
)


@dataclasses.dataclass
class ModelOption:
    key: str = ""
    label: str = ""


class StudioState(PageLocal, Watching, rx.State):
    """The studio form, the live list of running generations, and the latest results."""

    _wakes_on = frozenset({changes.GENERATION})

    kind: str = "video"
    prompt: str = ""
    model_key: str = ""
    aspect_ratio: str = "9:16"
    duration: str = "5"
    count: str = "1"
    tone: str = "friendly"
    hook: str = hooks.ANY
    length: str = "short"
    hashtags: bool = True
    learn_from_best: bool = False
    # Where "write like my best posts" takes its examples from, in words.
    best_posts_said: str = ""
    models: list[ModelOption] = []
    aspects: list[str] = []
    durations: list[str] = []
    counts: list[str] = []
    offline_model: bool = True
    quote: str = ""
    error: str = ""
    active: list[GenerationView] = []
    recent: list[GenerationView] = []
    # "Start from what worked": where the form's settings came from, and what a variation changed.
    started_from: str = ""
    # Bumped on each visit: the prompt box is remounted with the prompt this tab kept.
    opened: int = 0
    # What the last Generate sent, and the generation it started: sending the same form
    # again while that one runs (a double click) reuses its request id and starts nothing new.
    _last_sent: str = ""
    _last_started: str = ""
    _request_id: str = ""

    @rx.var
    def prompt_length(self) -> str:
        return f"{len(self.prompt):,} / {get_settings().prompt_max_chars:,}"

    @rx.event
    async def load(self):
        """The page's only on_load: the session check, the app shell and the lists in one event."""
        return await open_page(self, self._open)

    async def _open(self, user: User):
        self._choose_kind(self.kind)
        self.opened += 1
        await self._refresh(user.id)
        if self.learn_from_best:  # shown only then (a page load that reads it for nothing costs two queries)
            await self._say_where_examples_come_from(user.id)
        # Nothing running: no watcher (it would read the same lists again and stop at once).
        return StudioState.watch if self.active else None

    @rx.event
    def set_kind(self, kind: str | list[str]):
        if isinstance(kind, str) and kind in catalog.KINDS:
            self._choose_kind(kind)

    @rx.event
    def set_prompt(self, text: str):
        """While typing: the length counter and the quote (Generate reads the box itself)."""
        self.prompt = text if isinstance(text, str) else ""
        self._changed()

    @rx.event
    async def set_option(self, name: str, value: str | bool | list[str]):
        if isinstance(value, list):
            return None
        if name == "learn_from_best" and value:
            user = await signed_in_user(self)
            if user is None:
                return rx.redirect(LOGIN_ROUTE)
            await self._say_where_examples_come_from(user.id)
        if name in {"hashtags", "learn_from_best"}:
            setattr(self, name, bool(value))
            self._changed()
        elif name in {"model_key", "aspect_ratio", "duration", "count", "tone", "length", "hook"}:
            setattr(self, name, str(value))
            self._changed()
        return None

    @rx.event
    async def generate(self, form: dict):
        """Start exactly what the form holds when Generate is pressed (never a value typed earlier)."""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            request = _request_from(form)
            self.prompt = request.prompt
            generation = await studio.start(user.id, request, client_request_id=self._request_id_for(request))
        except (BadInput, NotAllowed) as problem:
            self.error = str(problem)
            return None
        self._last_started = str(generation.id)
        if any(item.id == str(generation.id) for item in self.active):
            return rx.toast.info("That one is already on its way — see it under In progress.")
        self._show(generation)  # no second read: the watcher's first turn reads the page
        return [
            rx.toast.info("Started. You can keep working; we'll tell you when it's done."),
            StudioState.watch,
        ]

    @rx.event
    async def cancel(self, generation_id: str):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            generation = await studio.cancel(user.id, uuid.UUID(generation_id))
        except (BadInput, NotAllowed, ValueError) as problem:
            return rx.toast.error(str(problem))
        self._show(generation)  # "Cancelling…" or "Cancelled" at once (a watcher reads the rest)
        if all(item.id != generation_id for item in self.active):
            # It had not started yet, so it ended at once; the watcher will not see it end.
            return rx.toast.info("Cancelled.")
        # The row says "Cancelling…" until the worker stops; the watcher then says "Cancelled."
        return StudioState.watch

    @rx.event
    async def start_from_what_worked(self):
        """Fill the form with the settings of the linked generation whose posts did best."""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        best = await what_worked.best_linked(user.id)
        if best is None:
            return rx.toast.info("Link a post to the generation it came from first (on the post's page).")
        self._fill(best.request)
        if self.learn_from_best:
            await self._say_where_examples_come_from(user.id)
        views = f"{best.typical_views:,.0f}"
        self.started_from = (
            f"From your best linked generation: {best.posts} post(s), typically {views} views."
        )
        return None

    @rx.event
    def vary(self, dimension: str):
        """Change one named thing of the form's settings (so the comparison later means something)."""
        try:
            changed, said = what_worked.vary(get_settings(), self._request(), dimension)
        except BadInput as problem:
            return rx.toast.error(str(problem))
        self._fill(changed)
        self.started_from = said
        return None

    def _fill(self, request: studio.StudioRequest) -> None:
        self.prompt, self.model_key = request.prompt, request.model_key
        self.opened += 1  # the prompt box is not bound: remount it with the new prompt
        self.aspect_ratio, self.duration, self.count = (
            request.aspect_ratio,
            str(request.duration_s),
            str(request.count),
        )
        self.tone, self.length, self.hashtags = request.tone, request.length, request.hashtags
        self.hook = request.hook
        self.learn_from_best = request.learn_from_best
        self._choose_kind(request.kind)

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """Refresh the running and recent lists; a toast for each generation that ended."""
        before = {item.id for item in self.active}
        await self._refresh(user_id)
        now_active = {item.id for item in self.active}
        finished = [item for item in self.recent if item.id in before and item.id not in now_active]
        return Progress(running=bool(self.active), tell=[_toast_for(item) for item in finished])

    async def _say_where_examples_come_from(self, user_id: uuid.UUID) -> None:
        """The sentence under "Write like my best posts" (read when the box is ticked)."""
        self.best_posts_said = (await best_posts.examples(user_id)).words()

    def _apply_notes(self, notes: list[dict]) -> Progress | None:
        """Move the rows in progress as their notes say (queued → running, the provider's queue);
        a generation that ended, or one this tab does not show, is read with the page."""
        changes_seen = [studio.noted(note) for note in notes]
        shown = {item.id for item in self.active}
        if not all(change is not None and change.id in shown for change in changes_seen):
            return None
        latest = {change.id: change for change in changes_seen if change is not None}
        self.active = [moved(item, latest[item.id]) if item.id in latest else item for item in self.active]
        return Progress(running=True)

    def _choose_kind(self, kind: str) -> None:
        settings = get_settings()
        self.kind = kind
        found = [choice for choice in catalog.choices(settings) if choice.kind == kind]
        self.models = [ModelOption(key=c.key, label=c.label) for c in found]
        if self.model_key not in {c.key for c in found}:
            self.model_key = found[0].key if found else ""
        self._changed()

    def _request_id_for(self, request: studio.StudioRequest) -> str:
        """The same id for the same form sent again while its generation runs; else a new one."""
        sent = hashlib.sha256(repr(request).encode()).hexdigest()
        running = {item.id for item in self.active}
        if sent != self._last_sent or self._last_started not in running:
            self._request_id = uuid.uuid4().hex
        self._last_sent = sent
        return self._request_id

    def _changed(self) -> None:
        """Any edit: fresh options for the model, fresh quote."""
        self.error = ""
        settings = get_settings()
        choice = next((c for c in catalog.choices(settings) if c.key == self.model_key), None)
        if choice is None:
            self.quote = ""
            return
        self.offline_model = choice.offline
        offered = catalog.form_options(choice)  # only what the catalog allows for this model
        self.aspects = list(offered.aspects)
        if self.aspects and self.aspect_ratio not in self.aspects:
            self.aspect_ratio = self.aspects[0]
        self.durations = [str(d) for d in offered.durations]
        if self.durations and self.duration not in self.durations:
            self.duration = "5" if "5" in self.durations else self.durations[0]
        self.counts = [str(n) for n in offered.counts]
        if self.count not in self.counts:
            self.count = "1"
        if choice.kind == catalog.CAPTION and self.count == "1":
            self.count = "3" if "3" in self.counts else self.count
        try:
            quote = studio.check(settings, dataclasses.replace(self._request(), prompt=self.prompt or "x"))
        except BadInput as problem:
            self.quote = str(problem)
            return
        seconds = quote.typical_seconds
        usually = f"~{seconds} s" if seconds < 90 else f"~{round(seconds / 60)} min"
        price = "free" if quote.cost_usd == 0 else f"${quote.cost_usd:.3f}"
        self.quote = f"Costs {price} · usually takes {usually}"

    def _request(self) -> studio.StudioRequest:
        """The form as this state last heard it (for the quote; Generate reads the form itself)."""
        return studio.StudioRequest(
            kind=self.kind,
            prompt=self.prompt,
            model_key=self.model_key,
            aspect_ratio=self.aspect_ratio,
            duration_s=int(self.duration or 5),
            count=int(self.count or 1),
            tone=self.tone,
            hook=self.hook,
            length=self.length,
            hashtags=self.hashtags,
            learn_from_best=self.learn_from_best,
        )

    def _show(self, generation: Generation) -> None:
        """Put a generation this tab just started or cancelled where it belongs, from the row the
        service returned: in progress (added, or in its place), or first among the ended ones."""
        item = view(generation, [], phase=generation.status)
        shown = [other.id for other in self.active]
        if generation.status not in ACTIVE:
            self.active = [other for other in self.active if other.id != item.id]
            self.recent = [item, *(other for other in self.recent if other.id != item.id)][:RECENT]
        elif item.id in shown:
            self.active = [item if other.id == item.id else other for other in self.active]
        else:
            self.active = [*self.active, item]

    async def _refresh(self, user_id: uuid.UUID) -> None:
        found = await studio.overview(user_id, ended=RECENT)
        self.active = [view(r.generation, [], phase=r.phase, position=r.position) for r in found.running]
        self.recent = [view(g, outputs) for g, outputs in found.ended]


def _request_from(form: dict) -> studio.StudioRequest:
    """The studio request in a submitted form; `studio.start` checks every value against the model."""

    def text(name: str) -> str:
        value = form.get(name, "")
        return value if isinstance(value, str) else ""

    try:
        duration, count = int(text("duration") or 5), int(text("count") or 1)
    except ValueError:
        raise BadInput("Pick the length and the number from the lists.") from None
    return studio.StudioRequest(
        kind=text("kind"),
        prompt=text("prompt"),
        model_key=text("model_key"),
        aspect_ratio=text("aspect_ratio"),
        duration_s=duration,
        count=count,
        tone=text("tone"),
        hook=text("hook") or hooks.ANY,
        length=text("length"),
        hashtags=text("hashtags") == "on",
        learn_from_best=text("learn_from_best") == "on",
    )


def _sent(name: str, value: rx.Var) -> rx.Component:
    """What a control shows, as a field of the form (segmented controls and selects are no form fields)."""
    return rx.el.input(type="hidden", name=name, value=value)


def _toast_for(item: GenerationView) -> rx.event.EventSpec:
    if item.status == "succeeded":
        are = "are" if item.kind == catalog.CAPTION else "is"
        return rx.toast.success(f"Your {item.kind_label.lower()} {are} ready.")
    if item.status == "cancelled":
        return rx.toast.info("Cancelled.")
    return rx.toast.error(f"It didn't work: {item.error}")


def _choice_group(label: str, name: str, items: list[str] | rx.Var, value: rx.Var) -> rx.Component:
    return rx.vstack(
        rx.text(label, size="2", weight="medium"),
        # The trigger carries the name: the high-level rx.select drops aria_label.
        rx.select.root(
            rx.select.trigger(width="100%", aria_label=label),
            rx.select.content(rx.foreach(items, lambda item: rx.select.item(item, value=item))),
            value=value,
            on_change=lambda v: StudioState.set_option(name, v),
            name=name,
        ),
        spacing="1",
        width="100%",
    )


def _form() -> rx.Component:
    return rx.card(
        rx.form(
            _sent("kind", StudioState.kind),
            rx.segmented_control.root(
                rx.segmented_control.item("Video", value="video"),
                rx.segmented_control.item("Image", value="image"),
                rx.segmented_control.item("Captions", value="caption"),
                value=StudioState.kind,
                on_change=StudioState.set_kind,
                width="100%",
                size="2",
            ),
            rx.vstack(
                label_for("prompt", "Prompt"),
                # Not bound to the state: the box holds what Generate sends, the state only counts it.
                rx.text_area(
                    id="prompt",
                    name="prompt",
                    key=StudioState.opened,
                    default_value=StudioState.prompt,
                    on_change=StudioState.set_prompt.debounce(250),
                    placeholder="A barista pouring latte art in slow motion, warm morning light",
                    rows="5",
                    width="100%",
                    max_length=get_settings().prompt_max_chars,
                ),
                rx.text(
                    StudioState.prompt_length, size="1", color_scheme="gray", align="right", width="100%"
                ),
                spacing="1",
                width="100%",
            ),
            rx.vstack(
                rx.text("Model", size="2", weight="medium"),
                rx.select.root(
                    rx.select.trigger(width="100%", aria_label="Model"),
                    rx.select.content(
                        rx.foreach(StudioState.models, lambda m: rx.select.item(m.label, value=m.key)),
                    ),
                    value=StudioState.model_key,
                    on_change=lambda v: StudioState.set_option("model_key", v),
                    name="model_key",
                ),
                spacing="1",
                width="100%",
            ),
            rx.cond(
                StudioState.kind != "caption",
                rx.vstack(
                    _sent("aspect_ratio", StudioState.aspect_ratio),
                    rx.text("Aspect ratio", size="2", weight="medium"),
                    rx.segmented_control.root(
                        rx.foreach(
                            StudioState.aspects, lambda ratio: rx.segmented_control.item(ratio, value=ratio)
                        ),
                        value=StudioState.aspect_ratio,
                        on_change=lambda v: StudioState.set_option("aspect_ratio", v),
                        width="100%",
                    ),
                    spacing="1",
                    width="100%",
                ),
            ),
            rx.match(
                StudioState.kind,
                (
                    "video",
                    _choice_group(
                        "Length (seconds)", "duration", StudioState.durations, StudioState.duration
                    ),
                ),
                ("image", _choice_group("How many images", "count", StudioState.counts, StudioState.count)),
                rx.vstack(
                    rx.hstack(
                        _choice_group("Tone", "tone", list(catalog.TONES), StudioState.tone),
                        _choice_group("Length", "length", list(catalog.LENGTHS), StudioState.length),
                        _choice_group("How many", "count", StudioState.counts, StudioState.count),
                        width="100%",
                    ),
                    _choice_group("Hook (first line)", "hook", list(hooks.CHOICES), StudioState.hook),
                    rx.text(
                        rx.hstack(
                            rx.checkbox(
                                checked=StudioState.hashtags,
                                on_change=lambda v: StudioState.set_option("hashtags", v),
                                name="hashtags",
                            ),
                            "Add hashtags",
                            spacing="2",
                        ),
                        as_="label",
                        size="2",
                    ),
                    rx.text(
                        rx.hstack(
                            rx.checkbox(
                                checked=StudioState.learn_from_best,
                                on_change=lambda v: StudioState.set_option("learn_from_best", v),
                                name="learn_from_best",
                            ),
                            rx.cond(
                                StudioState.offline_model,
                                "Write like my best posts (uses the captions of your top connected posts "
                                "as examples; the offline preview keeps them on this server)",
                                "Write like my best posts (sends the captions of your top connected posts, "
                                "with your prompt, to the provider of the model you picked, as examples)",
                            ),
                            spacing="2",
                            id="learn-from-best",
                        ),
                        as_="label",
                        size="2",
                    ),
                    rx.cond(
                        StudioState.learn_from_best,
                        rx.text(
                            StudioState.best_posts_said, size="1", color_scheme="gray", id="best-posts-source"
                        ),
                    ),
                    width="100%",
                ),
            ),
            rx.hstack(
                rx.text(StudioState.quote, size="2", color_scheme="gray", id="quote"),
                rx.cond(StudioState.offline_model, rx.badge("Offline preview", color_scheme="amber")),
                justify="between",
                width="100%",
                wrap="wrap",
            ),
            rx.cond(
                StudioState.error != "",
                rx.callout(
                    StudioState.error, icon="triangle-alert", color_scheme="red", role="alert", width="100%"
                ),
            ),
            rx.button(
                rx.icon("sparkles", size=16),
                "Generate",
                type="submit",
                size="3",
                width="100%",
                id="generate",
            ),
            on_submit=StudioState.generate,
            display="flex",
            flex_direction="column",
            gap="var(--space-4)",
            width="100%",
        ),
        width="100%",
    )


def _active_row(item: GenerationView) -> rx.Component:
    return rx.hstack(
        rx.spinner(size="2"),
        rx.vstack(
            rx.text(item.prompt, size="2", weight="medium", trim="both"),
            rx.hstack(
                status_badge(item),
                rx.text(item.progress, size="1", color_scheme="gray"),
                offline_badge(item),
                spacing="2",
                wrap="wrap",
                align="center",
            ),
            spacing="1",
            min_width="0",
            flex="1",
        ),
        rx.cond(
            ~item.cancelling,
            rx.button(
                "Cancel", variant="soft", color_scheme="gray", size="1", on_click=StudioState.cancel(item.id)
            ),
        ),
        align="center",
        width="100%",
        class_name="in-progress",
    )


def _started_from() -> rx.Component:
    """Where the settings came from, and one-thing variations of them."""
    return rx.callout(
        rx.vstack(
            rx.text(StudioState.started_from),
            rx.hstack(
                rx.text("Vary one thing:", size="2"),
                *[
                    rx.cond(
                        StudioState.kind == kind,
                        rx.button(label, size="1", variant="outline", on_click=StudioState.vary(name)),
                    )
                    for name, label, kind in VARIATIONS
                ],
                wrap="wrap",
                align="center",
                spacing="2",
            ),
            spacing="2",
        ),
        icon="trending-up",
        width="100%",
    )


def studio_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.hstack(
                rx.heading("Studio", size="7"),
                rx.button(
                    rx.icon("trending-up", size=16),
                    "Start from what worked",
                    variant="soft",
                    on_click=StudioState.start_from_what_worked,
                ),
                justify="between",
                align="center",
                width="100%",
                wrap="wrap",
            ),
            rx.cond(StudioState.started_from != "", _started_from()),
            rx.flex(
                rx.box(_form(), width=["100%", "100%", "26rem"], min_width=["0", "0", "26rem"]),
                rx.vstack(
                    rx.heading("In progress", size="4", as_="h2"),
                    rx.cond(
                        StudioState.active.length() > 0,
                        rx.vstack(rx.foreach(StudioState.active, _active_row), spacing="3", width="100%"),
                        rx.text(
                            "Nothing running. What you start appears here.", color_scheme="gray", size="2"
                        ),
                    ),
                    rx.hstack(
                        rx.heading("Latest", size="4", as_="h2"),
                        rx.link("Open library", href="/library", size="2"),
                        justify="between",
                        width="100%",
                        padding_top="1rem",
                    ),
                    rx.cond(
                        StudioState.recent.length() > 0,
                        rx.grid(
                            rx.foreach(StudioState.recent, lambda item: library_card(item=item)),
                            columns=rx.breakpoints(initial="1", sm="2"),
                            spacing="3",
                            width="100%",
                        ),
                        rx.text("Your results will appear here.", color_scheme="gray", size="2"),
                    ),
                    spacing="3",
                    width="100%",
                ),
                direction=rx.breakpoints(initial="column", md="row"),
                spacing="5",
                width="100%",
                align="start",
            ),
            spacing="4",
            width="100%",
        )
    )
