"""The library: every prompt and output, filterable; and one generation's own page."""

from __future__ import annotations

import uuid
from datetime import date
from typing import ClassVar

import reflex as rx

from assetry.components.download import download_button
from assetry.components.generations import library_card, offline_badge, output_player, status_badge
from assetry.components.layout import app_page
from assetry.components.when_seen import when_seen
from assetry.errors import BadInput, NotAllowed
from assetry.models import User
from assetry.pages.posted import PostedState, posted_section
from assetry.services import studio
from assetry.state.address import id_in_path
from assetry.state.generations import STATUS_LABELS, GenerationCard, GenerationView, OutputView, card, view
from assetry.state.page_local import PageLocal
from assetry.state.session import LOGIN_ROUTE, open_page, signed_in_user
from assetry.state.watching import Progress, Watching

PAGE_SIZE = 48
# The pages in the browser at once, each on a shelf of its own: scrolling on past the last
# drops the first, so the ten-thousandth card costs the browser what the hundredth did.
SHELVES = 6
ALL = "all"


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        raise BadInput("Dates look like 2026-11-29.") from None


class LibraryState(PageLocal, rx.State):
    """Filters and a window of loaded pages of the library.

    Each page sits on a shelf, a list var of its own (page n on shelf n % SHELVES, drawn in
    page order): Reflex sends a list var whole whenever it changes, so a new page sends one
    shelf, not every card shown so far. Past SHELVES pages, the next page takes the shelf of
    the first one in the window, which leaves the browser; "Show newer" brings pages back
    from above and lets the last one go.
    """

    kind: str = ALL
    status: str = ALL
    search: str = ""
    since: str = ""
    until: str = ""
    shown: int = 0  # cards from the top of the library to the end of the window
    total: int = 0
    # Everything in the library, whatever the filters: a search with no match still says how much is there.
    everything: int = 0
    more: bool = False
    newer: bool = False  # pages above the window were let go
    above: int = 0  # their cards
    # The page each shelf holds (its place in the list).
    shelf_pages: list[int] = list(range(SHELVES))
    error: str = ""
    _first: int = 0  # the window's first page and the number of pages through its last
    _pages: int = 0
    _edges: dict[int, tuple[studio.LibraryCursor, studio.LibraryCursor]] = {}  # page -> first, last

    def _filtering(self) -> bool:
        return bool(self.search.strip() or self.since or self.until or self.kind != ALL or self.status != ALL)

    @rx.var
    def summary(self) -> str:
        if self.total == 0:
            return f"{self.everything:,} in your library" if self.everything else ""
        shown = f"{self.above + 1:,}–{self.shown:,}" if self.above else f"{self.shown:,}"
        if self._filtering():
            return f"Showing {shown} of {self.total:,} matching ({self.everything:,} in your library)"
        return f"Showing {shown} of {self.total:,}"

    @rx.var
    def no_results(self) -> str:
        """What the empty list says when filters hide everything."""
        if self.search.strip():
            return f"No results for “{self.search.strip()}”."
        return "Nothing matches these filters."

    @rx.event
    async def load(self):
        """The only on_load: the session check, the app shell and the first page, in one event."""
        return await open_page(self, lambda _user: self._query(reset=True))

    @rx.event
    async def set_filter(self, name: str, value: str):
        if name in {"kind", "status", "search", "since", "until"}:
            setattr(self, name, str(value)[:200])
            return await self._query(reset=True)
        return None

    @rx.event
    async def clear_filters(self):
        self.kind = self.status = ALL
        self.search = self.since = self.until = ""
        return await self._query(reset=True)

    @rx.event
    async def load_more(self):
        if not self.more:  # the end was reached (a scroll and a press can ask twice)
            return None
        return await self._query(reset=False)

    @rx.event
    async def show_newer(self):
        if not self.newer:
            return None
        return await self._query(reset=False, upwards=True)

    async def _query(self, *, reset: bool, upwards: bool = False):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        self.error = ""
        try:
            since, until = _parse_day(self.since), _parse_day(self.until)
        except BadInput as problem:
            self.error = str(problem)
            return None
        if since and until and since > until:
            self.error = "The start date is after the end date."
            return None
        if reset:
            self._empty_shelves()
        found = await studio.library(
            user.id,
            kind="" if self.kind == ALL else self.kind,
            status="" if self.status == ALL else self.status,
            search=self.search,
            since=since,
            until=until,
            limit=PAGE_SIZE,
            after=self._edges[self._pages - 1][1] if self._pages and not upwards else None,
            before=self._edges[self._first][0] if upwards else None,
            count=reset,
            everything=reset,
        )
        page = found.generations
        if found.total is not None:
            self.total = found.total
        if found.everything is not None:
            self.everything = found.everything
        if page:
            views = [card(entry) for entry in page]
            number = self._first - 1 if upwards else self._pages
            if upwards and self._pages - number > SHELVES:  # the last page makes room
                self._pages -= 1
                self.shown -= len(getattr(self, _shelf(self._pages % SHELVES)))
                del self._edges[self._pages]
            elif not upwards and number - self._first >= SHELVES:  # the first page makes room
                del self._edges[self._first]
                self._first += 1
            setattr(self, _shelf(number % SHELVES), views)
            self.shelf_pages = [
                *self.shelf_pages[: number % SHELVES],
                number,
                *self.shelf_pages[number % SHELVES + 1 :],
            ]
            self._edges[number] = (studio.LibraryCursor.below(page[0]), studio.LibraryCursor.below(page[-1]))
            if upwards:
                self._first = number
            else:
                self._pages += 1
                self.shown += len(views)
        self.newer = self._first > 0
        self.above = self._first * PAGE_SIZE  # every page above the window is a whole one
        # A short page is the end, even if rows deleted since the first page was counted say otherwise.
        self.more = (upwards or len(page) == PAGE_SIZE) and self.shown < self.total
        return None

    def _empty_shelves(self) -> None:
        for number in range(SHELVES):
            if getattr(self, _shelf(number)):
                setattr(self, _shelf(number), [])
        self.shelf_pages = list(range(SHELVES))
        self.shown, self._first, self._pages, self._edges = 0, 0, 0, {}


