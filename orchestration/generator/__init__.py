"""Seeded, vectorised generator of demo landing files with ground truth.

`generate(customers, days, seed, end_date, landing_dir, ground_truth_dir)` writes the
12 contract sources under `landing_dir` and what is true about them (people, every
record's owner, planted anomalies) under `ground_truth_dir`.
"""

from orchestration.generator.core import DEFAULT_END_DATE, generate

__all__ = ["DEFAULT_END_DATE", "generate"]
