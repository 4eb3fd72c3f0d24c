"""Fixtures of the ingestion unit tests: a real DuckDB file and a landing directory."""

import duckdb
import pytest


@pytest.fixture
def con(tmp_path):
    c = duckdb.connect(str(tmp_path / "w.duckdb"))
    yield c
    c.close()


@pytest.fixture
def landing(tmp_path):
    return tmp_path / "landing"
