"""Ingestion memory is bounded by its limits, not by its input: a 3 MB gzip file that
expands to 3 GiB and a 200 MiB line are handled in a child process whose peak RSS is
measured. (Before the limits, a 1 MB archive of one 1 GB line took a run to 7.9 GB.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zlib

from tests.ingest_fixtures import write
from tests.unit.test_ingest_bad_input import DAY, GOOD, HEADER

MiB = 1 << 20
LIMIT = 256 * MiB
# The child's own footprint (Python, DuckDB, pyarrow, numpy) plus the one file it may hold.
PEAK_BOUND = LIMIT + 384 * MiB

CHILD = """
import json, sys
from pathlib import Path
from orchestration.lib.contract import SOURCES_BY_NAME
from orchestration.lib.ingest import ingest_source
from orchestration.lib.settings import load_settings

settings = load_settings()
con = settings.duckdb.connect(sys.argv[1])
result = ingest_source(
    con, SOURCES_BY_NAME["web_orders"], Path(sys.argv[2]), batch_id="b", limits=settings.ingest
)
rejects = con.execute("select line, reason, length(raw_line), raw_line_bytes from raw._rejects")
# VmHWM, this process's own peak: ru_maxrss would also count the parent's RSS at fork.
peak_kib = next(
    int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:")
)
print(json.dumps({
    "peak_rss": peak_kib * 1024,
    "files": {f["file"]: [f["status"], f["reason"]] for f in result.file_rows()},
    "rejects": rejects.fetchall(),
}))
"""


def gzip_members(*parts: tuple[bytes, int]) -> bytes:
    """A gzip file of (chunk, times) parts: each chunk compressed once and repeated as
    further gzip members (readers concatenate members), so 3 GiB costs milliseconds."""
    out = []
    for chunk, times in parts:
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        out.append((packer.compress(chunk) + packer.flush()) * times)
    return b"".join(out)


def test_a_decompression_bomb_and_a_giant_line_stay_within_the_limit(tmp_path):
    landing = tmp_path / "landing"
    row_start = GOOD.encode() + b","
    write(
        landing,
        f"{DAY}/expands.csv.gz",
        gzip_members((HEADER.encode() + b",note\n" + row_start, 1), (b"x" * (64 * MiB), 48)),
    )
    write(
        landing,
        f"{DAY}/one_line.csv.gz",
        gzip_members(
            (HEADER.encode() + b",note\n" + row_start, 1), (b"y" * (50 * MiB), 4), (b"\n", 1)
        ),
    )
    write(landing, f"{DAY}/good.csv", f"{HEADER}\n{GOOD}\n")
    assert sum(p.stat().st_size for p in (landing / DAY).iterdir()) < 4 * MiB

    env = {**os.environ, "INGEST_MAX_FILE_BYTES": "256MiB", "DUCKDB_MEMORY_LIMIT": "512MiB"}
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "w.duckdb"), str(landing)],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    report = json.loads(done.stdout)
    assert report["files"] == {
        f"{DAY}/expands.csv.gz": [
            "quarantined",
            "decompresses to more than INGEST_MAX_FILE_BYTES (268,435,456 bytes): not loaded",
        ],
        f"{DAY}/good.csv": ["loaded", None],
        f"{DAY}/one_line.csv.gz": ["loaded", None],
    }
    line_bytes = len(row_start) + 200 * MiB
    assert report["rejects"] == [
        [
            2,
            f"line of {line_bytes} bytes is longer than INGEST_MAX_LINE_BYTES (16,777,216 bytes)",
            4096,
            line_bytes,
        ]
    ]
    assert report["peak_rss"] < PEAK_BOUND, f"peak RSS {report['peak_rss'] / MiB:.0f} MiB"
