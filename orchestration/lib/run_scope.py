"""What one run processes, fixed when the run is created and carried by its tags.

A run's delivery days are its partition window (Dagster's partition tags, set by the
schedule, the sensor, a backfill or the CLI) and its as-of date is the
`omnichannel/as_of_date` tag, else the AS_OF_DATE setting, else the window's last day.
Every step reads these from the run, so a file that lands while the run is going
cannot give two steps two different dates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

AS_OF_TAG = "omnichannel/as_of_date"
FULL_REFRESH_TAG = "omnichannel/full_refresh"
# Dagster's own partition tags (dagster._core.storage.tags), as strings: this module
# has no Dagster import.
PARTITION_TAG = "dagster/partition"
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


class RunScopeError(ValueError):
    """The run carries no as-of date and no partition window to take one from."""


@dataclass(frozen=True)
class RunScope:
    """The delivery days a run loads (`window_start`..`window_end`, both included, or none
    for a run without partitions), the date its marts and models are as of, and whether
    its dbt build rebuilds the incremental models from scratch."""

    as_of_date: date
    window_start: date | None = None
    window_end: date | None = None
    full_refresh: bool = False

    def delivery_days(self) -> list[date]:
        if self.window_start is None or self.window_end is None:
            return []
        days = (self.window_end - self.window_start).days + 1
        return [self.window_start + timedelta(days=n) for n in range(days)]

    def tags(self) -> dict[str, str]:
        """The run tags that carry this scope (for a run about to be created)."""
        tags = {AS_OF_TAG: self.as_of_date.isoformat()}
        if self.full_refresh:
            tags[FULL_REFRESH_TAG] = "true"
        if self.window_start and self.window_end:
            tags[RANGE_START_TAG] = self.window_start.isoformat()
            tags[RANGE_END_TAG] = self.window_end.isoformat()
        return tags

    def dbt_vars(self) -> dict[str, str]:
        """The scope as dbt vars (an empty window bound = no window: everything)."""
        return {
            "as_of_date": self.as_of_date.isoformat(),
            "window_start": self.window_start.isoformat() if self.window_start else "",
            "window_end": self.window_end.isoformat() if self.window_end else "",
        }


def _day(tags: Mapping[str, str], name: str) -> date:
    try:
        return date.fromisoformat(tags[name])
    except ValueError as exc:
        raise RunScopeError(f"run tag {name}={tags[name]!r} is not a YYYY-MM-DD date") from exc


def scope_from_tags(tags: Mapping[str, str], as_of_override: date | None = None) -> RunScope:
    """The scope a run's tags describe (see the module docstring for the precedence)."""
    start = end = None
    if PARTITION_TAG in tags:
        start = end = _day(tags, PARTITION_TAG)
    elif RANGE_START_TAG in tags and RANGE_END_TAG in tags:
        start, end = _day(tags, RANGE_START_TAG), _day(tags, RANGE_END_TAG)
        if end < start:
            raise RunScopeError(f"the run's partition window ends ({end}) before it starts")
    if AS_OF_TAG in tags:
        as_of = _day(tags, AS_OF_TAG)
    elif as_of_override or end:
        as_of = as_of_override or end
    else:
        raise RunScopeError(
            "the run has no as-of date: launch it for a delivery-date partition (or a range), "
            f"or with the run tag {AS_OF_TAG}=YYYY-MM-DD"
        )
    return RunScope(as_of, start, end, full_refresh=tags.get(FULL_REFRESH_TAG) == "true")
