"""BI readers during publishing: separate processes read the published file (and the
Parquet set) in a loop while another process publishes new versions.

Every published version `v` holds `version` (one row: v) and `facts` (rows(v) rows,
all tagged v); a reader that ever sees two versions mixed, a partial table, or an
error fails the test. Run as a module, this file is also the reader and publisher:
    python -m tests.integration.test_bi_readers reader|holder|publisher ...
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from orchestration.lib.publish import (
    PublishedMart,
    connect_parquet_reader,
    connect_reader,
    publish_marts,
)
from orchestration.lib.settings import REPO_ROOT

VERSIONS = 5
TABLES = {"version": PublishedMart(), "facts": PublishedMart(pii=("customer",))}


def rows(version: int) -> int:
    return 1000 * version + 7


def build_warehouse(path: Path, version: int) -> None:
    """A fresh warehouse whose marts carry `version` in both tables."""
    temp = path.with_suffix(".building")
    temp.unlink(missing_ok=True)
    with duckdb.connect(str(temp)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.version as select ? as v", [version])
        con.execute(
            "create table marts.facts as select ? as v, range as id, "
            "'crm:C' || range as customer, 'segment ' || (range % 5) as segment "
            "from range(?)",
            [version, rows(version)],
        )
    os.replace(temp, path)


def publish_versions(warehouse: Path, publish_dir: Path, first: int, last: int) -> list[float]:
    """Publish versions first..last, a short pause between them; seconds per publish."""
    took = []
    for version in range(first, last + 1):
        build_warehouse(warehouse, version)
        start = time.monotonic()
        publish_marts(warehouse, publish_dir, TABLES, key="test-key")
        took.append(time.monotonic() - start)
        time.sleep(0.3)
    return took


def check_answer(version: int, facts: tuple[int, int, int]) -> str | None:
    """None when (min v, max v, rows) of facts is version `version`, complete."""
    if facts != (version, version, rows(version)):
        return f"version table says {version}, facts (min v, max v, rows) = {facts}"
    return None


def read_duckdb(con: duckdb.DuckDBPyConnection) -> tuple[int, str | None]:
    """Two queries on one connection: both tables must be the same complete version."""
    (version,) = con.execute("select v from version").fetchone()
    facts = con.execute("select min(v), max(v), count(*) from facts").fetchone()
    return version, check_answer(version, facts)


def read_parquet(publish_dir: Path) -> tuple[int, str | None]:
    """Resolve the `parquet` link once, then read both files of that one set."""
    directory = Path(os.path.realpath(publish_dir / "parquet"))
    with connect_parquet_reader(publish_dir) as con:
        (version,) = con.execute(
            f"select v from read_parquet('{directory / 'version.parquet'}')"
        ).fetchone()
        facts = con.execute(
            f"select min(v), max(v), count(*) from read_parquet('{directory / 'facts.parquet'}')"
        ).fetchone()
    return version, check_answer(version, facts)


def reader_loop(publish_dir: Path, stop: Path, hold: bool) -> dict:
    """Query until `stop` exists (then once more). `hold`: one connection kept open for
    the whole run; otherwise a new connection per answer (connection recycling)."""
    seen: dict[str, set[int]] = {"duckdb": set(), "parquet": set()}
    errors: list[str] = []
    answers = 0
    held = connect_reader(publish_dir / "marts.duckdb") if hold else None
    print("ready", flush=True)
    last_round = False
    while True:
        last_round = stop.exists()
        try:
            if held is not None:
                found = {"duckdb": read_duckdb(held)}
            else:
                with connect_reader(publish_dir / "marts.duckdb") as con:
                    found = {"duckdb": read_duckdb(con)}
                found["parquet"] = read_parquet(publish_dir)
            for kind, (version, error) in found.items():
                seen[kind].add(version)
                if error:
                    errors.append(f"{kind}: {error}")
            answers += 1
        except Exception as exc:  # every failure is reported, none may happen
            errors.append(f"{type(exc).__name__}: {exc}")
        if last_round:
            break
    if held is not None:
        held.close()
    return {
        "answers": answers,
        "errors": errors[:20],
        "seen": {k: sorted(v) for k, v in seen.items()},
    }


def _start(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.integration.test_bi_readers", *args],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen) -> dict:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, f"{process.args} failed:\n{out}\n{err[-3000:]}"
    return json.loads(out.splitlines()[-1])


def test_readers_see_whole_versions_and_do_not_block_publishing(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    publish_dir = tmp_path / "publish"
    stop = tmp_path / "stop"
    build_warehouse(warehouse, 0)
    publish_marts(warehouse, publish_dir, TABLES, key="test-key")

    readers = {
        "recycling": _start("reader", str(publish_dir), str(stop)),
        "holding": _start("holder", str(publish_dir), str(stop)),
    }
    for process in readers.values():
        assert process.stdout.readline().strip() == "ready", process.communicate()[1]
    publisher = _start("publisher", str(warehouse), str(publish_dir), "1", str(VERSIONS))
    took = _finish(publisher)["seconds"]
    stop.touch()
    results = {name: _finish(process) for name, process in readers.items()}

    # Publishing was never blocked by the open readers (each publish of this tiny
    # warehouse takes well under a second).
    assert len(took) == VERSIONS and max(took) < 10, took
    recycling, holding = results["recycling"], results["holding"]
    assert recycling["errors"] == [] and holding["errors"] == []
    # The recycling reader saw several versions, each of them whole, and ends on the last.
    for kind in ("duckdb", "parquet"):
        seen = recycling["seen"][kind]
        assert len(seen) >= 3 and set(seen) <= set(range(VERSIONS + 1)), (kind, seen)
        assert seen[-1] == VERSIONS, (kind, seen)
    # The reader that kept its connection open read version 0 throughout.
    assert holding["seen"]["duckdb"] == [0] and holding["answers"] > 10
    with connect_reader(publish_dir / "marts.duckdb") as con:
        assert read_duckdb(con) == (VERSIONS, None)
        assert con.execute("select count(*) from facts").fetchone() == (rows(VERSIONS),)


def main(role: str, *args: str) -> None:
    if role == "publisher":
        warehouse, publish_dir, first, last = args
        took = publish_versions(Path(warehouse), Path(publish_dir), int(first), int(last))
        print(json.dumps({"seconds": took}))
    else:
        publish_dir, stop = args
        print(json.dumps(reader_loop(Path(publish_dir), Path(stop), hold=role == "holder")))


if __name__ == "__main__":
    main(*sys.argv[1:])
