"""Each chart's place is kept while the chart code loads: nothing below it moves when it arrives.

The chart code (plotly) loads after the page has painted. Here it never arrives (the
browser is refused it), and the dashboard's, the post page's and the admin overview's
charts must still stand in boxes of the height their figures have.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Route, expect

from assetry.components import admin_charts, charts
from tests.e2e.browser import visit
from tests.e2e.conftest import SYNC_TIMEOUT_MS

pytestmark = pytest.mark.e2e

PLOTLY_CHUNK = re.compile(r"/assets/plotly[^/]*\.js")


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
    expect(page.locator("[data-chart-box]")).to_have_count(2)
    assert _chart_boxes(page) == [charts.SERIES_HEIGHT, charts.HEATMAP_HEIGHT]
    page.locator("table").first.locator("tbody tr").first.get_by_role("link").click()
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