def _shelf(number: int) -> str:
    return f"shelf_{number}"


for _number in range(SHELVES):
    LibraryState.add_var(_shelf(_number), list[GenerationCard], [])


class GenerationState(PageLocal, Watching, rx.State):
    """One generation's page: view, download, edit captions, re-run, vary, delete."""

    item: GenerationView = GenerationView()
    found: bool = True
    notice: str = ""
    editing: str = ""  # id of the caption being edited

    def _generation_id(self) -> uuid.UUID | None:
        return id_in_path(self.router.url.path)

    # A ClassVar (else Reflex makes it a backend var): PageLocal reads it from the class.
    _fills: ClassVar[tuple[type[PageLocal], ...]] = (PostedState,)

    @rx.event
    async def load(self):
        """The only on_load: the session check, the app shell and the generation and its posts, in one event."""
        return await open_page(self, self._open)

    async def _open(self, user: User):
        self.notice, self.editing = "", ""
        await self._show(user.id)
        await (await self.get_state(PostedState))._open(user)
        return GenerationState.watch if self.found and self.item.active else None

    async def _show(self, user_id: uuid.UUID) -> None:
        """Read the generation in the address bar, if it is the user's."""
        generation_id = self._generation_id()
        try:
            generation = await studio.get(user_id, generation_id) if generation_id else None
        except NotAllowed:
            generation = None
        self.found = generation is not None
        if generation is not None:
            self.item = view(generation, await studio.outputs_of(user_id, [generation.id]))

    @rx.event
    def edit(self, output_id: str):
        self.editing = output_id

    @rx.event
    async def save_caption(self, form: dict):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await studio.save_caption(user.id, uuid.UUID(self.editing), str(form.get("caption", "")))
        except (BadInput, NotAllowed, ValueError) as problem:
            return rx.toast.error(str(problem))
        self.editing = ""
        await self.load()
        return rx.toast.success("Caption saved.")

    @rx.event
    async def again(self, how: str):
        """Re-run the prompt as it was, or make a variation with a new seed."""
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        start = studio.variation if how == "variation" else studio.rerun
        try:
            generation = await start(user.id, uuid.UUID(self.item.id), client_request_id=uuid.uuid4().hex)
        except (BadInput, NotAllowed, ValueError) as problem:
            return rx.toast.error(str(problem))
        return [
            rx.toast.info("Started — it will appear in your library."),
            rx.redirect(f"/library/{generation.id}"),
        ]

    @rx.event
    async def delete(self):
        user = await signed_in_user(self)
        if user is None:
            return rx.redirect(LOGIN_ROUTE)
        try:
            await studio.delete(user.id, uuid.UUID(self.item.id))
        except (NotAllowed, ValueError) as problem:
            return rx.toast.error(str(problem))
        return [rx.toast.success("Deleted, files too."), rx.redirect("/library")]

    async def _watch_step(self, user_id: uuid.UUID) -> Progress:
        """While the generation runs, keep its page current."""
        await self._show(user_id)
        return Progress(running=self.found and self.item.active)


