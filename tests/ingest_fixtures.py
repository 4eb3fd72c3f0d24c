"""Helpers for ingestion tests: write landing files by hand and read the warehouse back."""

from __future__ import annotations

from pathlib import Path

import duckdb

from orchestration.lib.contract import Source

# One valid value per contract type; the first enum value is chosen so that every
# source's row rules hold (sale with positive amount, earn with positive points, ...).
VALID_VALUE = {
    "id": "{name}-{i}",
    "text": "x",
    "ts": "2024-01-01T10:00:00Z",
    "date": "2024-01-01",
    "money": "12.50",
    "int": "3",
    "number": "1.5",
    "bool": "true",
}


def valid_row(source: Source, i: int) -> list[str]:
    return [
        c.values[0] if c.type == "enum" else VALID_VALUE[c.type].format(name=c.name, i=i)
        for c in source.columns
    ]


def valid_csv(source: Source, rows: range) -> str:
    """A CSV of valid rows: header line plus one line per row number."""
    lines = [",".join(source.column_names)]
    lines += [",".join(valid_row(source, i)) for i in rows]
    return "\n".join(lines) + "\n"


def write(landing: Path, rel: str, content: str | bytes) -> Path:
    """Write a landing file at `<landing>/<rel>` (text is written as UTF-8, as is)."""
    path = landing / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    data = content.encode("utf-8") if isinstance(content, str) else content
    path.write_bytes(data)
    return path


def rows(con: duckdb.DuckDBPyConnection, sql: str, params=None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()
