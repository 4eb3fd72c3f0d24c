"""Looking at the landing directory without reading files."""

from __future__ import annotations

from pathlib import Path


def landing_fingerprint(landing_dir: Path) -> dict[str, int]:
    """Number of files and their latest modification time: changes when a file lands."""
    files = [p for p in landing_dir.glob("*/*/*") if p.is_file()] if landing_dir.is_dir() else []
    latest = max((p.stat().st_mtime_ns for p in files), default=0)
    return {"files": len(files), "latest_mtime_ns": latest}
