"""`generate()`: people in chunks → landing files + ground truth, with bounded memory."""

from __future__ import annotations

import json
import shutil
import time
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from orchestration.generator import fmt
from orchestration.generator.held import hold_back
from orchestration.generator.population import (
    BETA_A,
    BETA_B,
    CN,
    DEFAULT_COUNTRY_SHARES,
    EXPERIMENT_ID,
    GAMMA_ALPHA,
    GAMMA_R,
    HABITS,
    TREATMENT_LIFT,
    Context,
    Persons,
    country_probabilities,
    make_persons,
    simulate_purchases,
)
from orchestration.generator.sources import Chunk
from orchestration.generator.writer import LandingWriter
from orchestration.lib.contract import SOURCES

DEFAULT_END_DATE = date(2026, 6, 30)
CHUNK_SIZE = 100_000


def _persons_table(ctx: Context, p: Persons) -> pa.Table:
    epoch_day = ctx.start_epoch // 86400

    def day_of(t: np.ndarray) -> pa.Array:
        finite = np.isfinite(t)
        days = np.where(finite, epoch_day + np.floor(np.nan_to_num(t, posinf=0)), 0)
        return pa.array(days.astype("datetime64[D]"), mask=~finite)

    calling_code = fmt.pick(("+1", "+86"), p.phone_country == CN)
    phone = pc.if_else(pc.is_valid(p.phone), fmt.join(calling_code, p.phone), fmt.NULL)
    social = pc.if_else(
        pa.array(p.social_platform >= 0),
        fmt.join(
            fmt.pick(
                ("wechat", "weibo", "instagram", "facebook", "x", "tiktok"),
                np.maximum(p.social_platform, 0),
            ),
            ":",
            p.handle,
        ),
        fmt.NULL,
    )
    return pa.table(
        {
            "person_id": fmt.ids("P", p.gid, 8),
            "channel_habit": fmt.pick(HABITS, p.habit),
            "purchase_rate_per_day": p.lam,
            "dropout_p": p.p,
            "is_alive": p.alive,
            "churn_date": day_of(np.where(p.alive, np.nan, p.churn_t)),
            "acquisition_date": day_of(p.acq),
            "in_experiment": p.in_experiment,
            "variant": pc.if_else(
                pa.array(p.in_experiment),
                fmt.pick(("control", "double_points"), p.treated.astype(np.int8)),
                fmt.NULL,
            ),
            "has_crm_profile": p.has_crm,
            "is_deleted": np.isfinite(p.deleted_t),
            "customer_ref": p.customer_ref,
            "email": p.email,
            "email_after_change": pc.if_else(
                pa.array(np.isfinite(p.email_change_t)), p.email2, fmt.NULL
            ),
            "phone_e164": phone,
            "loyalty_id": p.loyalty_id,
            "device_id": pc.if_else(pa.array(p.uses_app), p.device_id, fmt.NULL),
            "cookie_id": pc.if_else(pa.array(p.uses_web), p.cookie_id, fmt.NULL),
            "social_handle": social,
            "card_hash": pc.if_else(pa.array(p.uses_store), p.card_hash, fmt.NULL),
        }
    )


