"""Fixtures shared across test layers."""

from __future__ import annotations

import pytest

from tests.e2e.pipeline_cli import (
    GENERATOR_ARGS,
    CleanRun,
    pipeline_env,
    plant_scenarios,
    run_cli,
    run_two_nights,
    table_checksums,
)
from tests.reliability.crash_chain import Chain, run_chain

# The modules whose tests use the shared clean run (and its crash chain): under `make
# test`'s two workers (pytest-xdist) they run in one, so the clean run happens once.
# Every other module runs whole in one worker, so its module fixtures run once.
CLEAN_RUN_MODULES = (
    "tests/e2e/test_identity_increments.py",
    "tests/reliability/test_crash_recovery.py",
    "tests/reliability/test_failed_run_report.py",
    "tests/reliability/test_late_and_corrected_data.py",
    "tests/reliability/test_published_pii.py",
)


# Started first under `make test`'s workers, longest first: the e2e pipeline (whose Spark
# nightly runs beside its other tests), the shared clean run with its crash chain, CDNOW.
# The other modules keep the order collected and fill in as workers free up.
FIRST_MODULES = ("tests/e2e/test_pipeline.py", *CLEAN_RUN_MODULES, "tests/e2e/test_cdnow.py")


def _module(item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items):
    def rank(item) -> int:
        module = _module(item)
        return FIRST_MODULES.index(module) if module in FIRST_MODULES else len(FIRST_MODULES)

    items.sort(key=rank)  # stable: each module's tests keep their order


def pytest_itemcollected(item):
    module = _module(item)
    if "clean_run" in item.fixturenames and module not in CLEAN_RUN_MODULES:
        raise pytest.UsageError(f"{module} uses clean_run: add it to CLEAN_RUN_MODULES")


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            return "clean_run" if module in CLEAN_RUN_MODULES else module

    return SharedFixtureScheduling(config, log)


@pytest.fixture(scope="session")
def clean_run(tmp_path_factory) -> CleanRun:
    """One generated landing set (400 customers, 60 days, with the planted scenarios of
    `plant_scenarios`) delivered as two nights (`run_two_nights`, which also plants late
    and corrected orders into the second), shared by the e2e and reliability modules: a
    run costs far more than the checks on its output, so each module reads or copies
    this state instead of running again. That the two nights give what
    one build from scratch gives is tested against the crash chain's rebuild
    (tests/reliability/test_crash_recovery.py)."""
    root = tmp_path_factory.mktemp("clean")
    env = pipeline_env(root)
    run_cli(env, *GENERATOR_ARGS, module="orchestration.generator")
    forgotten = plant_scenarios(root / "landing")
    nights = run_two_nights(root, forgotten)
    return CleanRun(root, table_checksums(root / "publish" / "marts.duckdb"), forgotten, nights)


@pytest.fixture(scope="session")
def crash_chain(clean_run, tmp_path_factory) -> Chain:
    """Kills at three points of runs on a copy of the clean state without its warehouse,
    then a run to the end: the crash tests' subject, and the build from scratch that
    the clean run's nights are compared with."""
    return run_chain(clean_run, tmp_path_factory.mktemp("crash") / "root")
