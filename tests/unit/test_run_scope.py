"""A run's delivery days and as-of date come from its tags, in a fixed precedence."""

from datetime import date

import pytest

from orchestration.lib.dbt_args import build_dbt_args
from orchestration.lib.run_scope import (
    AS_OF_TAG,
    PARTITION_TAG,
    RANGE_END_TAG,
    RANGE_START_TAG,
    RunScope,
    RunScopeError,
    scope_from_tags,
)
from orchestration.lib.settings import load_settings

RANGE = {RANGE_START_TAG: "2026-03-01", RANGE_END_TAG: "2026-03-03"}


def test_a_range_run_loads_its_days_as_of_the_last_one():
    scope = scope_from_tags(RANGE)
    assert scope.delivery_days() == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert scope.as_of_date == date(2026, 3, 3)


def test_the_as_of_tag_wins_over_the_setting_and_the_window():
    tags = {**RANGE, AS_OF_TAG: "2026-06-30"}
    assert scope_from_tags(tags, as_of_override=date(2026, 5, 1)).as_of_date == date(2026, 6, 30)
    assert scope_from_tags(RANGE, as_of_override=date(2026, 5, 1)).as_of_date == date(2026, 5, 1)


def test_a_single_partition_is_a_one_day_window():
    scope = scope_from_tags({PARTITION_TAG: "2026-03-02"})
    assert (scope.window_start, scope.window_end) == (date(2026, 3, 2), date(2026, 3, 2))


def test_a_run_without_partition_needs_an_as_of_date():
    assert scope_from_tags({AS_OF_TAG: "2026-06-30"}).delivery_days() == []
    with pytest.raises(RunScopeError, match="has no as-of date"):
        scope_from_tags({})
    with pytest.raises(RunScopeError, match=r"ends \(2026-03-01\) before it starts"):
        scope_from_tags({RANGE_START_TAG: "2026-03-03", RANGE_END_TAG: "2026-03-01"})
    with pytest.raises(RunScopeError, match="not a YYYY-MM-DD date"):
        scope_from_tags({PARTITION_TAG: "yesterday"})


def test_tags_round_trip():
    scope = RunScope(date(2026, 6, 30), date(2026, 6, 1), date(2026, 6, 29))
    assert scope_from_tags(scope.tags()) == scope


def test_a_full_refresh_travels_with_the_run_to_dbt():
    scope = RunScope(date(2026, 6, 30), date(2026, 6, 30), date(2026, 6, 30), full_refresh=True)
    assert scope_from_tags(scope.tags()).full_refresh
    assert "--full-refresh" in build_dbt_args(load_settings({}), scope)
    assert "--full-refresh" not in build_dbt_args(load_settings({}), RunScope(date(2026, 6, 30)))
