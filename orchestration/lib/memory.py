"""Giving memory a finished step freed back to the operating system.

Every step of a run executes in the run's one process. pandas, NumPy and
scikit-learn allocate through the C library's malloc, which keeps freed memory in
its arenas instead of returning it: without a trim, the memory of the largest
earlier step (the churn model's frames, a quality suite's part) stays in the
process and adds to the next step's DuckDB memory.
"""

from __future__ import annotations

import atexit
import ctypes
import ctypes.util
import gc


def release_freed_memory() -> bool:
    """Collect garbage and return the freed heap to the system (glibc's malloc_trim).
    False where the C library has no malloc_trim (not glibc)."""
    gc.collect()
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    libc = ctypes.CDLL(name)
    if not hasattr(libc, "malloc_trim"):
        return False
    libc.malloc_trim(0)
    return True


def exclude_loaded_objects() -> None:
    """Leave what is loaded by now (libraries, definitions, the dbt manifest: it lives as
    long as the process) out of every later collection, which otherwise scans it after
    each step (half a second a step). Unfrozen at exit, so that it is torn down as usual
    (DuckDB reports what is not)."""
    gc.freeze()
    atexit.register(gc.unfreeze)
