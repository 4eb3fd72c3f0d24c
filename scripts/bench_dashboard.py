"""What building the KPI dashboard costs, against reading its marts whole.

    .venv/bin/python scripts/bench_dashboard.py data/bench_100000/publish/marts.duckdb

Both run in this process on the same published file (opened read-only; the page is
written to a temp directory): `build_dashboard` (open the file, every query, render,
write), and the reference, opening the file and fetching every column of every row of
the marts the dashboard reads (MARTS_READ) into Arrow. Each is timed `--repeat` times
after one warm-up (the file in the page cache); the medians are printed with their ratio.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from orchestration.lib.dashboard import MARTS_READ, build_dashboard
from orchestration.lib.publish import connect_reader


def read_marts(published: Path) -> int:
    """Every row of the dashboard's marts, fetched; returns the row count."""
    con = connect_reader(published)
    try:
        return sum(con.sql(f'select * from "{t}"').to_arrow_table().num_rows for t in MARTS_READ)
    finally:
        con.close()


def timed(function, repeat: int) -> float:
    function()  # warm-up
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("published", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as out:
        build = timed(lambda: build_dashboard(args.published, Path(out)), args.repeat)
        page = Path(out) / "index.html"
        size, charts = page.stat().st_size, page.read_text().count("data-chart=")
    rows = read_marts(args.published)
    reference = timed(lambda: read_marts(args.published), args.repeat)
    print(f"dashboard build: {build:.3f} s ({charts} charts, {size:,} bytes)")
    print(f"reference, {len(MARTS_READ)} marts read whole ({rows:,} rows): {reference:.3f} s")
    print(f"ratio build / reference: {build / reference:.2f}")


if __name__ == "__main__":
    main()
