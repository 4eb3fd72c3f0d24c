"""`python -m orchestration.generator --customers 10000 --days 365 --seed 42`"""

from __future__ import annotations

import argparse
from datetime import date

from orchestration.generator.core import CHUNK_SIZE, DEFAULT_END_DATE, generate
from orchestration.lib.settings import load_settings


def main(argv: list[str] | None = None) -> dict:
    settings = load_settings()
    parser = argparse.ArgumentParser(prog="python -m orchestration.generator", description=__doc__)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--end-date", type=date.fromisoformat, default=DEFAULT_END_DATE)
    parser.add_argument("--landing-dir", default=settings.landing_dir)
    parser.add_argument("--ground-truth-dir", default=settings.ground_truth_dir)
    parser.add_argument("--held-dir", default=settings.held_dir)
    parser.add_argument(
        "--hold-back",
        type=int,
        default=0,
        metavar="DAYS",
        help="write the last DAYS delivery days to the held dir, for `cli deliver`",
    )
    parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)
    parser.add_argument(
        "--overwrite", action="store_true", help="replace files already in the landing dir"
    )
    args = parser.parse_args(argv)
    summary = generate(
        args.customers,
        args.days,
        args.seed,
        args.end_date,
        args.landing_dir,
        args.ground_truth_dir,
        args.chunk_size,
        args.overwrite,
        args.held_dir,
        args.hold_back,
    )
    print(f"wrote {sum(summary['files'].values())} files {summary['files']}")
    for source, rows in summary["rows"].items():
        print(f"  {source:<24} {rows:>10,} rows")
    print(f"  {'total':<24} {summary['total_rows']:>10,} rows in {summary['seconds']} s")
    print(f"landing: {args.landing_dir}  ground truth: {args.ground_truth_dir}")
    if summary["held_days"]:
        print(f"held back: {', '.join(summary['held_days'])} in {args.held_dir}")
    return summary


if __name__ == "__main__":
    main()
