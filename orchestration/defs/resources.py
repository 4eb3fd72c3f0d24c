"""Resources shared by every domain: the settings, the internal warehouse, the dbt CLI,
and the run's scope (its delivery days and as-of date) as every step sees it."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.lib.run_scope import RunScope, RunScopeError, scope_from_tags
from orchestration.lib.settings import (
    DuckDBLimits,
    Settings,
    load_settings,
    settings_environ,
)
from orchestration.project import dbt_cli

# Every step that writes the warehouse takes a slot of this pool; the instance
# limits it to one (DuckDB allows a single writer process).
WAREHOUSE_POOL = "warehouse"


class SettingsResource(dg.ConfigurableResource):
    """The pipeline's settings, taken from the environment once when the code location
    loads (shown in the UI as this resource's config); steps read them from here."""

    environ: dict[str, str]

    @classmethod
    def from_environment(cls) -> "SettingsResource":
        return cls(environ=settings_environ())

    @property
    def settings(self) -> Settings:
        return load_settings(self.environ)

    def scope(self, context) -> RunScope:
        """The run's delivery days and as-of date, from its tags (see lib/run_scope)."""
        try:
            return scope_from_tags(context.run.tags, self.settings.as_of_date_override)
        except RunScopeError as exc:
            raise dg.Failure(str(exc)) from exc


class WarehouseResource(dg.ConfigurableResource):
    """The internal DuckDB warehouse file, opened only by the pipeline, with the run's
    DuckDB limits (memory, threads, where to spill)."""

    path: str
    memory_limit: str
    threads: int
    temp_directory: str

    @classmethod
    def from_settings(cls, settings: Settings, path: Path | None = None) -> "WarehouseResource":
        return cls(
            path=str(path or settings.warehouse_path),
            memory_limit=settings.duckdb.memory_limit,
            threads=settings.duckdb.threads,
            temp_directory=str(settings.duckdb.temp_directory),
        )

    @property
    def limits(self) -> DuckDBLimits:
        return DuckDBLimits(self.memory_limit, self.threads, Path(self.temp_directory))

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = self.limits.connect(self.path)
        try:
            yield con
        finally:
            con.close()


def build_resources() -> dict[str, object]:
    resource = SettingsResource.from_environment()
    settings = resource.settings
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "settings": resource,
        "warehouse": WarehouseResource.from_settings(settings),
        "dbt": dbt_cli(),
    }
