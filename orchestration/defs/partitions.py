"""Delivery-date partitions: one per day in the reporting time zone.

They start at PARTITIONS_START_DATE, else at the first delivery date in the landing
directory when the code location loads (else yesterday: nothing delivered yet). A day
is a partition once it is over in the reporting time zone, so the 02:00 schedule runs
the day that just ended; a delivery folder named by today's date waits for tomorrow.
"""

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from orchestration.lib.settings import Settings, load_settings


def delivery_days(settings: Settings) -> dg.DailyPartitionsDefinition:
    found = settings.delivery_dates()
    start = (
        settings.partitions_start_date
        or (found[0] if found else None)
        or datetime.now(ZoneInfo(settings.reporting_tz)).date() - timedelta(days=1)
    )
    return dg.DailyPartitionsDefinition(
        start_date=start.isoformat(), timezone=settings.reporting_tz
    )


def last_delivery_day(partitions: dg.DailyPartitionsDefinition) -> date:
    """The latest day that is a partition now (yesterday in the reporting time zone)."""
    return date.fromisoformat(partitions.get_last_partition_key())


# Read when the code location loads, like every definition.
DELIVERY_DAYS = delivery_days(load_settings())
