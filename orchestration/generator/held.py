"""Delivery days of a generated data set held back from the landing directory, so that
they can be delivered later, one night at a time, as the source systems would.

A held day is a folder `<source>/<YYYY-MM-DD>/` under the held directory, moved as a
whole (a rename on one file system), so a day is either held or delivered.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from orchestration.lib.settings import delivery_dates_in


def delivery_days(root: Path) -> list[str]:
    """The delivery days (folder names) under a landing or held directory, oldest first."""
    return [day.isoformat() for day in delivery_dates_in(root)]


def move_days(source_root: Path, target_root: Path, days: list[str]) -> None:
    """Move these delivery days of every source from one root to the other; nothing moves
    when one of their folders already exists in the target (a day is never merged)."""
    moves = [
        (folder, target_root / folder.relative_to(source_root))
        for day in days
        for folder in sorted(source_root.glob(f"*/{day}"))
    ]
    clashes = [str(target) for _, target in moves if target.exists()]
    if clashes:
        raise FileExistsError(f"already there, nothing was moved: {', '.join(clashes)}")
    for folder, target in moves:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(folder, target)


def hold_back(landing: Path, held: Path, count: int) -> list[str]:
    """Move the last `count` delivery days out of the landing directory; returns them."""
    days = delivery_days(landing)[-count:] if count > 0 else []
    move_days(landing, held, days)
    return days


def deliver_next(held: Path, landing: Path, count: int = 1) -> list[str]:
    """Move the next `count` held days into the landing directory; returns them."""
    days = delivery_days(held)[:count]
    move_days(held, landing, days)
    return days
