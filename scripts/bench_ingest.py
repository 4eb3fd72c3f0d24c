"""`make bench` (ingestion limits): what hostile landing files cost, against ordinary ones
ingested in the same run.

Each case is one landing file ingested by `ingest_source` with the default limits, in its
own process (wall time and peak RSS of that process):

- `one_line_1g`: a ~1 MB .csv.gz whose data row is one 1 GB line;
- `expands_3g`: a ~3 MB .csv.gz that expands to 3 GiB;
- `wide_20k`: a CSV of 20,000 columns and 50 rows (2.2 MB);
- references: `narrow_same_bytes` (the contract's 6 columns, the same 2.2 MB) and
  `floor` (one row: the process's own cost, imports and DuckDB).

`--pythonpath DIR` runs the cases against another checkout (the code before a change).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MiB = 1 << 20
HEADER = b"order_id,order_ts,storefront,status,gross_amount,net_amount"
ROW = b"o1,2024-01-01T10:00:00Z,web,placed,1.00,1.00"
CHILD = """
import sys
from pathlib import Path
import duckdb
from orchestration.lib.contract import SOURCES_BY_NAME
from orchestration.lib.ingest import ingest_source
con = duckdb.connect(sys.argv[1])
result = ingest_source(con, SOURCES_BY_NAME["web_orders"], Path(sys.argv[2]), batch_id="bench")
print(result.files[0].status, result.files[0].reason, result.rows_loaded, result.rows_rejected)
"""


def gzip_members(*parts: tuple[bytes, int]) -> bytes:
    """Each chunk compressed once and repeated as further gzip members."""
    out = []
    for chunk, times in parts:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        out.append((packer.compress(chunk) + packer.flush()) * times)
    return b"".join(out)


def wide_csv(columns: int, rows: int) -> bytes:
    names = HEADER.split(b",") + [b"attribute_%05d" % i for i in range(columns - 6)]
    values = ROW.split(b",") + [b"v"] * (columns - 6)
    return b",".join(names) + b"\n" + (b",".join(values) + b"\n") * rows


def cases() -> dict[str, tuple[str, bytes]]:
    wide = wide_csv(20_000, 50)
    narrow_rows = len(wide) // (len(ROW) + 1)
    return {
        "floor": ("floor.csv", HEADER + b"\n" + ROW + b"\n"),
        "one_line_1g": (
            "one_line.csv.gz",
            gzip_members(
                (HEADER + b",coupon_code\n" + ROW + b",", 1), (b"x" * (100 * 10**6), 10), (b"\n", 1)
            ),
        ),
        "expands_3g": ("expands.csv.gz", gzip_members((b"x" * (64 * MiB), 48))),
        "wide_20k": ("wide.csv", wide),
        "narrow_same_bytes": ("narrow.csv", HEADER + b"\n" + (ROW + b"\n") * narrow_rows),
    }


def run_case(root: Path, name: str, file_name: str, data: bytes, env: dict) -> tuple:
    case = root / name
    day = case / "landing" / "web_orders" / "2024-01-01"
    day.mkdir(parents=True)
    (day / file_name).write_bytes(data)
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(case / "w.duckdb"), str(case / "landing")],
        env=env,
        cwd=case,  # not the checkout: `--pythonpath` decides which code is imported
        stdout=subprocess.PIPE,
        text=True,
    )
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    outcome = process.stdout.read().strip()
    if os.waitstatus_to_exitcode(status) != 0:
        outcome = f"FAILED (exit {os.waitstatus_to_exitcode(status)})"
    shutil.rmtree(case)
    return len(data), seconds, usage.ru_maxrss / 1024, outcome


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pythonpath", help="import the pipeline code from this checkout")
    args = parser.parse_args()
    env = dict(os.environ)
    if args.pythonpath:
        env["PYTHONPATH"] = args.pythonpath
    root = REPO / "data" / "bench_ingest"
    shutil.rmtree(root, ignore_errors=True)
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; code: {args.pythonpath or REPO}"
    )
    print(f"{'case':20}{'file MiB':>10}{'wall s':>9}{'peak MiB':>10}  outcome")
    results = {}
    for name, (file_name, data) in cases().items():
        size, seconds, peak, outcome = run_case(root, name, file_name, data, env)
        results[name] = (seconds, peak)
        print(f"{name:20}{size / MiB:>10.1f}{seconds:>9.2f}{peak:>10.0f}  {outcome[:90]}")
    floor_mib = results["floor"][1]
    print(
        f"wide_20k / narrow_same_bytes wall time: "
        f"{results['wide_20k'][0] / results['narrow_same_bytes'][0]:.1f}x; "
        f"peak RSS above the floor ({floor_mib:.0f} MiB): one_line_1g "
        f"{results['one_line_1g'][1] - floor_mib:.0f} MiB, expands_3g "
        f"{results['expands_3g'][1] - floor_mib:.0f} MiB"
    )
    shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
