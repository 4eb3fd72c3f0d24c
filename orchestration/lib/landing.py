"""Looking at the landing directory without reading files."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from orchestration.lib.settings import DATE_DIR


def day_fingerprints(landing_dir: Path) -> dict[str, list[int]]:
    """Per delivery day (`YYYY-MM-DD` folder of any source): [files, bytes, latest
    modification time in ns]. A day's entry changes when a file lands in it or changes."""
    days: dict[str, list[int]] = {}
    if not landing_dir.is_dir():
        return days
    for path in landing_dir.glob("*/*/*"):
        if not DATE_DIR.match(path.parent.name) or not path.is_file():
            continue
        stat = path.stat()
        files, size, latest = days.get(path.parent.name, [0, 0, 0])
        days[path.parent.name] = [files + 1, size + stat.st_size, max(latest, stat.st_mtime_ns)]
    return dict(sorted(days.items()))


def changed_days(now: dict[str, list[int]], before: dict[str, list[int]]) -> list[str]:
    """The days whose files are new or changed since `before`, sorted."""
    return sorted(day for day, print_ in now.items() if before.get(day) != print_)


def days_to_load(landing_dir: Path, recorded: dict[str, int | None]) -> list[date]:
    """The delivery days holding an entry that `raw._files` does not record (`recorded`:
    path relative to the landing directory -> size in bytes or None), or a file whose
    size differs from the recorded one: what a run has to ingest. Sorted."""
    days: set[date] = set()
    for source_dir in sorted(p for p in landing_dir.iterdir() if p.is_dir()):
        for day_dir in source_dir.iterdir():
            if not (DATE_DIR.match(day_dir.name) and day_dir.is_dir()):
                continue
            for path in day_dir.rglob("*"):
                if path.is_dir() and not path.is_symlink():
                    continue
                rel = path.relative_to(landing_dir).as_posix()
                size = recorded.get(rel, -1)
                if rel not in recorded or (
                    size is not None and not path.is_symlink() and path.lstat().st_size != size
                ):
                    days.add(date.fromisoformat(day_dir.name))
                    break
    return sorted(days)
