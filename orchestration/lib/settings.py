"""Settings from environment variables, with the defaults the README documents.

Paths are resolved to absolute ones so that dbt (run from `dbt_project/`) and
Dagster (run from anywhere) agree on the same files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DATE_DIR = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _path(var: str, default: str) -> Path:
    value = os.environ.get(var) or default
    path = Path(value)
    return (path if path.is_absolute() else REPO_ROOT / path).resolve()


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_dir: Path
    publish_dir: Path
    ground_truth_dir: Path
    dagster_home: Path
    as_of_date_override: date | None
    reporting_tz: str
    clv_model: str = "bgnbd"
    clv_annual_discount_rate: float = 0.10
    churn_horizon_days: int = 90

    @property
    def warehouse_path(self) -> Path:
        return self.warehouse_dir / "warehouse.duckdb"

    @property
    def publish_path(self) -> Path:
        return self.publish_dir / "marts.duckdb"

    def delivery_dates(self) -> list[date]:
        """Every delivery date present in the landing directory, sorted."""
        if not self.landing_dir.is_dir():
            return []
        found = {
            date.fromisoformat(day.name)
            for source_dir in self.landing_dir.iterdir()
            if source_dir.is_dir()
            for day in source_dir.iterdir()
            if day.is_dir() and DATE_DIR.match(day.name)
        }
        return sorted(found)

    def as_of_date(self) -> date:
        """AS_OF_DATE, or the latest delivery date found in the landing directory."""
        if self.as_of_date_override:
            return self.as_of_date_override
        dates = self.delivery_dates()
        if not dates:
            raise ValueError(
                f"AS_OF_DATE is not set and {self.landing_dir} holds no delivery folders "
                "(<source>/<YYYY-MM-DD>/): nothing to take the as-of date from"
            )
        return dates[-1]

    def dbt_env(self) -> dict[str, str]:
        """Environment variables that profiles.yml and dbt_project.yml read."""
        return {
            "WAREHOUSE_DIR": str(self.warehouse_dir),
            "AS_OF_DATE": self.as_of_date().isoformat(),
            "REPORTING_TZ": self.reporting_tz,
        }


def data_root_env(root: Path) -> dict[str, str]:
    """Environment that puts every directory of a run under one root (benchmarks, tests)."""
    return {
        "LANDING_DIR": str(root / "landing"),
        "GROUND_TRUTH_DIR": str(root / "ground_truth"),
        "WAREHOUSE_DIR": str(root / "warehouse"),
        "PUBLISH_DIR": str(root / "publish"),
        "DAGSTER_HOME": str(root / "dagster"),
    }


CLV_MODELS = ("bgnbd", "pareto_nbd")


def _number(var: str, default: str, kind: type, low: float, high: float):
    value = os.environ.get(var) or default
    try:
        number = kind(value)
    except ValueError as exc:
        what = "whole number" if kind is int else "number"
        raise ValueError(f"{var}={value!r} is not a {what}") from exc
    if not low <= number <= high:
        raise ValueError(f"{var}={value!r} is outside {low}..{high}")
    return number


def load_settings() -> Settings:
    as_of = os.environ.get("AS_OF_DATE")
    try:
        as_of_date = date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise ValueError(f"AS_OF_DATE={as_of!r} is not a YYYY-MM-DD date") from exc
    clv_model = os.environ.get("CLV_MODEL") or "bgnbd"
    if clv_model not in CLV_MODELS:
        raise ValueError(f"CLV_MODEL={clv_model!r} is not one of {', '.join(CLV_MODELS)}")
    return Settings(
        landing_dir=_path("LANDING_DIR", "data/landing"),
        warehouse_dir=_path("WAREHOUSE_DIR", "data/warehouse"),
        publish_dir=_path("PUBLISH_DIR", "data/publish"),
        ground_truth_dir=_path("GROUND_TRUTH_DIR", "data/ground_truth"),
        dagster_home=_path("DAGSTER_HOME", "data/dagster"),
        as_of_date_override=as_of_date,
        reporting_tz=os.environ.get("REPORTING_TZ") or "UTC",
        clv_model=clv_model,
        clv_annual_discount_rate=_number("CLV_ANNUAL_DISCOUNT_RATE", "0.10", float, 0, 1),
        churn_horizon_days=_number("CHURN_HORIZON_DAYS", "90", int, 7, 365),
    )