def _labelled_select(label: str, options: dict[str, str], value: rx.Var, name: str) -> rx.Component:
    return rx.select.root(
        rx.select.trigger(aria_label=label),
        rx.select.content(*[rx.select.item(text, value=key) for key, text in options.items()]),
        value=value,
        on_change=lambda v: LibraryState.set_filter(name, v),
    )


def _filters() -> rx.Component:
    return rx.flex(
        rx.input(
            placeholder="Search prompts",
            value=LibraryState.search,
            on_change=lambda v: LibraryState.set_filter("search", v),
            debounce_timeout=300,
            max_length=200,
            aria_label="Search prompts",
            width=["100%", "100%", "16rem"],
        ),
        _labelled_select(
            "Kind",
            {ALL: "All kinds", "video": "Videos", "image": "Images", "caption": "Captions"},
            LibraryState.kind,
            "kind",
        ),
        _labelled_select("Status", {ALL: "Any status", **STATUS_LABELS}, LibraryState.status, "status"),
        rx.input(
            type="date",
            value=LibraryState.since,
            aria_label="From date",
            on_change=lambda v: LibraryState.set_filter("since", v),
        ),
        rx.input(
            type="date",
            value=LibraryState.until,
            aria_label="To date",
            on_change=lambda v: LibraryState.set_filter("until", v),
        ),
        rx.button("Clear", variant="ghost", on_click=LibraryState.clear_filters),
        spacing="2",
        wrap="wrap",
        align="center",
        width="100%",
    )


def _shelves() -> list[rx.Component]:
    """Each shelf's cards in a grid of its own, drawn at its page's place (CSS order on the grid):
    a new page mounts one shelf's cards, and no card needs a style of its own. Every page but the
    last is whole, and 48 cards fill rows of 2, 3 or 4: the grids read as one. Below 768px
    one column, no gaps: generation_cards.css makes each card a row there."""

    def shelf(number: int) -> rx.Component:
        cards = getattr(LibraryState, _shelf(number))
        return rx.cond(
            cards.length() > 0,
            rx.grid(
                rx.foreach(cards, lambda item: library_card(item=item)),
                order=LibraryState.shelf_pages[number],
                columns=rx.breakpoints(initial="1", sm="2", lg="3", xl="4"),
                spacing=rx.breakpoints(initial="0", sm="4"),
                width="100%",
            ),
        )

    return [shelf(number) for number in range(SHELVES)]


def library_page() -> rx.Component:
    return app_page(
        rx.vstack(
            rx.hstack(
                rx.heading("Library", size="7"),
                rx.link(rx.button(rx.icon("sparkles", size=16), "New"), href="/studio"),
                justify="between",
                width="100%",
                align="center",
            ),
            _filters(),
            rx.cond(
                LibraryState.error != "", rx.callout(LibraryState.error, color_scheme="red", role="alert")
            ),
            rx.text(LibraryState.summary, size="1", color_scheme="gray", id="library-summary"),
            rx.cond(
                LibraryState.newer,
                rx.button(
                    rx.icon("arrow-up", size=14),
                    "Show newer",
                    variant="soft",
                    on_click=LibraryState.show_newer,
                ),
            ),
            rx.cond(
                LibraryState.shown > 0,
                rx.flex(
                    *_shelves(),
                    direction="column",
                    spacing=rx.breakpoints(initial="0", sm="4"),
                    width="100%",
                    class_name="generation-list",
                ),
                rx.center(
                    rx.cond(
                        LibraryState.everything > 0,
                        rx.vstack(
                            rx.icon("search-x", size=32, color=rx.color("gray", 8)),
                            rx.text(LibraryState.no_results, color_scheme="gray", id="no-results"),
                            rx.button(
                                "Clear search and filters",
                                variant="soft",
                                on_click=LibraryState.clear_filters,
                            ),
                            align="center",
                        ),
                        rx.vstack(
                            rx.icon("images", size=32, color=rx.color("gray", 8)),
                            rx.text("Nothing here yet.", color_scheme="gray"),
                            rx.link("Make something in the studio", href="/studio"),
                            align="center",
                        ),
                    ),
                    padding="3rem",
                    width="100%",
                ),
            ),
            rx.cond(
                LibraryState.more,
                # Scrolled near, it loads the next page by itself; pressed, too.
                when_seen(
                    rx.button("Load more", variant="soft", on_click=LibraryState.load_more),
                    on_seen=LibraryState.load_more,
                    again=LibraryState.shown,
                ),
            ),
            spacing="4",
            width="100%",
        )
    )


