"""Resources shared by every domain: the internal warehouse and the dbt CLI."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from orchestration.lib.settings import load_settings
from orchestration.project import dbt_cli

# Every step that writes the warehouse takes a slot of this pool; the instance
# limits it to one (DuckDB allows a single writer process).
WAREHOUSE_POOL = "warehouse"


class WarehouseResource(dg.ConfigurableResource):
    """The internal DuckDB warehouse file, opened only by the pipeline."""

    path: str

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        con = duckdb.connect(self.path)
        try:
            con.execute("set TimeZone = 'UTC'")
            yield con
        finally:
            con.close()


def build_resources() -> dict[str, object]:
    settings = load_settings()
    settings.warehouse_dir.mkdir(parents=True, exist_ok=True)
    return {
        "warehouse": WarehouseResource(path=str(settings.warehouse_path)),
        "dbt": dbt_cli(),
    }
