"""Resources shared by every domain: the internal warehouse and the dbt CLI."""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.lib.settings import DuckDBLimits, Settings, load_settings
from orchestration.project import dbt_cli

# Every step that writes the warehouse takes a slot of this pool; the instance
# limits it to one (DuckDB allows a single writer process).
WAREHOUSE_POOL = "warehouse"


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
        con = duckdb.connect(self.path)
        try:
            self.limits.apply(con)
            yield con
        finally:
            con.close()


def build_resources() -> dict[str, object]:
    settings = load_settings()
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource.from_settings(settings),
        "dbt": dbt_cli(),
    }
