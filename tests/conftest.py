"""Fixtures shared across test layers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

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
# nightly runs beside its other tests), the shared clean run (whose crash chain runs
# beside the tests that do not need it, which therefore come first), CDNOW. The other
# modules keep the order collected and fill in as workers free up.
FIRST_GROUPS = (("tests/e2e/test_pipeline.py",), CLEAN_RUN_MODULES, ("tests/e2e/test_cdnow.py",))


def _module(item) -> str:
    return item.nodeid.split("::", 1)[0]


def pytest_collection_modifyitems(items):
    def rank(item) -> tuple[int, bool]:
        module = _module(item)
        group = next((i for i, g in enumerate(FIRST_GROUPS) if module in g), len(FIRST_GROUPS))
        return group, "crash_chain" in item.fixturenames

    items.sort(key=rank)  # stable: otherwise in the order collected


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
def crash_chain_started(clean_run, tmp_path_factory):
    """The crash chain, run in a thread of this process from the moment the clean run is
    done: its four runs take longer than all the other clean-run tests, which run
    meanwhile (it works on its own copy of the clean state)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        yield pool.submit(run_chain, clean_run, tmp_path_factory.mktemp("crash") / "root")


@pytest.fixture(autouse=True)
def _start_the_crash_chain_with_the_clean_run(request):
    selected = any("crash_chain" in item.fixturenames for item in request.session.items)
    if selected and "clean_run" in request.fixturenames:
        request.getfixturevalue("crash_chain_started")


@pytest.fixture(scope="session")
def crash_chain(crash_chain_started) -> Chain:
    """Kills at three points of runs on a copy of the clean state without its warehouse,
    then a run to the end: the crash tests' subject, and the build from scratch that
    the clean run's nights are compared with."""
    return crash_chain_started.result()
