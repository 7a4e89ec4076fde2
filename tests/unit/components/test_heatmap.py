"""Best time to post as a table: each square's shade follows its median views, and its number reads on it."""

from __future__ import annotations

from assetry.components import heatmap


def _contrast(background: str, text: str) -> float:
    def luminance(colour: str) -> float:
        colour = colour.lstrip("#")
        if len(colour) == 3:
            colour = "".join(c * 2 for c in colour)
        channels = [int(colour[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(background), luminance(text)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _week(**slots: int) -> list[list[int | None]]:
    """Seven weekdays of 24 empty hours, with `mon9=1200`-style slots filled in."""
    cells: list[list[int | None]] = [[None] * 24 for _ in heatmap.WEEKDAYS]
    for name, views in slots.items():
        day, hour = heatmap.WEEKDAYS.index(name[:3].title()), int(name[3:])
        cells[day][hour] = views
    return cells


def test_each_shade_has_its_number_in_a_colour_that_reads_on_it() -> None:
    assert len(heatmap.SHADES) == heatmap.STEPS
    for background, text in heatmap.SHADES:
        assert _contrast(background, text) >= 4.5, (background, text)


def test_the_fewest_views_are_lightest_and_the_most_darkest() -> None:
    rows = heatmap.rows(_week(mon9=800, wed18=1400, sat12=5000))
    assert [row.day for row in rows] == heatmap.WEEKDAYS
    assert all(len(row.squares) == 24 for row in rows)
    assert rows[0].squares[9] == ("800", 0)
    assert rows[2].squares[18] == ("1.4k", 1)  # (1400 - 800) / 4200 of the way, in 8 steps
    assert rows[5].squares[12] == ("5.0k", heatmap.STEPS - 1)


def test_an_hour_without_a_post_is_no_shade_and_no_number() -> None:
    rows = heatmap.rows(_week(tue7=12_345))
    assert rows[1].squares[7] == ("12k", heatmap.STEPS // 2)  # one value: the middle shade
    assert rows[1].squares[8] == ("", -1)
    assert heatmap.rows(_week()) == [heatmap.WeekdayRow(day, [("", -1)] * 24) for day in heatmap.WEEKDAYS]


def test_numbers_are_written_short() -> None:
    assert [heatmap.short(v) for v in (950, 1234, 12_345, 2_500_000)] == ["950", "1.2k", "12k", "2.5M"]