def generate(
    customers: int = 10_000,
    days: int = 365,
    seed: int = 42,
    end_date: date = DEFAULT_END_DATE,
    landing_dir: Path | str = "data/landing",
    ground_truth_dir: Path | str = "data/ground_truth",
    chunk_size: int = CHUNK_SIZE,
    overwrite: bool = False,
    held_dir: Path | str | None = None,
    hold_back_days: int = 0,
    country_shares: dict[str, float] | None = None,
    gmail_alias_share: float = 0.0,
) -> dict:
    """Write the demo landing files and their ground truth; returns a summary.

    A landing directory that already holds files is refused unless `overwrite`
    (it may be real deliveries); with it, every directory is emptied first so a
    run never mixes with an earlier one. With `held_dir`, the last `hold_back_days`
    delivery days go there instead of the landing directory, to be delivered later
    (`held.deliver_next`); the ground truth covers every day. `country_shares` splits
    the population by country code (`{"CN": 0.9, "US": 0.1}`; default: mostly US).
    `gmail_alias_share` of Gmail users type their address in forms Gmail delivers to them
    (`firstlast12+shop@gmail.com`) on about half their records (default none).
    """
    if days < 3 or customers < 1:
        raise ValueError(
            f"need days >= 3 and customers >= 1, got days={days} customers={customers}"
        )
    if hold_back_days and (held_dir is None or not 0 < hold_back_days < days):
        raise ValueError(f"hold back 1 to {days - 1} days into a held dir, got {hold_back_days}")
    country_p = country_probabilities(
        DEFAULT_COUNTRY_SHARES if country_shares is None else country_shares
    )
    landing, truth = Path(landing_dir).resolve(), Path(ground_truth_dir).resolve()
    held = None if held_dir is None else Path(held_dir).resolve()
    for name, other in (("ground truth", truth), ("held", held)):
        if other is not None and (
            other == landing or landing in other.parents or other in landing.parents
        ):
            raise ValueError(f"{name} dir {other} and the landing dir {landing} must not nest")
    for d in (landing, held):
        if (
            not overwrite
            and d is not None
            and d.is_dir()
            and any(p.is_file() for p in d.rglob("*"))
        ):
            raise FileExistsError(
                f"{d} already holds files: refusing to overwrite them "
                "(pass --overwrite, or FORCE=1 to make generate, to replace them)"
            )
    started = time.perf_counter()
    for d in filter(None, (landing, truth, held)):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    if not 0 <= gmail_alias_share <= 1:
        raise ValueError(f"gmail_alias_share must be within 0..1, got {gmail_alias_share}")
    ctx = Context(seed, customers, days, end_date, chunk_size, country_p, gmail_alias_share)
    writer = LandingWriter(ctx, landing, truth)
    persons_writer = None
    alive = churned = 0
    for chunk, g0 in enumerate(range(0, customers, chunk_size)):
        rng = ctx.rng(chunk, 0)
        persons = make_persons(ctx, rng, g0, min(chunk_size, customers - g0))
        buys = simulate_purchases(ctx, rng, persons)
        sim = Chunk(ctx, chunk, persons, buys)
        for source in SOURCES:
            if source.name == "marketing_spend" and chunk:
                continue
            writer.write(getattr(sim, source.name)(), chunk)
        table = _persons_table(ctx, persons)
        if persons_writer is None:
            persons_writer = pq.ParquetWriter(truth / "persons.parquet", table.schema)
        persons_writer.write_table(table)
        alive += int(persons.alive.sum())
        churned += int((~persons.alive).sum())
    persons_writer.close()
    writer.close()
    summary = {
        "parameters": {
            "customers": customers,
            "days": days,
            "seed": seed,
            "start_date": ctx.start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "chunk_size": chunk_size,
            "purchase_rate_gamma": {"r": GAMMA_R, "alpha_days": GAMMA_ALPHA},
            "dropout_beta": {"a": BETA_A, "b": BETA_B},
            "experiment": {
                "id": EXPERIMENT_ID,
                "treatment": "double_points",
                "purchase_rate_lift": TREATMENT_LIFT,
            },
        },
        "rows": dict(sorted(writer.rows.items())),
        "total_rows": sum(writer.rows.values()),
        "files": dict(sorted(writer.files.items())),
        "persons": {"alive": alive, "churned": churned},
        "extra_columns": {"app_events": ["app_version"]},
        "anomalies": writer.anomalies,
    }
    if country_shares is not None:  # only then: a default run's manifest stays as it was
        summary["parameters"]["country_shares"] = country_shares
    if gmail_alias_share:
        summary["parameters"]["gmail_alias_share"] = gmail_alias_share
    (truth / "manifest.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    summary["held_days"] = hold_back(landing, held, hold_back_days) if held else []
    summary["seconds"] = round(time.perf_counter() - started, 2)
    return summary
