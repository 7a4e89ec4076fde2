"""Nothing moves while a page loads: each chart's place is kept while the chart code loads,
and /analytics stands still from its first paint to its last chart.

The chart code (plotly) loads after the page has painted, once a chart's box comes near the
window. In the first test it never arrives (the browser is refused it), and the dashboard's,
the post page's and the admin overview's charts must still stand in boxes of the height
their figures have, as the best-time table does without any chart code. The second measures
what a visitor sees while reading down the page: the browser's own layout-shift score (CLS)
of /analytics. The third: on a phone, a chart below the fold costs nothing until the creator
scrolls towards it.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from assetry.components import admin_charts, charts, heatmap
from assetry.components.plot import NEAR
from tests.e2e.browser import DESKTOP, PHONE, draw_charts, visit
from tests.e2e.conftest import SYNC_TIMEOUT_MS

pytestmark = pytest.mark.e2e

PLOTLY_CHUNK = re.compile(r"/assets/plotly[^/]*\.js")
# Good, in the browser's own terms (web.dev calls ≤ 0.1 good); a card pushed down by a chart is ~0.2.
MOST_LAYOUT_SHIFT = 0.02
# From the first paint, every shift of something already drawn that no click or key caused
# (the Layout Instability API's score, as Lighthouse sums it).
_LAYOUT_SHIFTS = """
window.__shifts = { score: 0, moved: [] };
window.__recordShifts = (shifts) => {
  for (const shift of shifts) {
    if (shift.hadRecentInput) continue;
    window.__shifts.score += shift.value;
    for (const source of shift.sources || []) {
      const node = source.node;
      const name = node && node.nodeType === 1 ? node.tagName + "." + String(node.className).slice(0, 50) : "?";
      window.__shifts.moved.push(`${name} ${source.previousRect.y}→${source.currentRect.y}`);
    }
  }
};
window.__shiftObserver = new PerformanceObserver((list) => window.__recordShifts(list.getEntries()));
window.__shiftObserver.observe({ type: "layout-shift", buffered: true });
"""


def _chart_boxes(page: Page) -> list[float]:
    return page.evaluate(
        """() => [...document.querySelectorAll('[data-chart-box]')].map((box) => box.getBoundingClientRect().height)"""
    )


def test_charts_keep_their_height_before_their_code_arrives(
    new_context, synced_admin: tuple[str, dict]
) -> None:
    _email, storage = synced_admin
    page = new_context(storage_state=storage).new_page()
    held: list[Route] = []  # the chart code's requests, answered only at the end
    page.route(PLOTLY_CHUNK, lambda route: held.append(route))
    visit(page, "/analytics")
    expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    expect(page.locator("[data-chart-box]")).to_have_count(1)
    assert _chart_boxes(page) == [charts.SERIES_HEIGHT]
    best_times = page.get_by_role("table", name="Median views of your posts by weekday and hour published")
    assert best_times.bounding_box()["height"] == heatmap.HEIGHT
    page.locator("table").first.locator("tbody tr").first.get_by_role("link").click()
    expect(page.get_by_role("heading", name="Views after posting")).to_be_visible()
    expect(page.locator("[data-chart-box]")).to_have_count(1)
    assert _chart_boxes(page) == [charts.HISTORY_HEIGHT]
    visit(page, "/admin")
    expect(page.locator("[data-chart-box]").nth(2)).to_be_attached()  # a 4th when there were generations
    overview = _chart_boxes(page)
    assert overview.count(admin_charts.DAILY_HEIGHT) == 3
    assert set(overview) <= {admin_charts.DAILY_HEIGHT, admin_charts.GENERATIONS_HEIGHT}
    assert held, "the chart code was never asked for"
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    for route in held:
        with contextlib.suppress(PlaywrightError):  # asked for by a page since left
            route.continue_()
    expect(page.locator(".js-plotly-plot .main-svg").first).to_be_visible()
    assert _chart_boxes(page) == overview


@pytest.mark.parametrize("window", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_analytics_stands_still_while_it_loads(new_context, synced_admin: tuple[str, dict], window) -> None:
    _email, storage = synced_admin
    page = new_context(storage_state=storage, viewport=window).new_page()
    visit(page, "/analytics")
    # The fixture's first sync may still be filling the dashboard: measure once it is done.
    expect(page.locator(".connected-account").get_by_text("Syncing")).to_have_count(
        0, timeout=SYNC_TIMEOUT_MS
    )
    page.add_init_script(_LAYOUT_SHIFTS)
    visit(page, "/analytics")
    expect(page.locator(".total-card").first).not_to_contain_text("—")
    draw_charts(page)  # scrolled to, as a reader does (a scroll is no layout shift)
    page.get_by_role("heading", name="Best time to post").scroll_into_view_if_needed()
    page.evaluate("document.fonts.ready")
    shifts = page.evaluate(
        """() => {
            window.__recordShifts(window.__shiftObserver.takeRecords());  // those not yet delivered
            return window.__shifts;
        }"""
    )
    assert shifts["score"] <= MOST_LAYOUT_SHIFT, f"CLS {shifts['score']:.3f}; moved: {shifts['moved'][:12]}"


def test_a_chart_below_the_fold_loads_its_code_only_when_scrolled_near(
    new_context, synced_admin: tuple[str, dict]
) -> None:
    _email, storage = synced_admin
    page = new_context(
        storage_state=storage, viewport={"width": 390, "height": 600}, is_mobile=True
    ).new_page()
    asked: list[str] = []
    page.on(
        "request", lambda request: asked.append(request.url) if PLOTLY_CHUNK.search(request.url) else None
    )
    visit(page, "/analytics")
    expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    box = page.locator("[data-chart-box]")
    expect(box).to_have_count(1)
    assert box.bounding_box()["y"] > 600 + NEAR  # below the fold, farther than the chart's margin
    page.wait_for_timeout(1000)  # the page settles: still nothing asked for
    assert asked == []
    expect(page.locator(".js-plotly-plot")).to_have_count(0)
    draw_charts(page)
    assert len(asked) == 1, asked


# Skipped by `content-visibility: auto` (style and layout not done): what checkVisibility says
# when asked about it; an element merely off screen but drawn answers true.
_DRAWN = "(element) => element.checkVisibility({ contentVisibilityAuto: true })"


def test_sections_far_below_the_fold_are_drawn_only_when_scrolled_near(
    new_context, synced_admin: tuple[str, dict]
) -> None:
    """On a phone, best time to post and the top posts wait several screens down: the browser
    leaves their style and layout undone until the creator scrolls towards them, yet a screen
    reader finds them from the start."""
    _email, storage = synced_admin
    page = new_context(storage_state=storage, viewport=PHONE, is_mobile=True).new_page()
    visit(page, "/analytics")
    expect(page.locator(".total-card").first).not_to_contain_text("—", timeout=SYNC_TIMEOUT_MS)
    best_times = page.get_by_role("table", name="Median views of your posts by weekday and hour published")
    expect(best_times).to_be_attached()  # in the accessibility tree, named, before any scroll
    expect(page.get_by_role("heading", name="Best time to post")).to_be_attached()
    page.wait_for_timeout(500)  # a few frames: what is near the window is drawn by now
    assert not best_times.evaluate(_DRAWN)
    page.get_by_role("heading", name="Best time to post").scroll_into_view_if_needed()
    page.wait_for_function(_DRAWN, arg=best_times.element_handle())
    assert best_times.bounding_box()["height"] == heatmap.HEIGHT
