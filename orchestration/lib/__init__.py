"""Pure helpers: no Dagster imports, usable from scripts and tests."""
