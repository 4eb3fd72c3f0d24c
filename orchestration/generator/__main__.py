"""`python -m orchestration.generator --customers 10000 --days 365 --seed 42`"""

from __future__ import annotations

import argparse
from datetime import date

from orchestration.generator.core import CHUNK_SIZE, DEFAULT_END_DATE, generate
from orchestration.generator.population import country_probabilities
from orchestration.lib.settings import load_settings


def country_shares(text: str) -> dict[str, float]:
    """`CN=0.9,US=0.1` as {"CN": 0.9, "US": 0.1}, checked as `generate` checks it."""
    try:
        pairs = (item.split("=") for item in text.split(","))
        shares = {country.strip().upper(): float(share) for country, share in pairs}
    except ValueError:  # an item without `=`, or a share that is no number
        raise argparse.ArgumentTypeError(
            f"{text!r}: write country=share pairs, e.g. CN=0.9,US=0.1"
        ) from None
    try:
        country_probabilities(shares)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"{text!r}: {e}") from e
    return shares


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
        "--country-shares",
        type=country_shares,
        metavar="CC=SHARE,...",
        help="population shares by country, e.g. CN=0.9,US=0.1 (default: US 0.85, GB 0.07, "
        "DE 0.04, FR 0.04); the largest is the home country, whose phone numbers sources "
        "write without a country code",
    )
    parser.add_argument(
        "--gmail-alias-share",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of Gmail users who type their address as firstlast12+shop@gmail.com on "
        "about half their records (default 0)",
    )
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
        args.country_shares,
        args.gmail_alias_share,
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
