"""The dashboard's pure parts: charts on hand-made data, deltas, and its exposure.

Geometry worked out by hand: the plot area of a chart is HEIGHT - TOP - BOTTOM =
220 - 14 - 40 = 166 px high, and its value axis runs from min(0, values) to max(0, values).
"""

import re

import pytest
import yaml

from orchestration.lib import dashboard
from orchestration.lib.dashboard import (
    QualityResult,
    Tile,
    bar_chart,
    delta,
    kpi_tile,
    line_chart,
    quality_section,
    table,
)
from orchestration.lib.settings import REPO_ROOT

PLOT = 166


def rects(svg: str) -> list[dict[str, float]]:
    return [
        {k: float(v) for k, v in re.findall(r'(x|y|width|height)="([-\d.]+)"', attrs)}
        for attrs in re.findall(r'<rect class="mark"([^>]*)>', svg)
    ]


def test_bar_heights_are_proportional_to_the_values():
    svg = bar_chart("b", "B", ["a", "b", "c"], {"v": [1, 2, 4]})
    bars = rects(svg)
    # 4 is the top of the axis: 166 px; 2 half of it, 1 a quarter.
    assert [b["height"] for b in bars] == [41.5, 83, 166]
    # every bar stands on the zero line at y = 14 + 166
    assert [b["y"] + b["height"] for b in bars] == [180, 180, 180]
    assert 'data-points="3"' in svg


def test_stacked_bars_sit_on_each_other():
    svg = bar_chart("s", "S", ["only"], {"first": [1], "second": [3]})
    first, second = rects(svg)
    assert (first["y"], first["height"]) == (138.5, 41.5)  # 180 - 166 / 4
    assert (second["y"], second["height"]) == (14, 124.5)  # from the top of the first
    assert "only, second: 3" in svg  # the tooltip names the series


def test_negative_bars_hang_from_zero():
    # axis from -1 to 3 (4 units of 41.5 px): zero at y = 14 + 3 * 41.5 = 138.5
    down, up = rects(bar_chart("n", "N", ["x", "y"], {"v": [-1, 3]}))
    assert (down["y"], down["height"]) == (138.5, 41.5)
    assert (up["y"], up["height"]) == (14, 124.5)


def test_zero_and_missing_values_draw_no_bar():
    svg = bar_chart("z", "Z", ["a", "b", "c"], {"v": [0, None, 2]})
    assert len(rects(svg)) == 1 and 'data-points="1"' in svg


def test_a_chart_without_data_says_so_and_has_no_points():
    for svg in (bar_chart("e", "E", [], {"v": []}), line_chart("e", "E", ["a"], {"v": [None]})):
        assert 'data-points="0"' in svg and "No data." in svg and "<svg" not in svg


def test_line_points_and_gaps():
    svg = line_chart("l", "L", ["a", "b", "c", "d"], {"v": [0, 2, None, 1]})
    points = re.findall(r'<circle class="mark" cx="([\d.]+)" cy="([\d.]+)"', svg)
    # x: 64 to 536 in 3 steps of 157.33; y: 180 for 0, 14 for 2 (the top), 97 for 1
    assert points == [("64", "180"), ("221.33", "14"), ("536", "97")]
    # the missing value breaks the line: one segment a-b, d alone has no line
    assert re.findall(r'<polyline[^>]* points="([^"]+)"', svg) == ["64,180 221.33,14"]
    assert 'data-points="3"' in svg


def test_labels_and_titles_are_escaped():
    svg = bar_chart("x", "A <b> & c", ["<script>"], {"v": [1]})
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "A &lt;b&gt; &amp; c" in svg


def test_long_category_labels_are_slanted_and_cut():
    labels = ["Can't Lose Them Anymore", "Champions", "Hibernating", "Lost", "New", "Loyal"]
    svg = bar_chart("c", "C", labels, {"v": [1, 2, 3, 4, 5, 6]})
    assert svg.count("rotate(-30") == 6
    assert "Can&#x27;t Lose Th…" in svg  # 13 characters and an ellipsis
    assert "Can&#x27;t Lose Them Anymore: 1" in svg  # the tooltip keeps the whole name


