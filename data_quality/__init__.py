"""Data quality suites as code (great-expectations 1.x), framework-free."""