def _caption(output: OutputView) -> rx.Component:
    return rx.card(
        rx.cond(
            GenerationState.editing == output.id,
            rx.form(
                rx.vstack(
                    rx.text_area(
                        name="caption",
                        default_value=output.text,
                        rows="5",
                        width="100%",
                        max_length=2200,
                        aria_label="Caption",
                    ),
                    rx.hstack(
                        rx.button("Save caption", type="submit", size="2"),
                        rx.button(
                            "Cancel",
                            variant="ghost",
                            size="2",
                            type="button",
                            on_click=GenerationState.edit(""),
                        ),
                    ),
                    width="100%",
                ),
                on_submit=GenerationState.save_caption,
                width="100%",
            ),
            rx.vstack(
                rx.text(output.text, size="3", white_space="pre-wrap", class_name="caption-text"),
                rx.hstack(
                    rx.button(
                        rx.icon("copy", size=14),
                        "Copy",
                        variant="soft",
                        size="1",
                        on_click=[rx.set_clipboard(output.text), rx.toast.success("Copied.")],
                    ),
                    rx.button(
                        rx.icon("pencil", size=14),
                        "Edit",
                        variant="soft",
                        size="1",
                        on_click=GenerationState.edit(output.id),
                    ),
                ),
                width="100%",
            ),
        ),
        width="100%",
    )


def _file(output: OutputView) -> rx.Component:
    return rx.vstack(
        output_player(output, GenerationState.item.prompt),
        download_button("Download", href=output.download_url, variant="soft", size="2"),
        width="100%",
    )


def generation_page() -> rx.Component:
    item = GenerationState.item
    return app_page(
        rx.cond(
            GenerationState.found,
            rx.vstack(
                rx.link("← Library", href="/library", size="2"),
                rx.hstack(
                    status_badge(item),
                    rx.badge(item.kind_label, variant="outline"),
                    offline_badge(item),
                    spacing="2",
                    wrap="wrap",
                ),
                rx.heading(item.prompt, size="5", trim="both"),
                rx.text(item.created, " · ", item.details, size="2", color_scheme="gray"),
                rx.cond(item.progress != "", rx.text(item.progress, size="2")),
                rx.cond(item.error != "", rx.callout(item.error, icon="triangle-alert", color_scheme="red")),
                rx.grid(
                    rx.foreach(item.outputs, lambda o: rx.cond(o.kind == "caption", _caption(o), _file(o))),
                    columns=rx.breakpoints(initial="1", md="2"),
                    spacing="4",
                    width="100%",
                ),
                rx.hstack(
                    rx.button(
                        rx.icon("rotate-ccw", size=14),
                        "Run again",
                        variant="soft",
                        on_click=GenerationState.again("rerun"),
                    ),
                    rx.button(
                        rx.icon("shuffle", size=14),
                        "Make a variation",
                        variant="soft",
                        on_click=GenerationState.again("variation"),
                    ),
                    rx.alert_dialog.root(
                        rx.alert_dialog.trigger(
                            rx.button(
                                rx.icon("trash-2", size=14), "Delete", color_scheme="red", variant="soft"
                            )
                        ),
                        rx.alert_dialog.content(
                            rx.alert_dialog.title("Delete this generation?"),
                            rx.alert_dialog.description(
                                "The prompt, its outputs and their files are removed for good."
                            ),
                            rx.hstack(
                                rx.alert_dialog.cancel(
                                    rx.button("Keep it", variant="soft", color_scheme="gray")
                                ),
                                rx.alert_dialog.action(
                                    rx.button("Delete", color_scheme="red", on_click=GenerationState.delete)
                                ),
                                justify="end",
                                spacing="3",
                                padding_top="1rem",
                            ),
                        ),
                    ),
                    wrap="wrap",
                    spacing="2",
                ),
                posted_section(),
                spacing="4",
                width="100%",
            ),
            rx.vstack(
                rx.heading("Not found", size="6"),
                rx.text("This generation isn't in your library. It may have been deleted."),
                rx.link("Back to the library", href="/library"),
            ),
        )
    )