def test_the_same_data_gives_the_same_svg():
    def chart():
        return line_chart("d", "D", ["a", "b"], {"x": [1 / 3, 2 / 3], "y": [0.5, None]})

    assert chart() == chart()


@pytest.mark.parametrize(
    ("value", "previous", "change", "expected"),
    [
        (110, 100, "%", 10.0),
        (90, -100, "%", 190.0),  # relative to the size of the previous value
        (1, 0, "%", None),
        (0.25, 0.2, "pp", 5.0),
        (-3.5, -4.2, "pts", 0.7),
        (None, 1, "%", None),
    ],
)
def test_delta(value, previous, change, expected):
    assert delta(value, previous, change) == pytest.approx(expected)


def test_tiles_colour_the_delta_by_what_is_better():
    assert "delta good" in kpi_tile(Tile("Revenue", 110, 100))
    assert "delta bad" in kpi_tile(Tile("CAC", 110, 100, lower_is_better=True))
    share = kpi_tile(Tile("Conversion", 0.25, 0.2, dashboard.fmt_share))
    assert "+5.0 pp" in share and "(was 20.0%)" in share
    assert "delta " not in kpi_tile(Tile("Members", 5, note="with a tier")).replace(
        'class="delta"', ""
    )


def test_a_total_without_any_value_is_missing_not_zero():
    """Churn figures on a night without a churn model: every segment's value is NULL."""
    segments = [{"clv": 10.0, "risk": None}, {"clv": 2.5, "risk": None}]
    assert dashboard._total(segments, "clv") == 12.5
    assert dashboard._total(segments, "risk") is None
    assert dashboard._total([{"risk": None}, {"risk": 0.25}], "risk") == 0.25
    assert ">–<" in kpi_tile(Tile("Expected churners", dashboard._total(segments, "risk")))


def test_a_table_row_is_a_mark():
    html = table("t", "T", ["channel", "revenue"], [["web", "$1.00"], ["app", "$2.00"]])
    assert html.count('<tr class="mark">') == 2 and 'data-points="2"' in html


def test_quality_section_counts_per_layer_and_lists_what_failed():
    results = [
        QualityResult("raw", "raw.a", "c1", True, "ERROR", None),
        QualityResult("raw", "raw.a", "c2", False, "WARN", "3 unexpected"),
        QualityResult("marts", "marts.b", "c3", False, "ERROR", "1 unexpected"),
        QualityResult("staging", "staging.c", "c4", True, "ERROR", None),
    ]
    (chart,), body = quality_section(results)
    assert re.findall(r"<title>([^<]+)</title></rect>", chart) == [
        "raw, passed: 1",
        "raw, warning: 1",
        "staging, passed: 1",
        "marts, failed: 1",
    ]
    assert "4 expectations in this run: 2 passed, 1 warnings, 1 failed." in body
    # the blocking failure first
    assert body.index("marts.b") < body.index("raw.a")
    assert quality_section([])[0] == []


def test_the_exposure_lists_exactly_the_marts_the_dashboard_queries():
    exposures = yaml.safe_load(
        (REPO_ROOT / "dbt_project" / "models" / "marts" / "_exposures.yml").read_text()
    )["exposures"]
    (exposure,) = [e for e in exposures if e["name"] == "kpi_dashboard"]
    refs = {re.fullmatch(r"ref\('(\w+)'\)", r)[1] for r in exposure["depends_on"]}
    queried = {
        table
        for sql in dashboard.QUERIES.values()
        for table in re.findall(r"\b(?:from|join)\s+(\w+)", sql)
    }
    assert refs == set(dashboard.MARTS_READ) == queried
